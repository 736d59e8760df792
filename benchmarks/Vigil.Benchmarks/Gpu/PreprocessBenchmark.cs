using System.Globalization;
using Vigil.Cuda;
using Vigil.Infer;
using Vigil.Infer.Gpu;

namespace Vigil.Benchmarks.Gpu;

/// <summary>
/// Fused preprocessing: a batch of 64 random 1920x1080 NV12 surfaces to a 416x416 FP16 NCHW letterboxed tensor, one
/// launch per batch, timed with CUDA events (20 warm-ups, median of 200). Bytes counted: tensor written + the NV12
/// frames read once (an upper bound of what a kernel must read; it samples only part of each frame). Baseline in the
/// same run: a 1 GiB device-to-device copy (bytes read + written), the card's achievable bandwidth.
/// Usage: preprocess [--batch 64] [--size 416]
/// </summary>
public static class PreprocessBenchmark
{
    public static int Run(string[] args)
    {
        int batch = 64, size = 416;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (args[i] == "--batch") batch = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            else if (args[i] == "--size") size = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
        }
        using var ctx = CudaContext.Create(0);
        using var stream = ctx.CreateStream();
        Console.WriteLine($"GPU: {ctx}; theoretical DRAM bandwidth {ctx.TheoreticalBandwidthBytesPerSecond / 1e9:F0} GB/s");

        // Baseline: device-to-device copy.
        const long copyBytes = 1L << 30;
        using var a = DeviceBuffer.Allocate(ctx, copyBytes);
        using var b = DeviceBuffer.Allocate(ctx, copyBytes);
        a.Fill(stream, 0x5A);
        double copyMs = TimeMedian(ctx, stream, 5, 20, () => stream.CopyDeviceToDevice(a.Pointer, b.Pointer, copyBytes));
        double copyGBs = 2.0 * copyBytes / (copyMs * 1e-3) / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"baseline: 1 GiB device-to-device copy {copyMs:F3} ms = {copyGBs:F0} GB/s (read + write)"));

        var spec = new PreprocessSpec { Width = size, Height = size, ElementType = TensorElementType.Float16 };
        using var pool = new DevicePool(ctx, 1920, 1080, PixelFormat.Nv12, batch);
        var frames = new List<DeviceFrameBuffer>();
        var rng = new Random(3);
        var noise = new byte[DevicePool.PitchFor(1920, PixelFormat.Nv12) * 1080 * 3 / 2];
        rng.NextBytes(noise);
        for (int i = 0; i < batch; i++)
        {
            pool.TryRent(stream, out var f);
            unsafe { fixed (byte* p = noise) stream.CopyHostToDevice((nint)p, f!.DevicePointer, noise.Length); }
            frames.Add(f!);
        }
        var images = frames.Select(f => GpuImage.From(f, ColorMatrix.Bt709)).ToArray();
        using var pre = new GpuPreprocessor(ctx, new KernelCompiler(ctx), spec, batch);
        using var tensor = DeviceBuffer.Allocate(ctx, pre.OutputBytes(batch));
        var transforms = new LetterboxTransform[batch];
        double ms = TimeMedian(ctx, stream, 20, 200, () => pre.Run(images, tensor.Pointer, stream, transforms));
        double outBytes = pre.OutputBytes(batch), inBytes = (double)batch * 1920 * 1080 * 3 / 2;
        Console.WriteLine("| batch | output | µs per batch | µs per frame | output GB/s | (output + NV12 frames) GB/s | vs D2D copy |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|");
        double total = (outBytes + inBytes) / (ms * 1e-3) / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {batch} | {size}x{size} FP16 NCHW from 1920x1080 NV12 | {ms * 1000:F1} | {ms * 1000 / batch:F2} | {outBytes / (ms * 1e-3) / 1e9:F0} | {total:F0} | {total / copyGBs * 100:F0}% |"));
        foreach (var f in frames) f.Release();
        return 0;
    }

    private static double TimeMedian(CudaContext ctx, CudaStream stream, int warmup, int runs, Action work)
    {
        using var start = ctx.CreateEvent(timing: true);
        using var end = ctx.CreateEvent(timing: true);
        for (int i = 0; i < warmup; i++) work();
        stream.Synchronize();
        var times = new List<double>(runs);
        for (int i = 0; i < runs; i++)
        {
            start.Record(stream);
            work();
            end.Record(stream);
            end.Synchronize();
            times.Add(CudaEvent.ElapsedMilliseconds(start, end));
        }
        return MachineInfo.Median(times);
    }
}
