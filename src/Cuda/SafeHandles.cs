using System.Runtime.InteropServices;

namespace Vigil.Cuda;

/// <summary>
/// Base of Vigil's CUDA handles. Destruction runs only in <see cref="ReleaseHandle"/> on an explicit Dispose,
/// with the owning context made current first. If a handle is finalized instead, it is counted as a leak in
/// <see cref="CudaLeaks"/> and the native object is abandoned: the finalizer thread never calls CUDA.
/// Each handle holds a reference on its context handle so the context is released last.
/// </summary>
public abstract class CudaSafeHandle : SafeHandle
{
    private readonly SafeCudaContextHandle? _context;

    protected CudaSafeHandle(SafeCudaContextHandle? context) : base(IntPtr.Zero, ownsHandle: true)
    {
        if (context is not null)
        {
            bool added = false;
            context.DangerousAddRef(ref added);
            _context = context;
        }
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>The raw context this object belongs to.</summary>
    internal nint ContextPointer => _context?.DangerousGetHandle() ?? 0;

    internal void SetHandleValue(nint value) => SetHandle(value);

    protected override void Dispose(bool disposing)
    {
        if (!disposing && !IsInvalid && !IsClosed)
        {
            CudaLeaks.Record(GetType().Name);
            SetHandleAsInvalid(); // abandon: no CUDA call from the finalizer thread
            return;
        }
        base.Dispose(disposing);
    }

    protected sealed override bool ReleaseHandle()
    {
        if (_context is not null) Interop.Cuda.SetCurrentNoThrow(_context.DangerousGetHandle());
        var r = Destroy(handle);
        _context?.DangerousRelease();
        return r == CUresult.CUDA_SUCCESS || r == CUresult.CUDA_ERROR_DEINITIALIZED;
    }

    /// <summary>Destroys the native object; runs only from an explicit Dispose, with the context current.</summary>
    protected abstract CUresult Destroy(nint value);
}

/// <summary>A retained primary context of one device (released with cuDevicePrimaryCtxRelease_v2).</summary>
public sealed class SafeCudaContextHandle : CudaSafeHandle
{
    internal SafeCudaContextHandle(int device) : base(null) => Device = device;

    public int Device { get; }

    protected override CUresult Destroy(nint value) => Interop.Cuda.PrimaryContextReleaseNoThrow(Device);
}

public sealed class SafeCudaStreamHandle : CudaSafeHandle
{
    internal SafeCudaStreamHandle(SafeCudaContextHandle context) : base(context) { }
    protected override CUresult Destroy(nint value) => Interop.Cuda.StreamDestroyNoThrow(value);
}

public sealed class SafeCudaEventHandle : CudaSafeHandle
{
    internal SafeCudaEventHandle(SafeCudaContextHandle context) : base(context) { }
    protected override CUresult Destroy(nint value) => Interop.Cuda.EventDestroyNoThrow(value);
}

public sealed class SafeCudaModuleHandle : CudaSafeHandle
{
    internal SafeCudaModuleHandle(SafeCudaContextHandle context) : base(context) { }
    protected override CUresult Destroy(nint value) => Interop.Cuda.ModuleUnloadNoThrow(value);
}

public sealed class SafeCudaGraphHandle : CudaSafeHandle
{
    internal SafeCudaGraphHandle(SafeCudaContextHandle context) : base(context) { }
    protected override CUresult Destroy(nint value) => Interop.Cuda.GraphDestroyNoThrow(value);
}

public sealed class SafeCudaGraphExecHandle : CudaSafeHandle
{
    internal SafeCudaGraphExecHandle(SafeCudaContextHandle context) : base(context) { }
    protected override CUresult Destroy(nint value) => Interop.Cuda.GraphExecDestroyNoThrow(value);
}

/// <summary>Page-locked host memory from cuMemAllocHost_v2.</summary>
public sealed class SafePinnedHostHandle : CudaSafeHandle
{
    internal SafePinnedHostHandle(SafeCudaContextHandle context) : base(context) { }
    protected override CUresult Destroy(nint value) => Interop.Cuda.MemFreeHostNoThrow(value);
}

/// <summary>
/// Device memory. Freed with cuMemFreeAsync on <see cref="FreeStream"/> when one was set and the memory came from
/// the stream-ordered allocator, otherwise with cuMemFree_v2.
/// </summary>
public sealed class SafeDeviceMemoryHandle : CudaSafeHandle
{
    internal SafeDeviceMemoryHandle(SafeCudaContextHandle context, bool streamOrdered) : base(context) => StreamOrdered = streamOrdered;

    internal bool StreamOrdered { get; }
    internal nint FreeStream { get; set; }

    protected override CUresult Destroy(nint value)
    {
        if (StreamOrdered && FreeStream != 0)
        {
            var r = Interop.Cuda.MemFreeAsyncNoThrow((ulong)value, FreeStream);
            if (r == CUresult.CUDA_SUCCESS) return r;
        }
        return Interop.Cuda.MemFreeNoThrow((ulong)value);
    }
}
