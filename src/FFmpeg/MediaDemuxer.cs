using System.Globalization;
using System.Runtime.InteropServices;

namespace Vigil.FFmpeg;

/// <summary>How to open an input.</summary>
public sealed record DemuxerOptions
{
    /// <summary>RTSP transport ("tcp" or "udp"); null leaves FFmpeg's default. Only applied to rtsp:// inputs.</summary>
    public string? RtspTransport { get; init; }

    /// <summary>Network I/O timeout (FFmpeg's "timeout" option, in microseconds); null leaves FFmpeg's default.</summary>
    public TimeSpan? NetworkTimeout { get; init; }

    /// <summary>
    /// Convert H.264/HEVC packets to Annex B start-code format (h264_mp4toannexb / hevc_mp4toannexb), as hardware
    /// decoders such as NVDEC need. Packets already in Annex B pass unchanged. Other codecs are not filtered.
    /// </summary>
    public bool AnnexB { get; init; }

    /// <summary>Further avformat_open_input options (key = value), passed through as they are.</summary>
    public IReadOnlyDictionary<string, string>? FormatOptions { get; init; }
}

/// <summary>The selected video stream of an input.</summary>
public sealed record VideoStreamProperties(
    int Index,
    int CodecId,
    string Codec,
    int Width,
    int Height,
    string PixelFormat,
    /// <summary>Seconds per timestamp unit, as num/den.</summary>
    (int Num, int Den) TimeBase,
    double FramesPerSecond,
    /// <summary>Frame count from the container, 0 if unknown.</summary>
    long FrameCount,
    /// <summary>Stream start in time-base units (0 when the container gives none).</summary>
    long StartPts,
    TimeSpan? Duration,
    ColorMatrix ColorMatrix);

/// <summary>Outcome of <see cref="MediaDemuxer.Read"/>: normal results are values; faults throw.</summary>
public enum DemuxStatus
{
    /// <summary>The packet was filled.</summary>
    Packet,
    /// <summary>No more packets (end of file, or a truncated file's last readable packet was returned).</summary>
    EndOfStream,
}

/// <summary>A compressed packet of the video stream; reused across <see cref="MediaDemuxer.Read"/> calls.</summary>
public sealed unsafe class DemuxedPacket : IDisposable
{
    internal SafeAVPacketHandle Handle { get; } = Interop.AVCodec.PacketAlloc();

    private byte* Raw => (byte*)Handle.DangerousGetHandle();
    private static FFmpegLayout L => FFmpegLibrary.Layout;

    public nint DataPointer => *(nint*)(Raw + L.Packet_data);
    public int Size => *(int*)(Raw + L.Packet_size);
    public ReadOnlySpan<byte> Data => Size == 0 ? default : new ReadOnlySpan<byte>((void*)DataPointer, Size);
    /// <summary>Presentation timestamp in the stream's time base; <see cref="long.MinValue"/> when unknown.</summary>
    public long Pts => *(long*)(Raw + L.Packet_pts);
    public long Dts => *(long*)(Raw + L.Packet_dts);
    public long Duration => *(long*)(Raw + L.Packet_duration);
    public bool IsKeyFrame => (*(int*)(Raw + L.Packet_flags) & Interop.AV_PKT_FLAG_KEY) != 0;
    /// <summary>Byte position in the input, -1 if unknown.</summary>
    public long Position => *(long*)(Raw + L.Packet_pos);
    internal int StreamIndex => *(int*)(Raw + L.Packet_stream_index);

    /// <summary>Drops the payload (the packet stays usable).</summary>
    public void Clear() => Interop.AVCodec.av_packet_unref(Handle);

    public void Dispose() => Handle.Dispose();
}

/// <summary>
/// Opens a file or network URL (rtsp, http, ...) with libavformat, selects the best video stream and returns its packets,
/// optionally converted to Annex B for hardware decoders. Not thread-safe: one reader.
/// </summary>
public sealed unsafe class MediaDemuxer : IDisposable
{
    private readonly SafeAVFormatContextHandle _format;
    private readonly SafeAVBSFContextHandle? _bsf;
    private readonly DemuxedPacket _scratch;
    private bool _inputDone;
    private bool _bsfDone;

    private MediaDemuxer(string uri, SafeAVFormatContextHandle format, nint stream, VideoStreamProperties video, SafeAVBSFContextHandle? bsf, string? bsfName)
    {
        Uri = uri;
        _format = format;
        Stream = stream;
        Video = video;
        _bsf = bsf;
        BitstreamFilter = bsfName;
        _scratch = new DemuxedPacket();
    }

    public string Uri { get; }
    public VideoStreamProperties Video { get; }
    /// <summary>Name of the bitstream filter applied to packets, or null.</summary>
    public string? BitstreamFilter { get; }

    internal nint Stream { get; }
    internal nint CodecParameters => *(nint*)((byte*)Stream + FFmpegLibrary.Layout.Stream_codecpar);

    /// <summary>The codec's out-of-band configuration as stored in the container (e.g. avcC / hvcC), possibly empty.</summary>
    public byte[] Extradata => ReadExtradata(CodecParameters);

    /// <summary>
    /// The extradata that goes with the packets this demuxer returns: after an Annex B filter, the filter's output
    /// parameters (start-code parameter sets where the filter produces them); otherwise <see cref="Extradata"/>.
    /// </summary>
    public byte[] OutputExtradata =>
        _bsf is null ? Extradata : ReadExtradata(*(nint*)((byte*)_bsf.DangerousGetHandle() + FFmpegLibrary.Layout.Bsf_par_out));

    private static byte[] ReadExtradata(nint par)
    {
        var l = FFmpegLibrary.Layout;
        nint data = *(nint*)((byte*)par + l.CodecPar_extradata);
        int size = *(int*)((byte*)par + l.CodecPar_extradata_size);
        return data == 0 || size <= 0 ? [] : new ReadOnlySpan<byte>((void*)data, size).ToArray();
    }

    /// <summary>True when the input names a network protocol (scheme://) rather than a local file.</summary>
    public static bool IsUrl(string uri) => uri.Contains("://", StringComparison.Ordinal) && !uri.StartsWith("file://", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Opens the input and selects its best video stream. Throws <see cref="VideoSourceException"/> with a one-line
    /// message for a missing file, an input that is not a video, or an unreachable URL.
    /// </summary>
    public static MediaDemuxer Open(string uri, DemuxerOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        options ??= new DemuxerOptions();
        bool url = IsUrl(uri);
        if (!url && !File.Exists(uri.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? uri[7..] : uri))
            throw new VideoSourceException(Directory.Exists(uri) ? $"{uri}: is a directory, not a video file" : $"{uri}: no such file");
        FFmpegLibrary.EnsureLoaded();

        nint dict = 0;
        SafeAVFormatContextHandle? format = null;
        SafeAVBSFContextHandle? bsf = null;
        try
        {
            if (options.RtspTransport is { } transport && uri.StartsWith("rtsp", StringComparison.OrdinalIgnoreCase))
                Interop.AVUtil.av_dict_set(ref dict, "rtsp_transport", transport, 0);
            if (options.NetworkTimeout is { } timeout && url)
                Interop.AVUtil.av_dict_set(ref dict, "timeout", ((long)timeout.TotalMicroseconds).ToString(CultureInfo.InvariantCulture), 0);
            if (options.FormatOptions is { } extra)
                foreach (var (k, v) in extra) Interop.AVUtil.av_dict_set(ref dict, k, v, 0);

            int rc = Interop.AVFormat.OpenInput(uri, ref dict, out format);
            if (rc < 0)
            {
                string why = FFmpegError.Message(rc);
                throw new VideoSourceException(url
                    ? $"{uri}: cannot open stream ({why})"
                    : rc == FFmpegError.AVERROR_INVALIDDATA
                        ? $"{uri}: not a video file (unrecognised or damaged container: {why})"
                        : $"{uri}: cannot open ({why})");
            }
            rc = Interop.AVFormat.avformat_find_stream_info(format, 0);
            if (rc < 0)
                throw new VideoSourceException($"{uri}: cannot read stream information ({FFmpegError.Message(rc)})");

            int index = Interop.AVFormat.av_find_best_stream(format, Interop.AVMEDIA_TYPE_VIDEO, -1, -1, 0, 0);
            if (index < 0)
                throw new VideoSourceException(index == Interop.AVFormat.AVERROR_STREAM_NOT_FOUND
                    ? $"{uri}: not a video file (no video stream found)"
                    : $"{uri}: cannot select a video stream ({FFmpegError.Message(index)})");

            nint stream = StreamAt(format, index);
            var video = Describe(uri, stream, index);

            string? bsfName = null;
            if (options.AnnexB)
            {
                bsfName = video.CodecId switch
                {
                    Interop.AV_CODEC_ID_H264 => "h264_mp4toannexb",
                    Interop.AV_CODEC_ID_HEVC => "hevc_mp4toannexb",
                    _ => null,
                };
                if (bsfName is not null) bsf = CreateBitstreamFilter(bsfName, stream);
            }
            var demuxer = new MediaDemuxer(uri, format, stream, video, bsf, bsfName);
            format = null;
            bsf = null;
            return demuxer;
        }
        finally
        {
            Interop.AVUtil.av_dict_free(ref dict);
            bsf?.Dispose();
            format?.Dispose();
        }
    }

    private static nint StreamAt(SafeAVFormatContextHandle format, int index)
    {
        var l = FFmpegLibrary.Layout;
        byte* ctx = (byte*)format.DangerousGetHandle();
        uint count = *(uint*)(ctx + l.FormatContext_nb_streams);
        if ((uint)index >= count) throw FFmpegLibrary.LayoutMismatch(l, "AVFormatContext");
        nint stream = (*(nint**)(ctx + l.FormatContext_streams))[index];
        // Layout check on real data: the stream knows its own index and has codec parameters of the video type.
        nint par = stream == 0 ? 0 : *(nint*)((byte*)stream + l.Stream_codecpar);
        if (stream == 0 || *(int*)((byte*)stream + l.Stream_index) != index || par == 0 ||
            *(int*)((byte*)par + l.CodecPar_codec_type) != Interop.AVMEDIA_TYPE_VIDEO)
            throw FFmpegLibrary.LayoutMismatch(l, "AVStream");
        return stream;
    }

    private static VideoStreamProperties Describe(string uri, nint stream, int index)
    {
        var l = FFmpegLibrary.Layout;
        byte* st = (byte*)stream;
        nint par = *(nint*)(st + l.Stream_codecpar);
        int codecId = *(int*)((byte*)par + l.CodecPar_codec_id);
        var tb = *(Interop.AVRational*)(st + l.Stream_time_base);
        var avg = *(Interop.AVRational*)(st + l.Stream_avg_frame_rate);
        long start = *(long*)(st + l.Stream_start_time);
        long duration = *(long*)(st + l.Stream_duration);
        long frames = *(long*)(st + l.Stream_nb_frames);

        // Width, height, pixel format and colour space come from the parameters copied into a scratch codec context
        // and read through AVOptions, so no AVCodecParameters field past extradata is read by offset.
        using var ctx = Interop.AVCodec.AllocContext(0);
        Interop.AVCodec.ParametersToContext(ctx, par);
        nint c = ctx.DangerousGetHandle();
        var (width, height) = Interop.AVUtil.OptGetImageSize(c, "video_size");
        int pixFmt = Interop.AVUtil.OptGetPixelFormat(c, "pixel_format");
        long colorspace = Interop.AVUtil.OptGetInt(c, "colorspace");
        if (width <= 0 || height <= 0)
            throw new VideoSourceException($"{uri}: video stream {index} has no picture size (damaged or unsupported stream)");

        double fps = avg.num > 0 && avg.den > 0 ? avg.ToDouble() : 25.0;
        return new VideoStreamProperties(
            index, codecId, Interop.AVCodec.CodecName(codecId), width, height,
            pixFmt < 0 ? "unknown" : Interop.AVUtil.PixelFormatName(pixFmt),
            (tb.num, tb.den), fps, Math.Max(0, frames),
            start == Interop.AV_NOPTS_VALUE ? 0 : start,
            duration == Interop.AV_NOPTS_VALUE || tb.den == 0 ? null : TimeSpan.FromSeconds(duration * tb.ToDouble()),
            colorspace == 1 ? ColorMatrix.Bt709 : ColorMatrix.Bt601); // AVCOL_SPC_BT709 = 1; others as swscale's BT.601 default
    }

    private static SafeAVBSFContextHandle CreateBitstreamFilter(string name, nint stream)
    {
        var l = FFmpegLibrary.Layout;
        nint filter = Interop.AVCodec.av_bsf_get_by_name(name);
        if (filter == 0) throw new FFmpegException(FFmpegError.ENOENT, $"bitstream filter {name} is not in this FFmpeg build");
        var bsf = Interop.AVCodec.BsfAlloc(filter);
        try
        {
            byte* b = (byte*)bsf.DangerousGetHandle();
            Interop.AVCodec.ParametersCopy(*(nint*)(b + l.Bsf_par_in), *(nint*)((byte*)stream + l.Stream_codecpar));
            *(Interop.AVRational*)(b + l.Bsf_time_base_in) = *(Interop.AVRational*)((byte*)stream + l.Stream_time_base);
            Interop.AVCodec.BsfInit(bsf);
            return bsf;
        }
        catch
        {
            bsf.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Fills <paramref name="packet"/> with the next video packet. Returns <see cref="DemuxStatus.EndOfStream"/> at the end
    /// of the input; throws <see cref="FFmpegException"/> for read faults (for example a network error).
    /// </summary>
    public DemuxStatus Read(DemuxedPacket packet)
    {
        ArgumentNullException.ThrowIfNull(packet);
        Interop.AVCodec.av_packet_unref(packet.Handle);
        if (_bsf is null) return ReadVideoPacket(packet) ? DemuxStatus.Packet : DemuxStatus.EndOfStream;

        while (true)
        {
            if (_bsfDone) return DemuxStatus.EndOfStream;
            int rc = Interop.AVCodec.av_bsf_receive_packet(_bsf, packet.Handle);
            if (rc >= 0) return DemuxStatus.Packet;
            if (rc == FFmpegError.AVERROR_EOF) { _bsfDone = true; return DemuxStatus.EndOfStream; }
            if (rc != FFmpegError.EAGAIN) FFmpegError.Throw(rc, $"{Uri}: {BitstreamFilter}");

            if (ReadVideoPacket(_scratch))
            {
                FFmpegError.ThrowIfFailed(Interop.AVCodec.av_bsf_send_packet(_bsf, _scratch.Handle.DangerousGetHandle()), $"{Uri}: {BitstreamFilter}");
            }
            else
            {
                FFmpegError.ThrowIfFailed(Interop.AVCodec.av_bsf_send_packet(_bsf, 0), $"{Uri}: {BitstreamFilter}");
            }
        }
    }

    /// <summary>Reads the next packet of the selected stream; false at the end of the input.</summary>
    private bool ReadVideoPacket(DemuxedPacket packet)
    {
        if (_inputDone) return false;
        while (true)
        {
            int rc = Interop.AVFormat.av_read_frame(_format, packet.Handle);
            if (rc == FFmpegError.AVERROR_EOF || (rc < 0 && !IsUrl(Uri) && rc is FFmpegError.AVERROR_INVALIDDATA or FFmpegError.EIO))
            {
                // A local file that ends early (truncated) or whose container breaks off ends the stream here:
                // what was readable has been returned.
                _inputDone = true;
                return false;
            }
            if (rc < 0) FFmpegError.Throw(rc, $"{Uri}: read");
            if (packet.StreamIndex == Video.Index) return true;
            Interop.AVCodec.av_packet_unref(packet.Handle);
        }
    }

    internal SafeAVFormatContextHandle Format => _format;

    public void Dispose()
    {
        _scratch.Dispose();
        _bsf?.Dispose();
        _format.Dispose();
    }
}
