using System.Collections.Concurrent;

namespace Vigil.Cuda;

/// <summary>
/// A frame surface in device memory (NV12: luma rows then interleaved UV rows, one pitch; BGR24: packed rows).
/// Stream-ordered release: <see cref="ReleaseAfter"/> records an event on the stream that last used the surface,
/// and the next renter's stream waits for that event on the GPU rather than the host waiting.
/// </summary>
public sealed class DeviceFrameBuffer : FrameBuffer
{
    private readonly DevicePool? _pool;
    private readonly DeviceBuffer _memory;
    private readonly CudaEvent _lastUse;
    private bool _pendingUse;

    internal DeviceFrameBuffer(CudaContext context, DevicePool? pool, int width, int height, PixelFormat format, int pitch)
        : base(width, height, format, pitch, MemoryKind.Device)
    {
        _pool = pool;
        Context = context;
        _memory = DeviceBuffer.Allocate(context, SizeInBytes);
        _lastUse = context.CreateEvent();
    }

    /// <summary>An unpooled surface (tests, one-off images); freed on its last release.</summary>
    public static DeviceFrameBuffer Allocate(CudaContext context, int width, int height, PixelFormat format) =>
        new(context, null, width, height, format, DevicePool.PitchFor(width, format));

    public CudaContext Context { get; }
    public override nint Pointer => (nint)_memory.Pointer;
    public ulong DevicePointer => _memory.Pointer;
    /// <summary>Start of the interleaved UV plane of an NV12 surface.</summary>
    public ulong ChromaPointer => Format == PixelFormat.Nv12
        ? _memory.Pointer + (ulong)Pitch * (ulong)Height
        : throw new InvalidOperationException("Only NV12 surfaces have a chroma plane.");

    /// <summary>Releases one reference once the work queued so far on <paramref name="stream"/> is done with it.</summary>
    public void ReleaseAfter(CudaStream stream)
    {
        _lastUse.Record(stream);
        _pendingUse = true;
        Release();
    }

    /// <summary>Makes <paramref name="stream"/> wait until earlier users of this surface are finished.</summary>
    public void WaitReady(CudaStream stream)
    {
        if (_pendingUse) stream.Wait(_lastUse);
    }

    protected override void ReturnToPool()
    {
        if (_pool is not null && _pool.Return(this)) return;
        Free();
    }

    internal void Revive() => ResetReferences();

    internal void Free()
    {
        // A pending user must finish before the memory goes back to the driver.
        if (_pendingUse && !_memory.IsDisposed) _lastUse.Synchronize();
        _memory.Dispose();
        _lastUse.Dispose();
    }
}

/// <summary>
/// A bounded pool of device surfaces of one size and format, created lazily. Renting waits when all are out: that
/// is the back-pressure that stops a decoder from outrunning a stalled pipeline.
/// </summary>
public sealed class DevicePool : IDisposable
{
    private readonly SemaphoreSlim _available;
    private readonly ConcurrentBag<DeviceFrameBuffer> _free = new();
    private int _created;
    private volatile bool _disposed;

    public DevicePool(CudaContext context, int width, int height, PixelFormat format, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (format == PixelFormat.Nv12 && ((width | height) & 1) != 0)
            throw new ArgumentException($"NV12 surfaces need even sizes, got {width}x{height}.");
        Context = context;
        Width = width;
        Height = height;
        Format = format;
        Capacity = capacity;
        _available = new SemaphoreSlim(capacity, capacity);
    }

    public CudaContext Context { get; }
    public int Width { get; }
    public int Height { get; }
    public PixelFormat Format { get; }
    public int Capacity { get; }
    public int Created => Volatile.Read(ref _created);
    public int Outstanding => Capacity - _available.CurrentCount;

    /// <summary>Row pitch: 256-byte aligned (coalesced rows for the kernels).</summary>
    public static int PitchFor(int width, PixelFormat format) => format switch
    {
        PixelFormat.Nv12 => (width + 255) & ~255,
        PixelFormat.Bgr24 => (width * 3 + 255) & ~255,
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>Rents a surface; <paramref name="stream"/> is made to wait for the surface's previous user.</summary>
    public async ValueTask<DeviceFrameBuffer> RentAsync(CudaStream stream, CancellationToken ct)
    {
        await _available.WaitAsync(ct).ConfigureAwait(false);
        return TakeOrCreate(stream);
    }

    /// <summary>Completes when a surface is free, without renting it.</summary>
    public async ValueTask WaitAvailableAsync(CancellationToken ct)
    {
        await _available.WaitAsync(ct).ConfigureAwait(false);
        _available.Release();
    }

    public bool TryRent(CudaStream stream, out DeviceFrameBuffer? buffer)
    {
        if (!_available.Wait(0)) { buffer = null; return false; }
        buffer = TakeOrCreate(stream);
        return true;
    }

    private DeviceFrameBuffer TakeOrCreate(CudaStream stream)
    {
        if (_disposed)
        {
            _available.Release();
            throw new ObjectDisposedException(nameof(DevicePool));
        }
        if (_free.TryTake(out var b))
        {
            b.Revive();
            b.WaitReady(stream);
            return b;
        }
        try
        {
            b = new DeviceFrameBuffer(Context, this, Width, Height, Format, PitchFor(Width, Format));
        }
        catch
        {
            _available.Release();
            throw;
        }
        Interlocked.Increment(ref _created);
        return b;
    }

    internal bool Return(DeviceFrameBuffer buffer)
    {
        bool kept;
        lock (_free)
        {
            kept = !_disposed;
            if (kept) _free.Add(buffer);
        }
        _available.Release();
        return kept;
    }

    /// <summary>Frees the idle surfaces; surfaces still rented are freed when their last reference goes.</summary>
    public void Dispose()
    {
        lock (_free) _disposed = true;
        while (_free.TryTake(out var b)) b.Free();
    }
}

/// <summary>Device pools keyed by (width, height, format), created on first use with one capacity.</summary>
public sealed class DevicePools : IDisposable
{
    private readonly ConcurrentDictionary<(int, int, PixelFormat), DevicePool> _pools = new();

    public DevicePools(CudaContext context, int capacityPerSize)
    {
        Context = context;
        CapacityPerSize = capacityPerSize;
    }

    public CudaContext Context { get; }
    public int CapacityPerSize { get; }

    public DevicePool For(int width, int height, PixelFormat format) =>
        _pools.GetOrAdd((width, height, format), k => new DevicePool(Context, k.Item1, k.Item2, k.Item3, CapacityPerSize));

    public void Dispose()
    {
        foreach (var p in _pools.Values) p.Dispose();
        _pools.Clear();
    }
}
