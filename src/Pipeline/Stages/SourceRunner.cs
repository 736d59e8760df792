using System.Threading.Channels;
using Vigil.Pipeline.Config;
using Vigil.Pipeline.Events;

namespace Vigil.Pipeline.Stages;

public enum SourceOutcome { Running, Ended, Stopped, Failed }

/// <summary>
/// Reads one stream into the shared frame queue. Expected outcomes (end of stream, a corrupt frame, a
/// reconnect) are reported as events and the stream goes on; a source that cannot be opened or read fails
/// alone: the other streams keep running unless its policy says <see cref="SourceErrorPolicy.Stop"/>.
/// </summary>
public sealed class SourceRunner : IStageRunner
{
    private readonly SourceConfig _config;
    private readonly int _index;
    private readonly Func<SourceConfig, int, IVideoSource> _open;
    private readonly ChannelWriter<Frame> _output;
    private readonly PipelineEventBus _bus;
    private long _corrupt;

    public SourceRunner(SourceConfig config, int index, Func<SourceConfig, int, IVideoSource> open,
        ChannelWriter<Frame> output, PipelineEventBus bus, CancellationToken stop)
    {
        _config = config;
        _index = index;
        _open = open;
        _output = output;
        _bus = bus;
        Metrics = new StageMetrics($"source:{config.Name}");
        Completion = Task.Run(() => RunAsync(stop), CancellationToken.None);
    }

    public string Name => _config.Name;
    public Task Completion { get; }
    public StageMetrics Metrics { get; }
    public SourceOutcome Outcome { get; private set; } = SourceOutcome.Running;
    public string? FailureMessage { get; private set; }
    public long CorruptFrames => Interlocked.Read(ref _corrupt);
    public StreamInfo? Info { get; private set; }

    private async Task RunAsync(CancellationToken stop)
    {
        int attemptsLeft = _config.IsNetwork ? _config.ReconnectAttempts : 0;
        long delivered = 0;
        while (true)
        {
            try
            {
                using var source = _open(_config, _index);
                Info = source.Info;
                _bus.Publish(PipelineEventKind.SourceOpened, Name,
                    $"{source.Info.Codec} {source.Info.Width}x{source.Info.Height} @ {source.Info.FramesPerSecond:0.##} fps");
                while (true)
                {
                    if (_config.MaxFrames > 0 && delivered >= _config.MaxFrames)
                    {
                        Outcome = SourceOutcome.Ended;
                        _bus.Publish(PipelineEventKind.SourceEnded, Name, $"max_frames reached after {delivered} frames");
                        return;
                    }
                    long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                    var result = await source.ReadAsync(stop).ConfigureAwait(false);
                    switch (result.Status)
                    {
                        case ReadStatus.Frame:
                            Metrics.Record(t0, System.Diagnostics.Stopwatch.GetTimestamp(), 1);
                            try
                            {
                                await _output.WriteAsync(result.Frame!, stop).ConfigureAwait(false);
                            }
                            catch
                            {
                                result.Frame!.Dispose();
                                throw;
                            }
                            delivered++;
                            attemptsLeft = _config.IsNetwork ? _config.ReconnectAttempts : 0;
                            break;
                        case ReadStatus.CorruptData:
                            Interlocked.Increment(ref _corrupt);
                            Metrics.RecordError();
                            _bus.Publish(PipelineEventKind.CorruptFrame, Name, result.Error ?? "corrupt data");
                            break;
                        case ReadStatus.EndOfStream:
                            if (_config.IsNetwork && attemptsLeft > 0)
                                throw new VideoSourceException("the stream ended unexpectedly");
                            Outcome = SourceOutcome.Ended;
                            _bus.Publish(PipelineEventKind.SourceEnded, Name, $"end of stream after {delivered} frames");
                            return;
                        case ReadStatus.NeedMoreData:
                            break;
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                Outcome = SourceOutcome.Stopped;
                _bus.Publish(PipelineEventKind.SourceEnded, Name, $"stopped after {delivered} frames");
                return;
            }
            catch (Exception ex) when (ex is VideoSourceException or IOException or InvalidDataException or VigilException)
            {
                if (attemptsLeft-- > 0)
                {
                    _bus.Publish(PipelineEventKind.SourceReconnecting, Name,
                        $"{ex.Message}; reconnecting in {_config.ReconnectDelay.TotalSeconds:0.#} s ({attemptsLeft} attempts left)");
                    try { await Task.Delay(_config.ReconnectDelay, stop).ConfigureAwait(false); }
                    catch (OperationCanceledException) { Outcome = SourceOutcome.Stopped; return; }
                    continue;
                }
                Outcome = SourceOutcome.Failed;
                FailureMessage = ex.Message;
                _bus.Publish(PipelineEventKind.SourceFailed, Name, ex.Message);
                if (_config.OnError == SourceErrorPolicy.Stop) throw;
                return;
            }
        }
    }
}
