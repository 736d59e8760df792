using System.Diagnostics;
using Vigil.Decode;
using Vigil.Infer;
using Vigil.Pipeline;
using Vigil.Pipeline.Config;
using Vigil.Sinks;

namespace Vigil.Benchmarks.Pipeline;

/// <summary>
/// The CPU pipeline on vtest: decode-only, inference-only (preprocess + ONNX Runtime + postprocess),
/// encode-only, and end to end (decode → detect → track → OSD → MP4 + JSON Lines), each as frames/s, and the
/// ratio of end to end to the slowest single stage. Medians of several runs, all in one process and run.
///   Vigil.Benchmarks pipeline [--config configs/people.yaml] [--runs 3]
/// </summary>
public static class PipelineBenchmark
{
    public static int Run(string[] args)
    {
        string configPath = Arg(args, "--config") ?? Path.Combine(FindRoot(), "configs", "people.yaml");
        int runs = int.Parse(Arg(args, "--runs") ?? "3", System.Globalization.CultureInfo.InvariantCulture);
        var config = ConfigLoader.Load(configPath);
        var source = config.Sources[0];
        var outDir = Path.Combine(Path.GetTempPath(), $"vigil-bench-{Environment.ProcessId}");
        config = config with
        {
            Sinks = config.Sinks with
            {
                VideoPath = Path.Combine(outDir, "{stream}.mp4"),
                JsonLinesPath = Path.Combine(outDir, "out.jsonl"),
                ReportPath = null,
                ReportInterval = TimeSpan.Zero,
            },
        };

        var decode = new List<double>();
        var infer = new List<double>();
        var encode = new List<double>();
        var endToEnd = new List<double>();
        var frames = DecodeAll(source.Uri, out _); // warm-up + frames for the single-stage runs
        try
        {
            for (int i = 0; i < runs; i++)
            {
                decode.Add(Measure(() => { DecodeAll(source.Uri, out int n, keep: false); return n; }));
                infer.Add(Measure(() => Infer(config.Detector, frames)));
                encode.Add(Measure(() => Encode(frames, Path.Combine(outDir, "encode-only.mp4"), source.Uri)));
                endToEnd.Add(EndToEnd(config));
                Console.WriteLine($"run {i + 1}: decode {decode[^1]:0.0}  infer {infer[^1]:0.0}  encode {encode[^1]:0.0}  end-to-end {endToEnd[^1]:0.0} frames/s");
            }
        }
        finally
        {
            foreach (var f in frames) f.Dispose();
            Directory.Delete(outDir, recursive: true);
        }
        double d = MachineInfo.Median(decode), n = MachineInfo.Median(infer), e = MachineInfo.Median(encode), all = MachineInfo.Median(endToEnd);
        double slowest = new[] { d, n, e }.Min();
        Console.WriteLine();
        Console.WriteLine($"| stage (vtest 768x576, {frames.Count} frames, medians of {runs}) | frames/s |");
        Console.WriteLine("|---|---:|");
        Console.WriteLine($"| decode only (FFmpeg software, to BGR) | {d:0.0} |");
        Console.WriteLine($"| inference only (YOLOX-nano 416, ONNX Runtime CPU, batch {config.Detector.MaxBatch}) | {n:0.0} |");
        Console.WriteLine($"| encode only (H.264 MP4) | {e:0.0} |");
        Console.WriteLine($"| end to end (decode, detect, track, OSD, MP4 + JSON Lines) | {all:0.0} |");
        Console.WriteLine($"| ratio end to end / slowest stage | {all / slowest:0.00} |");
        // On a machine where every stage is CPU-bound, the stages share the cores: the best any schedule can do is
        // one frame per (sum of the stages' per-frame costs). Above 1.0 means the stages overlap usefully.
        double serial = 1 / (1 / d + 1 / n + 1 / e);
        Console.WriteLine($"| serial bound 1/(1/decode + 1/infer + 1/encode) | {serial:0.0} |");
        Console.WriteLine($"| ratio end to end / serial bound | {all / serial:0.00} |");
        return 0;
    }

    private static double Measure(Func<int> work)
    {
        var sw = Stopwatch.StartNew();
        int n = work();
        return n / sw.Elapsed.TotalSeconds;
    }

    private static List<Frame> DecodeAll(string uri, out int count, bool keep = true)
    {
        var list = new List<Frame>();
        using var src = FFmpegVideoSource.Open(uri, 0, "bench", new FFmpegSourceOptions { BufferPoolCapacity = keep ? 1024 : 8 });
        count = 0;
        while (true)
        {
            var r = src.ReadAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
            if (r.Status == ReadStatus.EndOfStream) break;
            if (r.Status != ReadStatus.Frame) continue;
            count++;
            if (keep) list.Add(r.Frame!);
            else r.Frame!.Dispose();
        }
        return list;
    }

    private static int Infer(DetectorOptions options, List<Frame> frames)
    {
        using var detector = Detector.Create(options);
        for (int i = 0; i < frames.Count; i += options.MaxBatch)
        {
            var batch = frames.GetRange(i, Math.Min(options.MaxBatch, frames.Count - i));
            foreach (var f in batch) f.Objects.Clear();
            detector.Process(batch);
        }
        return frames.Count;
    }

    private static int Encode(List<Frame> frames, string path, string uri)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var w = new Mp4VideoWriter(path, frames[0].Buffer.Width, frames[0].Buffer.Height, frames[0].Stream.FramesPerSecond);
        foreach (var f in frames) w.Write(f.Buffer, f.Timestamp);
        w.Complete();
        return frames.Count;
    }

    private static double EndToEnd(PipelineConfig config)
    {
        var (code, result) = PipelineHost.RunAsync(config, TextWriter.Null, CancellationToken.None).GetAwaiter().GetResult();
        if (code != 0) throw new InvalidOperationException($"pipeline exited with {code}");
        return result.FramesPerSecond;
    }

    private static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Vigil.slnx"))) return dir.FullName;
        return Environment.CurrentDirectory;
    }
}
