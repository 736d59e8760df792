namespace Vigil;

/// <summary>A detected (and possibly tracked and classified) object in one frame.</summary>
public sealed class ObjectMeta
{
    public required BoxF Box { get; set; }
    public required int ClassId { get; init; }
    public required string Label { get; init; }
    public required float Confidence { get; init; }
    /// <summary>Tracker-assigned id; -1 until a tracker has seen the object.</summary>
    public long TrackId { get; set; } = -1;
    /// <summary>Appearance embedding (re-identification), when a model produced one.</summary>
    public float[]? Embedding { get; set; }
    /// <summary>Secondary classifier results, when any ran.</summary>
    public List<ClassifierLabel> Classifications { get; } = [];
    /// <summary>Optional landmarks (for example BlazeFace's 6 face keypoints), in frame pixels.</summary>
    public IReadOnlyList<(float X, float Y)>? Keypoints { get; init; }
}

public readonly record struct ClassifierLabel(string Classifier, int ClassId, string Label, float Confidence);

/// <summary>Identity of a stream inside one pipeline run.</summary>
public sealed record StreamInfo(int Index, string Name, string Uri, int Width, int Height, double FramesPerSecond, string Codec)
{
    /// <summary>YUV to RGB matrix signalled by the stream (used when frames stay in NV12).</summary>
    public ColorMatrix ColorMatrix { get; init; } = ColorMatrix.Bt601;
}

/// <summary>
/// Limited-range ("TV") YUV to RGB conversion matrices. With y = Y-16, u = U-128, v = V-128:
/// BT.601: R = 1.164383*y + 1.596027*v, G = 1.164383*y - 0.391762*u - 0.812968*v, B = 1.164383*y + 2.017232*u;
/// BT.709: R = 1.164383*y + 1.792741*v, G = 1.164383*y - 0.213249*u - 0.532909*v, B = 1.164383*y + 2.112402*u;
/// each result clamped to [0, 255] and kept in floating point (not rounded).
/// </summary>
public enum ColorMatrix { Bt601, Bt709 }

/// <summary>
/// One decoded frame travelling through the pipeline: its pixels (a pooled buffer owned by this frame)
/// and the metadata stages attach (in the spirit of DeepStream's NvDsFrameMeta).
/// </summary>
public sealed class Frame : IDisposable
{
    private FrameBuffer? _buffer;

    public Frame(StreamInfo stream, long frameNumber, long pts, TimeSpan timestamp, FrameBuffer buffer)
    {
        Stream = stream;
        FrameNumber = frameNumber;
        Pts = pts;
        Timestamp = timestamp;
        _buffer = buffer;
    }

    public StreamInfo Stream { get; }
    /// <summary>0-based index of the frame within its stream.</summary>
    public long FrameNumber { get; }
    /// <summary>Presentation timestamp in the stream's time base, as demuxed.</summary>
    public long Pts { get; }
    /// <summary>Presentation time since the start of the stream.</summary>
    public TimeSpan Timestamp { get; }
    public FrameBuffer Buffer => _buffer ?? throw new ObjectDisposedException(nameof(Frame));
    public List<ObjectMeta> Objects { get; } = [];
    /// <summary>Per-stage timestamps (Stopwatch ticks) for latency accounting; keyed by stage name.</summary>
    public long CreatedTicks { get; init; } = System.Diagnostics.Stopwatch.GetTimestamp();
    /// <summary>Data produced by stages for later stages (e.g. the letterbox scale).</summary>
    public Dictionary<string, object> Extras { get; } = [];

    /// <summary>Replaces the pixels (e.g. after a copy to the host); the old buffer is released.</summary>
    public void ReplaceBuffer(FrameBuffer buffer)
    {
        var old = Interlocked.Exchange(ref _buffer, buffer);
        old?.Release();
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _buffer, null)?.Release();
    }
}

/// <summary>A batch of frames, possibly from different streams, processed together by an inference stage.</summary>
public sealed class Batch : IDisposable
{
    public Batch(IReadOnlyList<Frame> frames) => Frames = frames;

    public IReadOnlyList<Frame> Frames { get; }
    public int Count => Frames.Count;

    public void Dispose()
    {
        foreach (var f in Frames) f.Dispose();
    }
}
