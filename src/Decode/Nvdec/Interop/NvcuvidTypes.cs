using System.Runtime.InteropServices;

namespace Vigil.Decode.Nvdec;

// Layouts of the NVDEC API (Video Codec SDK 13.0 headers, as published in FFmpeg's nv-codec-headers:
// include/ffnvcodec/dynlink_cuviddec.h and dynlink_nvcuvid.h), x86-64 Linux (unsigned long = 8 bytes).
// Each struct's size is checked by a test against the header (NvdecStructTests).

/// <summary>cudaVideoCodec.</summary>
public enum cudaVideoCodec
{
    MPEG1 = 0, MPEG2, MPEG4, VC1, H264, JPEG, H264_SVC, H264_MVC, HEVC, VP8, VP9, AV1,
}

internal enum cudaVideoSurfaceFormat { NV12 = 0, P016 = 1, YUV444 = 2, YUV444_16Bit = 3 }

internal enum cudaVideoDeinterlaceMode { Weave = 0, Bob = 1, Adaptive = 2 }

internal enum cudaVideoChromaFormat { Monochrome = 0, Yuv420 = 1, Yuv422 = 2, Yuv444 = 3 }

internal enum cuvidDecodeStatus { Invalid = 0, InProgress = 1, Success = 2, Error = 8, ErrorConcealed = 9 }

[Flags]
internal enum CUvideopacketflags : ulong
{
    CUVID_PKT_ENDOFSTREAM = 0x01,
    CUVID_PKT_TIMESTAMP = 0x02,
    CUVID_PKT_DISCONTINUITY = 0x04,
    CUVID_PKT_ENDOFPICTURE = 0x08,
    CUVID_PKT_NOTIFY_EOS = 0x10,
}

internal static class CudaVideoCreateFlags
{
    internal const ulong PreferCUVID = 0x04;
}

/// <summary>CUVIDDECODECAPS: 88 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CUVIDDECODECAPS
{
    public cudaVideoCodec eCodecType;
    public cudaVideoChromaFormat eChromaFormat;
    public uint nBitDepthMinus8;
    public fixed uint reserved1[3];
    public byte bIsSupported;
    public byte nNumNVDECs;
    public ushort nOutputFormatMask;
    public uint nMaxWidth;
    public uint nMaxHeight;
    public uint nMaxMBCount;
    public ushort nMinWidth;
    public ushort nMinHeight;
    public byte bIsHistogramSupported;
    public byte nCounterBitDepth;
    public ushort nMaxHistogramBins;
    public fixed uint reserved3[10];
}

[StructLayout(LayoutKind.Sequential)]
internal struct ShortRect
{
    public short left, top, right, bottom;
}

/// <summary>CUVIDDECODECREATEINFO: 176 bytes (tcu_ulong is 8 bytes on LP64).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CUVIDDECODECREATEINFO
{
    public ulong ulWidth;
    public ulong ulHeight;
    public ulong ulNumDecodeSurfaces;
    public cudaVideoCodec CodecType;
    public cudaVideoChromaFormat ChromaFormat;
    public ulong ulCreationFlags;
    public ulong bitDepthMinus8;
    public ulong ulIntraDecodeOnly;
    public ulong ulMaxWidth;
    public ulong ulMaxHeight;
    public ulong Reserved1;
    public ShortRect display_area;
    public cudaVideoSurfaceFormat OutputFormat;
    public cudaVideoDeinterlaceMode DeinterlaceMode;
    public ulong ulTargetWidth;
    public ulong ulTargetHeight;
    public ulong ulNumOutputSurfaces;
    public nint vidLock;
    public ShortRect target_rect;
    public ulong enableHistogram;
    public fixed ulong Reserved2[4];
}

/// <summary>CUVIDPROCPARAMS: 264 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CUVIDPROCPARAMS
{
    public int progressive_frame;
    public int second_field;
    public int top_field_first;
    public int unpaired_field;
    public uint reserved_flags;
    public uint reserved_zero;
    public ulong raw_input_dptr;
    public uint raw_input_pitch;
    public uint raw_input_format;
    public ulong raw_output_dptr;
    public uint raw_output_pitch;
    public uint Reserved1;
    public nint output_stream;
    public fixed uint Reserved[46];
    public nint histogram_dptr;
    public nint Reserved2;
}

/// <summary>CUVIDGETDECODESTATUS: 192 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CUVIDGETDECODESTATUS
{
    public cuvidDecodeStatus decodeStatus;
    public fixed uint reserved[31];
    public fixed ulong pReserved[8];
}

/// <summary>CUVIDEOFORMAT: 64 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CUVIDEOFORMAT
{
    public cudaVideoCodec codec;
    public uint frame_rate_numerator;
    public uint frame_rate_denominator;
    public byte progressive_sequence;
    public byte bit_depth_luma_minus8;
    public byte bit_depth_chroma_minus8;
    public byte min_num_decode_surfaces;
    public uint coded_width;
    public uint coded_height;
    public int display_left, display_top, display_right, display_bottom;
    public cudaVideoChromaFormat chroma_format;
    public uint bitrate;
    public int display_aspect_ratio_x, display_aspect_ratio_y;
    /// <summary>Bits 0-2 video_format, bit 3 video_full_range_flag.</summary>
    public byte video_format_bits;
    public byte color_primaries;
    public byte transfer_characteristics;
    public byte matrix_coefficients;
    public uint seqhdr_data_length;
}

/// <summary>CUVIDPARSERDISPINFO: 24 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CUVIDPARSERDISPINFO
{
    public int picture_index;
    public int progressive_frame;
    public int top_field_first;
    public int repeat_first_field;
    public long timestamp;
}

/// <summary>CUVIDSOURCEDATAPACKET: 32 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CUVIDSOURCEDATAPACKET
{
    public CUvideopacketflags flags;
    public ulong payload_size;
    public byte* payload;
    public long timestamp;
}

/// <summary>CUVIDPARSERPARAMS: 136 bytes. Callbacks are unmanaged function pointers (int (*)(void*, T*)).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CUVIDPARSERPARAMS
{
    public cudaVideoCodec CodecType;
    public uint ulMaxNumDecodeSurfaces;
    public uint ulClockRate;
    public uint ulErrorThreshold;
    public uint ulMaxDisplayDelay;
    /// <summary>bit 0 bAnnexb (AV1), bit 1 bMemoryOptimize.</summary>
    public uint bitfields;
    public fixed uint uReserved1[4];
    public nint pUserData;
    public delegate* unmanaged<nint, CUVIDEOFORMAT*, int> pfnSequenceCallback;
    public delegate* unmanaged<nint, nint, int> pfnDecodePicture;
    public delegate* unmanaged<nint, CUVIDPARSERDISPINFO*, int> pfnDisplayPicture;
    public nint pfnGetOperatingPoint;
    public nint pfnGetSEIMsg;
    public fixed ulong pvReserved2[5];
    public nint pExtVideoInfo;
}
