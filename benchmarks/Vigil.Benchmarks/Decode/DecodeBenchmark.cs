using System.Diagnostics;
using System.Globalization;
using Vigil.Decode;
using Vigil.FFmpeg;

namespace Vigil.Benchmarks.Decode;

/// <summary>
/// Decode-only throughput of <see cref="FFmpegVideoSource"/> (demux, multithreaded software decode, swscale to pooled
/// BGR24 buffers; frames are released at once, nothing downstream). Baseline in the same run: the ffmpeg CLI decoding
/// the same file to BGR24 into the null muxer (`ffmpeg -threads 0 -i FILE -pix_fmt bgr24 -f null -`), when the CLI exists.
/// Usage: decode [video] [--runs N] (default sample-videos/vtest.mp4, 5 runs after one warm-up run).
/// </summary>
public static class DecodeBenchmark
{
    public static int Run(string[] args)
    {
        string path = "sample-videos/vtest.mp4";
        int runs = 5;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--runs" && i + 1 < args.Length) runs = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else path = args[i];
        }
        var info = FFmpegLibrary.EnsureLoaded();
        Console.WriteLine($"decode benchmark: {path}");
        Console.WriteLine($"FFmpeg: {info}");
        Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");

        var vigil = Measure(runs, () => DecodeWithVigil(path));
        Console.WriteLine(Row("Vigil FFmpegVideoSource -> BGR24", vigil));
        (int Frames, double MedianFps, double MinFps, double MaxFps)? cli = CliAvailable() ? Measure(runs, () => DecodeWithCli(path)) : null;
        if (cli is not null)
        {
            Console.WriteLine(Row("baseline: ffmpeg CLI -> bgr24 -f null", cli.Value));
            Console.WriteLine($"ratio Vigil / CLI: {vigil.MedianFps / cli.Value.MedianFps:F2}");
        }
        else Console.WriteLine("baseline: ffmpeg CLI not found, skipped");
        return 0;
    }

    private static string Row(string name, (int Frames, double MedianFps, double MinFps, double MaxFps) r) =>
        $"{name,-40} {r.Frames,6} frames  median {r.MedianFps,8:F1} frames/s  (min {r.MinFps:F1}, max {r.MaxFps:F1})";

    private static (int Frames, double MedianFps, double MinFps, double MaxFps) Measure(int runs, Func<int> decode)
    {
        int frames = decode(); // warm-up (JIT, page cache, decoder threads)
        var fps = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            int n = decode();
            sw.Stop();
            if (n != frames) throw new InvalidOperationException($"run {i} decoded {n} frames, warm-up {frames}");
            fps.Add(n / sw.Elapsed.TotalSeconds);
        }
        fps.Sort();
        return (frames, fps[fps.Count / 2], fps[0], fps[^1]);
    }

    private static int DecodeWithVigil(string path)
    {
        using var source = FFmpegVideoSource.Open(path, 0, "bench", new FFmpegSourceOptions());
        int frames = 0;
        while (true)
        {
            var r = source.ReadAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
            if (r.Status == ReadStatus.EndOfStream) return frames;
            if (r.Status == ReadStatus.Frame) { r.Frame!.Dispose(); frames++; }
        }
    }

    private static bool CliAvailable()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("ffmpeg", "-version") { RedirectStandardOutput = true, RedirectStandardError = true });
            p!.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    private static int DecodeWithCli(string path)
    {
        var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-hide_banner", "-nostats", "-threads", "0", "-i", path, "-pix_fmt", "bgr24", "-f", "null", "-" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("ffmpeg failed: " + err);
        // "frame=  795 fps=..." in the final progress line.
        int at = err.LastIndexOf("frame=", StringComparison.Ordinal);
        return at < 0 ? 0 : int.Parse(err[(at + 6)..].TrimStart().Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
