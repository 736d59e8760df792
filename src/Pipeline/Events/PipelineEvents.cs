using System.Threading.Channels;

namespace Vigil.Pipeline.Events;

public enum PipelineEventKind
{
    SourceOpened,
    SourceFailed,
    SourceEnded,
    SourceReconnecting,
    CorruptFrame,
    StageError,
    Info,
}

public sealed record PipelineEvent(DateTimeOffset Time, PipelineEventKind Kind, string Origin, string Message)
{
    public bool IsError => Kind is PipelineEventKind.SourceFailed or PipelineEventKind.StageError or PipelineEventKind.CorruptFrame;

    public override string ToString() => $"{Time:HH:mm:ss.fff} {Kind,-18} {Origin}: {Message}";
}

/// <summary>
/// The pipeline's one place for faults and notable outcomes (GStreamer's bus): stages publish, the host
/// logs and counts. Publishing never blocks a stage: the bus keeps the newest events when nobody reads.
/// </summary>
public sealed class PipelineEventBus
{
    private readonly Channel<PipelineEvent> _channel = Channel.CreateBounded<PipelineEvent>(
        new BoundedChannelOptions(4096) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = false });
    private readonly List<PipelineEvent> _errors = [];
    private readonly Lock _gate = new();

    public ChannelReader<PipelineEvent> Reader => _channel.Reader;

    /// <summary>Every error event published so far (kept for the final summary and tests).</summary>
    public IReadOnlyList<PipelineEvent> Errors
    {
        get { lock (_gate) return _errors.ToArray(); }
    }

    public void Publish(PipelineEventKind kind, string origin, string message)
    {
        var e = new PipelineEvent(DateTimeOffset.Now, kind, origin, message);
        if (e.IsError) lock (_gate) _errors.Add(e);
        _channel.Writer.TryWrite(e);
    }

    public void Complete() => _channel.Writer.TryComplete();
}
