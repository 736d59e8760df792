using System.Diagnostics;
using System.Threading.Channels;

namespace Vigil.Pipeline.Stages;

/// <summary>
/// Forms batches across streams (DeepStream's stream muxer): takes up to <c>maxBatch</c> frames, waiting at
/// most <c>timeout</c> after the first one so a slow stream never holds the others back.
/// </summary>
public sealed class Batcher : IStageRunner
{
    private readonly ChannelReader<Frame> _input;
    private readonly ChannelWriter<Batch> _output;
    private readonly int _maxBatch;
    private readonly TimeSpan _timeout;

    public Batcher(ChannelReader<Frame> input, ChannelWriter<Batch> output, int maxBatch, TimeSpan timeout, int inputCapacity, CancellationToken ct)
    {
        _input = input;
        _output = output;
        _maxBatch = maxBatch;
        _timeout = timeout;
        Metrics = new StageMetrics("batch") { QueueCapacity = inputCapacity, QueueDepth = () => input.CanCount ? input.Count : 0 };
        Completion = Task.Run(() => RunAsync(ct), CancellationToken.None);
    }

    public string Name => "batch";
    public Task Completion { get; }
    public StageMetrics Metrics { get; }

    private async Task RunAsync(CancellationToken ct)
    {
        var pending = new List<Frame>(_maxBatch);
        try
        {
            while (await _input.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                if (!_input.TryRead(out var first)) continue;
                long t0 = Stopwatch.GetTimestamp();
                pending.Add(first);
                long deadline = t0 + (long)(_timeout.TotalSeconds * Stopwatch.Frequency);
                while (pending.Count < _maxBatch)
                {
                    if (_input.TryRead(out var next)) { pending.Add(next); continue; }
                    long remaining = deadline - Stopwatch.GetTimestamp();
                    if (remaining <= 0) break;
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    wait.CancelAfter(TimeSpan.FromSeconds(remaining / (double)Stopwatch.Frequency));
                    try
                    {
                        if (!await _input.WaitToReadAsync(wait.Token).ConfigureAwait(false)) break;
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        break;
                    }
                }
                var batch = new Batch(pending.ToArray());
                pending.Clear();
                Metrics.Record(t0, Stopwatch.GetTimestamp(), batch.Count);
                try
                {
                    await _output.WriteAsync(batch, ct).ConfigureAwait(false);
                }
                catch
                {
                    batch.Dispose();
                    throw;
                }
            }
            _output.TryComplete();
        }
        catch (Exception ex)
        {
            foreach (var f in pending) f.Dispose();
            while (_input.TryRead(out var f)) f.Dispose();
            _output.TryComplete(ex);
            throw;
        }
    }
}
