namespace Vigil.Cuda;

/// <summary>
/// The primary context of one GPU, retained for the lifetime of this object. CUDA contexts are current per thread and
/// async code changes threads, so every Vigil.Cuda operation calls <see cref="MakeCurrent"/> first (a cheap
/// thread-local store in the driver).
/// </summary>
public sealed class CudaContext : IDisposable
{
    private static readonly Lock s_initLock = new();
    private static bool s_initialized;

    private CudaContext(int ordinal)
    {
        EnsureInitialized();
        Ordinal = ordinal;
        Device = Interop.Cuda.DeviceGet(ordinal);
        Handle = new SafeCudaContextHandle(Device);
        Handle.SetHandleValue(Interop.Cuda.PrimaryContextRetain(Device));
        MakeCurrent();
        Name = Interop.Cuda.DeviceName(Device);
        ComputeCapability = (Attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
            Attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR));
        MultiprocessorCount = Attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        MemoryPoolsSupported = Attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED) != 0;
        TotalMemory = Interop.Cuda.DeviceTotalMemory(Device);
        DriverVersion = Interop.Cuda.DriverVersion();
        // Theoretical DRAM bandwidth: memory clock (kHz) x 2 (double data rate) x bus width (bits) / 8.
        long memClockKHz = Attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE);
        long busBits = Attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH);
        TheoreticalBandwidthBytesPerSecond = memClockKHz * 1000 * 2 * busBits / 8;
    }

    /// <summary>Retains the primary context of GPU <paramref name="ordinal"/> and makes it current on this thread.</summary>
    public static CudaContext Create(int ordinal = 0) => new(ordinal);

    /// <summary>Number of CUDA devices (0 when the driver is present but sees none).</summary>
    public static int DeviceCount()
    {
        EnsureInitialized();
        return Interop.Cuda.DeviceCount();
    }

    private static void EnsureInitialized()
    {
        lock (s_initLock)
        {
            if (s_initialized) return;
            try
            {
                Interop.Cuda.Init();
            }
            catch (DllNotFoundException e)
            {
                throw new VigilException("CUDA: libcuda.so.1 (the NVIDIA driver) is not installed on this machine.", e);
            }
            s_initialized = true;
        }
    }

    public int Ordinal { get; }
    public int Device { get; }
    public string Name { get; }
    public (int Major, int Minor) ComputeCapability { get; }
    /// <summary>NVRTC architecture option value, e.g. "sm_90".</summary>
    public string Architecture => $"sm_{ComputeCapability.Major}{ComputeCapability.Minor}";
    public int MultiprocessorCount { get; }
    public bool MemoryPoolsSupported { get; }
    public long TotalMemory { get; }
    /// <summary>Driver API version, e.g. 13000 for CUDA 13.0.</summary>
    public int DriverVersion { get; }
    public long TheoreticalBandwidthBytesPerSecond { get; }
    public SafeCudaContextHandle Handle { get; }

    public void MakeCurrent() => Interop.Cuda.SetCurrent(Handle.DangerousGetHandle());

    /// <summary>Blocks until all work of this context has finished.</summary>
    public void Synchronize()
    {
        MakeCurrent();
        Interop.Cuda.ContextSynchronize();
    }

    public (long Free, long Total) MemoryInfo()
    {
        MakeCurrent();
        return Interop.Cuda.MemoryInfo();
    }

    public CudaStream CreateStream() => new(this);
    public CudaEvent CreateEvent(bool timing = false) => new(this, timing);

    public DeviceBuffer Allocate(long bytes) => DeviceBuffer.Allocate(this, bytes);

    private int Attribute(CUdevice_attribute a) => Interop.Cuda.DeviceAttribute(Device, a);

    public override string ToString() =>
        $"{Name} (sm_{ComputeCapability.Major}{ComputeCapability.Minor}, {MultiprocessorCount} SMs, {TotalMemory >> 20} MiB, driver API {DriverVersion / 1000}.{DriverVersion % 1000 / 10})";

    public void Dispose() => Handle.Dispose();
}

/// <summary>A non-blocking CUDA stream (work queue). Operations on it are asynchronous to the host.</summary>
public sealed class CudaStream : IDisposable
{
    private const uint CU_STREAM_NON_BLOCKING = 1;

    internal CudaStream(CudaContext context)
    {
        Context = context;
        context.MakeCurrent();
        Handle = new SafeCudaStreamHandle(context.Handle);
        Handle.SetHandleValue(Interop.Cuda.StreamCreate(CU_STREAM_NON_BLOCKING));
    }

    public CudaContext Context { get; }
    public SafeCudaStreamHandle Handle { get; }
    /// <summary>The raw CUstream, for native APIs that take one (NVDEC, cuBLAS, cuDNN).</summary>
    public nint Pointer => Handle.DangerousGetHandle();

    public void Synchronize()
    {
        Context.MakeCurrent();
        Interop.Cuda.StreamSynchronize(Pointer);
    }

    /// <summary>True when everything queued so far has finished.</summary>
    public bool IsIdle()
    {
        Context.MakeCurrent();
        return Interop.Cuda.StreamQuery(Pointer);
    }

    /// <summary>Makes later work on this stream wait for <paramref name="ev"/> (no host blocking).</summary>
    public void Wait(CudaEvent ev)
    {
        Context.MakeCurrent();
        Interop.Cuda.StreamWaitEvent(Pointer, ev.Pointer);
    }

    /// <summary>Records a (timing-disabled) event here and makes <paramref name="other"/> wait for it.</summary>
    public void MakeWait(CudaStream other, CudaEvent scratch)
    {
        scratch.Record(this);
        other.Wait(scratch);
    }

    public void CopyHostToDevice(nint src, ulong dst, long bytes)
    {
        Context.MakeCurrent();
        Interop.Cuda.MemcpyHtoDAsync(dst, src, bytes, Pointer);
    }

    /// <summary>Counted in <see cref="CudaCounters.DeviceToHostCopies"/>.</summary>
    public void CopyDeviceToHost(ulong src, nint dst, long bytes)
    {
        Context.MakeCurrent();
        Interop.Cuda.MemcpyDtoHAsync(dst, src, bytes, Pointer);
    }

    public void CopyDeviceToDevice(ulong src, ulong dst, long bytes)
    {
        Context.MakeCurrent();
        Interop.Cuda.MemcpyDtoDAsync(dst, src, bytes, Pointer);
    }

    /// <summary>A pitched 2-D copy between any memory kinds (device↔host copies are counted).</summary>
    public void Copy2D(in CUDA_MEMCPY2D copy)
    {
        Context.MakeCurrent();
        Interop.Cuda.Memcpy2DAsync(copy, Pointer);
    }

    /// <summary>Device-to-device pitched copy of <paramref name="rows"/> rows of <paramref name="widthBytes"/> bytes.</summary>
    public void CopyDeviceToDevice2D(ulong src, long srcPitch, ulong dst, long dstPitch, long widthBytes, long rows)
    {
        var c = new CUDA_MEMCPY2D
        {
            srcMemoryType = CUmemorytype.CU_MEMORYTYPE_DEVICE, srcDevice = src, srcPitch = (nuint)srcPitch,
            dstMemoryType = CUmemorytype.CU_MEMORYTYPE_DEVICE, dstDevice = dst, dstPitch = (nuint)dstPitch,
            WidthInBytes = (nuint)widthBytes, Height = (nuint)rows,
        };
        Copy2D(c);
    }

    public void Memset8(ulong dst, byte value, long count)
    {
        Context.MakeCurrent();
        Interop.Cuda.MemsetD8Async(dst, value, count, Pointer);
    }

    public void Memset32(ulong dst, uint value, long count)
    {
        Context.MakeCurrent();
        Interop.Cuda.MemsetD32Async(dst, value, count, Pointer);
    }

    /// <summary>Starts recording this stream's work into a graph instead of running it.</summary>
    public void BeginCapture(CaptureMode mode = CaptureMode.ThreadLocal)
    {
        Context.MakeCurrent();
        Interop.Cuda.StreamBeginCapture(Pointer, mode);
    }

    /// <summary>Ends a capture started by <see cref="BeginCapture"/>; the graph holds the recorded work.</summary>
    public CudaGraph EndCapture()
    {
        Context.MakeCurrent();
        var h = new SafeCudaGraphHandle(Context.Handle);
        h.SetHandleValue(Interop.Cuda.StreamEndCapture(Pointer));
        return new CudaGraph(Context, h);
    }

    public void Dispose() => Handle.Dispose();
}

/// <summary>A CUDA event: ordering between streams, completion checks and (when created with timing) GPU timing.</summary>
public sealed class CudaEvent : IDisposable
{
    private const uint CU_EVENT_DISABLE_TIMING = 2;

    internal CudaEvent(CudaContext context, bool timing)
    {
        Context = context;
        context.MakeCurrent();
        Handle = new SafeCudaEventHandle(context.Handle);
        Handle.SetHandleValue(Interop.Cuda.EventCreate(timing ? 0 : CU_EVENT_DISABLE_TIMING));
    }

    public CudaContext Context { get; }
    public SafeCudaEventHandle Handle { get; }
    public nint Pointer => Handle.DangerousGetHandle();

    public void Record(CudaStream stream)
    {
        Context.MakeCurrent();
        Interop.Cuda.EventRecord(Pointer, stream.Pointer);
    }

    public void Synchronize()
    {
        Context.MakeCurrent();
        Interop.Cuda.EventSynchronize(Pointer);
    }

    public bool IsComplete()
    {
        Context.MakeCurrent();
        return Interop.Cuda.EventQuery(Pointer);
    }

    /// <summary>GPU time between two recorded timing events, in milliseconds (about 0.5 µs resolution).</summary>
    public static float ElapsedMilliseconds(CudaEvent start, CudaEvent end)
    {
        start.Context.MakeCurrent();
        return Interop.Cuda.EventElapsedMilliseconds(start.Pointer, end.Pointer);
    }

    public void Dispose() => Handle.Dispose();
}

/// <summary>A captured graph of stream work; instantiate it once and launch it many times.</summary>
public sealed class CudaGraph : IDisposable
{
    internal CudaGraph(CudaContext context, SafeCudaGraphHandle handle)
    {
        Context = context;
        Handle = handle;
    }

    public CudaContext Context { get; }
    public SafeCudaGraphHandle Handle { get; }

    public CudaGraphExec Instantiate()
    {
        Context.MakeCurrent();
        var h = new SafeCudaGraphExecHandle(Context.Handle);
        h.SetHandleValue(Interop.Cuda.GraphInstantiate(Handle.DangerousGetHandle()));
        return new CudaGraphExec(Context, h);
    }

    public void Dispose() => Handle.Dispose();
}

/// <summary>An executable graph.</summary>
public sealed class CudaGraphExec : IDisposable
{
    internal CudaGraphExec(CudaContext context, SafeCudaGraphExecHandle handle)
    {
        Context = context;
        Handle = handle;
    }

    public CudaContext Context { get; }
    public SafeCudaGraphExecHandle Handle { get; }

    public void Launch(CudaStream stream)
    {
        Context.MakeCurrent();
        Interop.Cuda.GraphLaunch(Handle.DangerousGetHandle(), stream.Pointer);
    }

    public void Dispose() => Handle.Dispose();
}
