using System.IO.Compression;
using Vigil.Cuda;
using Vigil.Decode.Nvdec;

namespace Vigil.Gpu.Tests.Decode;

/// <summary>
/// NVDEC on Annex-B elementary streams (extracted from the sample MP4s with FFmpeg's mp4toannexb filter), against NV12
/// reference frames decoded by FFmpeg's software decoder (libavcodec, <c>-pix_fmt nv12</c>; made by
/// tests/Vigil.Gpu.Tests/native/make-nvdec-refs.sh). Needs VIGIL_NVDEC_REFS pointing at that folder.
/// </summary>
[Collection("Gpu")]
public sealed class NvdecElementaryStreamTests(GpuFixture gpu)
{
    private static string RefPath(string name)
    {
        string dir = Environment.GetEnvironmentVariable("VIGIL_NVDEC_REFS") ?? throw new InvalidOperationException("VIGIL_NVDEC_REFS is not set.");
        string p = Path.Combine(dir, name);
        if (!File.Exists(p)) throw new FileNotFoundException($"NVDEC reference file missing: {p}");
        return p;
    }

    private static byte[] ReadGz(string path)
    {
        using var f = File.OpenRead(path);
        using var gz = new GZipStream(f, CompressionMode.Decompress);
        using var m = new MemoryStream();
        gz.CopyTo(m);
        return m.ToArray();
    }

    private sealed record Decoded(List<byte[]> Frames, int FrameCount, List<string> Errors, NvdecFormat? Format);

    private Decoded DecodeAll(NvdecCodec codec, byte[] stream, int keep, int chunk = 16384)
    {
        var frames = new List<byte[]>();
        var errors = new List<string>();
        int count = 0;
        using var dec = new NvdecDecoder(gpu.Context, codec);
        void Drain()
        {
            while (dec.TryDequeue(out var p))
            {
                if (p.Error is not null) { errors.Add(p.Error); continue; }
                if (frames.Count < keep) frames.Add(GpuFrames.DownloadNv12(p.Buffer!, dec.Stream));
                p.Buffer!.Release();
                count++;
            }
        }
        for (int o = 0; o < stream.Length; o += chunk)
        {
            dec.Parse(stream.AsSpan(o, Math.Min(chunk, stream.Length - o)));
            Drain();
        }
        dec.Flush();
        Drain();
        return new Decoded(frames, count, errors, dec.Format);
    }

    [Theory]
    [InlineData("vtest-90.h264", NvdecCodec.H264, 768, 576, 90, "vtest-12.nv12.gz")]
    [InlineData("vtest-1080p.h264", NvdecCodec.H264, 1920, 1080, 300, "vtest-1080p-4.nv12.gz")]
    [InlineData("vtest-1080p-hevc.h265", NvdecCodec.Hevc, 1920, 1080, 300, "vtest-1080p-hevc-4.nv12.gz")]
    public void Decode_AnnexBStream_MatchesFFmpegSoftwareDecode(string file, NvdecCodec codec, int w, int h, int frames, string reference)
    {
        var refs = ReadGz(RefPath(reference));
        int frameBytes = w * h * 3 / 2;
        int nRef = refs.Length / frameBytes;
        var r = DecodeAll(codec, File.ReadAllBytes(RefPath(file)), nRef);
        Assert.Empty(r.Errors);
        Assert.Equal(frames, r.FrameCount);
        Assert.Equal((w, h), (r.Format!.Width, r.Format.Height));
        int maxY = 0, maxC = 0;
        for (int i = 0; i < nRef; i++)
        {
            var (y, c) = GpuFrames.MaxDiff(r.Frames[i], refs.AsSpan(i * frameBytes, frameBytes), w, h);
            maxY = Math.Max(maxY, y);
            maxC = Math.Max(maxC, c);
        }
        Console.WriteLine($"[nvdec] {file}: {r.FrameCount} frames, {nRef} compared with FFmpeg: max |diff| luma {maxY}, chroma {maxC}");
        Assert.True(maxY <= 1 && maxC <= 1, $"{file}: max diff luma {maxY}, chroma {maxC}");
    }

    [Fact]
    public void Decode_CorruptedStream_ReportsErrorsAndKeepsDecoding()
    {
        var data = File.ReadAllBytes(RefPath("vtest-1080p.h264"));
        var rng = new Random(7);
        // Damage 400 bytes spread over the middle of the stream (slice data, not the leading parameter sets).
        for (int i = 0; i < 400; i++) data[data.Length / 4 + rng.Next(data.Length / 2)] ^= (byte)(1 + rng.Next(255));
        var r = DecodeAll(NvdecCodec.H264, data, 0);
        Console.WriteLine($"[nvdec] corrupted stream: {r.FrameCount} frames, {r.Errors.Count} errors; first: {r.Errors.FirstOrDefault()}");
        Assert.NotEmpty(r.Errors);
        Assert.True(r.FrameCount > 100, $"only {r.FrameCount} frames survived");
    }

    [Fact]
    public void Decode_TruncatedStream_YieldsFramesBeforeTheCutWithoutCrashing()
    {
        var data = File.ReadAllBytes(RefPath("vtest-1080p-hevc.h265"));
        var cut = data.AsSpan(0, data.Length / 2 + 1234).ToArray(); // ends in the middle of a picture
        var r = DecodeAll(NvdecCodec.Hevc, cut, 0);
        Console.WriteLine($"[nvdec] truncated HEVC stream: {r.FrameCount} frames, {r.Errors.Count} errors");
        Assert.InRange(r.FrameCount, 60, 299);
    }

    [Fact]
    public void Decode_ManySurfaces_NoDeviceToHostCopiesAndNoLeaks()
    {
        long d2h = CudaCounters.DeviceToHostCopies;
        long leaks = CudaLeaks.Count;
        var r = DecodeAll(NvdecCodec.H264, File.ReadAllBytes(RefPath("vtest-90.h264")), 0);
        Assert.Equal(90, r.FrameCount);
        Assert.Equal(d2h, CudaCounters.DeviceToHostCopies);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(leaks, CudaLeaks.Count);
    }
}
