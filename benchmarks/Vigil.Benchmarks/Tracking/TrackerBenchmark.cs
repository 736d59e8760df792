using System.Diagnostics;
using System.Globalization;
using Vigil.Tracking;

namespace Vigil.Benchmarks.Tracking;

/// <summary>
/// Tracker throughput on a synthetic crowd: about 1,000 detections per frame (boxes 20-80 px moving at constant
/// velocity with +-1.5 px jitter on a 7680x4320 canvas, 1 % of objects leaving and as many entering each frame,
/// 5 % missed detections, 2 % false positives, true objects score 0.5-1.0, false positives 0.3-0.7 so ByteTrack's second association has work).
/// Each tracker: one warm-up run, then the median of N timed runs over the same pre-generated frames.
/// The IOU tracker (no motion model) is the baseline. Usage: <c>tracker [--frames 300] [--objects 1000] [--runs 5]</c>.
/// </summary>
public static class TrackerBenchmark
{
    public static int Run(string[] args)
    {
        int frames = IntArg(args, "--frames", 300), objects = IntArg(args, "--objects", 1000), runs = IntArg(args, "--runs", 5);
        var data = Generate(frames, objects, seed: 42);
        long totalDetections = data.Sum(f => (long)f.Count);
        Console.WriteLine($"Tracker benchmark: {frames} frames, {totalDetections / (double)frames:0} detections/frame, median of {runs} runs after 1 warm-up");
        Console.WriteLine($"load average before the run: {LoadAverage()} (the dispatcher prints the machine)");
        Console.WriteLine($"{"tracker",-10} {"frames/s",10} {"us/frame",10} {"us/object",10} {"best fps",10} {"tracked %",10}");
        foreach (var kind in new[] { TrackerKind.Iou, TrackerKind.Sort, TrackerKind.ByteTrack })
        {
            var options = new TrackerOptions { Kind = kind };
            RunOnce(data, options, out _); // warm-up (JIT, tiered compilation)
            var times = new List<double>();
            double trackedShare = 0;
            for (int r = 0; r < runs; r++)
            {
                times.Add(RunOnce(data, options, out trackedShare));
            }
            times.Sort();
            double median = times[times.Count / 2];
            double usPerFrame = median * 1e6 / frames;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{kind.ToString().ToLowerInvariant(),-10} {frames / median,10:0.0} {usPerFrame,10:0} {median * 1e6 / totalDetections,10:0.00} {frames / times[0],10:0.0} {trackedShare * 100,10:0.0}"));
        }
        return 0;
    }

    private static double RunOnce(List<List<Detection>> data, TrackerOptions options, out double trackedShare)
    {
        var tracker = TrackerFactory.Create(options);
        long reported = 0, total = 0;
        var sw = Stopwatch.StartNew();
        foreach (var frame in data)
        {
            reported += tracker.Step(frame).Count;
            total += frame.Count;
        }
        sw.Stop();
        trackedShare = total == 0 ? 0 : (double)reported / total;
        return sw.Elapsed.TotalSeconds;
    }

    private sealed class Walker
    {
        public double X, Y, Vx, Vy, W, H;
        public float Score;
    }

    private static List<List<Detection>> Generate(int frames, int objects, int seed)
    {
        const double canvasW = 7680, canvasH = 4320;
        var rng = new Random(seed);
        Walker Spawn() => new()
        {
            X = rng.NextDouble() * (canvasW - 80), Y = rng.NextDouble() * (canvasH - 160),
            Vx = rng.NextDouble() * 8 - 4, Vy = rng.NextDouble() * 4 - 2,
            W = 20 + rng.NextDouble() * 60, H = 0, Score = 0.5f + 0.5f * (float)rng.NextDouble(),
        };
        var live = new List<Walker>();
        for (int i = 0; i < objects; i++) { var w = Spawn(); w.H = w.W * (1.5 + rng.NextDouble()); live.Add(w); }
        var result = new List<List<Detection>>(frames);
        for (int f = 0; f < frames; f++)
        {
            // Deaths and births (1 %), and objects leaving the canvas.
            for (int i = 0; i < live.Count; i++)
            {
                var w = live[i];
                bool outside = w.X < -w.W || w.Y < -w.H || w.X > canvasW || w.Y > canvasH;
                if (outside || rng.NextDouble() < 0.01) { var n = Spawn(); n.H = n.W * (1.5 + rng.NextDouble()); live[i] = n; }
            }
            var dets = new List<Detection>(objects + objects / 40);
            foreach (var w in live)
            {
                w.X += w.Vx; w.Y += w.Vy;
                if (rng.NextDouble() < 0.05) continue; // missed detection
                double jx = (rng.NextDouble() - 0.5) * 3, jy = (rng.NextDouble() - 0.5) * 3;
                float score = Math.Clamp(w.Score + (float)(rng.NextDouble() - 0.5) * 0.1f, 0.3f, 1f);
                dets.Add(new Detection(new BoxF((float)(w.X + jx), (float)(w.Y + jy), (float)w.W, (float)w.H), score));
            }
            int fps = objects / 50;
            for (int i = 0; i < fps; i++)
            {
                double bw = 20 + rng.NextDouble() * 60;
                dets.Add(new Detection(new BoxF((float)(rng.NextDouble() * canvasW), (float)(rng.NextDouble() * canvasH), (float)bw, (float)(bw * 2)), 0.3f + 0.4f * (float)rng.NextDouble()));
            }
            result.Add(dets);
        }
        return result;
    }

    private static string LoadAverage()
    {
        try { return File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a"; }
        catch (IOException) { return "n/a"; }
    }

    private static int IntArg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        if (i < 0) return fallback;
        if (i + 1 >= args.Length || !int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out int v) || v <= 0)
            throw new ArgumentException($"{name} needs a positive integer");
        return v;
    }
}
