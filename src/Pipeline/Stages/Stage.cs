using System.Diagnostics;
using System.Threading.Channels;
using Vigil.Pipeline.Events;

namespace Vigil.Pipeline.Stages;

/// <summary>What a stage does when processing one item throws.</summary>
public enum ErrorPolicy
{
    /// <summary>Fail the stage: its output completes with the exception and the pipeline stops.</summary>
    Stop,
    /// <summary>Report the error on the bus, drop that item (returning its buffers) and go on.</summary>
    SkipFrame,
}

/// <summary>
/// The per-run part of a stage: owns whatever state processing needs (engine sessions, trackers, writers).
/// Created by a <see cref="StageDefinition{TIn,TOut}"/> for one run and disposed at its end.
/// </summary>
public interface IStageProcessor<in TIn, TOut> : IAsyncDisposable
    where TIn : class
    where TOut : class
{
    /// <summary>
    /// Processes one item. Returns the item to pass downstream (ownership moves with it), or null when this
    /// stage consumed the item (a sink) and has released it.
    /// </summary>
    ValueTask<TOut?> ProcessAsync(TIn item, CancellationToken ct);

    /// <summary>Called once after the input completed normally: flush and finalize (write trailers, flush files).</summary>
    ValueTask CompleteAsync(CancellationToken ct);
}

/// <summary>
/// The immutable, validated description of a stage (built from YAML); <see cref="Start"/> creates the
/// runner that owns one run's state. Input queue capacity and error policy are part of the definition.
/// </summary>
public sealed record StageDefinition<TIn, TOut>(
    string Name,
    int InputCapacity,
    ErrorPolicy OnError,
    Func<IStageProcessor<TIn, TOut>> CreateProcessor)
    where TIn : class, IDisposable
    where TOut : class
{
    public StageRunner<TIn, TOut> Start(
        ChannelReader<TIn> input, ChannelWriter<TOut>? output, PipelineEventBus bus, Func<TIn, int> frameCount, CancellationToken ct)
        => new(this, input, output, bus, frameCount, ct);

    /// <summary>The bounded queue in front of this stage: one reader (the stage), back-pressure by waiting.</summary>
    public Channel<TIn> CreateInput(bool singleWriter = true) => Channel.CreateBounded<TIn>(
        new BoundedChannelOptions(InputCapacity) { SingleReader = true, SingleWriter = singleWriter, FullMode = BoundedChannelFullMode.Wait });
}

public interface IStageRunner
{
    string Name { get; }
    Task Completion { get; }
    StageMetrics Metrics { get; }
}

/// <summary>
/// Runs one stage: reads its bounded input until completion, processes each item, writes results downstream,
/// and completes its output (with the exception on failure, so the failure flows downstream).
/// </summary>
public sealed class StageRunner<TIn, TOut> : IStageRunner
    where TIn : class, IDisposable
    where TOut : class
{
    private readonly StageDefinition<TIn, TOut> _definition;
    private readonly ChannelReader<TIn> _input;
    private readonly ChannelWriter<TOut>? _output;
    private readonly PipelineEventBus _bus;
    private readonly Func<TIn, int> _frameCount;

    internal StageRunner(StageDefinition<TIn, TOut> definition, ChannelReader<TIn> input, ChannelWriter<TOut>? output,
        PipelineEventBus bus, Func<TIn, int> frameCount, CancellationToken ct)
    {
        _definition = definition;
        _input = input;
        _output = output;
        _bus = bus;
        _frameCount = frameCount;
        Metrics = new StageMetrics(definition.Name)
        {
            QueueCapacity = definition.InputCapacity,
            QueueDepth = () => input.CanCount ? input.Count : 0,
        };
        Completion = Task.Run(() => RunAsync(ct), CancellationToken.None);
    }

    public string Name => _definition.Name;
    public Task Completion { get; }
    public StageMetrics Metrics { get; }

    private async Task RunAsync(CancellationToken ct)
    {
        IStageProcessor<TIn, TOut>? processor = null;
        try
        {
            processor = _definition.CreateProcessor();
            await foreach (var item in _input.ReadAllAsync(ct).ConfigureAwait(false))
            {
                long t0 = Stopwatch.GetTimestamp();
                int frames = _frameCount(item);
                TOut? result;
                try
                {
                    result = await processor.ProcessAsync(item, ct).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    // The item failed inside this stage: its buffers go back to their pool either way.
                    item.Dispose();
                    if (_definition.OnError != ErrorPolicy.SkipFrame || ex is OperationCanceledException) throw;
                    Metrics.RecordError();
                    _bus.Publish(PipelineEventKind.StageError, Name, $"item dropped: {ex.Message}");
                    continue;
                }
                Metrics.Record(t0, Stopwatch.GetTimestamp(), frames);
                if (result is not null && _output is not null)
                    await WriteOrReleaseAsync(result, ct).ConfigureAwait(false);
            }
            await processor.CompleteAsync(ct).ConfigureAwait(false);
            _output?.TryComplete();
        }
        catch (Exception ex)
        {
            if (ex is not OperationCanceledException)
                _bus.Publish(PipelineEventKind.StageError, Name, ex.Message);
            _output?.TryComplete(ex);
            DrainInput();
            throw;
        }
        finally
        {
            if (processor is not null) await processor.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask WriteOrReleaseAsync(TOut result, CancellationToken ct)
    {
        try
        {
            await _output!.WriteAsync(result, ct).ConfigureAwait(false);
        }
        catch
        {
            (result as IDisposable)?.Dispose();
            throw;
        }
    }

    /// <summary>After a failure, return the buffers of whatever is still queued so pools do not leak.</summary>
    private void DrainInput()
    {
        while (_input.TryRead(out var item)) item.Dispose();
    }
}
