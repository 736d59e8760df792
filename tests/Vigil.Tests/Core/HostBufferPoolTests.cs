namespace Vigil.Tests.Core;

public class HostBufferPoolTests
{
    [Fact]
    public async Task Rent_WhenExhausted_WaitsUntilReturned()
    {
        using var pool = new HostBufferPool(64, 32, PixelFormat.Bgr24, capacity: 2);
        var a = await pool.RentAsync(TestContext.Current.CancellationToken);
        var b = await pool.RentAsync(TestContext.Current.CancellationToken);
        Assert.False(pool.TryRent(out _));
        var pending = pool.RentAsync(TestContext.Current.CancellationToken).AsTask();
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(pending.IsCompleted);
        a.Release();
        var c = await pending.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.Same(a, c); // the returned buffer is reused, not reallocated
        b.Release();
        c.Release();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void AddRef_KeepsBufferOutUntilLastRelease()
    {
        using var pool = new HostBufferPool(16, 16, PixelFormat.Nv12, capacity: 1);
        Assert.True(pool.TryRent(out var buf));
        buf!.AddRef();
        buf.Release();
        Assert.Equal(1, pool.Outstanding);
        buf.Release();
        Assert.Equal(0, pool.Outstanding);
        Assert.Throws<InvalidOperationException>(() => buf.Release());
    }

    [Fact]
    public void Pitch_IsAlignedTo64Bytes()
    {
        var b = HostFrameBuffer.Allocate(771, 3, PixelFormat.Bgr24);
        Assert.Equal(0, b.Pitch % 64);
        Assert.True(b.Pitch >= 771 * 3);
        Assert.Equal(0, b.Pointer % 64);
        b.Release();
    }
}
