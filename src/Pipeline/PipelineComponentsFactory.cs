using Vigil.Cuda;
using Vigil.Decode;
using Vigil.Decode.Nvdec;
using Vigil.Engine;
using Vigil.Engine.Gpu;
using Vigil.Engine.Plan;
using Vigil.Infer;
using Vigil.Infer.Gpu;
using Vigil.Pipeline.Config;
using Vigil.Pipeline.Events;
using Vigil.Pipeline.Stages;

namespace Vigil.Pipeline;

/// <summary>
/// Assembles the concrete stages for a configuration. CPU: FFmpeg decode to host BGR, CPU preprocessing,
/// ONNX Runtime, OpenCV OSD. GPU: NVDEC to device NV12 surfaces, the fused preprocessing kernel, the model
/// (ONNX Runtime on the CPU fed with the GPU-made tensor, until the plan engine runs it), OSD drawn on the GPU,
/// one download per frame for the video sink.
/// </summary>
public static class PipelineComponentsFactory
{
    public static PipelineComponents Create(PipelineConfig config, PipelineEventBus bus) =>
        config.Device == ComputeDevice.Gpu ? CreateGpu(config, bus) : CreateCpu(config, bus);

    private static PipelineComponents CreateCpu(PipelineConfig config, PipelineEventBus bus)
    {
        int capacity = config.QueueCapacity;
        // Opened here, before any source starts, so a model that is not ONNX or does not match the
        // configuration is a one-line error and nothing runs. The detect stage's run owns it from then on.
        var detector = Detector.Create(config.Detector);
        var stages = new List<StageDefinition<Batch, Batch>>
        {
            new("detect", capacity, ErrorPolicy.Stop, () => new DetectProcessor(detector)),
        };
        if (config.Tracker is { } tracker)
            stages.Add(new("track", capacity, ErrorPolicy.Stop, () => new TrackProcessor(tracker)));
        if (config.Osd is { } osd && config.Sinks.VideoPath is not null)
            stages.Add(new("osd", capacity, ErrorPolicy.SkipFrame, () => new OsdProcessor(osd)));
        var sink = new StageDefinition<Batch, Batch>("sink", capacity, ErrorPolicy.Stop, () => new SinkProcessor(config.Sinks, bus));
        int pool = FramesInFlight(config, stages.Count);
        return new PipelineComponents(
            (source, index) => FFmpegVideoSource.Open(source.Uri, index, source.Name, new FFmpegSourceOptions { BufferPoolCapacity = pool }),
            stages,
            sink);
    }

    private static PipelineComponents CreateGpu(PipelineConfig config, PipelineEventBus bus)
    {
        int capacity = config.QueueCapacity;
        CudaContext context;
        try
        {
            context = CudaContext.Create(0);
        }
        catch (Exception ex) when (ex is DllNotFoundException or CudaException or EntryPointNotFoundException)
        {
            throw new VigilException($"{config.SourceFile}: device: gpu, but no usable NVIDIA GPU was found ({ex.Message})");
        }
        Detector detector;
        KernelCompiler compiler;
        try
        {
            compiler = new KernelCompiler(context);
            var engine = CreateGpuEngine(config, context, compiler);
            // YOLOX on the plan engine: grid decode, threshold and NMS run on the GPU too; only final boxes come back.
            IDeviceDetectionDecoder? deviceDecoder = engine is PlanInferenceEngine plan && config.Detector.Family == DetectorFamily.Yolox
                ? new YoloxDeviceDecoder(context, compiler, plan.Engine, (int)plan.Inputs[0].Shape[^1], config.Detector.MaxDetections)
                : null;
            detector = new Detector(config.Detector, engine, ownsEngine: true,
                // A device engine takes its input in its own precision (FP16 plans: written as FP16 straight into the arena).
                (spec, maxBatch) => new GpuBatchPreprocessor(context, compiler,
                    engine is IDeviceInputEngine device ? spec with { ElementType = device.DeviceInputType } : spec, maxBatch), deviceDecoder);
        }
        catch
        {
            context.Dispose();
            throw;
        }
        var stages = new List<StageDefinition<Batch, Batch>>
        {
            new("detect", capacity, ErrorPolicy.Stop, () => new DetectProcessor(detector)),
        };
        if (config.Tracker is { } tracker)
            stages.Add(new("track", capacity, ErrorPolicy.Stop, () => new TrackProcessor(tracker)));
        int pool = FramesInFlight(config, stages.Count + 1);
        if (config.Sinks.VideoPath is not null)
            stages.Add(new("gpu-osd", capacity, ErrorPolicy.Stop,
                () => new GpuOsdDownloadProcessor(context, compiler, draw: config.Osd is not null, poolCapacity: capacity * 2 + 2)));
        var sink = new StageDefinition<Batch, Batch>("sink", capacity, ErrorPolicy.Stop, () => new SinkProcessor(config.Sinks, bus));
        return new PipelineComponents(
            (source, index) => NvdecVideoSource.Open(context, source.Uri, index, source.Name, new NvdecSourceOptions { SurfacePoolCapacity = pool }),
            stages,
            sink)
        { Owned = [context] };
    }

    /// <summary>
    /// The plan engine (built on first use for this GPU, precision and batch profile, then loaded from the plan
    /// cached next to the model), or ONNX Runtime on the CPU when the configuration asks for it.
    /// </summary>
    private static IInferenceEngine CreateGpuEngine(PipelineConfig config, CudaContext context, KernelCompiler compiler)
    {
        var o = config.Detector;
        if (config.Backend == InferenceBackend.OnnxRuntime)
            return new OnnxRuntimeEngine(o.ModelPath, o.MaxBatch, o.Threads);
        var build = new BuildOptions
        {
            Precision = config.Precision == ModelPrecision.Fp32 ? PlanPrecision.Fp32 : PlanPrecision.Fp16,
            BatchMin = 1,
            BatchOpt = o.MaxBatch,
            BatchMax = o.MaxBatch,
            // The FP16 range check runs on inputs in the range the detector's preprocessing produces.
            CalibrationRange = DetectorModels.Create(o.Family).CreatePreprocessSpec(1, 1).OutputRange(),
        };
        try
        {
            var (plan, _) = PlanCache.LoadOrBuild(context, compiler, o.ModelPath, build, Console.Error);
            return new PlanInferenceEngine(new GpuEngine(context, compiler, plan, o.ModelPath), o.ModelPath);
        }
        catch (EngineException ex)
        {
            throw new VigilException($"{o.ModelPath}: the plan engine cannot build this model: {ex.Message}");
        }
    }

    /// <summary>Enough decoded frames in flight for every queue between source and sink, so pools never starve the flow.</summary>
    private static int FramesInFlight(PipelineConfig config, int stages) =>
        config.QueueCapacity * (stages + 2) + config.Detector.MaxBatch * 2;
}
