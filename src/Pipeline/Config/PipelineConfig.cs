using Vigil.Infer;
using Vigil.Osd;
using Vigil.Tracking;

namespace Vigil.Pipeline.Config;

public enum ComputeDevice { Cpu, Gpu }

/// <summary>Which runtime executes the detector's model.</summary>
public enum InferenceBackend
{
    /// <summary>The plan engine on device: gpu, ONNX Runtime on device: cpu.</summary>
    Auto,
    /// <summary>ONNX Runtime on the CPU (on device: gpu it is fed the tensor the GPU preprocessing made).</summary>
    OnnxRuntime,
    /// <summary>Vigil's plan engine (GPU only): the plan is built once and cached next to the model.</summary>
    Plan,
}

public enum ModelPrecision { Fp32, Fp16 }

public enum SourceErrorPolicy
{
    /// <summary>Report the failed source and keep the other streams running (default).</summary>
    Skip,
    /// <summary>Stop the whole pipeline when this source fails.</summary>
    Stop,
}

/// <summary>A validated pipeline description; paths are absolute (resolved against the config file's folder).</summary>
public sealed record PipelineConfig
{
    public required string SourceFile { get; init; }
    public required string Name { get; init; }
    public ComputeDevice Device { get; init; } = ComputeDevice.Cpu;
    public required IReadOnlyList<SourceConfig> Sources { get; init; }
    public required DetectorOptions Detector { get; init; }
    public InferenceBackend Backend { get; init; } = InferenceBackend.Auto;
    /// <summary>Precision of the plan engine (the CPU engine always runs FP32).</summary>
    public ModelPrecision Precision { get; init; } = ModelPrecision.Fp16;
    /// <summary>Longest wait for a batch to fill before running a partial one.</summary>
    public TimeSpan BatchTimeout { get; init; } = TimeSpan.FromMilliseconds(20);
    /// <summary>Null: no tracking.</summary>
    public TrackerOptions? Tracker { get; init; } = new();
    /// <summary>Null: nothing drawn.</summary>
    public OsdOptions? Osd { get; init; } = new();
    public SinksConfig Sinks { get; init; } = new();
    public int QueueCapacity { get; init; } = 8;
}

public sealed record SourceConfig
{
    public required string Name { get; init; }
    /// <summary>An absolute file path or a URL (rtsp://, http://, ...).</summary>
    public required string Uri { get; init; }
    public SourceErrorPolicy OnError { get; init; } = SourceErrorPolicy.Skip;
    /// <summary>For network sources: how often to reconnect after a drop before giving up.</summary>
    public int ReconnectAttempts { get; init; } = 3;
    public TimeSpan ReconnectDelay { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Stop after this many frames (0: the whole stream).</summary>
    public long MaxFrames { get; init; }
    public bool IsNetwork => Uri.Contains("://", StringComparison.Ordinal) && !Uri.StartsWith("file://", StringComparison.OrdinalIgnoreCase);
}

public sealed record SinksConfig
{
    /// <summary>Annotated video path; "{stream}" is replaced by the source name (required with several sources).</summary>
    public string? VideoPath { get; init; }
    /// <summary>H.264 encoder preset (libx264: ultrafast .. veryslow).</summary>
    public string VideoPreset { get; init; } = "veryfast";
    /// <summary>H.264 constant rate factor (0 lossless .. 51 worst).</summary>
    public int VideoCrf { get; init; } = 23;
    public string? JsonLinesPath { get; init; }
    /// <summary>Performance summary JSON written at the end.</summary>
    public string? ReportPath { get; init; }
    /// <summary>How often the performance summary is printed while running (0: only at the end).</summary>
    public TimeSpan ReportInterval { get; init; } = TimeSpan.FromSeconds(5);

    public string VideoPathFor(string stream) => VideoPath!.Replace("{stream}", stream, StringComparison.Ordinal);
}
