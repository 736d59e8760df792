using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Vigil.Cuda;

/// <summary>
/// An owned block of device memory. Release it with <see cref="Dispose"/> (synchronous cuMemFree) or
/// <see cref="Free(CudaStream)"/> (stream-ordered: the memory returns to the allocator once the stream's earlier
/// work is done; requires the buffer to come from the stream-ordered allocator, otherwise the stream is synchronized first).
/// </summary>
public class DeviceBuffer : IDisposable
{
    private readonly SafeDeviceMemoryHandle _handle;

    private protected DeviceBuffer(CudaContext context, SafeDeviceMemoryHandle handle, long bytes)
    {
        Context = context;
        _handle = handle;
        SizeInBytes = bytes;
    }

    /// <summary>Allocates with cuMemAlloc_v2 (synchronous).</summary>
    public static DeviceBuffer Allocate(CudaContext context, long bytes) => new(context, AllocateHandle(context, bytes, null), bytes);

    /// <summary>Allocates in stream order (cuMemAllocAsync) when the device has memory pools, else with cuMemAlloc_v2.</summary>
    public static DeviceBuffer Allocate(CudaContext context, long bytes, CudaStream stream) =>
        new(context, AllocateHandle(context, bytes, stream), bytes);

    private protected static SafeDeviceMemoryHandle AllocateHandle(CudaContext context, long bytes, CudaStream? stream)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        context.MakeCurrent();
        bool ordered = stream is not null && context.MemoryPoolsSupported;
        var h = new SafeDeviceMemoryHandle(context.Handle, ordered);
        h.SetHandleValue((nint)(ordered ? Interop.Cuda.MemAllocAsync(bytes, stream!.Pointer) : Interop.Cuda.MemAlloc(bytes)));
        return h;
    }

    public CudaContext Context { get; }
    public long SizeInBytes { get; }
    /// <summary>The CUdeviceptr.</summary>
    public ulong Pointer => (ulong)_handle.DangerousGetHandle();
    public bool IsDisposed => _handle.IsClosed;

    public void CopyFromHost(CudaStream stream, nint src, long bytes, long offset = 0)
    {
        CheckRange(offset, bytes);
        stream.CopyHostToDevice(src, Pointer + (ulong)offset, bytes);
    }

    public void CopyToHost(CudaStream stream, nint dst, long bytes, long offset = 0)
    {
        CheckRange(offset, bytes);
        stream.CopyDeviceToHost(Pointer + (ulong)offset, dst, bytes);
    }

    public void Fill(CudaStream stream, byte value) => stream.Memset8(Pointer, value, SizeInBytes);

    private protected void CheckRange(long offset, long bytes)
    {
        if (offset < 0 || bytes < 0 || offset + bytes > SizeInBytes)
            throw new ArgumentOutOfRangeException(nameof(bytes), $"Range [{offset}, {offset + bytes}) outside a {SizeInBytes}-byte device buffer.");
    }

    /// <summary>Stream-ordered release: later work on <paramref name="stream"/> may reuse the memory.</summary>
    public void Free(CudaStream stream)
    {
        if (_handle.IsClosed) return;
        if (_handle.StreamOrdered) _handle.FreeStream = stream.Pointer;
        else stream.Synchronize();
        _handle.Dispose();
    }

    public void Dispose()
    {
        _handle.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A device array of <typeparamref name="T"/>.</summary>
public sealed class DeviceBuffer<T> : DeviceBuffer where T : unmanaged
{
    private DeviceBuffer(CudaContext context, SafeDeviceMemoryHandle handle, long length)
        : base(context, handle, length * Unsafe.SizeOf<T>()) => Length = length;

    public static new DeviceBuffer<T> Allocate(CudaContext context, long length, CudaStream? stream = null) =>
        new(context, AllocateHandle(context, length * Unsafe.SizeOf<T>(), stream), length);

    public long Length { get; }

    public unsafe void CopyFrom(CudaStream stream, ReadOnlySpan<T> source, long index = 0)
    {
        fixed (T* p = source)
            CopyFromHost(stream, (nint)p, (long)source.Length * sizeof(T), index * sizeof(T));
    }

    /// <summary>Copies to managed memory and waits for the copy (it is pageable memory).</summary>
    public unsafe void CopyTo(CudaStream stream, Span<T> destination, long index = 0)
    {
        fixed (T* p = destination)
        {
            CopyToHost(stream, (nint)p, (long)destination.Length * sizeof(T), index * sizeof(T));
            stream.Synchronize();
        }
    }

    /// <summary>Copies everything back into a new array (tests, debugging).</summary>
    public T[] ToArray(CudaStream stream)
    {
        var a = new T[Length];
        CopyTo(stream, a);
        return a;
    }
}

/// <summary>Page-locked host memory (cuMemAllocHost_v2): the only host memory asynchronous copies run against.</summary>
public sealed unsafe class PinnedHostBuffer : IDisposable
{
    private readonly SafePinnedHostHandle _handle;

    public PinnedHostBuffer(CudaContext context, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        context.MakeCurrent();
        _handle = new SafePinnedHostHandle(context.Handle);
        _handle.SetHandleValue(Interop.Cuda.MemAllocHost(bytes));
        SizeInBytes = bytes;
    }

    public long SizeInBytes { get; }
    public nint Pointer => _handle.DangerousGetHandle();
    public Span<byte> Span => new((void*)Pointer, checked((int)SizeInBytes));
    public Span<T> AsSpan<T>() where T : unmanaged => MemoryMarshal.Cast<byte, T>(Span);

    public void Dispose() => _handle.Dispose();
}
