namespace Vigil.FFmpeg;

/// <summary>Encoder settings of <see cref="VideoFileEncoder"/>.</summary>
internal sealed record VideoEncoderSettings
{
    /// <summary>Encoders to try in order; the first that opens is used.</summary>
    public IReadOnlyList<string> Encoders { get; init; } = ["libx264", "libopenh264", "mpeg4"];
    /// <summary>libx264 constant rate factor.</summary>
    public int Crf { get; init; } = 23;
    /// <summary>libx264 preset.</summary>
    public string Preset { get; init; } = "veryfast";
    /// <summary>Bit rate for encoders without a quality mode (mpeg4, openh264), in bits per pixel per frame.</summary>
    public double BitsPerPixel { get; init; } = 0.3;
}

/// <summary>
/// Encodes BGR24 host pictures (any pitch) to a video file: swscale to yuv420p, an FFmpeg encoder, and the muxer chosen
/// from the container name. Timestamps are in 1/fps units (constant frame rate).
/// </summary>
internal sealed unsafe class VideoFileEncoder : IDisposable
{
    private readonly SafeAVFormatContextHandle _format;
    private readonly SafeAVCodecContextHandle _encoder;
    private readonly SafeAVFrameHandle _frame;
    private readonly SafeAVPacketHandle _packet;
    private readonly nint _stream;
    private readonly Interop.AVRational _timeBase;
    private SafeSwsContextHandle? _sws;
    private (int W, int H) _swsSource;
    private long _lastPts = long.MinValue;
    private bool _completed;

    public VideoFileEncoder(string path, string container, int width, int height, double framesPerSecond, VideoEncoderSettings settings)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 2);
        if (!(framesPerSecond > 0)) throw new ArgumentOutOfRangeException(nameof(framesPerSecond), "frame rate must be positive");
        FFmpegLibrary.EnsureLoaded();
        var l = FFmpegLibrary.Layout;
        Width = width & ~1; // yuv420p needs even sizes
        Height = height & ~1;
        var rate = Interop.AVUtil.av_d2q(framesPerSecond, 100_000);
        _timeBase = new Interop.AVRational(rate.den, rate.num);

        _format = Interop.AVFormat.AllocOutput(container, path);
        try
        {
            (_encoder, EncoderName) = OpenEncoder(settings, framesPerSecond);
            _stream = Interop.AVFormat.avformat_new_stream(_format, 0);
            if (_stream == 0) throw new OutOfMemoryException("avformat_new_stream failed.");
            Interop.AVCodec.ParametersFromContext(*(nint*)((byte*)_stream + l.Stream_codecpar), _encoder);
            *(Interop.AVRational*)((byte*)_stream + l.Stream_time_base) = _timeBase;
            Interop.AVFormat.OpenOutputFile(_format, path);
            nint opts = 0;
            int rc = Interop.AVFormat.avformat_write_header(_format, ref opts);
            Interop.AVUtil.av_dict_free(ref opts);
            FFmpegError.ThrowIfFailed(rc, $"{path}: avformat_write_header");

            _frame = Interop.AVUtil.FrameAlloc();
            byte* f = (byte*)_frame.DangerousGetHandle();
            *(int*)(f + l.Frame_width) = Width;
            *(int*)(f + l.Frame_height) = Height;
            *(int*)(f + l.Frame_format) = Interop.AV_PIX_FMT_YUV420P;
            Interop.AVUtil.FrameGetBuffer(_frame, 0);
            _packet = Interop.AVCodec.PacketAlloc();
        }
        catch
        {
            _frame?.Dispose();
            _encoder?.Dispose();
            _format.Dispose();
            throw;
        }

        (SafeAVCodecContextHandle, string) OpenEncoder(VideoEncoderSettings s, double fps)
        {
            var reasons = new List<string>();
            foreach (string name in s.Encoders)
            {
                nint codec = Interop.AVCodec.avcodec_find_encoder_by_name(name);
                if (codec == 0) { reasons.Add($"{name}: not in this FFmpeg"); continue; }
                var ctx = Interop.AVCodec.AllocContext(codec);
                nint c = ctx.DangerousGetHandle();
                nint dict = 0;
                try
                {
                    Interop.AVUtil.OptSetImageSize(c, "video_size", Width, Height);
                    Interop.AVUtil.OptSetPixelFormat(c, "pixel_format", Interop.AV_PIX_FMT_YUV420P);
                    Interop.AVUtil.OptSetQ(c, "time_base", _timeBase);
                    Interop.AVUtil.OptSetInt(c, "g", Math.Max(1, (long)Math.Round(fps * 2)));
                    Interop.AVUtil.OptSetInt(c, "threads", 0);
                    Interop.AVUtil.OptSet(c, "flags", "+global_header");
                    if (name == "libx264")
                    {
                        Interop.AVUtil.av_dict_set(ref dict, "preset", s.Preset, 0);
                        Interop.AVUtil.av_dict_set(ref dict, "crf", s.Crf.ToString(System.Globalization.CultureInfo.InvariantCulture), 0);
                    }
                    else
                    {
                        Interop.AVUtil.OptSetInt(c, "b", Math.Max(200_000, (long)(s.BitsPerPixel * Width * Height * fps)));
                    }
                    int rc = Interop.AVCodec.Open(ctx, codec, ref dict);
                    if (rc >= 0) return (ctx, name);
                    reasons.Add($"{name}: {FFmpegError.Message(rc)}");
                }
                finally
                {
                    Interop.AVUtil.av_dict_free(ref dict);
                }
                ctx.Dispose();
            }
            throw new FFmpegException(FFmpegError.ENOENT, $"{path}: no usable video encoder ({string.Join("; ", reasons)})");
        }
    }

    public int Width { get; }
    public int Height { get; }
    public string EncoderName { get; }
    public long FramesWritten { get; private set; }
    /// <summary>Seconds per pts unit (1/fps).</summary>
    public (int Num, int Den) TimeBase => (_timeBase.num, _timeBase.den);

    /// <summary>Encodes one BGR24 host picture at <paramref name="pts"/> (1/fps units; raised to stay increasing).</summary>
    public void Write(FrameBuffer picture, long pts)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (picture.Format != PixelFormat.Bgr24 || picture.Memory != MemoryKind.Host)
            throw new ArgumentException($"the video writer takes BGR24 host frames, not {picture.Format} in {picture.Memory} memory", nameof(picture));
        var l = FFmpegLibrary.Layout;
        Interop.AVUtil.FrameMakeWritable(_frame);
        if (_sws is null || _swsSource != (picture.Width, picture.Height))
        {
            _sws?.Dispose();
            _sws = Interop.SwScale.GetContext(picture.Width, picture.Height, Interop.AV_PIX_FMT_BGR24, Width, Height,
                Interop.AV_PIX_FMT_YUV420P, Interop.SWS_BICUBIC);
            _swsSource = (picture.Width, picture.Height);
        }
        byte** src = stackalloc byte*[4];
        int* srcStride = stackalloc int[4];
        src[0] = (byte*)picture.Pointer;
        srcStride[0] = picture.Pitch;
        for (int i = 1; i < 4; i++) { src[i] = null; srcStride[i] = 0; }
        byte* f = (byte*)_frame.DangerousGetHandle();
        Interop.SwScale.Scale(_sws, src, srcStride, picture.Height, (byte**)(f + l.Frame_data), (int*)(f + l.Frame_linesize));

        if (pts <= _lastPts) pts = _lastPts + 1;
        _lastPts = pts;
        *(long*)(f + l.Frame_pts) = pts;
        FFmpegError.ThrowIfFailed(Interop.AVCodec.avcodec_send_frame(_encoder, (nint)f), "avcodec_send_frame");
        WritePackets();
        FramesWritten++;
    }

    private void WritePackets()
    {
        var l = FFmpegLibrary.Layout;
        var streamTimeBase = *(Interop.AVRational*)((byte*)_stream + l.Stream_time_base); // the muxer may have changed it
        while (true)
        {
            int rc = Interop.AVCodec.avcodec_receive_packet(_encoder, _packet);
            if (rc == FFmpegError.EAGAIN || rc == FFmpegError.AVERROR_EOF) return;
            FFmpegError.ThrowIfFailed(rc, "avcodec_receive_packet");
            // Constant frame rate: every packet lasts one frame. Encoders leave the duration at 0, and the MP4 muxer
            // would then give the last sample no duration and players would drop it.
            long* duration = (long*)((byte*)_packet.DangerousGetHandle() + l.Packet_duration);
            if (*duration <= 0) *duration = 1;
            Interop.AVCodec.av_packet_rescale_ts(_packet, _timeBase, streamTimeBase);
            *(int*)((byte*)_packet.DangerousGetHandle() + l.Packet_stream_index) = 0;
            FFmpegError.ThrowIfFailed(Interop.AVFormat.av_interleaved_write_frame(_format, _packet), "av_interleaved_write_frame");
        }
    }

    /// <summary>Flushes the encoder, writes the trailer and closes the file. Idempotent.</summary>
    public void Complete()
    {
        if (_completed) return;
        _completed = true;
        FFmpegError.ThrowIfFailed(Interop.AVCodec.avcodec_send_frame(_encoder, 0), "avcodec_send_frame(flush)");
        WritePackets();
        FFmpegError.ThrowIfFailed(Interop.AVFormat.av_write_trailer(_format), "av_write_trailer");
        Interop.AVFormat.CloseOutputFile(_format);
    }

    public void Dispose()
    {
        try
        {
            if (!_completed) Complete();
        }
        finally
        {
            _sws?.Dispose();
            _packet.Dispose();
            _frame.Dispose();
            _encoder.Dispose();
            _format.Dispose();
        }
    }
}
