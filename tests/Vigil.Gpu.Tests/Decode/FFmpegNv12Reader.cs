using Vigil.FFmpeg;

namespace Vigil.Gpu.Tests.Decode;

/// <summary>
/// Reference decode for the NVDEC tests: FFmpeg's software decoder (Vigil.FFmpeg's bindings), the decoder's native
/// yuv420p planes rearranged into packed NV12 (a lossless reordering of the same samples).
/// </summary>
internal sealed unsafe class FFmpegNv12Reader : IDisposable
{
    private readonly MediaDemuxer _demuxer;
    private readonly SafeAVCodecContextHandle _ctx;
    private readonly SafeAVFrameHandle _frame = FFmpegCodec.FrameAlloc();
    private readonly DemuxedPacket _packet = new();
    private bool _draining;

    public FFmpegNv12Reader(string path)
    {
        _demuxer = MediaDemuxer.Open(path);
        _ctx = FFmpegCodec.OpenDecoder(_demuxer, 0, out string? error) ?? throw new InvalidOperationException(error);
    }

    public int Width => _demuxer.Video.Width;
    public int Height => _demuxer.Video.Height;

    /// <summary>Decodes the next frame into <paramref name="nv12"/> (Width*Height*3/2 bytes); false at the end.</summary>
    public bool Next(byte[] nv12)
    {
        while (true)
        {
            int rc = FFmpegCodec.ReceiveFrame(_ctx, _frame);
            if (rc >= 0)
            {
                Copy(nv12);
                FFmpegCodec.FrameUnref(_frame);
                return true;
            }
            if (rc == FFmpegCodec.AVERROR_EOF || _draining && rc == FFmpegCodec.EAGAIN) return false;
            if (rc != FFmpegCodec.EAGAIN) throw new InvalidOperationException($"reference decode failed: {FFmpegCodec.Message(rc)}");
            if (_demuxer.Read(_packet) == DemuxStatus.EndOfStream)
            {
                _draining = true;
                FFmpegCodec.SendFlush(_ctx);
                continue;
            }
            rc = FFmpegCodec.SendPacket(_ctx, _packet);
            _packet.Clear();
            if (rc < 0 && rc != FFmpegCodec.EAGAIN) throw new InvalidOperationException($"reference decode failed: {FFmpegCodec.Message(rc)}");
        }
    }

    private void Copy(byte[] nv12)
    {
        var l = FFmpegLibrary.Layout;
        byte* f = (byte*)_frame.DangerousGetHandle();
        var fields = FFmpegCodec.ReadFrame(_frame);
        if (fields.Format is not (0 or 12)) throw new InvalidOperationException($"reference frame format {fields.Format} is not yuv420p");
        byte** data = (byte**)(f + l.Frame_data);
        int* stride = (int*)(f + l.Frame_linesize);
        int w = Width, h = Height;
        for (int y = 0; y < h; y++)
            new ReadOnlySpan<byte>(data[0] + (long)y * stride[0], w).CopyTo(nv12.AsSpan(y * w, w));
        int o = w * h;
        for (int y = 0; y < h / 2; y++)
        {
            byte* u = data[1] + (long)y * stride[1];
            byte* v = data[2] + (long)y * stride[2];
            for (int x = 0; x < w / 2; x++)
            {
                nv12[o++] = u[x];
                nv12[o++] = v[x];
            }
        }
    }

    public void Dispose()
    {
        _packet.Dispose();
        _frame.Dispose();
        _ctx.Dispose();
        _demuxer.Dispose();
    }
}
