using System.Runtime.CompilerServices;
using Vigil.Cuda;

namespace Vigil.Gpu.Tests.Cuda;

[Collection("Gpu")]
public sealed class CudaLayerTests(GpuFixture gpu)
{
    private const string AddSource = """
        extern "C" __global__ void add_scaled(const float* a, const float* b, float* c, float s, int n)
        {
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i < n) c[i] = a[i] + s * b[i];
        }
        """;

    [Fact]
    public void Context_Create_ReportsHopperOrNewerDevice()
    {
        Assert.True(gpu.Context.ComputeCapability.Major >= 7, gpu.Context.ToString());
        Assert.False(string.IsNullOrWhiteSpace(gpu.Context.Name));
        Assert.True(gpu.Context.TotalMemory > 1L << 30);
        Assert.True(gpu.Context.TheoreticalBandwidthBytesPerSecond > 100_000_000_000L);
    }

    [Fact]
    public void DeviceBuffer_RoundTrip_ReturnsSameBytesAndCountsDeviceToHost()
    {
        var s = gpu.Stream;
        var data = Enumerable.Range(0, 100_003).Select(i => (float)Math.Sin(i)).ToArray();
        using var a = DeviceBuffer<float>.Allocate(gpu.Context, data.Length);
        using var b = DeviceBuffer<float>.Allocate(gpu.Context, data.Length, s);
        a.CopyFrom(s, data);
        s.CopyDeviceToDevice(a.Pointer, b.Pointer, a.SizeInBytes);
        long before = CudaCounters.DeviceToHostCopies;
        var back = b.ToArray(s);
        Assert.Equal(data, back);
        Assert.Equal(before + 1, CudaCounters.DeviceToHostCopies);
        b.Free(s);
        Assert.True(b.IsDisposed);
    }

    [Fact]
    public void Memcpy2D_PitchedCopy_CopiesOnlyTheRectangle()
    {
        var s = gpu.Stream;
        const int w = 37, h = 11, srcPitch = 64, dstPitch = 128;
        var src = new byte[srcPitch * h];
        for (int i = 0; i < src.Length; i++) src[i] = (byte)(i * 7 + 3);
        using var dSrc = DeviceBuffer<byte>.Allocate(gpu.Context, src.Length);
        using var dDst = DeviceBuffer<byte>.Allocate(gpu.Context, dstPitch * h);
        dSrc.CopyFrom(s, src);
        dDst.Fill(s, 0xEE);
        s.CopyDeviceToDevice2D(dSrc.Pointer, srcPitch, dDst.Pointer, dstPitch, w, h);
        var dst = dDst.ToArray(s);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < dstPitch; x++)
                Assert.Equal(x < w ? src[y * srcPitch + x] : (byte)0xEE, dst[y * dstPitch + x]);
    }

    [Fact]
    public void Allocate_HugeSize_ThrowsOutOfMemoryException()
    {
        var e = Assert.Throws<OutOfMemoryException>(() => DeviceBuffer.Allocate(gpu.Context, 1L << 50));
        Assert.Contains("cuMemAlloc_v2", e.Message);
    }

    [Fact]
    public void ModuleLoad_GarbageImage_ThrowsCudaExceptionWithCode()
    {
        var garbage = new byte[256];
        new Random(1).NextBytes(garbage);
        garbage[^1] = 0;
        var e = Assert.Throws<CudaException>(() => new CudaModule(gpu.Context, garbage));
        Assert.NotEqual(CUresult.CUDA_SUCCESS, e.Code);
        Assert.Contains("cuModuleLoadData", e.Message);
    }

    [Fact]
    public void KernelCompiler_CompileAndLaunch_ComputesOnDevice()
    {
        var s = gpu.Stream;
        using var module = gpu.Compiler.Load("add_scaled", AddSource);
        var kernel = module.GetKernel("add_scaled");
        const int n = 1000;
        var a = Enumerable.Range(0, n).Select(i => (float)i).ToArray();
        var b = Enumerable.Range(0, n).Select(i => (float)(2 * i + 1)).ToArray();
        using var da = DeviceBuffer<float>.Allocate(gpu.Context, n);
        using var db = DeviceBuffer<float>.Allocate(gpu.Context, n);
        using var dc = DeviceBuffer<float>.Allocate(gpu.Context, n);
        da.CopyFrom(s, a);
        db.CopyFrom(s, b);
        using var args = new KernelArgs();
        args.Add(da.Pointer).Add(db.Pointer).Add(dc.Pointer).Add(0.5f).Add(n);
        kernel.Launch(s, Dim3.CeilDiv(n, 128), 128, args);
        var c = dc.ToArray(s);
        for (int i = 0; i < n; i++) Assert.Equal(a[i] + 0.5f * b[i], c[i]);
    }

    [Fact]
    public void KernelCompiler_SecondCompile_IsCacheHit()
    {
        string dir = Path.Combine(gpu.CacheDirectory, "cache-hit-" + Guid.NewGuid().ToString("N"));
        var first = new KernelCompiler(gpu.Context, dir).Compile("cache_probe", AddSource);
        var secondCompiler = new KernelCompiler(gpu.Context, dir);
        var second = secondCompiler.Compile("cache_probe", AddSource);
        Assert.False(first.FromCache);
        Assert.True(second.FromCache);
        Assert.Equal(0, secondCompiler.Compilations);
        Assert.Equal(1, secondCompiler.CacheHits);
        Assert.Equal(first.Cubin, second.Cubin);
        var other = secondCompiler.Compile("cache_probe", AddSource + "\n// changed\n");
        Assert.False(other.FromCache);
    }

    [Fact]
    public void KernelCompiler_SyntaxError_ThrowsWithNvrtcLog()
    {
        var e = Assert.Throws<NvrtcException>(() =>
            gpu.Compiler.Compile("broken", "extern \"C\" __global__ void k(int* p) { p[0] = undefined_symbol; }"));
        Assert.NotNull(e.Log);
        Assert.Contains("undefined_symbol", e.Message);
    }

    [Fact]
    public void Graph_CaptureAndReplay_RunsCapturedWork()
    {
        var s = gpu.Stream;
        using var module = gpu.Compiler.Load("add_scaled", AddSource);
        var kernel = module.GetKernel("add_scaled");
        const int n = 4096;
        using var da = DeviceBuffer<float>.Allocate(gpu.Context, n);
        using var dc = DeviceBuffer<float>.Allocate(gpu.Context, n);
        da.CopyFrom(s, Enumerable.Repeat(1f, n).ToArray());
        dc.CopyFrom(s, new float[n]);
        s.Synchronize();
        using var args = new KernelArgs();
        args.Add(dc.Pointer).Add(da.Pointer).Add(dc.Pointer).Add(2f).Add(n); // c = c + 2a
        s.BeginCapture();
        kernel.Launch(s, Dim3.CeilDiv(n, 256), 256, args);
        using var graph = s.EndCapture();
        using var exec = graph.Instantiate();
        for (int i = 0; i < 3; i++) exec.Launch(s);
        var c = dc.ToArray(s);
        Assert.All(c, v => Assert.Equal(6f, v));
    }

    [Fact]
    public void Events_TimedKernel_ElapsedIsPositive()
    {
        var s = gpu.Stream;
        using var start = gpu.Context.CreateEvent(timing: true);
        using var end = gpu.Context.CreateEvent(timing: true);
        using var buf = DeviceBuffer.Allocate(gpu.Context, 64 << 20);
        start.Record(s);
        buf.Fill(s, 7);
        end.Record(s);
        end.Synchronize();
        Assert.True(end.IsComplete());
        Assert.True(CudaEvent.ElapsedMilliseconds(start, end) > 0f);
    }

    [Fact]
    public void DevicePool_CapacityReached_TryRentFailsUntilRelease()
    {
        var s = gpu.Stream;
        using var pool = new DevicePool(gpu.Context, 1920, 1080, PixelFormat.Nv12, 2);
        Assert.True(pool.TryRent(s, out var a));
        Assert.True(pool.TryRent(s, out var b));
        Assert.False(pool.TryRent(s, out _));
        Assert.Equal(MemoryKind.Device, a!.Memory);
        Assert.Equal(a.DevicePointer + (ulong)(a.Pitch * 1080), a.ChromaPointer);
        Assert.True(a.Pitch >= 1920 && a.Pitch % 256 == 0);
        a.ReleaseAfter(s);
        Assert.True(pool.TryRent(s, out var c));
        Assert.Same(a, c);
        Assert.Equal(2, pool.Created);
        b!.Release();
        c!.Release();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Finalizer_UndisposedBuffer_CountsLeakWithoutCallingCuda()
    {
        long before = CudaLeaks.Count;
        LeakOne(gpu.Context);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.True(CudaLeaks.Count > before, "an undisposed device buffer must be counted as a leak");
        Assert.Equal(nameof(SafeDeviceMemoryHandle), CudaLeaks.LastLeaked);
    }

    [Fact]
    public void Dispose_AllObjects_NoLeaks()
    {
        long before = CudaLeaks.Count;
        UseAndDispose(gpu.Context);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.Equal(before, CudaLeaks.Count);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void LeakOne(CudaContext ctx) => _ = DeviceBuffer.Allocate(ctx, 4096);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void UseAndDispose(CudaContext ctx)
    {
        using var st = ctx.CreateStream();
        using var ev = ctx.CreateEvent();
        using var buf = DeviceBuffer.Allocate(ctx, 1 << 20, st);
        using var pinned = new PinnedHostBuffer(ctx, 1 << 20);
        buf.CopyToHost(st, pinned.Pointer, 1 << 20);
        ev.Record(st);
        ev.Synchronize();
        using (var pool = new DevicePool(ctx, 64, 64, PixelFormat.Nv12, 4))
        {
            Assert.True(pool.TryRent(st, out var f));
            f!.ReleaseAfter(st);
        }
        buf.Free(st);
        st.Synchronize();
    }
}
