using System.Runtime.InteropServices;

namespace Vigil;

public enum PixelFormat
{
    /// <summary>Packed 8-bit B,G,R; one plane.</summary>
    Bgr24,
    /// <summary>8-bit luma plane followed by an interleaved half-resolution UV plane.</summary>
    Nv12,
}

public enum MemoryKind
{
    Host,
    Device,
}

/// <summary>
/// A reference-counted image buffer rented from a pool. The creator holds one reference;
/// <see cref="AddRef"/> takes another; the last <see cref="Release"/> hands the memory back to its pool.
/// Host and device buffers share this abstraction so stages don't care where pixels live.
/// </summary>
public abstract class FrameBuffer : IDisposable
{
    private int _refs = 1;

    protected FrameBuffer(int width, int height, PixelFormat format, int pitch, MemoryKind memory)
    {
        Width = width;
        Height = height;
        Format = format;
        Pitch = pitch;
        Memory = memory;
    }

    public int Width { get; }
    public int Height { get; }
    public PixelFormat Format { get; }
    /// <summary>Bytes between the starts of two rows (of every plane).</summary>
    public int Pitch { get; }
    public MemoryKind Memory { get; }
    /// <summary>Address of the first byte: host pointer or CUdeviceptr.</summary>
    public abstract nint Pointer { get; }
    public int ReferenceCount => Volatile.Read(ref _refs);

    public long SizeInBytes => Format switch
    {
        PixelFormat.Nv12 => (long)Pitch * Height * 3 / 2,
        _ => (long)Pitch * Height,
    };

    public FrameBuffer AddRef()
    {
        if (Interlocked.Increment(ref _refs) <= 1)
            throw new ObjectDisposedException(GetType().Name, "AddRef on a buffer already returned to its pool.");
        return this;
    }

    public void Release()
    {
        int left = Interlocked.Decrement(ref _refs);
        if (left == 0) ReturnToPool();
        else if (left < 0) throw new InvalidOperationException("FrameBuffer released more times than referenced.");
    }

    void IDisposable.Dispose() => Release();

    /// <summary>Called once when the last reference goes; the pool may hand the memory out again.</summary>
    protected abstract void ReturnToPool();

    /// <summary>Revives a pooled buffer for its next renter.</summary>
    protected void ResetReferences() => Volatile.Write(ref _refs, 1);
}

/// <summary>A host-memory frame buffer (64-byte aligned native memory, so FFmpeg and OpenCV can use it in place).</summary>
public sealed unsafe class HostFrameBuffer : FrameBuffer
{
    private readonly HostBufferPool? _pool;
    private void* _data;

    internal HostFrameBuffer(HostBufferPool? pool, int width, int height, PixelFormat format, int pitch)
        : base(width, height, format, pitch, MemoryKind.Host)
    {
        _pool = pool;
        _data = NativeMemory.AlignedAlloc((nuint)SizeInBytes, 64);
    }

    /// <summary>An unpooled buffer (tests, one-off images); freed on its last release.</summary>
    public static HostFrameBuffer Allocate(int width, int height, PixelFormat format) =>
        new(null, width, height, format, HostBufferPool.PitchFor(width, format));

    public override nint Pointer => (nint)_data;

    public Span<byte> Span => new(_data, checked((int)SizeInBytes));

    public Span<byte> Row(int y) => new((byte*)_data + (long)y * Pitch, Pitch);

    protected override void ReturnToPool()
    {
        if (_pool is not null && _pool.Return(this)) return;
        Free();
    }

    internal void Revive() => ResetReferences();

    internal void Free()
    {
        if (_data != null)
        {
            NativeMemory.AlignedFree(_data);
            _data = null;
        }
    }
}

/// <summary>
/// A bounded pool of host frame buffers of one size and format. Renting waits when all buffers are out,
/// which is the pipeline's back-pressure on sources: a stalled sink eventually stops decode instead of
/// growing memory without bound.
/// </summary>
public sealed class HostBufferPool : IDisposable
{
    private readonly SemaphoreSlim _available;
    private readonly System.Collections.Concurrent.ConcurrentBag<HostFrameBuffer> _free = new();
    private int _created;
    private bool _disposed;

    public HostBufferPool(int width, int height, PixelFormat format, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Width = width;
        Height = height;
        Format = format;
        Capacity = capacity;
        _available = new SemaphoreSlim(capacity, capacity);
    }

    public int Width { get; }
    public int Height { get; }
    public PixelFormat Format { get; }
    public int Capacity { get; }
    public int Outstanding => Capacity - _available.CurrentCount;

    public static int PitchFor(int width, PixelFormat format) => format switch
    {
        PixelFormat.Bgr24 => (width * 3 + 63) & ~63,
        PixelFormat.Nv12 => (width + 63) & ~63,
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    public async ValueTask<HostFrameBuffer> RentAsync(CancellationToken ct)
    {
        await _available.WaitAsync(ct).ConfigureAwait(false);
        return TakeOrCreate();
    }

    public bool TryRent(out HostFrameBuffer? buffer)
    {
        if (!_available.Wait(0)) { buffer = null; return false; }
        buffer = TakeOrCreate();
        return true;
    }

    private HostFrameBuffer TakeOrCreate()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_free.TryTake(out var b)) { b.Revive(); return b; }
        Interlocked.Increment(ref _created);
        return new HostFrameBuffer(this, Width, Height, Format, PitchFor(Width, Format));
    }

    internal bool Return(HostFrameBuffer buffer)
    {
        if (_disposed) { _available.Release(); return false; }
        _free.Add(buffer);
        _available.Release();
        return true;
    }

    public void Dispose()
    {
        _disposed = true;
        while (_free.TryTake(out var b)) b.Free();
    }
}
