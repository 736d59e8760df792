using System.Runtime.InteropServices;
using Vigil.Cuda;

namespace Vigil.Infer.Gpu;

/// <summary>An NV12 image in device memory, as the fused preprocessing kernel reads it.</summary>
public readonly record struct GpuImage(ulong Luma, ulong Chroma, int Pitch, int Width, int Height, ColorMatrix Matrix)
{
    public static GpuImage From(DeviceFrameBuffer buffer, ColorMatrix matrix)
    {
        if (buffer.Format != PixelFormat.Nv12)
            throw new ArgumentException($"GPU preprocessing takes NV12 surfaces, got {buffer.Format}.", nameof(buffer));
        return new(buffer.DevicePointer, buffer.ChromaPointer, buffer.Pitch, buffer.Width, buffer.Height, matrix);
    }
}

/// <summary>
/// Turns a batch of NV12 device surfaces of any sizes into a model input tensor in ONE kernel launch
/// (Kernels/preprocess.cu): colour conversion, bilinear letterbox or stretch, pad, channel order, mean/scale,
/// NCHW/NHWC, FP32/FP16, exactly as <see cref="PreprocessSpec"/> defines it. The per-image descriptors go through a
/// small ring of pinned host slots and one host-to-device copy per batch; no pixel leaves the device.
/// </summary>
public sealed class GpuPreprocessor : IDisposable
{
    [StructLayout(LayoutKind.Sequential)]
    internal struct ImageDesc
    {
        public ulong Luma, Chroma;
        public int Pitch, Width, Height, Matrix;
        public float ScaleX, ScaleY;
        public int OffsetX, OffsetY, ResizedWidth, ResizedHeight;
    }

    private const int Ring = 4;
    private const uint Threads = 256;
    private readonly CudaModule _module;
    private readonly CudaKernel _kernel;
    private readonly PinnedHostBuffer _hostDescs;
    private readonly DeviceBuffer<ImageDesc> _deviceDescs;
    private readonly CudaEvent[] _slotFree;
    private readonly bool[] _slotUsed = new bool[Ring];
    private readonly KernelArgs _args = new();
    private int _slot;

    public GpuPreprocessor(CudaContext context, KernelCompiler compiler, PreprocessSpec spec, int maxBatch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        if (spec.Mean.Length != 3 || spec.Scale.Length != 3)
            throw new ArgumentException("PreprocessSpec.Mean and Scale need 3 values each.", nameof(spec));
        Context = context;
        Spec = spec;
        MaxBatch = maxBatch;
        string source = KernelCompiler.ReadEmbeddedSource(typeof(GpuPreprocessor).Assembly, "preprocess.cu");
        _module = compiler.Load("preprocess", source, ["--fmad=false"]);
        _kernel = _module.GetKernel("preprocess_nv12");
        _hostDescs = new PinnedHostBuffer(context, (long)Ring * maxBatch * Marshal.SizeOf<ImageDesc>());
        _deviceDescs = DeviceBuffer<ImageDesc>.Allocate(context, (long)Ring * maxBatch);
        _slotFree = new CudaEvent[Ring];
        for (int i = 0; i < Ring; i++) _slotFree[i] = context.CreateEvent();
    }

    public CudaContext Context { get; }
    public PreprocessSpec Spec { get; }
    public int MaxBatch { get; }

    /// <summary>Bytes of the output tensor for <paramref name="batch"/> images.</summary>
    public long OutputBytes(int batch) =>
        (long)batch * Spec.ElementsPerImage * (Spec.ElementType == TensorElementType.Float16 ? 2 : 4);

    /// <summary>Preprocesses the frames' device surfaces (NV12) into <paramref name="output"/>, image i at index i.</summary>
    public void Run(IReadOnlyList<Frame> frames, DeviceBuffer output, CudaStream stream, Span<LetterboxTransform> transforms)
    {
        Span<GpuImage> images = frames.Count <= 64 ? stackalloc GpuImage[frames.Count] : new GpuImage[frames.Count];
        for (int i = 0; i < frames.Count; i++)
        {
            var buffer = frames[i].Buffer as DeviceFrameBuffer
                ?? throw new ArgumentException($"Frame {frames[i].FrameNumber} of '{frames[i].Stream.Name}' is not in device memory.", nameof(frames));
            images[i] = GpuImage.From(buffer, frames[i].Stream.ColorMatrix);
        }
        if (output.SizeInBytes < OutputBytes(frames.Count))
            throw new ArgumentException($"Output tensor of {output.SizeInBytes} bytes is smaller than the {OutputBytes(frames.Count)} bytes of the batch.", nameof(output));
        Run(images, output.Pointer, stream, transforms);
    }

    /// <summary>Queues the one launch on <paramref name="stream"/>; <paramref name="transforms"/> receives each image's mapping.</summary>
    public unsafe void Run(ReadOnlySpan<GpuImage> images, ulong output, CudaStream stream, Span<LetterboxTransform> transforms)
    {
        int n = images.Length;
        if (n == 0) return;
        if (n > MaxBatch) throw new ArgumentException($"Batch of {n} exceeds this preprocessor's maximum of {MaxBatch}.", nameof(images));
        if (transforms.Length < n) throw new ArgumentException("One transform slot per image is needed.", nameof(transforms));

        int slot = _slot;
        _slot = (_slot + 1) % Ring;
        if (_slotUsed[slot]) _slotFree[slot].Synchronize(); // the copy that last read this pinned slot has run
        var descs = _hostDescs.AsSpan<ImageDesc>().Slice(slot * MaxBatch, n);
        for (int i = 0; i < n; i++)
        {
            var im = images[i];
            if (im.Width < 1 || im.Height < 1) throw new ArgumentException($"Image {i} has size {im.Width}x{im.Height}.", nameof(images));
            var t = Spec.TransformFor(im.Width, im.Height);
            transforms[i] = t;
            descs[i] = new ImageDesc
            {
                Luma = im.Luma, Chroma = im.Chroma, Pitch = im.Pitch, Width = im.Width, Height = im.Height,
                Matrix = im.Matrix == ColorMatrix.Bt709 ? 1 : 0,
                ScaleX = t.ScaleX, ScaleY = t.ScaleY, OffsetX = t.OffsetX, OffsetY = t.OffsetY,
                ResizedWidth = t.ResizedWidth, ResizedHeight = t.ResizedHeight,
            };
        }
        int size = sizeof(ImageDesc);
        ulong deviceDescs = _deviceDescs.Pointer + (ulong)(slot * MaxBatch * size);
        stream.CopyHostToDevice(_hostDescs.Pointer + slot * MaxBatch * size, deviceDescs, (long)n * size);
        _slotFree[slot].Record(stream);
        _slotUsed[slot] = true;

        _args.Clear()
            .Add(deviceDescs).Add(output)
            .Add(Spec.Width).Add(Spec.Height).Add(Spec.PadValue)
            .Add(Spec.Mean[0]).Add(Spec.Mean[1]).Add(Spec.Mean[2])
            .Add(Spec.Scale[0]).Add(Spec.Scale[1]).Add(Spec.Scale[2])
            .Add(Spec.Channels == ChannelOrder.Bgr ? 1 : 0)
            .Add(Spec.Layout == TensorLayout.Nhwc ? 1 : 0)
            .Add(Spec.ElementType == TensorElementType.Float16 ? 1 : 0);
        var grid = new Dim3((uint)((Spec.Width * Spec.Height + Threads - 1) / Threads), (uint)n);
        _kernel.Launch(stream, grid, Threads, _args);
    }

    public void Dispose()
    {
        foreach (var e in _slotFree) e.Dispose();
        _deviceDescs.Dispose();
        _hostDescs.Dispose();
        _args.Dispose();
        _module.Dispose();
    }
}
