using Vigil.Infer;
using Vigil.Pipeline.Config;
using Vigil.Osd;
using Vigil.Pipeline.Events;
using Vigil.Sinks;
using Vigil.Tracking;

namespace Vigil.Pipeline.Stages;

/// <summary>Runs the detector on a batch; boxes are appended to each frame's objects.</summary>
internal sealed class DetectProcessor(Detector detector) : IStageProcessor<Batch, Batch>
{
    private readonly Detector _detector = detector;

    public ValueTask<Batch?> ProcessAsync(Batch item, CancellationToken ct)
    {
        _detector.Process(item.Frames);
        return ValueTask.FromResult<Batch?>(item);
    }

    public ValueTask CompleteAsync(CancellationToken ct) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        _detector.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>One tracker per stream (frames of a stream arrive in order); sets track ids.</summary>
internal sealed class TrackProcessor(TrackerOptions options) : IStageProcessor<Batch, Batch>
{
    private readonly Dictionary<int, ITracker> _trackers = [];

    public ValueTask<Batch?> ProcessAsync(Batch item, CancellationToken ct)
    {
        foreach (var frame in item.Frames)
        {
            if (!_trackers.TryGetValue(frame.Stream.Index, out var tracker))
                _trackers[frame.Stream.Index] = tracker = TrackerFactory.Create(options);
            tracker.Update(frame.Objects);
        }
        return ValueTask.FromResult<Batch?>(item);
    }

    public ValueTask CompleteAsync(CancellationToken ct) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Draws boxes, labels and ids into host frames.</summary>
internal sealed class OsdProcessor(OsdOptions options) : IStageProcessor<Batch, Batch>
{
    private readonly OsdRenderer _renderer = new(options);

    public ValueTask<Batch?> ProcessAsync(Batch item, CancellationToken ct)
    {
        foreach (var frame in item.Frames) _renderer.Draw(frame);
        return ValueTask.FromResult<Batch?>(item);
    }

    public ValueTask CompleteAsync(CancellationToken ct) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// The terminal stage: JSON Lines for every frame, one annotated MP4 per stream, then the frame is released.
/// Files are finalized on normal completion and on dispose (Ctrl-C, a fault upstream), so they stay playable.
/// </summary>
internal sealed class SinkProcessor : IStageProcessor<Batch, Batch>
{
    private readonly SinksConfig _config;
    private readonly PipelineEventBus _bus;
    private readonly JsonLinesWriter? _jsonl;
    private readonly Dictionary<int, Mp4VideoWriter> _videos = [];
    private readonly HashSet<int> _videoFailed = [];
    private long _sinceFlush;
    private bool _closed;

    public SinkProcessor(SinksConfig config, PipelineEventBus bus)
    {
        _config = config;
        _bus = bus;
        if (config.JsonLinesPath is { } path) _jsonl = new JsonLinesWriter(path);
    }

    public ValueTask<Batch?> ProcessAsync(Batch item, CancellationToken ct)
    {
        try
        {
            foreach (var frame in item.Frames)
            {
                _jsonl?.Write(frame);
                if (_config.VideoPath is not null) WriteVideo(frame);
            }
            if ((_sinceFlush += item.Count) >= 100)
            {
                _jsonl?.Flush();
                _sinceFlush = 0;
            }
        }
        finally
        {
            item.Dispose();
        }
        return ValueTask.FromResult<Batch?>(null);
    }

    private void WriteVideo(Frame frame)
    {
        int stream = frame.Stream.Index;
        if (_videoFailed.Contains(stream)) return;
        if (!_videos.TryGetValue(stream, out var writer))
        {
            var path = _config.VideoPathFor(frame.Stream.Name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            writer = new Mp4VideoWriter(path, frame.Buffer.Width, frame.Buffer.Height, frame.Stream.FramesPerSecond,
                new Mp4WriterOptions { Preset = _config.VideoPreset, Crf = _config.VideoCrf, Log = m => _bus.Publish(PipelineEventKind.Info, $"video:{frame.Stream.Name}", m) });
            _videos[stream] = writer;
        }
        if (frame.Buffer.Width != writer.Width || frame.Buffer.Height != writer.Height)
        {
            // A resolution change mid-stream: the MP4 keeps its first size; say so once and stop writing that stream.
            _videoFailed.Add(stream);
            _bus.Publish(PipelineEventKind.StageError, $"video:{frame.Stream.Name}",
                $"resolution changed from {writer.Width}x{writer.Height} to {frame.Buffer.Width}x{frame.Buffer.Height}; video output for this stream stops here");
            return;
        }
        writer.Write(frame.Buffer, frame.Timestamp);
    }

    public ValueTask CompleteAsync(CancellationToken ct)
    {
        Close();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }

    private void Close()
    {
        if (_closed) return;
        _closed = true;
        foreach (var (_, w) in _videos)
        {
            try
            {
                w.Complete();
            }
            catch (Exception ex)
            {
                _bus.Publish(PipelineEventKind.StageError, "video", $"{w.Path}: could not finalize: {ex.Message}");
            }
            w.Dispose();
        }
        _jsonl?.Flush();
        _jsonl?.Dispose();
    }
}
