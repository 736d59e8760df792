using Vigil.Cuda;
using Vigil.Osd.Gpu;

namespace Vigil.Pipeline.Stages;

/// <summary>
/// The GPU path's last step before the sinks: boxes drawn into the NV12 surface on the GPU (when OSD is on),
/// then the frame converted to BGR on the GPU and downloaded once into a pooled host buffer, which replaces the
/// device surface (the surface goes back to its pool). This is the only device-to-host copy of a frame.
/// </summary>
internal sealed class GpuOsdDownloadProcessor : IStageProcessor<Batch, Batch>
{
    private readonly GpuOsd _osd;
    private readonly bool _draw;
    private readonly CudaStream _stream;
    private readonly Dictionary<int, HostBufferPool> _pools = [];
    private readonly int _poolCapacity;

    public GpuOsdDownloadProcessor(CudaContext context, KernelCompiler compiler, bool draw, int poolCapacity)
    {
        _osd = new GpuOsd(context, compiler);
        _draw = draw;
        _stream = context.CreateStream();
        _poolCapacity = poolCapacity;
    }

    public async ValueTask<Batch?> ProcessAsync(Batch item, CancellationToken ct)
    {
        foreach (var frame in item.Frames)
        {
            if (frame.Buffer is not DeviceFrameBuffer surface) continue;
            var matrix = frame.Stream.ColorMatrix;
            if (_draw) _osd.Draw(surface, frame.Objects, matrix, _stream);
            if (!_pools.TryGetValue(frame.Stream.Index, out var pool) || pool.Width != surface.Width || pool.Height != surface.Height)
                _pools[frame.Stream.Index] = pool = new HostBufferPool(surface.Width, surface.Height, PixelFormat.Bgr24, _poolCapacity);
            var host = await _osd.DownloadBgrAsync(surface, matrix, _stream, pool, ct).ConfigureAwait(false);
            frame.ReplaceBuffer(host);
        }
        return item;
    }

    public ValueTask CompleteAsync(CancellationToken ct) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        _stream.Synchronize();
        _stream.Dispose();
        _osd.Dispose();
        return ValueTask.CompletedTask;
    }
}
