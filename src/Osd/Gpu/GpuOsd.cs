using System.Runtime.InteropServices;
using Vigil.Cuda;

namespace Vigil.Osd.Gpu;

/// <summary>A filled rectangle in an NV12 surface, <c>[X0, X1) x [Y0, Y1)</c>, with its colour as limited-range Y, U, V.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct OsdRect(int X0, int Y0, int X1, int Y1, byte Y, byte U, byte V, byte Reserved = 0);

/// <summary>
/// On-screen display on the GPU: box outlines and filled label bars drawn straight into the NV12 surface (one launch
/// per frame, whatever the number of boxes), then NV12 → BGR24 on the GPU and one download through pinned memory into
/// a host buffer for the CPU encoder (the H100 has no NVENC). Text is not drawn on the GPU: label bars carry the class
/// colour. Not thread-safe: one instance per sink.
/// </summary>
public sealed class GpuOsd : IDisposable
{
    private const int Ring = 4;
    private readonly CudaModule _module;
    private readonly CudaKernel _fill;
    private readonly CudaKernel _toBgr;
    private readonly PinnedHostBuffer _hostRects;
    private readonly DeviceBuffer<OsdRect> _deviceRects;
    private readonly CudaEvent[] _slotFree = new CudaEvent[Ring];
    private readonly bool[] _slotUsed = new bool[Ring];
    private readonly KernelArgs _args = new();
    private readonly List<OsdRect> _scratch = [];
    private DeviceBuffer? _bgr;
    private PinnedHostBuffer? _bgrHost;
    private int _slot;

    public GpuOsd(CudaContext context, KernelCompiler compiler, int maxRects = 4096)
    {
        Context = context;
        MaxRects = maxRects;
        _module = compiler.Load("osd", KernelCompiler.ReadEmbeddedSource(typeof(GpuOsd).Assembly, "osd.cu"));
        _fill = _module.GetKernel("osd_fill_rects");
        _toBgr = _module.GetKernel("nv12_to_bgr");
        _hostRects = new PinnedHostBuffer(context, (long)Ring * maxRects * Marshal.SizeOf<OsdRect>());
        _deviceRects = DeviceBuffer<OsdRect>.Allocate(context, (long)Ring * maxRects);
        for (int i = 0; i < Ring; i++) _slotFree[i] = context.CreateEvent();
    }

    public CudaContext Context { get; }
    public int MaxRects { get; }
    public int Thickness { get; init; } = 2;
    public int LabelBarHeight { get; init; } = 6;

    /// <summary>Limited-range YUV of an RGB colour under <paramref name="matrix"/> (inverse of <see cref="ColorMatrix"/>).</summary>
    public static (byte Y, byte U, byte V) ToYuv(byte r, byte g, byte b, ColorMatrix matrix)
    {
        double kr = matrix == ColorMatrix.Bt709 ? 0.2126 : 0.299, kb = matrix == ColorMatrix.Bt709 ? 0.0722 : 0.114;
        double y = kr * r + (1 - kr - kb) * g + kb * b;
        double u = (b - y) / (2 * (1 - kb)), v = (r - y) / (2 * (1 - kr));
        static byte Q(double x) => (byte)Math.Clamp(Math.Round(x), 0, 255);
        return (Q(16 + y * 219 / 255), Q(128 + u * 224 / 255), Q(128 + v * 224 / 255));
    }

    /// <summary>A distinct colour per id (track or class).</summary>
    public static (byte R, byte G, byte B) Palette(long id)
    {
        ReadOnlySpan<byte> p = [230, 25, 75, 60, 180, 75, 255, 225, 25, 0, 130, 200, 245, 130, 48, 145, 30, 180, 70, 240, 240, 240, 50, 230, 210, 245, 60, 250, 190, 212];
        int i = (int)((ulong)id % 10) * 3;
        return (p[i], p[i + 1], p[i + 2]);
    }

    /// <summary>Adds the outline of <paramref name="box"/> (and a filled bar above it) to <paramref name="rects"/>, clipped to the frame.</summary>
    public void AddBox(List<OsdRect> rects, BoxF box, int width, int height, (byte Y, byte U, byte V) c, bool labelBar)
    {
        int t = Thickness;
        int x0 = (int)MathF.Floor(box.X), y0 = (int)MathF.Floor(box.Y), x1 = (int)MathF.Ceiling(box.Right), y1 = (int)MathF.Ceiling(box.Bottom);
        void Add(int a0, int b0, int a1, int b1)
        {
            a0 = Math.Clamp(a0, 0, width); a1 = Math.Clamp(a1, 0, width);
            b0 = Math.Clamp(b0, 0, height); b1 = Math.Clamp(b1, 0, height);
            if (a1 > a0 && b1 > b0) rects.Add(new OsdRect(a0, b0, a1, b1, c.Y, c.U, c.V));
        }
        Add(x0, y0, x1, y0 + t);         // top
        Add(x0, y1 - t, x1, y1);         // bottom
        Add(x0, y0 + t, x0 + t, y1 - t); // left
        Add(x1 - t, y0 + t, x1, y1 - t); // right
        if (labelBar)
        {
            int top = y0 - LabelBarHeight >= 0 ? y0 - LabelBarHeight : y0 + t;
            Add(x0, top, Math.Min(x1, x0 + Math.Max(24, (x1 - x0) / 2)), top + LabelBarHeight);
        }
    }

    /// <summary>Draws the objects' boxes (colour per track id, else per class) into the frame's NV12 surface on <paramref name="stream"/>.</summary>
    public void Draw(DeviceFrameBuffer frame, IReadOnlyList<ObjectMeta> objects, ColorMatrix matrix, CudaStream stream)
    {
        _scratch.Clear();
        foreach (var o in objects)
        {
            var (r, g, b) = Palette(o.TrackId >= 0 ? o.TrackId : o.ClassId);
            AddBox(_scratch, o.Box, frame.Width, frame.Height, ToYuv(r, g, b, matrix), labelBar: true);
        }
        DrawRects(frame, CollectionsMarshal.AsSpan(_scratch), stream);
    }

    /// <summary>Fills the rectangles (clipped by the caller) in one launch.</summary>
    public void DrawRects(DeviceFrameBuffer frame, ReadOnlySpan<OsdRect> rects, CudaStream stream)
    {
        if (frame.Format != PixelFormat.Nv12) throw new ArgumentException($"GPU OSD draws on NV12 surfaces, got {frame.Format}.", nameof(frame));
        if (rects.Length == 0) return;
        if (rects.Length > MaxRects) rects = rects[..MaxRects];
        int slot = _slot;
        _slot = (_slot + 1) % Ring;
        if (_slotUsed[slot]) _slotFree[slot].Synchronize();
        int size = Marshal.SizeOf<OsdRect>();
        rects.CopyTo(_hostRects.AsSpan<OsdRect>().Slice(slot * MaxRects, rects.Length));
        ulong dev = _deviceRects.Pointer + (ulong)(slot * MaxRects * size);
        stream.CopyHostToDevice(_hostRects.Pointer + slot * MaxRects * size, dev, (long)rects.Length * size);
        _slotFree[slot].Record(stream);
        _slotUsed[slot] = true;
        frame.WaitReady(stream);
        _args.Clear().Add(dev).Add(frame.DevicePointer).Add(frame.ChromaPointer).Add(frame.Pitch);
        _fill.Launch(stream, (uint)rects.Length, 256, _args);
    }

    /// <summary>
    /// Converts the surface to BGR24 on the GPU and downloads it into a buffer rented from <paramref name="pool"/>
    /// (BGR24, the frame's size); waits for the copy. This is the one device-to-host copy of the annotated-video path.
    /// </summary>
    public async ValueTask<HostFrameBuffer> DownloadBgrAsync(DeviceFrameBuffer frame, ColorMatrix matrix, CudaStream stream, HostBufferPool pool, CancellationToken ct)
    {
        var host = await pool.RentAsync(ct).ConfigureAwait(false);
        try
        {
            DownloadBgr(frame, matrix, stream, host);
            return host;
        }
        catch
        {
            host.Release();
            throw;
        }
    }

    /// <summary>Synchronous form of <see cref="DownloadBgrAsync"/> into a given BGR24 host buffer of the frame's size.</summary>
    public void DownloadBgr(DeviceFrameBuffer frame, ColorMatrix matrix, CudaStream stream, HostFrameBuffer host)
    {
        if (host.Format != PixelFormat.Bgr24 || host.Width != frame.Width || host.Height != frame.Height)
            throw new ArgumentException($"Need a {frame.Width}x{frame.Height} BGR24 host buffer, got {host.Width}x{host.Height} {host.Format}.", nameof(host));
        long bytes = (long)host.Pitch * host.Height;
        if (_bgr is null || _bgr.SizeInBytes < bytes)
        {
            _bgr?.Dispose();
            _bgrHost?.Dispose();
            _bgr = DeviceBuffer.Allocate(Context, bytes);
            _bgrHost = new PinnedHostBuffer(Context, bytes);
        }
        frame.WaitReady(stream);
        _args.Clear().Add(frame.DevicePointer).Add(frame.ChromaPointer).Add(frame.Pitch).Add(frame.Width).Add(frame.Height)
            .Add(matrix == ColorMatrix.Bt709 ? 1 : 0).Add(_bgr.Pointer).Add(host.Pitch);
        _toBgr.Launch(stream, new Dim3((uint)((frame.Width + 127) / 128), (uint)frame.Height), 128, _args);
        _bgr.CopyToHost(stream, _bgrHost!.Pointer, bytes);
        stream.Synchronize();
        _bgrHost.Span[..checked((int)bytes)].CopyTo(host.Span);
    }

    public void Dispose()
    {
        foreach (var e in _slotFree) e.Dispose();
        _bgr?.Dispose();
        _bgrHost?.Dispose();
        _deviceRects.Dispose();
        _hostRects.Dispose();
        _args.Dispose();
        _module.Dispose();
    }
}
