using System.Diagnostics;

namespace Vigil.Infer;

/// <summary>Cumulative time spent in each step of a <see cref="Detector"/>.</summary>
public readonly record struct DetectorTimings(long Frames, long Batches, TimeSpan Prepare, TimeSpan Preprocess, TimeSpan Infer, TimeSpan Postprocess)
{
    public TimeSpan Total => Prepare + Preprocess + Infer + Postprocess;
}

/// <summary>
/// An object detector over batches of frames. <see cref="Process"/> is a fixed template — prepare, preprocess,
/// infer, postprocess, each timed — with the model-specific parts in an <see cref="IDetectorModel"/>
/// (<see cref="YoloxDecoder"/>, <see cref="BlazeFaceDecoder"/>) and the runtime behind an
/// <see cref="IInferenceEngine"/>. Boxes are mapped back to frame pixels, clipped, and appended to each frame's
/// <see cref="Frame.Objects"/>. Not thread-safe: one inference stage owns it.
/// </summary>
public sealed class Detector : IDisposable
{
    private readonly IInferenceEngine _engine;
    private readonly bool _ownsEngine;
    private readonly IDetectorModel _model;
    private readonly IBatchPreprocessor _preprocessor;
    private readonly IDeviceDetectionDecoder? _deviceDecoder;
    private readonly List<Detection>[] _deviceResults;
    private readonly DecodeSettings _settings;
    private readonly LetterboxTransform[] _transforms;
    private readonly List<Detection> _detections = [];
    private long _frames, _batches, _prepare, _preprocess, _infer, _postprocess;

    /// <summary>Builds a detector on ONNX Runtime (CPU) from validated options.</summary>
    /// <exception cref="VigilException">Invalid options, or a model that is missing, not ONNX, or does not match the options.</exception>
    public static Detector Create(DetectorOptions options, Func<PreprocessSpec, int, IBatchPreprocessor>? preprocessor = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0) throw new VigilException($"{options.ModelPath}: {errors[0]}");
        var engine = new OnnxRuntimeEngine(options.ModelPath, options.MaxBatch, options.Threads);
        try
        {
            return new Detector(options, engine, ownsEngine: true, preprocessor);
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>Builds a detector on a given engine (e.g. the GPU plan engine).</summary>
    /// <param name="ownsEngine">Dispose the engine with the detector.</param>
    /// <param name="preprocessor">Creates the preprocess step for (spec, max batch); null: CPU preprocessing of host BGR24 frames.</param>
    /// <param name="deviceDecoder">GPU postprocessing of the engine's device outputs (owned by the detector); used when the
    /// preprocessing wrote the engine's device input and the NMS is per class.</param>
    public Detector(DetectorOptions options, IInferenceEngine engine, bool ownsEngine = false, Func<PreprocessSpec, int, IBatchPreprocessor>? preprocessor = null,
        IDeviceDetectionDecoder? deviceDecoder = null)
        : this(options, engine, DetectorModels.Create(options.Family), ownsEngine, preprocessor, deviceDecoder) { }

    internal Detector(DetectorOptions options, IInferenceEngine engine, IDetectorModel model, bool ownsEngine,
        Func<PreprocessSpec, int, IBatchPreprocessor>? preprocessor = null, IDeviceDetectionDecoder? deviceDecoder = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(engine);
        _engine = engine;
        _model = model;
        var (w, h) = model.InputSize(engine);
        if ((options.InputWidth is { } ow && ow != w) || (options.InputHeight is { } oh && oh != h))
        {
            var d = engine.Inputs[0];
            throw new VigilException($"{engine.ModelPath}: input '{d.Name}' has shape {DetectorModels.ShapeText(d.Shape)} ({w}x{h}), " +
                $"but the config declares input size {options.InputWidth?.ToString() ?? "any"}x{options.InputHeight?.ToString() ?? "any"}");
        }
        model.CheckOutputs(engine, w, h);
        InputWidth = w;
        InputHeight = h;
        Spec = model.CreatePreprocessSpec(w, h);
        if (engine.Inputs[0].ElementsPerItem != Spec.ElementsPerImage)
            throw new VigilException($"{engine.ModelPath}: input '{engine.Inputs[0].Name}' holds {engine.Inputs[0].ElementsPerItem} values per image; {w}x{h}x3 expected");
        MaxBatch = Math.Min(options.MaxBatch, engine.MaxBatch);
        _preprocessor = preprocessor is null ? new CpuBatchPreprocessor(Spec) : preprocessor(Spec, MaxBatch);
        _deviceDecoder = options.ClassAgnosticNms ? null : deviceDecoder;
        _deviceResults = new List<Detection>[MaxBatch];
        for (int i = 0; i < MaxBatch; i++) _deviceResults[i] = [];
        _transforms = new LetterboxTransform[MaxBatch];

        HashSet<int>? keep = null;
        if (options.Classes.Count > 0)
        {
            keep = [];
            foreach (var c in options.Classes)
                keep.Add(DetectorOptions.ResolveClass(c, model.Labels)
                    ?? throw new VigilException($"{engine.ModelPath}: Classes: '{c}' is not a class of this model"));
        }
        _settings = new DecodeSettings(options.ScoreThreshold ?? model.DefaultScoreThreshold, options.NmsIou ?? model.DefaultNmsIou,
            options.ClassAgnosticNms, keep, options.MaxDetections);
        _ownsEngine = ownsEngine;
    }

    public DetectorFamily Family => _model.Family;
    public IReadOnlyList<string> Labels => _model.Labels;
    public int InputWidth { get; }
    public int InputHeight { get; }
    public int MaxBatch { get; }
    public PreprocessSpec Spec { get; }
    public IInferenceEngine Engine => _engine;
    public float ScoreThreshold => _settings.ScoreThreshold;
    public float NmsIou => _settings.NmsIou;

    public DetectorTimings Timings => new(_frames, _batches, Ticks(_prepare), Ticks(_preprocess), Ticks(_infer), Ticks(_postprocess));

    private static TimeSpan Ticks(long stopwatchTicks) => Stopwatch.GetElapsedTime(0, stopwatchTicks);

    /// <summary>
    /// Detects objects in host BGR24 frames (any count; split into batches of <see cref="MaxBatch"/>) and appends
    /// them to each frame's <see cref="Frame.Objects"/>.
    /// </summary>
    public void Process(IReadOnlyList<Frame> frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        for (int start = 0; start < frames.Count; start += MaxBatch)
            ProcessBatch(frames, start, Math.Min(MaxBatch, frames.Count - start));
    }

    private void ProcessBatch(IReadOnlyList<Frame> frames, int start, int count)
    {
        long t0 = Stopwatch.GetTimestamp();
        for (int i = start; i < start + count; i++) _preprocessor.Check(frames[i]);
        long t1 = Stopwatch.GetTimestamp();
        var written = _preprocessor.Run(frames, start, count, _engine, _transforms);
        long t2 = Stopwatch.GetTimestamp();
        bool onDevice = written == MemoryKind.Device;
        if (onDevice) ((IDeviceInputEngine)_engine).RunFromDevice(count, downloadOutputs: _deviceDecoder is null);
        else _engine.Run(count);
        if (onDevice && _deviceDecoder is not null) _deviceDecoder.Decode(count, _settings, _deviceResults);
        long t3 = Stopwatch.GetTimestamp();
        Postprocess(frames, start, count, onDevice && _deviceDecoder is not null);
        long t4 = Stopwatch.GetTimestamp();
        _prepare += t1 - t0;
        _preprocess += t2 - t1;
        _infer += t3 - t2;
        _postprocess += t4 - t3;
        _frames += count;
        _batches++;
    }

    private void Postprocess(IReadOnlyList<Frame> frames, int start, int count, bool decodedOnDevice)
    {
        for (int i = 0; i < count; i++)
        {
            var frame = frames[start + i];
            var detections = _detections;
            if (decodedOnDevice)
            {
                detections = _deviceResults[i];
            }
            else
            {
                _detections.Clear();
                _model.Decode(_engine, i, _settings, _detections);
            }
            var t = _transforms[i];
            float fw = frame.Buffer.Width, fh = frame.Buffer.Height;
            foreach (var d in detections)
            {
                var box = t.ToSource(d.Box).Clip(fw, fh);
                if (box.Area <= 0f) continue;
                (float X, float Y)[]? keypoints = null;
                if (d.Keypoints is { } kp)
                {
                    keypoints = new (float, float)[kp.Length / 2];
                    for (int k = 0; k < keypoints.Length; k++)
                        keypoints[k] = ((kp[2 * k] - t.OffsetX) / t.ScaleX, (kp[2 * k + 1] - t.OffsetY) / t.ScaleY);
                }
                frame.Objects.Add(new ObjectMeta
                {
                    Box = box,
                    ClassId = d.ClassId,
                    Label = _model.Labels[d.ClassId],
                    Confidence = d.Score,
                    Keypoints = keypoints,
                });
            }
        }
    }

    public void Dispose()
    {
        _preprocessor.Dispose();
        _deviceDecoder?.Dispose();
        if (_ownsEngine) _engine.Dispose();
    }
}
