using System.Runtime.InteropServices;
using Vigil.Pipeline.Config;
using Vigil.Pipeline.Events;

namespace Vigil.Pipeline;

/// <summary>
/// Runs a pipeline as a job: logs bus events, prints the performance summary on an interval and at the end,
/// writes the report file, and maps the outcome to an exit code (0 all streams fine, 3 some streams failed,
/// 1 every stream failed or a stage fault).
/// </summary>
public static class PipelineHost
{
    public const int ExitOk = 0;
    public const int ExitFault = 1;
    public const int ExitPartial = 3;

    public static async Task<(int ExitCode, PipelineResult Result)> RunAsync(
        PipelineConfig config, TextWriter log, CancellationToken stop)
    {
        var bus = new PipelineEventBus();
        // Builds the stages (opens the model) before any source starts: a bad model stops here with one line.
        var components = PipelineComponentsFactory.Create(config, bus);
        var pipeline = new VideoPipeline(config, components, bus);
        var started = DateTime.UtcNow;
        var run = pipeline.RunAsync(stop);
        var events = PumpEventsAsync(pipeline.Events, log);
        using var reportStop = new CancellationTokenSource();
        var periodic = config.Sinks.ReportInterval > TimeSpan.Zero
            ? PeriodicReportAsync(pipeline, config.Sinks.ReportInterval, started, log, reportStop.Token)
            : Task.CompletedTask;
        PipelineResult result;
        try
        {
            result = await run.ConfigureAwait(false);
        }
        finally
        {
            foreach (var owned in components.Owned.Reverse()) owned.Dispose();
        }
        await reportStop.CancelAsync().ConfigureAwait(false);
        await periodic.ConfigureAwait(false);
        await events.ConfigureAwait(false);

        if (result.FramesOut > 0)
            await log.WriteLineAsync(PerformanceReport.Format(result.Stages, result.Elapsed, result.FramesOut)).ConfigureAwait(false);
        if (config.Sinks.ReportPath is { } path) PerformanceReport.WriteJson(path, result);
        foreach (var s in result.Sources.Where(s => s.Outcome == Stages.SourceOutcome.Failed))
            await log.WriteLineAsync($"source {s.Name} failed: {s.Failure}").ConfigureAwait(false);
        if (result.Fault is not null)
            await log.WriteLineAsync($"pipeline stopped by an error: {result.Fault.Message}").ConfigureAwait(false);

        int code = result.Fault is not null || result.FailedSources == result.Sources.Count ? ExitFault
            : result.FailedSources > 0 ? ExitPartial : ExitOk;
        return (code, result);
    }

    private static async Task PumpEventsAsync(PipelineEventBus bus, TextWriter log)
    {
        await foreach (var e in bus.Reader.ReadAllAsync().ConfigureAwait(false))
            await log.WriteLineAsync(e.ToString()).ConfigureAwait(false);
    }

    private static async Task PeriodicReportAsync(VideoPipeline pipeline, TimeSpan interval, DateTime started, TextWriter log, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                var runners = pipeline.Runners;
                if (runners.Count == 0) continue;
                var snaps = runners.Select(r => r.Metrics.Snapshot()).ToList();
                await log.WriteLineAsync(PerformanceReport.Format(snaps, DateTime.UtcNow - started, snaps[^1].Frames)).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// First SIGINT/SIGTERM: stop reading sources, drain, finalize outputs. Second: abort at once
    /// (outputs are still finalized by the sinks' dispose).
    /// </summary>
    public static IDisposable HandleSignals(CancellationTokenSource stop, Action? onSecond = null)
    {
        int count = 0;
        void Handler(PosixSignalContext ctx)
        {
            ctx.Cancel = true;
            if (Interlocked.Increment(ref count) == 1)
            {
                Console.Error.WriteLine($"vigil: {ctx.Signal} received: stopping sources, finishing outputs (again to abort)");
                stop.Cancel();
            }
            else
            {
                onSecond?.Invoke();
                Environment.Exit(130);
            }
        }
        var regs = new[] { PosixSignalRegistration.Create(PosixSignal.SIGINT, Handler), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handler) };
        return new Registrations(regs);
    }

    private sealed class Registrations(PosixSignalRegistration[] regs) : IDisposable
    {
        public void Dispose()
        {
            foreach (var r in regs) r.Dispose();
        }
    }
}
