using Vigil.Decode;
using Vigil.Pipeline.Config;
using Vigil.Pipeline.Events;
using Vigil.Pipeline.Stages;

namespace Vigil.Pipeline;

/// <summary>Assembles the concrete stages for a configuration.</summary>
public static class PipelineComponentsFactory
{
    public static PipelineComponents Create(PipelineConfig config, PipelineEventBus bus)
    {
        if (config.Device == ComputeDevice.Gpu)
            throw new VigilException($"{config.SourceFile}: device: gpu is not available in this build of the pipeline yet; use device: cpu");
        int capacity = config.QueueCapacity;
        // Opened here, before any source starts, so a model that is not ONNX or does not match the
        // configuration is a one-line error and nothing runs. The detect stage's run owns it from then on.
        var detector = Infer.Detector.Create(config.Detector);
        var stages = new List<StageDefinition<Batch, Batch>>
        {
            new("detect", capacity, ErrorPolicy.Stop, () => new DetectProcessor(detector)),
        };
        if (config.Tracker is { } tracker)
            stages.Add(new("track", capacity, ErrorPolicy.Stop, () => new TrackProcessor(tracker)));
        if (config.Osd is { } osd && config.Sinks.VideoPath is not null)
            stages.Add(new("osd", capacity, ErrorPolicy.SkipFrame, () => new OsdProcessor(osd)));
        var sink = new StageDefinition<Batch, Batch>("sink", capacity, ErrorPolicy.Stop, () => new SinkProcessor(config.Sinks, bus));
        // Enough decoded frames in flight for every queue between source and sink, so pools never starve the flow.
        int pool = capacity * (stages.Count + 2) + config.Detector.MaxBatch * 2;
        return new PipelineComponents(
            (source, index) => FFmpegVideoSource.Open(source.Uri, index, source.Name, new FFmpegSourceOptions { BufferPoolCapacity = pool }),
            stages,
            sink);
    }
}
