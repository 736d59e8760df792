using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Vigil.Infer;

namespace Vigil.Benchmarks.Infer;

/// <summary>
/// Inference-only throughput of the CPU detector: preprocess + ONNX Runtime + postprocess on real vtest frames
/// already decoded into memory (decode is excluded). Baseline in the same run: ONNX Runtime alone on the same
/// preprocessed inputs, so the figure shows what pre/postprocessing add. Reports the median of several timed
/// runs after a warm-up.
/// Usage: infer [--model PATH] [--video PATH] [--frames N] [--runs R] [--warmup W] [--threads T] [--batch B]
/// </summary>
public static class InferBenchmark
{
    public static int Run(string[] args)
    {
        string root = FindRoot();
        string model = Path.Combine(root, "models", "yolox_nano_416x416.onnx");
        string video = Path.Combine(root, "sample-videos", "vtest.mp4");
        int frames = 100, runs = 5, warmup = 30, threads = 0, batch = 1;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--model": model = Next(); break;
                case "--video": video = Next(); break;
                case "--frames": frames = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--runs": runs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--threads": threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--batch": batch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                default:
                    Console.Error.WriteLine($"infer: unknown argument {args[i]}");
                    return 2;
            }
        }
        if (!File.Exists(model) || !File.Exists(video))
        {
            Console.Error.WriteLine($"infer: need {model} and {video} (run models/fetch.sh and sample-videos/fetch.sh)");
            return 2;
        }

        var (w, h) = Probe(video);
        Console.WriteLine($"infer benchmark: {Path.GetFileName(model)} on {frames} frames of {Path.GetFileName(video)} ({w}x{h}), batch {batch}, " +
            $"ORT threads {(threads == 0 ? "auto" : threads.ToString(CultureInfo.InvariantCulture))}, {runs} runs after {warmup} warm-up frames");
        Console.WriteLine($"machine: {CpuName()}, {Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, no GPU used");

        var buffers = Decode(video, frames, w, h);
        var stream = new StreamInfo(0, "vtest", video, w, h, 25, "h264");
        try
        {
            using var det = Detector.Create(new DetectorOptions { ModelPath = model, MaxBatch = batch, Threads = threads });
            var fps = new List<double>();
            var ortFps = new List<double>();
            long objects = 0;
            RunOnce(det, buffers.Take(warmup).ToList(), stream, batch, out _);
            for (int r = 0; r < runs; r++)
            {
                var before = det.Timings;
                var sw = Stopwatch.StartNew();
                RunOnce(det, buffers, stream, batch, out objects);
                sw.Stop();
                var after = det.Timings;
                fps.Add(frames / sw.Elapsed.TotalSeconds);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  run {r + 1}: {fps[^1],7:F1} frames/s  per frame: preprocess {Ms(after.Preprocess - before.Preprocess, frames):F2} ms, " +
                    $"infer {Ms(after.Infer - before.Infer, frames):F2} ms, postprocess {Ms(after.Postprocess - before.Postprocess, frames):F3} ms; {objects} objects"));
            }
            // Baseline: the engine alone on the input left by the last batch (same model, same threads).
            for (int r = 0; r < runs; r++)
            {
                int calls = (frames + batch - 1) / batch;
                var sw = Stopwatch.StartNew();
                for (int c = 0; c < calls; c++) det.Engine.Run(Math.Min(batch, frames - c * batch));
                sw.Stop();
                ortFps.Add(frames / sw.Elapsed.TotalSeconds);
            }
            double median = Median(fps), ortMedian = Median(ortFps);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"RESULT infer: detector (preprocess+ORT+postprocess) median {median:F1} frames/s; baseline ORT only median {ortMedian:F1} frames/s; ratio {median / ortMedian:F3}"));
            return 0;
        }
        finally
        {
            foreach (var b in buffers) b.Release();
        }
    }

    private static void RunOnce(Detector det, IReadOnlyList<HostFrameBuffer> buffers, StreamInfo stream, int batch, out long objects)
    {
        objects = 0;
        var chunk = new List<Frame>(batch);
        for (int i = 0; i < buffers.Count; i += batch)
        {
            chunk.Clear();
            for (int k = i; k < Math.Min(i + batch, buffers.Count); k++)
                chunk.Add(new Frame(stream, k, k, TimeSpan.Zero, buffers[k].AddRef()));
            det.Process(chunk);
            foreach (var f in chunk)
            {
                objects += f.Objects.Count;
                f.Dispose();
            }
        }
    }

    private static double Ms(TimeSpan t, int frames) => t.TotalMilliseconds / frames;

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Vigil.slnx"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }

    private static string CpuName()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "unknown CPU" : line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
    }

    private static string RunTool(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {tool}");
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{tool} failed: {err.Result}");
        return output;
    }

    private static (int W, int H) Probe(string video)
    {
        var parts = RunTool("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", video)
            .Trim().Split(',');
        return (int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    /// <summary>Decodes frames with the ffmpeg tool (outside the timed region) into BGR24 host buffers.</summary>
    private static List<HostFrameBuffer> Decode(string video, int count, int w, int h)
    {
        var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-v", "error", "-i", video, "-frames:v", count.ToString(CultureInfo.InvariantCulture), "-f", "rawvideo", "-pix_fmt", "bgr24", "-" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start ffmpeg");
        var err = p.StandardError.ReadToEndAsync();
        var list = new List<HostFrameBuffer>();
        var row = new byte[w * 3];
        var stdout = p.StandardOutput.BaseStream;
        for (int f = 0; f < count; f++)
        {
            var buf = HostFrameBuffer.Allocate(w, h, PixelFormat.Bgr24);
            for (int y = 0; y < h; y++)
            {
                stdout.ReadExactly(row);
                row.CopyTo(buf.Row(y));
            }
            list.Add(buf);
        }
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"ffmpeg failed: {err.Result}");
        return list;
    }
}
