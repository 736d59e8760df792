using System.Runtime.InteropServices;

namespace Vigil.FFmpeg;

/// <summary>
/// Base of Vigil's FFmpeg handles. The native destroy call runs only from <see cref="SafeHandle.ReleaseHandle"/> on an
/// explicit Dispose; a handle reaching the finalizer is counted as a leak and its memory is left alone (finalizers never
/// call into FFmpeg). Tests assert <see cref="LeakCount"/> stays zero.
/// </summary>
public abstract class FFmpegSafeHandle : SafeHandle
{
    private static long s_leaks;

    private protected FFmpegSafeHandle() : base(0, ownsHandle: true) { }

    /// <summary>Number of FFmpeg objects that were finalized without being disposed (process-wide).</summary>
    public static long LeakCount => Interlocked.Read(ref s_leaks);

    public override bool IsInvalid => handle == 0;

    internal void Attach(nint value) => SetHandle(value);

    protected override void Dispose(bool disposing)
    {
        if (!disposing && !IsInvalid)
        {
            Interlocked.Increment(ref s_leaks);
            SetHandleAsInvalid();
        }
        base.Dispose(disposing);
    }
}

/// <summary>An AVFormatContext: an opened input (closed with avformat_close_input) or a muxer (I/O closed, context freed).</summary>
public sealed class SafeAVFormatContextHandle : FFmpegSafeHandle
{
    public SafeAVFormatContextHandle() : this(false) { }
    internal SafeAVFormatContextHandle(bool output) => IsOutput = output;

    internal bool IsOutput { get; }

    protected override bool ReleaseHandle()
    {
        if (IsOutput) Interop.AVFormat.FreeOutput(handle);
        else Interop.AVFormat.CloseInput(handle);
        return true;
    }
}

/// <summary>An AVCodecContext (avcodec_free_context).</summary>
public sealed class SafeAVCodecContextHandle : FFmpegSafeHandle
{
    protected override bool ReleaseHandle() { Interop.AVCodec.FreeContext(handle); return true; }
}

/// <summary>An AVFrame (av_frame_free).</summary>
public sealed class SafeAVFrameHandle : FFmpegSafeHandle
{
    protected override bool ReleaseHandle() { Interop.AVUtil.FrameFree(handle); return true; }
}

/// <summary>An AVPacket (av_packet_free).</summary>
public sealed class SafeAVPacketHandle : FFmpegSafeHandle
{
    protected override bool ReleaseHandle() { Interop.AVCodec.PacketFree(handle); return true; }
}

/// <summary>A SwsContext (sws_freeContext).</summary>
public sealed class SafeSwsContextHandle : FFmpegSafeHandle
{
    protected override bool ReleaseHandle() { Interop.SwScale.FreeContext(handle); return true; }
}

/// <summary>An AVBSFContext (av_bsf_free).</summary>
public sealed class SafeAVBSFContextHandle : FFmpegSafeHandle
{
    protected override bool ReleaseHandle() { Interop.AVCodec.BsfFree(handle); return true; }
}
