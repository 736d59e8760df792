using Vigil.Cuda;
using Vigil.Infer;

namespace Vigil.Engine.Gpu;

/// <summary>
/// The plan engine behind Vigil.Infer's <see cref="IInferenceEngine"/> contract (host staging buffers), so the
/// existing detectors run on it unchanged. The GPU pipeline uses <see cref="Engine"/>'s device buffers directly.
/// </summary>
public sealed class PlanInferenceEngine : IDeviceInputEngine
{
    private readonly float[][] _in, _out;
    private readonly CudaStream _stream;

    public PlanInferenceEngine(GpuEngine engine, string modelPath)
    {
        Engine = engine;
        ModelPath = modelPath;
        var p = engine.Plan.Program;
        Inputs = p.Inputs.Select(i => new TensorDescriptor(i.Name, TensorElementType.Float32, [-1, .. i.Ref.Shape.Select(d => (long)d)])).ToArray();
        Outputs = p.Outputs.Select(o => new TensorDescriptor(o.Name, TensorElementType.Float32, [-1, .. o.Ref.Shape.Select(d => (long)d)])).ToArray();
        _in = engine.Inputs.Select(b => new float[b.Length]).ToArray();
        _out = engine.Outputs.Select(b => new float[b.Length]).ToArray();
        _stream = engine.Inputs[0].Context.CreateStream();
    }

    public GpuEngine Engine { get; }
    public string ModelPath { get; }
    public IReadOnlyList<TensorDescriptor> Inputs { get; }
    public IReadOnlyList<TensorDescriptor> Outputs { get; }
    public int MaxBatch => Engine.MaxBatch;

    public Memory<float> InputBuffer(int index) => _in[index];
    public ReadOnlyMemory<float> OutputBuffer(int index) => _out[index];

    public TensorElementType DeviceInputType => Engine.InputIsFp32(0) ? TensorElementType.Float32 : TensorElementType.Float16;

    /// <summary>The input tensor inside the plan's arena, in the plan's storage precision: the producer writes it in place.</summary>
    public ulong DeviceInput(int index, int batch) => Engine.ArenaInput(index, batch);

    public void RunFromDevice(int batch, bool downloadOutputs = true)
    {
        Engine.Run(_stream, batch, convertInputs: false);
        if (!downloadOutputs)
        {
            _stream.Synchronize();
            return;
        }
        for (int i = 0; i < _out.Length; i++)
            Engine.Outputs[i].CopyTo(_stream, _out[i].AsSpan(0, Outputs[i].ElementsPerItem * batch));
    }

    public void Run(int batch)
    {
        for (int i = 0; i < _in.Length; i++)
            Engine.Inputs[i].CopyFrom(_stream, _in[i].AsSpan(0, Inputs[i].ElementsPerItem * batch));
        Engine.Run(_stream, batch);
        for (int i = 0; i < _out.Length; i++)
            Engine.Outputs[i].CopyTo(_stream, _out[i].AsSpan(0, Outputs[i].ElementsPerItem * batch));
    }

    public void Dispose()
    {
        _stream.Dispose();
        Engine.Dispose();
    }
}
