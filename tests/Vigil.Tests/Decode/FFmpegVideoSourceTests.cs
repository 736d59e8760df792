using Vigil.Decode;
using Vigil.Tests.FFmpeg;

namespace Vigil.Tests.Decode;

public class FFmpegVideoSourceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record DecodeRun(int Frames, int Corrupt, List<string> Errors, List<long> Pts, List<TimeSpan> Timestamps, Dictionary<long, byte[]> Kept);

    /// <summary>Decodes to the end, keeping copies (packed BGR) of the requested frame numbers (-1: the last frame).</summary>
    private static async Task<DecodeRun> DecodeAllAsync(string path, params long[] keep)
    {
        using var source = FFmpegVideoSource.Open(path, 0, "test", new FFmpegSourceOptions { BufferPoolCapacity = 2 });
        var run = new DecodeRun(0, 0, [], [], [], []);
        int frames = 0, corrupt = 0;
        while (true)
        {
            var r = await source.ReadAsync(Ct);
            if (r.Status == ReadStatus.EndOfStream) break;
            if (r.Status == ReadStatus.CorruptData) { corrupt++; run.Errors.Add(r.Error!); continue; }
            if (r.Status != ReadStatus.Frame) continue;
            using var frame = r.Frame!;
            Assert.Equal(frames, frame.FrameNumber);
            run.Pts.Add(frame.Pts);
            run.Timestamps.Add(frame.Timestamp);
            if (keep.Contains(frame.FrameNumber) || keep.Contains(-1))
            {
                var b = (HostFrameBuffer)frame.Buffer;
                var packed = new byte[b.Width * b.Height * 3];
                for (int y = 0; y < b.Height; y++) b.Row(y)[..(b.Width * 3)].CopyTo(packed.AsSpan(y * b.Width * 3));
                run.Kept[keep.Contains(-1) ? -1 : frame.FrameNumber] = packed;
            }
            frames++;
        }
        return run with { Frames = frames, Corrupt = corrupt };
    }

    private static (int Max, double Mean) Diff(byte[] a, byte[] b)
    {
        Assert.Equal(a.Length, b.Length);
        int max = 0; long sum = 0;
        for (int i = 0; i < a.Length; i++) { int d = Math.Abs(a[i] - b[i]); sum += d; if (d > max) max = d; }
        return (max, (double)sum / a.Length);
    }

    [Fact]
    public async Task ReadAsync_Vtest_MatchesFFmpegCliDecode()
    {
        long[] check = [0, 137, 500, 794];
        var run = await DecodeAllAsync(MediaFiles.Vtest, check);

        Assert.Equal(MediaFiles.VtestFrames, run.Frames);
        Assert.Equal(0, run.Corrupt);
        // Timestamps: strictly increasing, starting at zero, 10 fps.
        Assert.Equal(TimeSpan.Zero, run.Timestamps[0]);
        for (int i = 1; i < run.Timestamps.Count; i++) Assert.True(run.Timestamps[i] > run.Timestamps[i - 1], $"timestamp {i} not increasing");
        Assert.InRange(run.Timestamps[^1].TotalSeconds, 79.3, 79.5);

        // Pixels against `ffmpeg -pix_fmt bgr24` (same libraries, same bicubic swscale path): tolerance 2 levels max,
        // 0.05 mean per channel sample (they are expected to be identical).
        var reference = MediaFiles.ReferenceBgrFrames(MediaFiles.Vtest, MediaFiles.VtestWidth, MediaFiles.VtestHeight, check.Select(n => (int)n).ToArray());
        for (int i = 0; i < check.Length; i++)
        {
            var (max, mean) = Diff(run.Kept[check[i]], reference[i]);
            Assert.True(max <= 2 && mean <= 0.05, $"frame {check[i]}: max diff {max}, mean {mean:F4}");
        }
    }

    [Fact]
    public void Open_Vtest_DescribesStream()
    {
        using var source = FFmpegVideoSource.Open(MediaFiles.Vtest, 3, "cam3", new FFmpegSourceOptions());
        Assert.Equal(new StreamInfo(3, "cam3", MediaFiles.Vtest, 768, 576, 10.0, "h264"), source.Info with { });
        Assert.Equal(795, source.Stream.FrameCount);
        Assert.Equal((1, 10240), source.Stream.TimeBase);
    }

    [Fact]
    public void Open_MissingFile_ThrowsNoSuchFile()
    {
        var e = Assert.Throws<VideoSourceException>(() => FFmpegVideoSource.Open("/nonexistent/clip.mp4", 0, "a", new FFmpegSourceOptions()));
        Assert.Equal("/nonexistent/clip.mp4: no such file", e.Message);
    }

    [Fact]
    public void Open_TextFileNamedMp4_ThrowsNotAVideo()
    {
        using var dir = new MediaFiles.TempDir();
        string path = dir.File("notes.mp4");
        File.WriteAllText(path, string.Concat(Enumerable.Repeat("These are meeting notes, not a video.\n", 200)));
        var e = Assert.Throws<VideoSourceException>(() => FFmpegVideoSource.Open(path, 0, "a", new FFmpegSourceOptions()));
        Assert.StartsWith($"{path}: not a video file", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Open_AudioOnlyFile_ThrowsNoVideoStream()
    {
        using var dir = new MediaFiles.TempDir();
        string path = dir.File("tone.m4a");
        MediaFiles.Run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=0.5", "-c:a", "aac", path);
        var e = Assert.Throws<VideoSourceException>(() => FFmpegVideoSource.Open(path, 0, "a", new FFmpegSourceOptions()));
        Assert.Equal($"{path}: not a video file (no video stream found)", e.Message);
    }

    [Fact]
    public void Open_UnreachableRtspUrl_ThrowsCannotOpen()
    {
        const string url = "rtsp://127.0.0.1:9/stream";
        var options = new FFmpegSourceOptions { Demuxer = new() { RtspTransport = "tcp", NetworkTimeout = TimeSpan.FromSeconds(2) } };
        var e = Assert.Throws<VideoSourceException>(() => FFmpegVideoSource.Open(url, 0, "cam", options));
        Assert.StartsWith($"{url}: cannot open stream (", e.Message);
    }

    [Fact]
    public void Open_TruncatedMp4WithIndexAtEnd_ThrowsClearError()
    {
        // vtest.mp4 keeps its index (moov) at the end: the first 40% has no index, so it cannot be opened.
        using var dir = new MediaFiles.TempDir();
        string path = dir.File("cut.mp4");
        byte[] all = File.ReadAllBytes(MediaFiles.Vtest);
        File.WriteAllBytes(path, all.AsSpan(0, all.Length * 4 / 10).ToArray());
        var e = Assert.Throws<VideoSourceException>(() => FFmpegVideoSource.Open(path, 0, "a", new FFmpegSourceOptions()));
        Assert.StartsWith($"{path}: ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task ReadAsync_TruncatedFile_DecodesWhatIsThereThenEnds()
    {
        // Index at the front (faststart), then cut to the first 40% of the bytes: the index promises 795 frames but
        // the data stops early.
        using var dir = new MediaFiles.TempDir();
        string full = dir.File("faststart.mp4"), cut = dir.File("cut.mp4");
        MediaFiles.Run("ffmpeg", "-v", "error", "-i", MediaFiles.Vtest, "-c", "copy", "-movflags", "+faststart", full);
        byte[] all = File.ReadAllBytes(full);
        File.WriteAllBytes(cut, all.AsSpan(0, all.Length * 4 / 10).ToArray());

        var run = await DecodeAllAsync(cut);
        Assert.InRange(run.Frames, 100, MediaFiles.VtestFrames - 100);
    }

    [Fact]
    public async Task ReadAsync_GarbageInTheMiddle_ContinuesToTheEnd()
    {
        using var dir = new MediaFiles.TempDir();
        string path = dir.File("damaged.mp4");
        byte[] bytes = File.ReadAllBytes(MediaFiles.Vtest);
        // 256 KiB of noise at 30% of the file: inside the second GOP's frame data (the index at the end is intact).
        new Random(1234).NextBytes(bytes.AsSpan(bytes.Length * 3 / 10, 256 * 1024));
        File.WriteAllBytes(path, bytes);

        var run = await DecodeAllAsync(path, -1);
        var clean = MediaFiles.ReferenceBgrFrames(MediaFiles.Vtest, MediaFiles.VtestWidth, MediaFiles.VtestHeight, 794);

        // The damage is reported or concealed, never fatal; decoding reaches the end, and after the next keyframe the
        // pictures are exactly those of the undamaged file.
        Assert.InRange(run.Frames, MediaFiles.VtestFrames - 100, MediaFiles.VtestFrames);
        Assert.Equal(794 * 1024, run.Pts[^1]); // the last frame (pts 794 / 10 s in 1/10240 units) was decoded
        Assert.Equal((0, 0.0), Diff(run.Kept[-1], clean[0]));
        Assert.All(run.Errors, e => Assert.StartsWith("test: ", e));
    }
}
