using System.Diagnostics;
using OpenCvSharp;

namespace Vigil.Tests.Infer;

/// <summary>Locates the repository's models and sample media and loads real images into host frame buffers.</summary>
internal static class InferTestMedia
{
    public static string RepoRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Vigil.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"No Vigil.slnx above {AppContext.BaseDirectory}");
    }

    public static string Model(string file)
    {
        var path = Path.Combine(RepoRoot, "models", file);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} missing: run models/fetch.sh", path);
        return path;
    }

    public static string Media(string file)
    {
        var path = Path.Combine(RepoRoot, "sample-videos", file);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} missing: run sample-videos/fetch.sh", path);
        return path;
    }

    public static StreamInfo Stream(int w, int h, string name = "test") => new(0, name, name, w, h, 25, "raw");

    /// <summary>Decodes a JPEG/PNG with OpenCV into a BGR24 host buffer.</summary>
    public static HostFrameBuffer LoadImage(string path)
    {
        using var mat = Cv2.ImRead(path, ImreadModes.Color);
        if (mat.Empty()) throw new InvalidOperationException($"OpenCV could not read {path}");
        int w = mat.Width, h = mat.Height;
        long step = mat.Step();
        nint data = mat.Data;
        var buf = HostFrameBuffer.Allocate(w, h, PixelFormat.Bgr24);
        for (int y = 0; y < h; y++)
        {
            unsafe { new ReadOnlySpan<byte>((byte*)data + y * step, w * 3).CopyTo(buf.Row(y)); }
        }
        return buf;
    }

    /// <summary>Copies a rectangle of a BGR24 buffer into a new buffer.</summary>
    public static HostFrameBuffer Crop(HostFrameBuffer src, int x, int y, int w, int h)
    {
        var dst = HostFrameBuffer.Allocate(w, h, PixelFormat.Bgr24);
        for (int r = 0; r < h; r++) src.Row(y + r).Slice(x * 3, w * 3).CopyTo(dst.Row(r));
        return dst;
    }

    /// <summary>Decodes the first <paramref name="count"/> frames of a video to BGR24 with the ffmpeg command-line tool.</summary>
    public static List<HostFrameBuffer> DecodeFrames(string path, int count, int width, int height)
    {
        var psi = new ProcessStartInfo("ffmpeg")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-v", "error", "-i", path, "-frames:v", count.ToString(), "-f", "rawvideo", "-pix_fmt", "bgr24", "-" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var errTask = p.StandardError.ReadToEndAsync();
        var frames = new List<HostFrameBuffer>();
        var stdout = p.StandardOutput.BaseStream;
        var row = new byte[width * 3];
        for (int f = 0; f < count; f++)
        {
            var buf = HostFrameBuffer.Allocate(width, height, PixelFormat.Bgr24);
            for (int y = 0; y < height; y++)
            {
                stdout.ReadExactly(row);
                row.CopyTo(buf.Row(y));
            }
            frames.Add(buf);
        }
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"ffmpeg failed: {errTask.Result}");
        return frames;
    }
}
