using System.Globalization;

namespace Vigil.Infer;

/// <summary>Everything needed to build a <see cref="Detector"/>; the pipeline maps its YAML onto this.</summary>
public sealed record DetectorOptions
{
    /// <summary>ONNX model file.</summary>
    public required string ModelPath { get; init; }
    public DetectorFamily Family { get; init; } = DetectorFamily.Yolox;
    /// <summary>Declared model input width; null takes it from the model. When set, the model must match.</summary>
    public int? InputWidth { get; init; }
    /// <summary>Declared model input height; null takes it from the model. When set, the model must match.</summary>
    public int? InputHeight { get; init; }
    /// <summary>Minimum score kept; null uses the family default (YOLOX 0.3, BlazeFace 0.5).</summary>
    public float? ScoreThreshold { get; init; }
    /// <summary>NMS IoU threshold; null uses the family default (YOLOX 0.45, BlazeFace 0.3).</summary>
    public float? NmsIou { get; init; }
    /// <summary>Suppress overlapping boxes regardless of class (YOLOX; BlazeFace has one class).</summary>
    public bool ClassAgnosticNms { get; init; }
    /// <summary>Classes to keep, as label names ("person") or numeric ids ("0"); empty keeps all.</summary>
    public IReadOnlyList<string> Classes { get; init; } = [];
    /// <summary>Most frames per inference call.</summary>
    public int MaxBatch { get; init; } = 1;
    /// <summary>ONNX Runtime intra-op threads; 0 lets ONNX Runtime choose.</summary>
    public int Threads { get; init; }
    /// <summary>Most objects reported per frame.</summary>
    public int MaxDetections { get; init; } = 300;

    /// <summary>Problems with these options, each naming the option; empty when valid. Does not open the model.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(ModelPath)) errors.Add("ModelPath: required");
        if (!Enum.IsDefined(Family)) errors.Add($"Family: unknown family {Family} (yolox or blazeface)");
        if (InputWidth is < 1) errors.Add($"InputWidth: must be positive, got {InputWidth}");
        if (InputHeight is < 1) errors.Add($"InputHeight: must be positive, got {InputHeight}");
        if (ScoreThreshold is { } s && !(s > 0f && s <= 1f)) errors.Add($"ScoreThreshold: must be in (0, 1], got {s}");
        if (NmsIou is { } n && !(n > 0f && n <= 1f)) errors.Add($"NmsIou: must be in (0, 1], got {n}");
        if (MaxBatch < 1) errors.Add($"MaxBatch: must be at least 1, got {MaxBatch}");
        if (Threads < 0) errors.Add($"Threads: must be 0 (automatic) or more, got {Threads}");
        if (MaxDetections < 1) errors.Add($"MaxDetections: must be at least 1, got {MaxDetections}");
        if (Enum.IsDefined(Family))
        {
            var labels = DetectorModels.LabelsOf(Family);
            foreach (var c in Classes)
                if (ResolveClass(c, labels) is null)
                    errors.Add($"Classes: '{c}' is not a {Family.ToString().ToLowerInvariant()} class (names such as '{labels[0]}', or ids 0..{labels.Count - 1})");
        }
        return errors;
    }

    /// <summary>Class id for a name or numeric id, or null when it names no class.</summary>
    internal static int? ResolveClass(string nameOrId, IReadOnlyList<string> labels)
    {
        var t = nameOrId.Trim();
        if (int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
            return id < labels.Count ? id : null;
        for (int i = 0; i < labels.Count; i++)
            if (string.Equals(labels[i], t, StringComparison.OrdinalIgnoreCase)) return i;
        return null;
    }
}
