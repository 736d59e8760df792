using System.Diagnostics;

namespace Vigil.Tests.FFmpeg;

/// <summary>Sample media and the ffmpeg/ffprobe CLIs used as the reference in FFmpeg and decode tests.</summary>
internal static class MediaFiles
{
    public const int VtestFrames = 795;
    public const int VtestWidth = 768;
    public const int VtestHeight = 576;

    public static string RepoRoot { get; } = FindRoot();

    /// <summary>sample-videos/vtest.mp4; fails (never skips) when it is missing.</summary>
    public static string Vtest
    {
        get
        {
            string path = Path.Combine(RepoRoot, "sample-videos", "vtest.mp4");
            Assert.True(File.Exists(path), $"{path} is missing: run sample-videos/fetch.sh");
            return path;
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Vigil.slnx"))) return dir.FullName;
        throw new InvalidOperationException("Vigil.slnx not found above " + AppContext.BaseDirectory);
    }

    /// <summary>A fresh temporary folder, deleted on dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public TempDir() => Directory.CreateDirectory(Path);
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vigil-test-" + Guid.NewGuid().ToString("N"));
        public string File(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
    }

    /// <summary>Runs a CLI tool and returns stdout bytes; fails the test with stderr when it exits non-zero.</summary>
    public static byte[] Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {tool}");
        var stderr = p.StandardError.ReadToEndAsync();
        using var ms = new MemoryStream();
        p.StandardOutput.BaseStream.CopyTo(ms);
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{tool} {string.Join(' ', args)} failed ({p.ExitCode}): {stderr.Result}");
        return ms.ToArray();
    }

    public static string RunText(string tool, params string[] args) => System.Text.Encoding.UTF8.GetString(Run(tool, args)).Trim();

    /// <summary>Decodes the given frame numbers with the ffmpeg CLI to packed BGR24 (the reference for pixel checks).</summary>
    public static byte[][] ReferenceBgrFrames(string path, int width, int height, params int[] frameNumbers)
    {
        string select = string.Join('+', frameNumbers.Select(n => $"eq(n\\,{n})"));
        byte[] raw = Run("ffmpeg", "-v", "error", "-i", path, "-vf", $"select='{select}'", "-fps_mode", "passthrough",
            "-f", "rawvideo", "-pix_fmt", "bgr24", "-");
        int size = width * height * 3;
        Assert.Equal(size * frameNumbers.Length, raw.Length);
        return Enumerable.Range(0, frameNumbers.Length).Select(i => raw.AsSpan(i * size, size).ToArray()).ToArray();
    }

    /// <summary>Max and mean absolute difference between a (pitched) BGR buffer and a packed reference.</summary>
    public static (int Max, double Mean) Compare(HostFrameBuffer buffer, byte[] reference)
    {
        int rowBytes = buffer.Width * 3;
        int max = 0;
        long sum = 0;
        for (int y = 0; y < buffer.Height; y++)
        {
            var row = buffer.Row(y)[..rowBytes];
            var refRow = reference.AsSpan(y * rowBytes, rowBytes);
            for (int x = 0; x < rowBytes; x++)
            {
                int d = Math.Abs(row[x] - refRow[x]);
                sum += d;
                if (d > max) max = d;
            }
        }
        return (max, (double)sum / ((long)rowBytes * buffer.Height));
    }
}
