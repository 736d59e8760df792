namespace Vigil;

public enum ReadStatus
{
    /// <summary>A frame was produced.</summary>
    Frame,
    /// <summary>A packet was consumed but produced no frame yet (decoder delay); call again.</summary>
    NeedMoreData,
    /// <summary>A packet or frame could not be decoded; the error describes it. Decoding continues.</summary>
    CorruptData,
    /// <summary>The stream ended and the decoder was drained.</summary>
    EndOfStream,
}

/// <summary>The outcome of one read: expected outcomes are values; only faults throw.</summary>
public readonly record struct ReadResult(ReadStatus Status, Frame? Frame = null, string? Error = null)
{
    public static ReadResult Eos => new(ReadStatus.EndOfStream);
    public static ReadResult More => new(ReadStatus.NeedMoreData);
}

/// <summary>
/// A decoded video stream (FFmpeg software decode on the CPU, NVDEC on the GPU). Not thread-safe:
/// one reader. Implementations throw <see cref="VideoSourceException"/> when the source cannot be opened.
/// </summary>
public interface IVideoSource : IDisposable
{
    StreamInfo Info { get; }
    /// <summary>Reads until a frame, a decode error, or the end of the stream.</summary>
    ValueTask<ReadResult> ReadAsync(CancellationToken ct);
}

/// <summary>A source that cannot be opened or read (missing file, not a video, network failure).</summary>
public sealed class VideoSourceException : Exception
{
    public VideoSourceException(string message) : base(message) { }
    public VideoSourceException(string message, Exception inner) : base(message, inner) { }
}
