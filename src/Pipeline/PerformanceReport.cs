using System.Globalization;
using System.Text;
using System.Text.Json;
using Vigil.Pipeline.Stages;

namespace Vigil.Pipeline;

/// <summary>Formats stage metrics as the periodic and final performance summary (text and JSON).</summary>
public static class PerformanceReport
{
    public static string Format(IEnumerable<StageSnapshot> stages, TimeSpan elapsed, long framesOut)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        double fps = elapsed.TotalSeconds > 0 ? framesOut / elapsed.TotalSeconds : 0;
        sb.AppendLine(inv, $"performance after {elapsed.TotalSeconds:0.0} s: {framesOut} frames out, {fps:0.0} frames/s end to end");
        sb.AppendLine(inv, $"  {"stage",-22} {"frames",8} {"fps",8} {"cap fps",8} {"p50 ms",8} {"p99 ms",8} {"queue",7} {"errors",6}");
        foreach (var s in stages)
        {
            var queue = s.QueueCapacity > 0 ? $"{s.QueueDepth}/{s.QueueCapacity}" : "-";
            sb.AppendLine(inv, $"  {s.Stage,-22} {s.Frames,8} {s.FramesPerSecond,8:0.0} {s.CapacityFramesPerSecond,8:0.0} {s.LatencyP50Ms,8:0.00} {s.LatencyP99Ms,8:0.00} {queue,7} {s.Errors,6}");
        }
        return sb.ToString().TrimEnd();
    }

    public static void WriteJson(string path, PipelineResult result)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var file = File.Create(path);
        using var json = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteNumber("elapsed_s", Math.Round(result.Elapsed.TotalSeconds, 3));
        json.WriteNumber("frames_out", result.FramesOut);
        json.WriteNumber("fps", Math.Round(result.FramesPerSecond, 2));
        json.WriteStartArray("sources");
        foreach (var s in result.Sources)
        {
            json.WriteStartObject();
            json.WriteString("name", s.Name);
            json.WriteString("outcome", s.Outcome.ToString().ToLowerInvariant());
            json.WriteNumber("frames", s.Frames);
            json.WriteNumber("corrupt_frames", s.CorruptFrames);
            if (s.Failure is not null) json.WriteString("failure", s.Failure);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartArray("stages");
        foreach (var s in result.Stages)
        {
            json.WriteStartObject();
            json.WriteString("stage", s.Stage);
            json.WriteNumber("frames", s.Frames);
            json.WriteNumber("fps", Math.Round(s.FramesPerSecond, 2));
            json.WriteNumber("capacity_fps", Math.Round(s.CapacityFramesPerSecond, 2));
            json.WriteNumber("latency_p50_ms", Math.Round(s.LatencyP50Ms, 3));
            json.WriteNumber("latency_p99_ms", Math.Round(s.LatencyP99Ms, 3));
            json.WriteNumber("errors", s.Errors);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
