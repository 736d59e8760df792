namespace Vigil.Infer;

/// <summary>
/// The preprocess step of a <see cref="Detector"/>: turns frames into the engine's input tensor. The CPU
/// implementation reads host BGR24 frames; the GPU one (<see cref="Gpu.GpuBatchPreprocessor"/>) runs the fused
/// kernel on device NV12 surfaces. Both implement <see cref="PreprocessSpec"/>.
/// </summary>
public interface IBatchPreprocessor : IDisposable
{
    /// <summary>Throws <see cref="InvalidOperationException"/> when this preprocessor cannot read the frame's pixels.</summary>
    void Check(Frame frame);

    /// <summary>
    /// Fills the engine's first input with frames[start..start+count) and reports where each image landed.
    /// Returns where it wrote: the host input buffer, or (for an <see cref="IDeviceInputEngine"/>) its device input.
    /// </summary>
    MemoryKind Run(IReadOnlyList<Frame> frames, int start, int count, IInferenceEngine engine, Span<LetterboxTransform> transforms);
}

/// <summary>Preprocessing on the CPU from host BGR24 frames.</summary>
public sealed class CpuBatchPreprocessor(PreprocessSpec spec) : IBatchPreprocessor
{
    private readonly CpuPreprocessor _preprocessor = new(spec);

    public void Check(Frame frame)
    {
        var b = frame.Buffer;
        if (b is not HostFrameBuffer || b.Format != PixelFormat.Bgr24)
            throw new InvalidOperationException($"the CPU preprocessing needs host BGR24 frames; stream '{frame.Stream.Name}' frame {frame.FrameNumber} is {b.Memory} {b.Format}");
    }

    public MemoryKind Run(IReadOnlyList<Frame> frames, int start, int count, IInferenceEngine engine, Span<LetterboxTransform> transforms)
    {
        var input = engine.InputBuffer(0).Span;
        int per = spec.ElementsPerImage;
        for (int i = 0; i < count; i++)
            transforms[i] = _preprocessor.Run((HostFrameBuffer)frames[start + i].Buffer, input.Slice(i * per, per));
        return MemoryKind.Host;
    }

    public void Dispose()
    {
    }
}
