using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Vigil.Cuda;

namespace Vigil.Decode.Nvdec;

public enum NvdecCodec { H264, Hevc }

/// <summary>The coded format NVDEC reported in its last sequence callback.</summary>
public sealed record NvdecFormat(NvdecCodec Codec, int CodedWidth, int CodedHeight, int Width, int Height,
    ColorMatrix ColorMatrix, int MatrixCoefficients, bool FullRange, uint FrameRateNumerator, uint FrameRateDenominator, int DecodeSurfaces);

/// <summary>One output of the decoder: a decoded NV12 surface (owned by the receiver), or a decode error for one picture.</summary>
public readonly record struct NvdecPicture(DeviceFrameBuffer? Buffer, long Pts, string? Error);

/// <summary>
/// One stream's NVDEC parser and hardware decoder. Feed Annex-B packets with <see cref="Parse"/>, end with
/// <see cref="Flush"/>, and take the pictures with <see cref="TryDequeue"/> after each call. The parser calls back
/// synchronously inside <see cref="Parse"/>: the sequence callback (re)creates the decoder when the coded format
/// changes, the decode callback submits the picture to the hardware, and the display callback maps the decoded
/// picture and copies it (device to device, on this decoder's stream) into a pooled NV12 surface, cropped to the
/// display area. Not thread-safe: one caller; different decoders run concurrently on different threads.
/// </summary>
public sealed unsafe class NvdecDecoder : IDisposable
{
    private readonly CudaContext _context;
    private readonly CudaStream _stream;
    private readonly bool _ownsStream;
    private readonly NvdecCodec _codec;
    private readonly int _poolCapacity;
    private readonly SafeCuvidCtxLockHandle _lock;
    private readonly SafeCuvidParserHandle _parser;
    private readonly Queue<NvdecPicture> _output = new();
    private GCHandle _self;
    private SafeCuvidDecoderHandle? _decoder;
    private DevicePool? _pool;
    private Exception? _fatal;
    private long _picturesDecoded;
    private long _overflowSurfaces;

    /// <param name="poolCapacity">Surfaces this decoder may have handed out and not yet got back.</param>
    /// <param name="displayDelay">Pictures the parser holds back before display (lets decode run ahead; NVIDIA recommends 2-4).</param>
    public NvdecDecoder(CudaContext context, NvdecCodec codec, CudaStream? stream = null, int poolCapacity = 12, int displayDelay = 2)
    {
        _context = context;
        _codec = codec;
        _poolCapacity = poolCapacity;
        _ownsStream = stream is null;
        _stream = stream ?? context.CreateStream();
        context.MakeCurrent();
        try
        {
            _lock = new SafeCuvidCtxLockHandle(context.Handle);
            _lock.SetHandleValue(Interop.Nvcuvid.CtxLockCreate(context.Handle.DangerousGetHandle()));
        }
        catch (DllNotFoundException e)
        {
            throw new VigilException("NVDEC: libnvcuvid.so.1 (part of the NVIDIA driver) is not installed on this machine.", e);
        }
        _self = GCHandle.Alloc(this);
        var p = new CUVIDPARSERPARAMS
        {
            CodecType = ToCuvid(codec),
            ulMaxNumDecodeSurfaces = 1, // raised by the sequence callback's return value
            ulClockRate = 0,
            ulErrorThreshold = 100, // hand damaged pictures to the decoder too, so their errors are reported per picture
            ulMaxDisplayDelay = (uint)displayDelay,
            pUserData = GCHandle.ToIntPtr(_self),
            pfnSequenceCallback = &OnSequence,
            pfnDecodePicture = &OnDecode,
            pfnDisplayPicture = &OnDisplay,
        };
        _parser = new SafeCuvidParserHandle(context.Handle);
        _parser.SetHandleValue(Interop.Nvcuvid.CreateVideoParser(ref p));
    }

    public NvdecCodec Codec => _codec;
    public CudaStream Stream => _stream;
    /// <summary>Null until the first sequence header was parsed.</summary>
    public NvdecFormat? Format { get; private set; }
    public long PicturesDecoded => Interlocked.Read(ref _picturesDecoded);
    public int Pending => _output.Count;

    public static NvdecCodec? CodecFromName(string ffmpegCodecName) => ffmpegCodecName switch
    {
        "h264" => NvdecCodec.H264,
        "hevc" or "h265" => NvdecCodec.Hevc,
        _ => null,
    };

    private static cudaVideoCodec ToCuvid(NvdecCodec c) => c == NvdecCodec.H264 ? cudaVideoCodec.H264 : cudaVideoCodec.HEVC;

    /// <summary>
    /// Parses one Annex-B access unit (or any chunk of the elementary stream). Pictures completed by it are queued.
    /// A rejected packet queues an error picture; faults (unsupported stream, device failure) throw.
    /// </summary>
    public void Parse(ReadOnlySpan<byte> data, long pts)
    {
        fixed (byte* d = data)
        {
            var packet = new CUVIDSOURCEDATAPACKET
            {
                flags = CUvideopacketflags.CUVID_PKT_TIMESTAMP,
                payload_size = (ulong)data.Length,
                payload = d,
                timestamp = pts,
            };
            Submit(ref packet);
        }
    }

    /// <summary>Parses a chunk of an Annex-B elementary stream with no timestamp (any chunking; the parser finds the pictures).</summary>
    public void Parse(ReadOnlySpan<byte> data)
    {
        fixed (byte* d = data)
        {
            var packet = new CUVIDSOURCEDATAPACKET { payload_size = (ulong)data.Length, payload = d };
            Submit(ref packet);
        }
    }

    /// <summary>Signals the end of the stream: the parser outputs the pictures it still holds.</summary>
    public void Flush()
    {
        var packet = new CUVIDSOURCEDATAPACKET { flags = CUvideopacketflags.CUVID_PKT_ENDOFSTREAM | CUvideopacketflags.CUVID_PKT_NOTIFY_EOS };
        Submit(ref packet);
    }

    public bool TryDequeue(out NvdecPicture picture) => _output.TryDequeue(out picture);

    private void Submit(ref CUVIDSOURCEDATAPACKET packet)
    {
        ObjectDisposedException.ThrowIf(_parser.IsClosed, this);
        _context.MakeCurrent();
        var r = Interop.Nvcuvid.ParseVideoData(_parser.DangerousGetHandle(), ref packet);
        if (_fatal is not null)
        {
            var e = _fatal;
            _fatal = null;
            throw e is VigilException or CudaException or OutOfMemoryException ? e : new VigilException($"NVDEC: {e.Message}", e);
        }
        if (r != CUresult.CUDA_SUCCESS)
            _output.Enqueue(new NvdecPicture(null, packet.timestamp, $"NVDEC parser rejected the packet at pts {packet.timestamp} ({r})."));
    }

    // ---------------- parser callbacks (native → managed; must not throw) ----------------

    [UnmanagedCallersOnly]
    private static int OnSequence(nint user, CUVIDEOFORMAT* format)
    {
        var self = (NvdecDecoder)GCHandle.FromIntPtr(user).Target!;
        try
        {
            return self.HandleSequence(in *format);
        }
        catch (Exception e)
        {
            self._fatal = e;
            return 0;
        }
    }

    [UnmanagedCallersOnly]
    private static int OnDecode(nint user, nint picParams)
    {
        var self = (NvdecDecoder)GCHandle.FromIntPtr(user).Target!;
        try
        {
            return self.HandleDecode(picParams);
        }
        catch (Exception e)
        {
            self._fatal = e;
            return 0;
        }
    }

    [UnmanagedCallersOnly]
    private static int OnDisplay(nint user, CUVIDPARSERDISPINFO* info)
    {
        var self = (NvdecDecoder)GCHandle.FromIntPtr(user).Target!;
        try
        {
            if (info == null) return 1; // end-of-stream notification
            return self.HandleDisplay(in *info);
        }
        catch (Exception e)
        {
            self._fatal = e;
            return 0;
        }
    }

    private int HandleSequence(in CUVIDEOFORMAT f)
    {
        int surfaces = Math.Min(32, f.min_num_decode_surfaces + 4);
        int width = (f.display_right - f.display_left) & ~1;
        int height = (f.display_bottom - f.display_top) & ~1;
        var fmt = Format;
        if (fmt is not null && _decoder is not null && fmt.CodedWidth == (int)f.coded_width && fmt.CodedHeight == (int)f.coded_height
            && fmt.Width == width && fmt.Height == height && fmt.DecodeSurfaces >= surfaces)
            return fmt.DecodeSurfaces;

        if (f.chroma_format != cudaVideoChromaFormat.Yuv420 || f.bit_depth_luma_minus8 != 0)
            throw new VigilException($"NVDEC: {_codec} stream with chroma format {f.chroma_format} and {8 + f.bit_depth_luma_minus8}-bit samples is not supported (Vigil decodes 8-bit 4:2:0 to NV12).");
        var caps = Interop.Nvcuvid.GetDecoderCaps(ToCuvid(_codec), f.chroma_format, f.bit_depth_luma_minus8);
        if (caps.bIsSupported == 0)
            throw new VigilException($"NVDEC: this GPU cannot decode {_codec} 8-bit 4:2:0.");
        if (f.coded_width > caps.nMaxWidth || f.coded_height > caps.nMaxHeight || f.coded_width < caps.nMinWidth || f.coded_height < caps.nMinHeight)
            throw new VigilException($"NVDEC: {_codec} {f.coded_width}x{f.coded_height} is outside this GPU's limits ({caps.nMinWidth}x{caps.nMinHeight} to {caps.nMaxWidth}x{caps.nMaxHeight}).");

        // A new or changed sequence: recreate the decoder (pictures of the old one were already copied out).
        _decoder?.Dispose();
        _decoder = null;
        var info = new CUVIDDECODECREATEINFO
        {
            ulWidth = f.coded_width,
            ulHeight = f.coded_height,
            ulNumDecodeSurfaces = (ulong)surfaces,
            CodecType = ToCuvid(_codec),
            ChromaFormat = f.chroma_format,
            ulCreationFlags = CudaVideoCreateFlags.PreferCUVID,
            bitDepthMinus8 = f.bit_depth_luma_minus8,
            ulMaxWidth = f.coded_width,
            ulMaxHeight = f.coded_height,
            display_area = new ShortRect { left = (short)f.display_left, top = (short)f.display_top, right = (short)(f.display_left + width), bottom = (short)(f.display_top + height) },
            OutputFormat = cudaVideoSurfaceFormat.NV12,
            DeinterlaceMode = f.progressive_sequence != 0 ? cudaVideoDeinterlaceMode.Weave : cudaVideoDeinterlaceMode.Adaptive,
            ulTargetWidth = (ulong)width,
            ulTargetHeight = (ulong)height,
            ulNumOutputSurfaces = 2,
            vidLock = _lock.DangerousGetHandle(),
        };
        var handle = new SafeCuvidDecoderHandle(_context.Handle);
        handle.SetHandleValue(Interop.Nvcuvid.CreateDecoder(ref info));
        _decoder = handle;

        if (_pool is null || _pool.Width != width || _pool.Height != height)
        {
            _pool?.Dispose(); // surfaces still out are freed when released
            _pool = new DevicePool(_context, width, height, PixelFormat.Nv12, _poolCapacity);
        }
        int mc = f.matrix_coefficients;
        // H.273 matrix_coefficients: 1 = BT.709; 5, 6 = BT.601; unspecified (2) and others: BT.601, Vigil's default.
        var matrix = mc == 1 ? ColorMatrix.Bt709 : ColorMatrix.Bt601;
        Format = new NvdecFormat(_codec, (int)f.coded_width, (int)f.coded_height, width, height, matrix, mc,
            (f.video_format_bits & 0x8) != 0, f.frame_rate_numerator, f.frame_rate_denominator, surfaces);
        return surfaces;
    }

    private int HandleDecode(nint picParams)
    {
        if (_decoder is null) return 0;
        var r = Interop.Nvcuvid.DecodePicture(_decoder.DangerousGetHandle(), picParams);
        if (r != CUresult.CUDA_SUCCESS)
        {
            _output.Enqueue(new NvdecPicture(null, -1, $"NVDEC could not decode a picture ({r})."));
            return 1; // keep parsing: the next pictures may be fine
        }
        Interlocked.Increment(ref _picturesDecoded);
        return 1;
    }

    private int HandleDisplay(in CUVIDPARSERDISPINFO d)
    {
        if (_decoder is null || _pool is null || Format is null) return 0;
        nint dec = _decoder.DangerousGetHandle();
        var vpp = new CUVIDPROCPARAMS
        {
            progressive_frame = d.progressive_frame,
            top_field_first = d.top_field_first,
            unpaired_field = d.repeat_first_field < 0 ? 1 : 0,
            output_stream = _stream.Pointer,
        };
        var r = Interop.Nvcuvid.MapVideoFrame(dec, d.picture_index, ref vpp, out ulong src, out uint pitch);
        if (r != CUresult.CUDA_SUCCESS)
        {
            _output.Enqueue(new NvdecPicture(null, d.timestamp, $"NVDEC could not map picture {d.picture_index} at pts {d.timestamp} ({r})."));
            return 1;
        }
        DeviceFrameBuffer? surface = null;
        try
        {
            if (Interop.Nvcuvid.GetDecodeStatus(dec, d.picture_index, out var status) == CUresult.CUDA_SUCCESS
                && status is cuvidDecodeStatus.Error or cuvidDecodeStatus.ErrorConcealed)
            {
                _output.Enqueue(new NvdecPicture(null, d.timestamp, status == cuvidDecodeStatus.Error
                    ? $"NVDEC reported a decode error for the picture at pts {d.timestamp}."
                    : $"NVDEC concealed a damaged picture at pts {d.timestamp}."));
                return 1;
            }
            surface = RentSurface();
            int w = Format.Width, h = Format.Height;
            // Luma rows, then the interleaved UV rows, which start after the (even-rounded) target height.
            _stream.CopyDeviceToDevice2D(src, pitch, surface.DevicePointer, surface.Pitch, w, h);
            _stream.CopyDeviceToDevice2D(src + (ulong)pitch * (ulong)((h + 1) & ~1), pitch, surface.ChromaPointer, surface.Pitch, w, h / 2);
            // cuvidUnmapVideoFrame is not stream-ordered: the copies must finish before the picture goes back.
            _stream.Synchronize();
            _output.Enqueue(new NvdecPicture(surface, d.timestamp, null));
            surface = null;
        }
        finally
        {
            surface?.Release();
            Interop.Nvcuvid.UnmapVideoFrame(dec, src);
        }
        return 1;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private DeviceFrameBuffer RentSurface()
    {
        if (_pool!.TryRent(_stream, out var b)) return b!;
        // The parser callback must complete synchronously, so it never waits for a pooled surface (the pictures that
        // would free one may be in this decoder's own queue). Callers apply back-pressure before parsing instead
        // (WaitForSurfaceAsync); a chunk holding many pictures overflows into an unpooled surface, freed on release.
        Interlocked.Increment(ref _overflowSurfaces);
        return DeviceFrameBuffer.Allocate(_context, _pool.Width, _pool.Height, PixelFormat.Nv12);
    }

    /// <summary>Surfaces allocated outside the pool because it was exhausted inside a parse call.</summary>
    public long OverflowSurfaces => Interlocked.Read(ref _overflowSurfaces);

    /// <summary>Waits until the surface pool has a free surface (back-pressure before the next <see cref="Parse"/>).</summary>
    public ValueTask WaitForSurfaceAsync(CancellationToken ct) => _pool is null ? ValueTask.CompletedTask : _pool.WaitAvailableAsync(ct);

    public void Dispose()
    {
        if (_parser.IsClosed) return;
        _context.MakeCurrent();
        _parser.Dispose();
        _decoder?.Dispose();
        _lock.Dispose();
        while (_output.TryDequeue(out var p)) p.Buffer?.Release();
        _pool?.Dispose();
        if (_ownsStream) _stream.Dispose();
        if (_self.IsAllocated) _self.Free();
    }
}
