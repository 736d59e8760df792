using System.Diagnostics;
using System.Threading.Channels;
using Vigil.Pipeline.Config;
using Vigil.Pipeline.Events;
using Vigil.Pipeline.Stages;

namespace Vigil.Pipeline;

/// <summary>The parts a pipeline is assembled from; CPU and GPU paths supply different ones.</summary>
public sealed record PipelineComponents(
    Func<SourceConfig, int, IVideoSource> OpenSource,
    IReadOnlyList<StageDefinition<Batch, Batch>> Stages,
    StageDefinition<Batch, Batch> Sink)
{
    /// <summary>Resources the components share (a CUDA context), disposed after the run.</summary>
    public IReadOnlyList<IDisposable> Owned { get; init; } = [];
}

public sealed record SourceResult(string Name, SourceOutcome Outcome, long Frames, long CorruptFrames, string? Failure);

public sealed record PipelineResult(
    IReadOnlyList<SourceResult> Sources,
    IReadOnlyList<StageSnapshot> Stages,
    TimeSpan Elapsed,
    long FramesOut,
    Exception? Fault)
{
    public double FramesPerSecond => Elapsed.TotalSeconds > 0 ? FramesOut / Elapsed.TotalSeconds : 0;
    public int FailedSources => Sources.Count(s => s.Outcome == SourceOutcome.Failed);
}

/// <summary>
/// Runs sources → batcher → stages → sink, every edge a bounded channel. Stopping (Ctrl-C) stops the sources
/// only: what is already decoded drains through the stages and the sinks finalize their files. A fault in a
/// stage (error policy Stop) completes its output with the exception, which flows down to the sink, and aborts
/// the run; the sink's processor finalizes its files on dispose either way.
/// </summary>
public sealed class VideoPipeline
{
    private readonly PipelineConfig _config;
    private readonly PipelineComponents _components;

    public VideoPipeline(PipelineConfig config, PipelineComponents components, PipelineEventBus events)
    {
        _config = config;
        _components = components;
        Events = events;
    }

    public PipelineEventBus Events { get; }

    /// <summary>Live view of every stage's metrics while running (for the periodic report).</summary>
    public IReadOnlyList<IStageRunner> Runners { get; private set; } = [];

    public async Task<PipelineResult> RunAsync(CancellationToken stop)
    {
        var sw = Stopwatch.StartNew();
        using var abort = new CancellationTokenSource();
        using var stopSources = CancellationTokenSource.CreateLinkedTokenSource(stop, abort.Token);
        int capacity = _config.QueueCapacity;

        var frames = Channel.CreateBounded<Frame>(new BoundedChannelOptions(Math.Max(capacity, _config.Detector.MaxBatch * 2))
        { SingleReader = true, SingleWriter = _config.Sources.Count == 1, FullMode = BoundedChannelFullMode.Wait });
        var sources = _config.Sources
            .Select((s, i) => new SourceRunner(s, i, _components.OpenSource, frames.Writer, Events, stopSources.Token))
            .ToList();
        var sourcesDone = Task.WhenAll(sources.Select(s => s.Completion)).ContinueWith(
            t => frames.Writer.TryComplete(t.Exception?.GetBaseException()), TaskScheduler.Default);

        var runners = new List<IStageRunner>(sources);
        var firstStageInput = Channel.CreateBounded<Batch>(new BoundedChannelOptions(capacity)
        { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        runners.Add(new Batcher(frames.Reader, firstStageInput.Writer, _config.Detector.MaxBatch, _config.BatchTimeout,
            frames.Reader.CanCount ? capacity : 0, abort.Token));

        ChannelReader<Batch> upstream = firstStageInput.Reader;
        foreach (var def in _components.Stages)
        {
            var next = Channel.CreateBounded<Batch>(new BoundedChannelOptions(capacity)
            { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
            runners.Add(def.Start(upstream, next.Writer, Events, b => b.Count, abort.Token));
            upstream = next.Reader;
        }
        var sink = _components.Sink.Start(upstream, null, Events, b => b.Count, abort.Token);
        runners.Add(sink);
        Runners = runners;

        Exception? fault = null;
        var stages = runners.Where(r => r is not SourceRunner).ToList();
        // The first stage fault (or a source with policy stop) stops the sources; the rest drains.
        var watch = stages.Select(s => s.Completion).Concat(sources.Select(s => s.Completion)).Select(async t =>
        {
            try { await t.ConfigureAwait(false); }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Interlocked.CompareExchange(ref fault, ex, null);
                // Stages upstream of the failure would block on its full queue: abort them. Sinks finalize
                // their files when disposed, so what was already written stays playable.
                await abort.CancelAsync().ConfigureAwait(false);
            }
        }).ToList();
        await Task.WhenAll(watch).ConfigureAwait(false);
        await sourcesDone.ConfigureAwait(false);
        sw.Stop();
        Events.Complete();

        return new PipelineResult(
            sources.Select(s => new SourceResult(s.Name, s.Outcome, s.Metrics.Frames, s.CorruptFrames, s.FailureMessage)).ToList(),
            runners.Select(r => r.Metrics.Snapshot()).ToList(),
            sw.Elapsed,
            sink.Metrics.Frames,
            fault);
    }
}
