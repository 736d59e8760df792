using System.Diagnostics;

namespace Vigil.Pipeline.Stages;

/// <summary>
/// Counters and latency samples of one stage. Thread-safe for one writer (the stage) and any readers
/// (the periodic report). Latencies are kept in a bounded ring of the most recent samples, which is
/// what p50/p99 of a live service should describe.
/// </summary>
public sealed class StageMetrics
{
    private const int Window = 8192;
    private readonly double[] _latencyMs = new double[Window];
    private readonly Lock _gate = new();
    private long _samples;
    private long _items;
    private long _frames;
    private long _errors;
    private long _busyTicks;
    private long _firstTicks;
    private long _lastTicks;

    public StageMetrics(string stage) => Stage = stage;

    public string Stage { get; }
    public long Items => Interlocked.Read(ref _items);
    public long Frames => Interlocked.Read(ref _frames);
    public long Errors => Interlocked.Read(ref _errors);
    /// <summary>Current depth of the stage's input queue, sampled by the report.</summary>
    public Func<int>? QueueDepth { get; set; }
    public int QueueCapacity { get; set; }

    public void Record(long startTicks, long endTicks, int frames)
    {
        double ms = (endTicks - startTicks) * 1000.0 / Stopwatch.Frequency;
        lock (_gate)
        {
            _latencyMs[_samples % Window] = ms;
            _samples++;
            if (_firstTicks == 0) _firstTicks = startTicks;
            _lastTicks = endTicks;
        }
        Interlocked.Increment(ref _items);
        Interlocked.Add(ref _frames, frames);
        Interlocked.Add(ref _busyTicks, endTicks - startTicks);
    }

    public void RecordError() => Interlocked.Increment(ref _errors);

    public StageSnapshot Snapshot()
    {
        double[] copy;
        long first, last;
        lock (_gate)
        {
            int n = (int)Math.Min(_samples, Window);
            copy = _latencyMs.AsSpan(0, n).ToArray();
            first = _firstTicks;
            last = _lastTicks;
        }
        Array.Sort(copy);
        double wallS = last > first ? (last - first) / (double)Stopwatch.Frequency : 0;
        long frames = Frames;
        return new StageSnapshot(
            Stage, Items, frames, Errors,
            wallS > 0 ? frames / wallS : 0,
            Percentile(copy, 0.50), Percentile(copy, 0.99),
            Interlocked.Read(ref _busyTicks) / (double)Stopwatch.Frequency,
            QueueDepth?.Invoke() ?? 0, QueueCapacity);
    }

    private static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0) return 0;
        double rank = p * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank), hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }
}

/// <summary>A point-in-time view of a stage: throughput over its active span, latency percentiles, queue.</summary>
public sealed record StageSnapshot(
    string Stage, long Items, long Frames, long Errors, double FramesPerSecond,
    double LatencyP50Ms, double LatencyP99Ms, double BusySeconds, int QueueDepth, int QueueCapacity)
{
    /// <summary>Frames per second of busy time: what the stage could do alone.</summary>
    public double CapacityFramesPerSecond => BusySeconds > 0 ? Frames / BusySeconds : 0;
}
