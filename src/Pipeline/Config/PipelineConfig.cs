namespace Vigil.Pipeline.Config;

public enum ComputeDevice { Cpu, Gpu }

public enum DetectorFamilyKind { Yolox, BlazeFace }

public enum TrackerType { None, Iou, Sort, ByteTrack }

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
    public required DetectorConfig Detector { get; init; }
    public TrackerConfig Tracker { get; init; } = new();
    public OsdConfig Osd { get; init; } = new();
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

public sealed record DetectorConfig
{
    public required string Model { get; init; }
    public DetectorFamilyKind Family { get; init; } = DetectorFamilyKind.Yolox;
    /// <summary>Model input width and height; when absent, read from the model.</summary>
    public int[]? InputSize { get; init; }
    public float ScoreThreshold { get; init; } = 0.3f;
    public float NmsIou { get; init; } = 0.45f;
    /// <summary>Class names (or numeric ids) to keep; empty keeps all.</summary>
    public IReadOnlyList<string> Classes { get; init; } = [];
    public int BatchSize { get; init; } = 4;
    /// <summary>Longest wait for a batch to fill before running a partial one.</summary>
    public TimeSpan BatchTimeout { get; init; } = TimeSpan.FromMilliseconds(20);
    /// <summary>ONNX Runtime intra-op threads on the CPU (0: one per core).</summary>
    public int Threads { get; init; }
}

public sealed record TrackerConfig
{
    public TrackerType Type { get; init; } = TrackerType.ByteTrack;
    /// <summary>ByteTrack: detections at or above this score take part in the first association.</summary>
    public float HighThreshold { get; init; } = 0.5f;
    /// <summary>ByteTrack: detections between this and the high threshold take part in the second association.</summary>
    public float LowThreshold { get; init; } = 0.1f;
    /// <summary>Minimum score to start a new track.</summary>
    public float NewTrackThreshold { get; init; } = 0.6f;
    /// <summary>Minimum IoU for a detection to continue a track.</summary>
    public float MatchIou { get; init; } = 0.2f;
    /// <summary>Frames a track survives without detections.</summary>
    public int MaxAge { get; init; } = 30;
    /// <summary>Detections needed before a track is confirmed (gets an id in the output).</summary>
    public int MinHits { get; init; } = 3;
}

public sealed record OsdConfig
{
    public bool Enabled { get; init; } = true;
    public bool ShowConfidence { get; init; } = true;
    public bool ShowTrackId { get; init; } = true;
}

public sealed record SinksConfig
{
    /// <summary>Annotated video path; "{stream}" is replaced by the source name (required with several sources).</summary>
    public string? VideoPath { get; init; }
    public string? JsonLinesPath { get; init; }
    /// <summary>Performance summary JSON written at the end.</summary>
    public string? ReportPath { get; init; }
    /// <summary>How often the performance summary is printed while running (0: only at the end).</summary>
    public TimeSpan ReportInterval { get; init; } = TimeSpan.FromSeconds(5);

    public string VideoPathFor(string stream) => VideoPath!.Replace("{stream}", stream, StringComparison.Ordinal);
}
