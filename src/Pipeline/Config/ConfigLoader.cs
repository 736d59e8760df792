using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Vigil.Pipeline.Config;

/// <summary>
/// Loads and validates a pipeline YAML file. Everything is checked before anything starts; every problem is
/// reported with file, line, column and key, all at once.
/// </summary>
public static class ConfigLoader
{
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

        DetectorConfig? detector = null;
        var d = root.Section("detector", required: true);
        if (d is not null)
        {
            var model = d.String("model", required: true);
            if (model is not null && !File.Exists(Resolve(model)))
                d.Error("model", $"model file not found: {Resolve(model)}");
            detector = new DetectorConfig
            {
                Model = model is null ? "" : Resolve(model),
                Family = d.Enum("family", DetectorFamilyKind.Yolox),
                InputSize = d.IntPair("input_size"),
                ScoreThreshold = (float)d.Number("score_threshold", 0.3, 0, 1),
                NmsIou = (float)d.Number("nms_iou", 0.45, 0, 1),
                Classes = d.StringList("classes"),
                BatchSize = d.Integer("batch_size", 4, 1, 256),
                BatchTimeout = TimeSpan.FromMilliseconds(d.Number("batch_timeout_ms", 20, 0, 10_000)),
                Threads = d.Integer("threads", 0, 0, 256),
            };
            d.ReportUnknownKeys();
        }

        var tracker = new TrackerConfig();
        var t = root.Section("tracker");
        if (t is not null)
        {
            tracker = new TrackerConfig
            {
                Type = t.Enum("type", TrackerType.ByteTrack),
                HighThreshold = (float)t.Number("high_threshold", tracker.HighThreshold, 0, 1),
                LowThreshold = (float)t.Number("low_threshold", tracker.LowThreshold, 0, 1),
                NewTrackThreshold = (float)t.Number("new_track_threshold", tracker.NewTrackThreshold, 0, 1),
                MatchIou = (float)t.Number("match_iou", tracker.MatchIou, 0, 1),
                MaxAge = t.Integer("max_age", tracker.MaxAge, 0, 100_000),
                MinHits = t.Integer("min_hits", tracker.MinHits, 1, 1000),
            };
            if (tracker.LowThreshold > tracker.HighThreshold)
                t.Error("low_threshold", $"must not exceed high_threshold ({tracker.HighThreshold})");
            t.ReportUnknownKeys();
        }

        var osd = new OsdConfig();
        var o = root.Section("osd");
        if (o is not null)
        {
            osd = new OsdConfig
            {
                Enabled = o.Boolean("enabled", true),
                ShowConfidence = o.Boolean("show_confidence", true),
                ShowTrackId = o.Boolean("show_track_id", true),
            };
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
            Tracker = tracker,
            Osd = osd,
            Sinks = sinks,
            QueueCapacity = queue,
        };
    }

    private static string Trim(string message)
    {
        // YamlDotNet prefixes messages with "(Line: 3, Col: 5, Idx: ...) - (...): "; the position is printed separately.
        int i = message.LastIndexOf("): ", StringComparison.Ordinal);
        return i >= 0 ? message[(i + 3)..] : message;
    }
}
