namespace Vigil.Infer;

/// <summary>
/// A named model input or output. <see cref="Shape"/> holds one entry per dimension, -1 where the model leaves
/// the dimension free (typically the batch); <see cref="Shape"/>[0] is the batch dimension.
/// </summary>
public sealed record TensorDescriptor(string Name, TensorElementType ElementType, IReadOnlyList<long> Shape)
{
    /// <summary>True when the batch dimension is free in the model.</summary>
    public bool DynamicBatch => Shape.Count > 0 && Shape[0] < 0;

    /// <summary>Elements of one batch item (product of all dimensions but the first).</summary>
    public int ElementsPerItem
    {
        get
        {
            long n = 1;
            for (int i = 1; i < Shape.Count; i++) n *= Shape[i];
            return checked((int)n);
        }
    }

    public override string ToString() => $"{Name} [{string.Join(',', Shape)}] {ElementType}";
}

/// <summary>
/// Runs a model on a batch of inputs. The engine owns host staging buffers for every input and output,
/// sized for <see cref="MaxBatch"/> items (float32 on the host whatever the model's own element type), so a
/// caller writes preprocessed images straight into <see cref="InputBuffer"/>, calls <see cref="Run"/>, and reads
/// <see cref="OutputBuffer"/> — no per-frame allocation. Implementations: <see cref="OnnxRuntimeEngine"/> (CPU);
/// the GPU plan engine adds a device-memory variant. Not thread-safe: one caller at a time.
/// </summary>
public interface IInferenceEngine : IDisposable
{
    /// <summary>Model file the engine was built from (for messages).</summary>
    string ModelPath { get; }
    IReadOnlyList<TensorDescriptor> Inputs { get; }
    IReadOnlyList<TensorDescriptor> Outputs { get; }
    /// <summary>Largest batch one <see cref="Run"/> accepts.</summary>
    int MaxBatch { get; }

    /// <summary>Host staging memory for input <paramref name="index"/>: <c>MaxBatch * ElementsPerItem</c> floats.</summary>
    Memory<float> InputBuffer(int index);

    /// <summary>Host memory holding output <paramref name="index"/> of the last run: <c>MaxBatch * ElementsPerItem</c> floats, the first <c>batch</c> items valid.</summary>
    ReadOnlyMemory<float> OutputBuffer(int index);

    /// <summary>Runs the model on the first <paramref name="batch"/> items of the input buffers.</summary>
    void Run(int batch);
}

/// <summary>
/// An engine whose inputs live in device memory (Vigil's plan engine): the GPU preprocessing writes the input
/// tensor in place, so no frame or tensor goes through the host before inference.
/// </summary>
public interface IDeviceInputEngine : IInferenceEngine
{
    /// <summary>The element type the device input is written in (FP16 for an FP16 plan: no conversion pass).</summary>
    TensorElementType DeviceInputType { get; }

    /// <summary>
    /// Device address where the first <paramref name="batch"/> items of input <paramref name="index"/> go for the next
    /// <see cref="RunFromDevice"/> with that batch: dense <c>batch * ElementsPerItem</c> values of <see cref="DeviceInputType"/>.
    /// </summary>
    ulong DeviceInput(int index, int batch);

    /// <summary>
    /// Runs on the first <paramref name="batch"/> items already in the device inputs. With
    /// <paramref name="downloadOutputs"/> the outputs land in <see cref="IInferenceEngine.OutputBuffer"/>; without,
    /// they stay on the device for a <see cref="IDeviceDetectionDecoder"/> (the run has finished on return).
    /// </summary>
    void RunFromDevice(int batch, bool downloadOutputs = true);
}

/// <summary>
/// Detector postprocessing on the device (YOLOX grid decode, threshold and NMS on the GPU), reading the engine's
/// output tensor in place: only the final boxes come back to the host.
/// </summary>
public interface IDeviceDetectionDecoder : IDisposable
{
    /// <summary>Fills results[i] with image i's detections, boxes in model-input pixels.</summary>
    void Decode(int batch, DecodeSettings settings, List<Detection>[] results);
}
