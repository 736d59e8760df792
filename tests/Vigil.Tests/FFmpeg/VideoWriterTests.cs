using System.Globalization;
using Vigil.Decode;
using Vigil.FFmpeg;
using Vigil.Sinks;

namespace Vigil.Tests.FFmpeg;

public class VideoWriterTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A smooth test picture with a moving square; width 330 gives a padded pitch (1024 bytes for 990).</summary>
    private static HostFrameBuffer Picture(int i, int width = 330, int height = 240)
    {
        var b = HostFrameBuffer.Allocate(width, height, PixelFormat.Bgr24);
        for (int y = 0; y < height; y++)
        {
            var row = b.Row(y);
            for (int x = 0; x < width; x++)
            {
                bool square = x >= 10 + i * 8 && x < 70 + i * 8 && y >= 60 && y < 120;
                row[x * 3 + 0] = square ? (byte)230 : (byte)(x * 255 / width);
                row[x * 3 + 1] = square ? (byte)40 : (byte)(y * 255 / height);
                row[x * 3 + 2] = square ? (byte)30 : (byte)128;
            }
        }
        return b;
    }

    private static async Task<List<byte[]>> DecodeAsync(string path)
    {
        var frames = new List<byte[]>();
        using var source = FFmpegVideoSource.Open(path, 0, "out", new FFmpegSourceOptions { BufferPoolCapacity = 2 });
        while (true)
        {
            var r = await source.ReadAsync(Ct);
            if (r.Status == ReadStatus.EndOfStream) break;
            Assert.Equal(ReadStatus.Frame, r.Status);
            using var f = r.Frame!;
            var b = (HostFrameBuffer)f.Buffer;
            var packed = new byte[b.Width * b.Height * 3];
            for (int y = 0; y < b.Height; y++) b.Row(y)[..(b.Width * 3)].CopyTo(packed.AsSpan(y * b.Width * 3));
            frames.Add(packed);
        }
        return frames;
    }

    private static double MeanDiff(HostFrameBuffer expected, byte[] actual)
    {
        int w = expected.Width & ~1, h = expected.Height & ~1;
        long sum = 0;
        for (int y = 0; y < h; y++)
        {
            var row = expected.Row(y);
            for (int x = 0; x < w * 3; x++) sum += Math.Abs(row[x] - actual[y * w * 3 + x]);
        }
        return (double)sum / (w * h * 3);
    }

    private static async Task RoundTripAsync(string path, Func<string, (string Encoder, long Written)> write, int frames, double maxMeanDiff)
    {
        var (encoder, written) = write(path);
        Assert.Equal(frames, written);

        string count = MediaFiles.RunText("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
            "-show_entries", "stream=nb_read_frames,codec_name,width,height,avg_frame_rate", "-of", "default=nw=1", path);
        Assert.Contains($"nb_read_frames={frames}", count);
        Assert.Contains("width=330", count);
        Assert.Contains("avg_frame_rate=10/1", count);
        Assert.Contains(encoder == "libx264" ? "codec_name=h264" : "codec_name=mpeg4", count);

        var decoded = await DecodeAsync(path);
        Assert.Equal(frames, decoded.Count);
        for (int i = 0; i < frames; i++)
        {
            using var expected = Picture(i);
            double mean = MeanDiff(expected, decoded[i]);
            Assert.True(mean <= maxMeanDiff, $"frame {i}: mean abs difference {mean.ToString("F2", CultureInfo.InvariantCulture)} > {maxMeanDiff}");
        }
    }

    [Fact]
    public async Task Write_H264RoundTrip_FfprobeCountsEveryFrame()
    {
        using var dir = new MediaFiles.TempDir();
        const int n = 25;
        string? notice = null;
        await RoundTripAsync(dir.File("out.mp4"), path =>
        {
            using var writer = new Mp4VideoWriter(path, 330, 240, 10.0, new Mp4WriterOptions { Log = m => notice = m });
            for (int i = 0; i < n; i++)
            {
                using var pic = Picture(i);
                writer.Write(pic, TimeSpan.FromSeconds(i / 10.0));
            }
            writer.Complete();
            Assert.Equal("libx264", writer.Encoder); // Debian's FFmpeg has libx264
            Assert.Null(writer.Notice);
            return (writer.Encoder, writer.FramesWritten);
        }, n, maxMeanDiff: 4.0);
        Assert.Null(notice);
    }

    [Fact]
    public async Task Write_NoH264Encoder_FallsBackToMpeg4()
    {
        using var dir = new MediaFiles.TempDir();
        const int n = 12;
        await RoundTripAsync(dir.File("out.mp4"), path =>
        {
            using var encoder = new VideoFileEncoder(path, "mp4", 330, 240, 10.0,
                new VideoEncoderSettings { Encoders = ["vigil-no-such-encoder", "mpeg4"] });
            for (int i = 0; i < n; i++)
            {
                using var pic = Picture(i);
                encoder.Write(pic, i);
            }
            encoder.Complete();
            return (encoder.EncoderName, encoder.FramesWritten);
        }, n, maxMeanDiff: 6.0);
    }

    [Fact]
    public void Write_DisposeWithoutComplete_FinalisesFile()
    {
        using var dir = new MediaFiles.TempDir();
        string path = dir.File("out.mp4");
        using (var writer = new Mp4VideoWriter(path, 330, 240, 10.0))
        {
            for (int i = 0; i < 5; i++) { using var pic = Picture(i); writer.Write(pic); }
        }
        Assert.Contains("nb_read_frames=5", MediaFiles.RunText("ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames", path));
    }
}
