using System.Threading.Channels;
using Vigil.Pipeline.Events;
using Vigil.Pipeline.Stages;

namespace Vigil.Tests.Pipeline;

public class StageRunnerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A processor that tags frames and fails on chosen frame numbers.</summary>
    private sealed class Tagging(Func<long, bool> failOn, List<string>? log = null) : IStageProcessor<Batch, Batch>
    {
        public ValueTask<Batch?> ProcessAsync(Batch item, CancellationToken ct)
        {
            foreach (var f in item.Frames)
            {
                if (failOn(f.FrameNumber)) throw new InvalidOperationException($"boom at {f.FrameNumber}");
                f.Extras["tagged"] = true;
            }
            return ValueTask.FromResult<Batch?>(item);
        }

        public ValueTask CompleteAsync(CancellationToken ct)
        {
            log?.Add("complete");
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            log?.Add("dispose");
            return ValueTask.CompletedTask;
        }
    }

    private static readonly StreamInfo Stream = new(0, "s", "mem", 8, 8, 25, "raw");

    private static Batch NewBatch(HostBufferPool pool, long n)
    {
        Assert.True(pool.TryRent(out var b));
        return new Batch([new Frame(Stream, n, n, TimeSpan.FromMilliseconds(40 * n), b!)]);
    }

    private static async Task<(List<Batch> Out, Exception? Error, StageRunner<Batch, Batch> Runner, PipelineEventBus Bus)> RunAsync(
        StageDefinition<Batch, Batch> def, HostBufferPool pool, int count)
    {
        var bus = new PipelineEventBus();
        var input = def.CreateInput();
        var output = Channel.CreateUnbounded<Batch>();
        var runner = def.Start(input.Reader, output.Writer, bus, b => b.Count, Ct);
        for (int i = 0; i < count; i++) await input.Writer.WriteAsync(NewBatch(pool, i), Ct);
        input.Writer.Complete();
        Exception? error = null;
        try { await runner.Completion; } catch (Exception ex) { error = ex; }
        var got = new List<Batch>();
        try
        {
            await foreach (var b in output.Reader.ReadAllAsync(Ct)) got.Add(b);
        }
        catch (InvalidOperationException ex) when (error is not null)
        {
            Assert.Same(error, ex); // the stage's failure reached the consumer downstream
        }
        return (got, error, runner, bus);
    }

    [Fact]
    public async Task Run_AllItemsSucceed_PassesThemInOrderAndCompletes()
    {
        using var pool = new HostBufferPool(8, 8, PixelFormat.Bgr24, 16);
        var log = new List<string>();
        var def = new StageDefinition<Batch, Batch>("tag", 4, ErrorPolicy.Stop, () => new Tagging(_ => false, log));
        var (got, error, runner, _) = await RunAsync(def, pool, 10);
        Assert.Null(error);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), got.Select(b => b.Frames[0].FrameNumber));
        Assert.All(got, b => Assert.True((bool)b.Frames[0].Extras["tagged"]));
        Assert.Equal(["complete", "dispose"], log);
        Assert.Equal(10, runner.Metrics.Frames);
        foreach (var b in got) b.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public async Task Run_SkipPolicyAndFailingItem_DropsItReportsAndContinues()
    {
        using var pool = new HostBufferPool(8, 8, PixelFormat.Bgr24, 16);
        var def = new StageDefinition<Batch, Batch>("tag", 4, ErrorPolicy.SkipFrame, () => new Tagging(n => n == 3));
        var (got, error, runner, bus) = await RunAsync(def, pool, 6);
        Assert.Null(error);
        Assert.Equal([0L, 1, 2, 4, 5], got.Select(b => b.Frames[0].FrameNumber));
        Assert.Equal(1, runner.Metrics.Errors);
        var e = Assert.Single(bus.Errors);
        Assert.Equal(PipelineEventKind.StageError, e.Kind);
        Assert.Contains("boom at 3", e.Message);
        foreach (var b in got) b.Dispose();
        Assert.Equal(0, pool.Outstanding); // the dropped frame's buffer went back to the pool
    }

    [Fact]
    public async Task Run_StopPolicyAndFailingItem_FailsDownstreamAndReleasesQueuedBuffers()
    {
        using var pool = new HostBufferPool(8, 8, PixelFormat.Bgr24, 16);
        var log = new List<string>();
        var def = new StageDefinition<Batch, Batch>("tag", 16, ErrorPolicy.Stop, () => new Tagging(n => n == 2, log));
        var (got, error, _, bus) = await RunAsync(def, pool, 8);
        Assert.IsType<InvalidOperationException>(error);
        Assert.Equal([0L, 1], got.Select(b => b.Frames[0].FrameNumber));
        Assert.Equal(["dispose"], log); // disposed, never completed normally
        Assert.Contains(bus.Errors, e => e.Origin == "tag");
        foreach (var b in got) b.Dispose();
        Assert.Equal(0, pool.Outstanding); // the failed item and everything still queued went back to the pool
    }
}
