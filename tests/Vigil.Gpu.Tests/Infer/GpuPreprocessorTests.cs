using Vigil.Cuda;
using Vigil.Infer;
using Vigil.Infer.Gpu;

namespace Vigil.Gpu.Tests.Infer;

/// <summary>
/// The fused kernel against <see cref="CpuPreprocessor"/> (the CPU reference of the same definition) on random NV12
/// images of odd and even sizes, batched in one launch. Tolerances: FP32 max abs diff ≤ 1e-3; FP16: the GPU rounds the
/// FP32 value to half once, the reference rounds its own FP32 value, so each sample may differ by one half-precision
/// step: |gpu − ref| ≤ 2^-10·|ref| + 1e-3.
/// </summary>
[Collection("Gpu")]
public sealed class GpuPreprocessorTests(GpuFixture gpu)
{
    private static readonly (int W, int H, ColorMatrix M)[] s_sources =
    [
        (1920, 1080, ColorMatrix.Bt709), (333, 187, ColorMatrix.Bt601), (97, 211, ColorMatrix.Bt709), (640, 480, ColorMatrix.Bt601),
    ];

    public static TheoryData<string> Cases => new() { "nchw-f32-letterbox-bgr", "nhwc-f32-center-rgb-meanscale", "nchw-f16-stretch-rgb", "nhwc-f16-letterbox-bgr-odd" };

    private static PreprocessSpec SpecFor(string name) => name switch
    {
        "nchw-f32-letterbox-bgr" => new PreprocessSpec { Width = 417, Height = 311 },
        "nhwc-f32-center-rgb-meanscale" => new PreprocessSpec
        {
            Width = 416, Height = 416, Anchor = LetterboxAnchor.Center, Channels = ChannelOrder.Rgb, Layout = TensorLayout.Nhwc,
            Mean = [123.675f, 116.28f, 103.53f], Scale = [1 / 58.395f, 1 / 57.12f, 1 / 57.375f], PadValue = 0f,
        },
        "nchw-f16-stretch-rgb" => new PreprocessSpec
        {
            Width = 128, Height = 128, Resize = ResizeMode.Stretch, Channels = ChannelOrder.Rgb, ElementType = TensorElementType.Float16,
            Mean = [127.5f, 127.5f, 127.5f], Scale = [1 / 127.5f, 1 / 127.5f, 1 / 127.5f],
        },
        "nhwc-f16-letterbox-bgr-odd" => new PreprocessSpec { Width = 301, Height = 177, Layout = TensorLayout.Nhwc, ElementType = TensorElementType.Float16 },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Run_RandomNv12Batch_MatchesCpuPreprocessor(string name)
    {
        var spec = SpecFor(name);
        var s = gpu.Stream;
        var rng = new Random(name.GetHashCode(StringComparison.Ordinal) & 0x7fffffff);
        var hosts = new List<(byte[] Y, byte[] UV, int Pitch, int W, int H, ColorMatrix M)>();
        var buffers = new List<DeviceBuffer<byte>>();
        var images = new List<GpuImage>();
        try
        {
            foreach (var (w, h, m) in s_sources)
            {
                int pitch = (w + 255) & ~255;
                int uvRows = (h + 1) / 2;
                var y = new byte[pitch * h];
                var uv = new byte[pitch * uvRows];
                rng.NextBytes(y);
                rng.NextBytes(uv);
                var dy = DeviceBuffer<byte>.Allocate(gpu.Context, y.Length);
                var duv = DeviceBuffer<byte>.Allocate(gpu.Context, uv.Length);
                buffers.Add(dy);
                buffers.Add(duv);
                dy.CopyFrom(s, y);
                duv.CopyFrom(s, uv);
                hosts.Add((y, uv, pitch, w, h, m));
                images.Add(new GpuImage(dy.Pointer, duv.Pointer, pitch, w, h, m));
            }

            using var pre = new GpuPreprocessor(gpu.Context, gpu.Compiler, spec, 8);
            int n = images.Count, per = spec.ElementsPerImage;
            using var output = DeviceBuffer.Allocate(gpu.Context, pre.OutputBytes(n));
            output.Fill(s, 0xFF); // NaN in both FP32 and FP16: any unwritten element fails the comparison
            var transforms = new LetterboxTransform[n];
            pre.Run(images.ToArray(), output.Pointer, s, transforms);

            var cpu = new CpuPreprocessor(spec);
            double maxDiff = 0;
            if (spec.ElementType == TensorElementType.Float32)
            {
                var got = new float[(long)n * per];
                unsafe { fixed (float* p = got) { output.CopyToHost(s, (nint)p, got.Length * 4L); s.Synchronize(); } }
                for (int i = 0; i < n; i++)
                {
                    var hst = hosts[i];
                    var expected = new float[per];
                    var t = cpu.RunNv12(hst.Y, hst.Pitch, hst.UV, hst.Pitch, hst.W, hst.H, hst.M, expected);
                    Assert.Equal(t, transforms[i]);
                    for (int k = 0; k < per; k++)
                    {
                        double d = Math.Abs(got[(long)i * per + k] - expected[k]);
                        Assert.False(double.IsNaN(d), $"{name}: element {k} of image {i} not written");
                        maxDiff = Math.Max(maxDiff, d);
                    }
                }
                Console.WriteLine($"[preprocess] {name}: FP32 max abs diff vs CpuPreprocessor = {maxDiff:E3}");
                Assert.True(maxDiff <= 1e-3, $"{name}: max abs diff {maxDiff} > 1e-3");
            }
            else
            {
                var got = new Half[(long)n * per];
                unsafe { fixed (Half* p = got) { output.CopyToHost(s, (nint)p, got.Length * 2L); s.Synchronize(); } }
                double worstExcess = double.MinValue;
                for (int i = 0; i < n; i++)
                {
                    var hst = hosts[i];
                    var expected = new Half[per];
                    cpu.RunNv12(hst.Y, hst.Pitch, hst.UV, hst.Pitch, hst.W, hst.H, hst.M, expected);
                    for (int k = 0; k < per; k++)
                    {
                        double g = (double)got[(long)i * per + k], e = (double)expected[k];
                        Assert.False(double.IsNaN(g), $"{name}: element {k} of image {i} not written");
                        double d = Math.Abs(g - e);
                        maxDiff = Math.Max(maxDiff, d);
                        worstExcess = Math.Max(worstExcess, d - (Math.Abs(e) / 1024 + 1e-3));
                    }
                }
                Console.WriteLine($"[preprocess] {name}: FP16 max abs diff vs CpuPreprocessor = {maxDiff:E3} (tolerance 2^-10*|ref| + 1e-3)");
                Assert.True(worstExcess <= 0, $"{name}: FP16 difference exceeds one half-precision step by {worstExcess}");
            }
        }
        finally
        {
            foreach (var b in buffers) b.Dispose();
        }
    }

    [Fact]
    public void Run_BatchOf64_IsOneLaunchWithNoDeviceToHostCopy()
    {
        var spec = new PreprocessSpec { Width = 416, Height = 416, ElementType = TensorElementType.Float16 };
        using var pool = new DevicePool(gpu.Context, 1920, 1080, PixelFormat.Nv12, 64);
        var frames = new List<Frame>();
        var info = new StreamInfo(0, "t", "t", 1920, 1080, 30, "h264") { ColorMatrix = ColorMatrix.Bt709 };
        try
        {
            for (int i = 0; i < 64; i++)
            {
                Assert.True(pool.TryRent(gpu.Stream, out var b));
                b!.Context.MakeCurrent();
                gpu.Stream.Memset8(b.DevicePointer, (byte)(16 + i), b.SizeInBytes);
                frames.Add(new Frame(info, i, i, TimeSpan.Zero, b));
            }
            using var pre = new GpuPreprocessor(gpu.Context, gpu.Compiler, spec, 64);
            using var output = DeviceBuffer.Allocate(gpu.Context, pre.OutputBytes(64));
            long d2h = CudaCounters.DeviceToHostCopies;
            var transforms = new LetterboxTransform[64];
            pre.Run(frames, output, gpu.Stream, transforms);
            gpu.Stream.Synchronize();
            Assert.Equal(d2h, CudaCounters.DeviceToHostCopies);
            Assert.All(transforms, t => Assert.Equal(new LetterboxTransform(416f / 1920, 234f / 1080, 0, 0, 416, 234), t));
        }
        finally
        {
            foreach (var f in frames) f.Dispose();
        }
    }
}
