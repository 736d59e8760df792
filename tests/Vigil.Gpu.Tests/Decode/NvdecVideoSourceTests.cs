using Vigil.Cuda;
using Vigil.Decode.Nvdec;
using Vigil.Infer;
using Vigil.Infer.Gpu;

namespace Vigil.Gpu.Tests.Decode;

/// <summary>NvdecVideoSource on the sample MP4s against FFmpeg's software decoder, every frame.</summary>
[Collection("Gpu")]
public sealed class NvdecVideoSourceTests(GpuFixture gpu)
{
    [Theory]
    [InlineData("vtest-1080p.mp4", "h264")]
    [InlineData("vtest-1080p-hevc.mp4", "hevc")]
    public async Task ReadAsync_Mp4_EveryFrameMatchesFFmpegSoftwareDecode(string file, string codec)
    {
        string path = Samples.Path(file);
        using var source = NvdecVideoSource.Open(gpu.Context, path, 0, file);
        using var reference = new FFmpegNv12Reader(path);
        Assert.Equal(codec, source.Info.Codec);
        var expected = new byte[reference.Width * reference.Height * 3 / 2];
        int frames = 0, maxY = 0, maxC = 0;
        long lastPts = long.MinValue;
        while (true)
        {
            var r = await source.ReadAsync(TestContext.Current.CancellationToken);
            if (r.Status == ReadStatus.EndOfStream) break;
            Assert.True(r.Status == ReadStatus.Frame, $"{file}: {r.Status} {r.Error}");
            using var frame = r.Frame!;
            Assert.True(frame.Pts > lastPts, "presentation order");
            lastPts = frame.Pts;
            var dev = Assert.IsType<DeviceFrameBuffer>(frame.Buffer);
            Assert.True(reference.Next(expected), $"{file}: NVDEC produced more frames than FFmpeg ({frames + 1})");
            var got = GpuFrames.DownloadNv12(dev, source.Decoder.Stream);
            var (y, c) = GpuFrames.MaxDiff(got, expected, reference.Width, reference.Height);
            maxY = Math.Max(maxY, y);
            maxC = Math.Max(maxC, c);
            frames++;
        }
        Assert.False(reference.Next(expected), $"{file}: FFmpeg decoded more frames than NVDEC ({frames})");
        Console.WriteLine($"[nvdec] {file} ({codec}): {frames} frames vs FFmpeg software decode: max |diff| luma {maxY}, chroma {maxC}; colour matrix {source.Info.ColorMatrix}");
        Assert.True(maxY <= 1 && maxC <= 1, $"{file}: max diff luma {maxY}, chroma {maxC}");
    }

    [Fact]
    public async Task DecodeToTensor_NoDeviceToHostCopies()
    {
        using var source = NvdecVideoSource.Open(gpu.Context, Samples.Path("vtest-1080p.mp4"), 0, "nohost");
        var spec = new PreprocessSpec { Width = 416, Height = 416, ElementType = TensorElementType.Float16 };
        using var pre = new GpuPreprocessor(gpu.Context, gpu.Compiler, spec, 8);
        using var tensor = DeviceBuffer.Allocate(gpu.Context, pre.OutputBytes(8));
        var batch = new List<Frame>();
        var transforms = new LetterboxTransform[8];
        long d2h = CudaCounters.DeviceToHostCopies;
        int frames = 0;
        while (true)
        {
            var r = await source.ReadAsync(TestContext.Current.CancellationToken);
            if (r.Status == ReadStatus.EndOfStream) break;
            Assert.Equal(ReadStatus.Frame, r.Status);
            batch.Add(r.Frame!);
            frames++;
            if (batch.Count == 8)
            {
                pre.Run(batch, tensor, gpu.Stream, transforms);
                gpu.Stream.Synchronize();
                foreach (var f in batch) f.Dispose();
                batch.Clear();
            }
        }
        foreach (var f in batch) f.Dispose();
        Assert.Equal(300, frames);
        Assert.Equal(d2h, CudaCounters.DeviceToHostCopies);
        Console.WriteLine($"[nvdec] decode -> preprocess of {frames} frames: {CudaCounters.DeviceToHostCopies - d2h} device-to-host copies");
    }

    private async Task<(int Frames, int Errors, string? FirstError)> DrainAsync(string path)
    {
        using var source = NvdecVideoSource.Open(gpu.Context, path, 0, Path.GetFileName(path));
        int frames = 0, errors = 0;
        string? first = null;
        while (true)
        {
            var r = await source.ReadAsync(TestContext.Current.CancellationToken);
            if (r.Status == ReadStatus.EndOfStream) break;
            if (r.Status == ReadStatus.CorruptData) { errors++; first ??= r.Error; continue; }
            r.Frame!.Dispose();
            frames++;
        }
        return (frames, errors, first);
    }

    [Fact]
    public async Task ReadAsync_TruncatedMp4_YieldsFramesThenEndOfStream()
    {
        // Index-first copy of vtest-1080p.mp4 cut at 60% (tests/Vigil.Gpu.Tests/native/make-nvdec-refs.sh).
        string dir = Environment.GetEnvironmentVariable("VIGIL_NVDEC_REFS") ?? throw new InvalidOperationException("VIGIL_NVDEC_REFS is not set.");
        var (frames, errors, first) = await DrainAsync(Path.Combine(dir, "vtest-1080p-truncated.mp4"));
        Console.WriteLine($"[nvdec] truncated mp4: {frames} frames, {errors} errors ({first}), then end of stream");
        Assert.InRange(frames, 100, 299);
    }

    [Fact]
    public async Task ReadAsync_CorruptedMp4_ReportsCorruptDataAndContinues()
    {
        var bytes = File.ReadAllBytes(Samples.Path("vtest-1080p.mp4"));
        var rng = new Random(11);
        // mdat spans bytes 40 .. 2,056,586 of this file; damage 300 bytes after the first GOP.
        for (int i = 0; i < 300; i++) bytes[150_000 + rng.Next(1_800_000)] ^= (byte)(1 + rng.Next(255));
        string p = Path.Combine(Path.GetTempPath(), $"vigil-corrupt-{Environment.ProcessId}.mp4");
        File.WriteAllBytes(p, bytes);
        try
        {
            var (frames, errors, first) = await DrainAsync(p);
            Console.WriteLine($"[nvdec] corrupted mp4: {frames} frames, {errors} CorruptData results; first: {first}");
            Assert.True(errors > 0, "damaged pictures must be reported");
            Assert.True(frames > 100, $"only {frames} frames decoded");
        }
        finally
        {
            File.Delete(p);
        }
    }

    [Fact]
    public void Open_NotAVideo_ThrowsVideoSourceException()
    {
        string p = Path.Combine(Path.GetTempPath(), $"vigil-notvideo-{Environment.ProcessId}.mp4");
        File.WriteAllText(p, "this is not a video");
        try
        {
            Assert.Throws<VideoSourceException>(() => NvdecVideoSource.Open(gpu.Context, p, 0, "bad"));
        }
        finally
        {
            File.Delete(p);
        }
    }
}
