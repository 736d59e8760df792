using Microsoft.ML.OnnxRuntime;
using OrtElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace Vigil.Infer;

/// <summary>
/// <see cref="IInferenceEngine"/> on ONNX Runtime's CPU execution provider. Inputs and outputs live in pinned
/// float arrays allocated once; the <see cref="OrtValue"/>s that wrap them are created once per batch shape and
/// reused, so a run allocates nothing on the managed side.
/// Batching: a model whose batch dimension is free runs a whole batch in one call; a model whose batch is fixed
/// in the graph (YOLOX nano: 1) runs the batch in chunks of that size, one call per chunk. (ONNX Runtime's free
/// dimension override only applies to symbolic dimensions, so it cannot widen a literal batch of 1.)
/// </summary>
public sealed class OnnxRuntimeEngine : IInferenceEngine
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly float[][] _inputData;
    private readonly float[][] _outputData;
    /// <summary>Fixed-batch models: OrtValues for each chunk of <see cref="_fixedBatch"/> items.</summary>
    private readonly List<(OrtValue[] In, OrtValue[] Out)> _chunks = [];
    /// <summary>Dynamic-batch models: OrtValues per batch size, created on first use.</summary>
    private readonly Dictionary<int, (OrtValue[] In, OrtValue[] Out)> _byBatch = [];
    private readonly int _fixedBatch; // 0 when the batch is free
    private bool _disposed;

    /// <param name="modelPath">ONNX file.</param>
    /// <param name="maxBatch">Most items per <see cref="Run"/>.</param>
    /// <param name="intraOpThreads">ONNX Runtime intra-op threads; 0 lets ONNX Runtime choose (one per core).</param>
    /// <exception cref="VigilException">The file is missing, is not an ONNX model, or has tensors this engine cannot run.</exception>
    public OnnxRuntimeEngine(string modelPath, int maxBatch = 1, int intraOpThreads = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(intraOpThreads);
        ModelPath = modelPath;
        if (!File.Exists(modelPath)) throw new VigilException($"{modelPath}: model file not found");

        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        // ONNX Runtime's worker threads spin while waiting for work by default. In a pipeline, decode, tracking and
        // encoding share the same cores, and spinning workers take cycles from them; waiting workers sleep instead.
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        try
        {
            _session = new InferenceSession(modelPath, options);
        }
        catch (OnnxRuntimeException ex)
        {
            string reason = Reason(ex.Message, modelPath);
            throw ex.Message.Contains("Protobuf", StringComparison.OrdinalIgnoreCase) || ex.Message.Contains("INVALID_PROTOBUF", StringComparison.OrdinalIgnoreCase)
                ? new VigilException($"{modelPath}: not an ONNX model ({reason})", ex)
                : new VigilException($"{modelPath}: cannot load the ONNX model ({reason})", ex);
        }

        try
        {
            Inputs = Describe(_session.InputMetadata);
            Outputs = Describe(_session.OutputMetadata);
            _inputNames = Inputs.Select(d => d.Name).ToArray();
            _outputNames = Outputs.Select(d => d.Name).ToArray();

            // All inputs must agree on the batch: either all free or all fixed to the same size.
            var first = Inputs[0];
            _fixedBatch = first.DynamicBatch ? 0 : checked((int)first.Shape[0]);
            foreach (var d in Inputs.Concat(Outputs))
            {
                bool dyn = d.DynamicBatch;
                if (dyn != (_fixedBatch == 0) || (!dyn && d.Shape[0] != _fixedBatch))
                    throw new VigilException($"{modelPath}: tensor {d} disagrees with input {first} on the batch dimension");
            }
            MaxBatch = maxBatch;
            int capacity = _fixedBatch == 0 ? maxBatch : (maxBatch + _fixedBatch - 1) / _fixedBatch * _fixedBatch;
            _inputData = Inputs.Select(d => GC.AllocateArray<float>(capacity * d.ElementsPerItem, pinned: true)).ToArray();
            _outputData = Outputs.Select(d => GC.AllocateArray<float>(capacity * d.ElementsPerItem, pinned: true)).ToArray();
            if (_fixedBatch > 0)
                for (int start = 0; start < capacity; start += _fixedBatch)
                    _chunks.Add(CreateValues(start, _fixedBatch));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string ModelPath { get; }
    public IReadOnlyList<TensorDescriptor> Inputs { get; } = [];
    public IReadOnlyList<TensorDescriptor> Outputs { get; } = [];
    public int MaxBatch { get; }
    /// <summary>The batch size fixed in the graph, or 0 when the batch dimension is free.</summary>
    public int FixedBatch => _fixedBatch;

    public Memory<float> InputBuffer(int index) => _inputData[index].AsMemory(0, MaxBatch * Inputs[index].ElementsPerItem);

    public ReadOnlyMemory<float> OutputBuffer(int index) => _outputData[index].AsMemory(0, MaxBatch * Outputs[index].ElementsPerItem);

    public void Run(int batch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batch, MaxBatch);
        if (_fixedBatch > 0)
        {
            for (int chunk = 0; chunk * _fixedBatch < batch; chunk++)
            {
                var (inputs, outputs) = _chunks[chunk];
                _session.Run(_runOptions, _inputNames, inputs, _outputNames, outputs);
            }
            return;
        }
        if (!_byBatch.TryGetValue(batch, out var values))
        {
            values = CreateValues(0, batch);
            _byBatch[batch] = values;
        }
        _session.Run(_runOptions, _inputNames, values.In, _outputNames, values.Out);
    }

    private (OrtValue[] In, OrtValue[] Out) CreateValues(int startItem, int items)
    {
        var ins = new OrtValue[Inputs.Count];
        var outs = new OrtValue[Outputs.Count];
        for (int i = 0; i < ins.Length; i++) ins[i] = Wrap(_inputData[i], Inputs[i], startItem, items);
        for (int i = 0; i < outs.Length; i++) outs[i] = Wrap(_outputData[i], Outputs[i], startItem, items);
        return (ins, outs);
    }

    private static OrtValue Wrap(float[] data, TensorDescriptor d, int startItem, int items)
    {
        var shape = d.Shape.ToArray();
        shape[0] = items;
        int per = d.ElementsPerItem;
        return OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, data.AsMemory(startItem * per, items * per), shape);
    }

    private IReadOnlyList<TensorDescriptor> Describe(IReadOnlyDictionary<string, NodeMetadata> metadata)
    {
        var list = new List<TensorDescriptor>();
        foreach (var (name, meta) in metadata)
        {
            if (!meta.IsTensor)
                throw new VigilException($"{ModelPath}: '{name}' is not a tensor ({meta.OnnxValueType}); only tensor inputs and outputs are supported");
            if (meta.ElementDataType != OrtElementType.Float)
                throw new VigilException($"{ModelPath}: tensor '{name}' has element type {meta.ElementDataType}; the CPU engine runs float32 models only");
            var dims = meta.Dimensions.Select(x => (long)x).ToArray();
            if (dims.Length == 0)
                throw new VigilException($"{ModelPath}: tensor '{name}' is a scalar; a batch dimension is required");
            for (int i = 1; i < dims.Length; i++)
                if (dims[i] < 0)
                    throw new VigilException($"{ModelPath}: tensor '{name}' has a free dimension {i} ('{meta.SymbolicDimensions[i]}'); only the batch dimension may be free");
            list.Add(new TensorDescriptor(name, TensorElementType.Float32, dims));
        }
        if (list.Count == 0) throw new VigilException($"{ModelPath}: the model declares no tensors");
        return list;
    }

    /// <summary>ONNX Runtime's message without its error-code prefix and repeated path, on one line.</summary>
    private static string Reason(string message, string path)
    {
        int nl = message.IndexOfAny(['\r', '\n']);
        string s = (nl >= 0 ? message[..nl] : message).Trim();
        s = System.Text.RegularExpressions.Regex.Replace(s, @"^\[ErrorCode:[^\]]*\]\s*", "");
        string load = $"Load model from {path} failed:";
        if (s.StartsWith(load, StringComparison.Ordinal)) s = s[load.Length..].Trim();
        return s.TrimEnd('.');
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var (i, o) in _chunks.Concat(_byBatch.Values))
        {
            foreach (var v in o) v.Dispose();
            foreach (var v in i) v.Dispose();
        }
        _chunks.Clear();
        _byBatch.Clear();
        _session?.Dispose();
        _runOptions.Dispose();
    }
}
