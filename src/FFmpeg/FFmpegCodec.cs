namespace Vigil.FFmpeg;

/// <summary>The decoded picture fields Vigil reads from an AVFrame.</summary>
internal readonly record struct FrameFields(int Width, int Height, int Format, long Pts, long BestEffortTimestamp);

/// <summary>Checked codec operations shared by Vigil.Decode and Vigil.Sinks (thin wrappers over the private imports).</summary>
internal static unsafe class FFmpegCodec
{
    internal const int EAGAIN = FFmpegError.EAGAIN;
    internal const int AVERROR_EOF = FFmpegError.AVERROR_EOF;

    internal static string Message(int status) => FFmpegError.Message(status);

    internal static SafeAVFrameHandle FrameAlloc()
    {
        FFmpegLibrary.EnsureLoaded();
        return Interop.AVUtil.FrameAlloc();
    }

    internal static void FrameUnref(SafeAVFrameHandle frame) => Interop.AVUtil.av_frame_unref(frame);

    /// <summary>Opens a software decoder for the demuxer's video stream; null and a one-line reason when it cannot.</summary>
    internal static SafeAVCodecContextHandle? OpenDecoder(MediaDemuxer demuxer, int threads, out string? error)
    {
        var v = demuxer.Video;
        nint codec = Interop.AVCodec.avcodec_find_decoder(v.CodecId);
        if (codec == 0)
        {
            error = $"unsupported video codec '{v.Codec}' (this FFmpeg has no decoder for it)";
            return null;
        }
        var ctx = Interop.AVCodec.AllocContext(codec);
        try
        {
            Interop.AVCodec.ParametersToContext(ctx, demuxer.CodecParameters);
            nint c = ctx.DangerousGetHandle();
            Interop.AVUtil.OptSetInt(c, "threads", Math.Max(0, threads)); // 0 = auto
            Interop.AVUtil.OptSetQ(c, "pkt_timebase", new Interop.AVRational(v.TimeBase.Num, v.TimeBase.Den));
            nint opts = 0;
            int rc = Interop.AVCodec.Open(ctx, codec, ref opts);
            Interop.AVUtil.av_dict_free(ref opts);
            if (rc < 0)
            {
                error = $"cannot open the {v.Codec} decoder ({FFmpegError.Message(rc)})";
                ctx.Dispose();
                return null;
            }
            error = null;
            return ctx;
        }
        catch
        {
            ctx.Dispose();
            throw;
        }
    }

    internal static int SendPacket(SafeAVCodecContextHandle ctx, DemuxedPacket packet) =>
        Interop.AVCodec.avcodec_send_packet(ctx, packet.Handle.DangerousGetHandle());

    /// <summary>Enters draining mode (a null packet).</summary>
    internal static void SendFlush(SafeAVCodecContextHandle ctx)
    {
        int rc = Interop.AVCodec.avcodec_send_packet(ctx, 0);
        if (rc < 0 && rc != AVERROR_EOF) FFmpegError.Throw(rc, "avcodec_send_packet(flush)");
    }

    internal static int ReceiveFrame(SafeAVCodecContextHandle ctx, SafeAVFrameHandle frame) =>
        Interop.AVCodec.avcodec_receive_frame(ctx, frame);

    internal static FrameFields ReadFrame(SafeAVFrameHandle frame)
    {
        var l = FFmpegLibrary.Layout;
        byte* f = (byte*)frame.DangerousGetHandle();
        return new FrameFields(*(int*)(f + l.Frame_width), *(int*)(f + l.Frame_height), *(int*)(f + l.Frame_format),
            *(long*)(f + l.Frame_pts), *(long*)(f + l.Frame_best_effort_timestamp));
    }

    /// <summary>A converter from a decoded picture to BGR24 of the given size (bicubic, as the ffmpeg CLI uses).</summary>
    internal static SafeSwsContextHandle CreateBgrConverter(int srcW, int srcH, int srcFormat, int dstW, int dstH) =>
        Interop.SwScale.GetContext(srcW, srcH, srcFormat, dstW, dstH, Interop.AV_PIX_FMT_BGR24, Interop.SWS_BICUBIC);

    /// <summary>Converts the decoded frame into <paramref name="target"/> (BGR24), honouring the buffer's pitch.</summary>
    internal static void ConvertToBgr(SafeSwsContextHandle sws, SafeAVFrameHandle frame, int srcHeight, FrameBuffer target)
    {
        var l = FFmpegLibrary.Layout;
        byte* f = (byte*)frame.DangerousGetHandle();
        byte** dst = stackalloc byte*[4];
        int* dstStride = stackalloc int[4];
        dst[0] = (byte*)target.Pointer;
        dstStride[0] = target.Pitch;
        for (int i = 1; i < 4; i++) { dst[i] = null; dstStride[i] = 0; }
        Interop.SwScale.Scale(sws, (byte**)(f + l.Frame_data), (int*)(f + l.Frame_linesize), srcHeight, dst, dstStride);
    }
}
