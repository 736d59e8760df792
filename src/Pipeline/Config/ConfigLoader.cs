using Vigil.Infer;
using Vigil.Osd;
using Vigil.Tracking;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Vigil.Pipeline.Config;

/// <summary>
/// Loads and validates a pipeline YAML file. Everything is checked before anything starts; every problem is
/// reported with file, line, column and key, all at once.
/// </summary>
public static class ConfigLoader
{
    private enum X264Preset { UltraFast, SuperFast, VeryFast, Faster, Fast, Medium, Slow, Slower, VerySlow }

    public static PipelineConfig Load(string path)
    {
        var display = Path.GetRelativePath(Environment.CurrentDirectory, Path.GetFullPath(path));
        if (!File.Exists(path))
            throw new ConfigException([new ConfigError(display, 0, 0, "(file)", "no such configuration file")]);
        return Parse(File.ReadAllText(path), display, Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    public static PipelineConfig Parse(string yaml, string fileName, string baseDirectory)
    {
        var errors = new ConfigErrors(fileName);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            var inner = ex.InnerException?.Message ?? ex.Message;
            throw new ConfigException([new ConfigError(fileName, (int)ex.Start.Line, (int)ex.Start.Column, "(syntax)", $"invalid YAML: {Trim(inner)}")]);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode rootNode)
            throw new ConfigException([new ConfigError(fileName, 1, 1, "(document)", "expected a mapping with keys such as sources, detector, sinks")]);

        var root = new YamlSection(rootNode, "", errors);
        string Resolve(string p) => Path.GetFullPath(Path.Combine(baseDirectory, p));

        var name = root.String("name") ?? Path.GetFileNameWithoutExtension(fileName);
        var device = root.Enum("device", ComputeDevice.Cpu);
        int queue = root.Integer("queue_capacity", 8, 1, 1024);

        var sources = new List<SourceConfig>();
        var names = new HashSet<string>();
        foreach (var s in root.SectionList("sources", required: true))
        {
            var uri = s.String("uri", required: true);
            var srcName = s.String("name") ?? (uri is null ? $"source{sources.Count}" : Path.GetFileNameWithoutExtension(uri));
            if (!names.Add(srcName)) s.Error("name", $"duplicate source name '{srcName}'");
            var src = new SourceConfig
            {
                Name = srcName,
                Uri = uri is null ? "" : uri.Contains("://", StringComparison.Ordinal) ? uri : Resolve(uri),
                OnError = s.Enum("on_error", SourceErrorPolicy.Skip),
                ReconnectAttempts = s.Integer("reconnect_attempts", 3, 0, 1_000_000),
                ReconnectDelay = TimeSpan.FromMilliseconds(s.Integer("reconnect_delay_ms", 2000, 0, 3_600_000)),
                MaxFrames = s.Integer("max_frames", 0, 0),
            };
            s.ReportUnknownKeys();
            sources.Add(src);
        }

        DetectorOptions? detector = null;
        var batchTimeout = TimeSpan.FromMilliseconds(20);
        var backend = InferenceBackend.Auto;
        var precision = ModelPrecision.Fp16;
        var d = root.Section("detector", required: true);
        if (d is not null)
        {
            var model = d.String("model", required: true);
            if (model is not null && !File.Exists(Resolve(model)))
                d.Error("model", $"model file not found: {Resolve(model)}");
            var size = d.IntPair("input_size");
            detector = new DetectorOptions
            {
                ModelPath = model is null ? "" : Resolve(model),
                Family = d.Enum("family", DetectorFamily.Yolox),
                InputWidth = size?[0],
                InputHeight = size?[1],
                ScoreThreshold = d.Has("score_threshold") ? (float)d.Number("score_threshold", 0.3, 0.001, 1) : null,
                NmsIou = d.Has("nms_iou") ? (float)d.Number("nms_iou", 0.45, 0.001, 1) : null,
                ClassAgnosticNms = d.Boolean("class_agnostic_nms", false),
                Classes = d.StringList("classes"),
                MaxBatch = d.Integer("batch_size", 4, 1, 256),
                Threads = d.Integer("threads", 0, 0, 256),
                MaxDetections = d.Integer("max_detections", 300, 1, 100_000),
            };
            batchTimeout = TimeSpan.FromMilliseconds(d.Number("batch_timeout_ms", 20, 0, 10_000));
            backend = d.Enum("engine", InferenceBackend.Auto);
            precision = d.Enum("precision", ModelPrecision.Fp16);
            if (backend == InferenceBackend.Plan && device == ComputeDevice.Cpu)
                d.Error("engine", "the plan engine needs device: gpu (use onnxruntime or auto on the CPU)");
            foreach (var problem in detector.Validate())
                d.Error(KeyOf(problem, "classes"), problem);
            d.ReportUnknownKeys();
        }

        TrackerOptions? tracker = new();
        var t = root.Section("tracker");
        if (t is not null)
        {
            var defaults = new TrackerOptions();
            var type = t.String("type") ?? "bytetrack";
            if (type == "none") tracker = null;
            else if (!TrackerFactory.TryParseKind(type, out var kind)) t.Error("type", $"'{type}' is not one of: none, iou, sort, bytetrack");
            else
            {
                tracker = new TrackerOptions
                {
                    Kind = kind,
                    MinScore = (float)t.Number("min_score", defaults.MinScore, 0, 1),
                    MinIou = (float)t.Number("min_iou", defaults.MinIou, 0, 1),
                    MinHits = t.Integer("min_hits", defaults.MinHits, 1, 1000),
                    MaxAge = t.Integer("max_age", defaults.MaxAge, 0, 100_000),
                    HighScore = (float)t.Number("high_score", defaults.HighScore, 0, 1),
                    LowScore = (float)t.Number("low_score", defaults.LowScore, 0, 1),
                    NewTrackScore = (float)t.Number("new_track_score", defaults.NewTrackScore, 0, 1),
                    MatchDistance = (float)t.Number("match_distance", defaults.MatchDistance, 0, 1),
                    SecondMatchDistance = (float)t.Number("second_match_distance", defaults.SecondMatchDistance, 0, 1),
                    UnconfirmedMatchDistance = (float)t.Number("unconfirmed_match_distance", defaults.UnconfirmedMatchDistance, 0, 1),
                    TrackBuffer = t.Integer("track_buffer", defaults.TrackBuffer, 0, 100_000),
                    ByteTrackMinHits = t.Integer("bytetrack_min_hits", defaults.ByteTrackMinHits, 1, 1000),
                    FuseScore = t.Boolean("fuse_score", defaults.FuseScore),
                    AppearanceWeight = (float)t.Number("appearance_weight", defaults.AppearanceWeight, 0, 1),
                };
                foreach (var problem in tracker.Validate())
                    t.Error("type", problem);
            }
            t.ReportUnknownKeys();
        }

        OsdOptions? osd = new();
        var o = root.Section("osd");
        if (o is not null)
        {
            var defaults = new OsdOptions();
            osd = o.Boolean("enabled", true)
                ? new OsdOptions
                {
                    Thickness = o.Integer("thickness", defaults.Thickness, 1, 20),
                    FontScale = o.Number("font_scale", defaults.FontScale, 0.05, 10),
                    ShowLabel = o.Boolean("show_label", defaults.ShowLabel),
                    ShowConfidence = o.Boolean("show_confidence", defaults.ShowConfidence),
                    ShowTrackId = o.Boolean("show_track_id", defaults.ShowTrackId),
                    DrawKeypoints = o.Boolean("draw_keypoints", defaults.DrawKeypoints),
                    ColorBy = o.Enum("color_by", defaults.ColorBy),
                }
                : null;
            o.ReportUnknownKeys();
        }

        var sinks = new SinksConfig();
        var k = root.Section("sinks");
        if (k is not null)
        {
            var video = k.Section("video");
            var jsonl = k.Section("jsonl");
            var report = k.Section("report");
            string? videoPath = video?.String("path", required: true);
            if (videoPath is not null && sources.Count > 1 && !videoPath.Contains("{stream}", StringComparison.Ordinal))
                video!.Error("path", "with several sources the path must contain {stream}, e.g. output/{stream}.mp4");
            sinks = new SinksConfig
            {
                VideoPath = videoPath is null ? null : Resolve(videoPath),
                VideoPreset = video?.Enum("preset", X264Preset.VeryFast).ToString().ToLowerInvariant() ?? "veryfast",
                VideoCrf = video?.Integer("crf", 23, 0, 51) ?? 23,
                JsonLinesPath = jsonl?.String("path", required: true) is { } jp ? Resolve(jp) : null,
                ReportPath = report?.String("path") is { } rp ? Resolve(rp) : null,
                ReportInterval = TimeSpan.FromSeconds(report?.Number("interval_s", 5, 0, 86_400) ?? 5),
            };
            video?.ReportUnknownKeys();
            jsonl?.ReportUnknownKeys();
            report?.ReportUnknownKeys();
            k.ReportUnknownKeys();
        }

        root.ReportUnknownKeys();
        if (errors.List.Count > 0) throw new ConfigException(errors.List);
        return new PipelineConfig
        {
            SourceFile = fileName,
            Name = name,
            Device = device,
            Sources = sources,
            Detector = detector!,
            BatchTimeout = batchTimeout,
            Backend = backend,
            Precision = precision,
            Tracker = tracker,
            Osd = osd,
            Sinks = sinks,
            QueueCapacity = queue,
        };
    }

    /// <summary>Options records name the bad property first ("Classes: ..."); map it back to its YAML key.</summary>
    private static string KeyOf(string problem, string fallback)
    {
        int colon = problem.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0) return fallback;
        var prop = problem[..colon];
        return prop switch
        {
            "ModelPath" => "model",
            "Family" => "family",
            "InputWidth" or "InputHeight" => "input_size",
            "ScoreThreshold" => "score_threshold",
            "NmsIou" => "nms_iou",
            "Classes" => "classes",
            "MaxBatch" => "batch_size",
            "Threads" => "threads",
            "MaxDetections" => "max_detections",
            _ => fallback,
        };
    }

    private static string Trim(string message)
    {
        // YamlDotNet prefixes messages with "(Line: 3, Col: 5, Idx: ...) - (...): "; the position is printed separately.
        int i = message.LastIndexOf("): ", StringComparison.Ordinal);
        return i >= 0 ? message[(i + 3)..] : message;
    }
}
