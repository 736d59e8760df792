using System.Buffers;
using Vigil.Cuda;

namespace Vigil.Infer.Gpu;

/// <summary>
/// The detector's preprocess step on the GPU: the fused kernel turns a batch of device NV12 surfaces into the
/// model's input tensor in device memory. For a host engine (ONNX Runtime on the CPU, until the plan engine
/// runs the model on the GPU) the finished tensor — not the frames — is then copied once into the engine's
/// input buffer; that copy is the only one, and it is counted by the CUDA layer like every other. For a device
/// engine (<see cref="IDeviceInputEngine"/>, the plan engine) the kernel writes the engine's input in place.
/// </summary>
public sealed class GpuBatchPreprocessor : IBatchPreprocessor
{
    private readonly GpuPreprocessor _kernel;
    private readonly DeviceBuffer _tensor;
    private readonly CudaStream _stream;
    private readonly PreprocessSpec _spec;

    public GpuBatchPreprocessor(CudaContext context, KernelCompiler compiler, PreprocessSpec spec, int maxBatch)
    {
        _spec = spec;
        _kernel = new GpuPreprocessor(context, compiler, spec, maxBatch);
        _tensor = DeviceBuffer.Allocate(context, _kernel.OutputBytes(maxBatch));
        _stream = context.CreateStream();
    }

    /// <summary>The device tensor of the last batch (image i at offset i * ElementsPerImage).</summary>
    public DeviceBuffer Tensor => _tensor;

    public void Check(Frame frame)
    {
        if (frame.Buffer is not DeviceFrameBuffer || frame.Buffer.Format != PixelFormat.Nv12)
            throw new InvalidOperationException($"the GPU preprocessing needs device NV12 frames; stream '{frame.Stream.Name}' frame {frame.FrameNumber} is {frame.Buffer.Memory} {frame.Buffer.Format}");
    }

    public unsafe MemoryKind Run(IReadOnlyList<Frame> frames, int start, int count, IInferenceEngine engine, Span<LetterboxTransform> transforms)
    {
        var batch = new Frame[count];
        for (int i = 0; i < count; i++) batch[i] = frames[start + i];
        if (engine is IDeviceInputEngine device)
        {
            // The kernel writes straight into the engine's device input: nothing crosses to the host.
            Span<GpuImage> images = stackalloc GpuImage[count];
            for (int i = 0; i < count; i++)
                images[i] = GpuImage.From((DeviceFrameBuffer)batch[i].Buffer, batch[i].Stream.ColorMatrix);
            if (device.DeviceInputType != _spec.ElementType)
                throw new InvalidOperationException($"the engine takes {device.DeviceInputType} input but the preprocessing writes {_spec.ElementType}");
            _kernel.Run(images, device.DeviceInput(0, count), _stream, transforms);
            _stream.Synchronize();
            return MemoryKind.Device;
        }
        if (_spec.ElementType != TensorElementType.Float32)
            throw new InvalidOperationException("the host inference engine takes FP32 input; FP16 preprocessing needs the GPU plan engine");
        _kernel.Run(batch, _tensor, _stream, transforms);
        long bytes = (long)count * _spec.ElementsPerImage * sizeof(float);
        using MemoryHandle pin = engine.InputBuffer(0).Pin();
        _tensor.CopyToHost(_stream, (nint)pin.Pointer, bytes);
        _stream.Synchronize();
        return MemoryKind.Host;
    }

    public void Dispose()
    {
        _stream.Synchronize();
        _tensor.Dispose();
        _stream.Dispose();
        _kernel.Dispose();
    }
}
