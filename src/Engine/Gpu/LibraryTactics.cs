using Vigil.Cuda;
using Vigil.Engine.Optimizer;
using Vigil.Engine.Plan;

namespace Vigil.Engine.Gpu;

/// <summary>Which tactics a build times: all of them, library ones only where a layer has some, or Vigil's NVRTC kernels only.</summary>
public enum TacticFilter
{
    All = 0,
    /// <summary>Convolutions and GEMMs use only cuDNN/cuBLAS tactics when any applies (other layers keep NVRTC kernels).</summary>
    Library = 1,
    Nvrtc = 2,
}

/// <summary>One layer's work on a stream: an NVRTC kernel, or a library call with its epilogue kernel.</summary>
internal interface ILayerOp : IDisposable
{
    /// <summary>The tactic this op runs.</summary>
    string Tactic { get; }

    /// <summary>Library workspace this op needs at <paramref name="batch"/> (host-side query; 0 for kernels).</summary>
    long WorkspaceBytes(int batch);

    /// <summary>Queues the layer for the first <paramref name="batch"/> images (capturable into a CUDA graph).</summary>
    void Enqueue(CudaStream stream, int batch);
}

/// <summary>An NVRTC kernel of the plan.</summary>
internal sealed class KernelLayerOp(GpuEngine engine, string tactic, CudaKernel kernel, KernelLaunch launch) : ILayerOp
{
    public string Tactic => tactic;
    public long WorkspaceBytes(int batch) => 0;
    public void Enqueue(CudaStream stream, int batch) => engine.LaunchKernel(stream, kernel, launch, batch);
    public void Dispose() { }
}

/// <summary>
/// The library state of one engine: cuDNN and cuBLAS handles (created on first use) and one device workspace that every
/// library op of the engine shares (they run one after another on one stream). The workspace is allocated outside
/// graph capture and only grows.
/// </summary>
internal sealed class LibraryRuntime(CudaContext context) : IDisposable
{
    /// <summary>Workspace cuBLAS gets (its kernels split K with it); a cuBLAS op asks for at least this much.</summary>
    public const long CublasWorkspaceBytes = 8L << 20;

    private CudnnHandle? _cudnn;
    private CublasHandle? _cublas;
    private DeviceBuffer? _workspace;

    public CudnnHandle Cudnn => _cudnn ??= new CudnnHandle(context);
    public CublasHandle Cublas => _cublas ??= new CublasHandle(context);
    public ulong Workspace => _workspace?.Pointer ?? 0;
    public long WorkspaceBytes => _workspace?.SizeInBytes ?? 0;

    /// <summary>Grows the workspace to at least <paramref name="bytes"/> (rounded up to 1 MiB); true when it was reallocated.</summary>
    public bool EnsureWorkspace(long bytes)
    {
        if (bytes <= WorkspaceBytes) return false;
        _workspace?.Dispose();
        _workspace = context.Allocate((bytes + (1 << 20) - 1) >> 20 << 20);
        return true;
    }

    public void BindCublas(CudaStream stream) => Cublas.Bind(stream, Workspace, WorkspaceBytes);

    public void Dispose()
    {
        _cublas?.Dispose();
        _cudnn?.Dispose();
        _workspace?.Dispose();
    }
}

/// <summary>
/// cuDNN convolution (any kernel size, stride, padding, dilation, groups) on NCHW activations with the arena's batch
/// stride. The bias and epilogue go into cuDNN's fused call when it can express them (no residual; identity with
/// IMPLICIT_PRECOMP_GEMM, or a single ReLU), otherwise into the layer's NVRTC epilogue kernel after the convolution.
/// Descriptors are made per batch size on first use (host objects; never during capture, see <see cref="GpuEngine"/>).
/// </summary>
internal sealed class CudnnConvOp : ILayerOp
{
    private readonly GpuEngine _e;
    private readonly Layer _l;
    private readonly cudnnConvolutionFwdAlgo_t _algo;
    private readonly cudnnDataType_t _type;
    private readonly CudnnFilterDescriptor _w;
    private readonly CudnnConvolutionDescriptor _conv;
    private readonly CudnnTensorDescriptor? _bias;
    private readonly CudnnActivationDescriptor? _act;
    private readonly (CudaKernel Kernel, KernelLaunch Launch)? _epilogue;
    private readonly Dictionary<int, (CudnnTensorDescriptor X, CudnnTensorDescriptor Y, long Workspace)> _perBatch = [];

    public CudnnConvOp(GpuEngine engine, int index, cudnnConvolutionFwdAlgo_t algo)
    {
        _e = engine;
        _l = engine.Plan.Program.Layers[index];
        _algo = algo;
        Tactic = LibraryTactics.CudnnTactic(algo);
        bool half = engine.Plan.Header.Precision == PlanPrecision.Fp16;
        _type = half ? cudnnDataType_t.CUDNN_DATA_HALF : cudnnDataType_t.CUDNN_DATA_FLOAT;
        var I = _l.I;
        _w = new CudnnFilterDescriptor(_type, [(int)I[3], (int)(I[0] / I[14]), (int)I[6], (int)I[7]]);
        // FP32 plans stay on FMA (no TF32: FP32 plans promise 1e-4 relative error); FP16 plans use tensor cores.
        _conv = new CudnnConvolutionDescriptor([(int)I[10], (int)I[11]], [(int)I[8], (int)I[9]], [(int)I[12], (int)I[13]], (int)I[14],
            cudnnDataType_t.CUDNN_DATA_FLOAT, half ? cudnnMathType_t.CUDNN_TENSOR_OP_MATH : cudnnMathType_t.CUDNN_FMA_MATH);
        var fused = LibraryTactics.FusedActivation(_l, algo);
        if (fused is { } mode)
        {
            _bias = new CudnnTensorDescriptor(_type, [1, (int)I[3], 1, 1], [(int)I[3], 1, 1, 1]);
            _act = new CudnnActivationDescriptor(mode);
        }
        else _epilogue = engine.EpilogueKernel(index);
    }

    public string Tactic { get; }
    /// <summary>Whether bias and activation run inside cuDNN's fused call (no epilogue kernel).</summary>
    public bool Fused => _act is not null;

    private (CudnnTensorDescriptor X, CudnnTensorDescriptor Y) Descriptors(int batch)
    {
        if (_perBatch.TryGetValue(batch, out var d)) return (d.X, d.Y);
        var p = _e.Plan.Program;
        var I = _l.I;
        var x = _l.Inputs[0]; var y = _l.Outputs[0];
        int sx = checked((int)p.SampleStride(x)), sy = checked((int)p.SampleStride(y));
        int h = (int)I[1], w = (int)I[2], oh = (int)I[4], ow = (int)I[5];
        var xd = new CudnnTensorDescriptor(_type, [batch, (int)I[0], h, w], [sx, h * w, w, 1]);
        var yd = new CudnnTensorDescriptor(_type, [batch, (int)I[3], oh, ow], [sy, oh * ow, ow, 1]);
        _perBatch[batch] = (xd, yd, -1);
        return (xd, yd);
    }

    /// <summary>The algorithms cuDNN's heuristics say support this layer at <paramref name="batch"/>, with the workspace they report.</summary>
    public IReadOnlyList<(cudnnConvolutionFwdAlgo_t Algo, long Workspace)> SupportedAlgorithms(int batch)
    {
        var (xd, yd) = Descriptors(batch);
        var list = new List<(cudnnConvolutionFwdAlgo_t, long)>();
        foreach (var r in _e.Library.Cudnn.ForwardAlgorithms(xd, _w, _conv, yd))
            if (r.status == 0 && !list.Exists(a => a.Item1 == r.algo))
                list.Add((r.algo, (long)r.memory));
        return list;
    }

    public long WorkspaceBytes(int batch)
    {
        var (xd, yd) = Descriptors(batch);
        var d = _perBatch[batch];
        if (d.Workspace < 0)
        {
            d.Workspace = _e.Library.Cudnn.ForwardWorkspaceSize(xd, _w, _conv, yd, _algo);
            _perBatch[batch] = d;
        }
        return d.Workspace;
    }

    public void Enqueue(CudaStream stream, int batch)
    {
        var (xd, yd) = Descriptors(batch);
        long ws = WorkspaceBytes(batch);
        var lib = _e.Library;
        if (lib.WorkspaceBytes < ws)
            throw new InvalidOperationException($"layer '{_l.Name}': {Tactic} needs {ws} bytes of workspace, {lib.WorkspaceBytes} allocated");
        lib.Cudnn.SetStream(stream);
        ulong x = _e.ActivationPointer(_l.Inputs[0], batch), y = _e.ActivationPointer(_l.Outputs[0], batch);
        ulong w = _e.ConstantPointer(_l.Inputs[1], storage: true);
        if (_act is not null)
        {
            lib.Cudnn.ConvolutionBiasActivationForward(xd, x, _w, w, _conv, _algo, lib.Workspace, ws,
                _bias!, _e.ConstantPointer(_l.Inputs[2], storage: true), _act, yd, y);
            return;
        }
        lib.Cudnn.ConvolutionForward(xd, x, _w, w, _conv, _algo, lib.Workspace, ws, yd, y);
        _e.LaunchKernel(stream, _epilogue!.Value.Kernel, _epilogue.Value.Launch, batch);
    }

    public void Dispose()
    {
        foreach (var (x, y, _) in _perBatch.Values) { x.Dispose(); y.Dispose(); }
        _perBatch.Clear();
        _act?.Dispose();
        _bias?.Dispose();
        _conv.Dispose();
        _w.Dispose();
    }
}

/// <summary>
/// cuBLAS strided batched GEMM, one matrix product per image (batch stride = the buffers' sample size), then the
/// layer's epilogue kernel (bias, and for convolutions the fused activation and residuals). Row-major products are
/// computed as their column-major transposes: a 1x1 stride-1 convolution Y[Cout,P] = W[Cout,Cin]·X[Cin,P] is
/// Yᵀ = Xᵀ·Wᵀ (m = P, n = Cout, k = Cin); a Gemm layer Y[R,M] = X[R,K]·Wᵀ (W stored M x K) is Yᵀ = W·Xᵀ (m = M, n = R, k = K).
/// </summary>
internal sealed class CublasGemmOp : ILayerOp
{
    private readonly GpuEngine _e;
    private readonly Layer _l;
    private readonly (CudaKernel Kernel, KernelLaunch Launch) _epilogue;
    private readonly cudaDataType _type;

    public CublasGemmOp(GpuEngine engine, int index)
    {
        _e = engine;
        _l = engine.Plan.Program.Layers[index];
        _type = engine.Plan.Header.Precision == PlanPrecision.Fp16 ? cudaDataType.CUDA_R_16F : cudaDataType.CUDA_R_32F;
        _epilogue = engine.EpilogueKernel(index);
    }

    public string Tactic => LibraryTactics.CublasTactic;
    public long WorkspaceBytes(int batch) => LibraryRuntime.CublasWorkspaceBytes;

    public void Enqueue(CudaStream stream, int batch)
    {
        var p = _e.Plan.Program;
        var lib = _e.Library;
        lib.BindCublas(stream);
        var x = _l.Inputs[0]; var y = _l.Outputs[0];
        ulong xp = _e.ActivationPointer(x, batch), yp = _e.ActivationPointer(y, batch), wp = _e.ConstantPointer(_l.Inputs[1], storage: true);
        long sx = p.SampleStride(x), sy = p.SampleStride(y);
        if (_l.Kind == LayerKind.Conv)
        {
            int cin = (int)_l.I[0], cout = (int)_l.I[3], pix = checked((int)(_l.I[4] * _l.I[5]));
            lib.Cublas.GemmStridedBatched(cublasOperation_t.CUBLAS_OP_N, cublasOperation_t.CUBLAS_OP_N, pix, cout, cin,
                xp, pix, sx, wp, cin, 0, yp, pix, sy, batch, _type);
        }
        else
        {
            int r = checked((int)_l.I[0]), k = (int)_l.I[1], m = (int)_l.I[2];
            lib.Cublas.GemmStridedBatched(cublasOperation_t.CUBLAS_OP_T, cublasOperation_t.CUBLAS_OP_N, m, r, k,
                wp, k, 0, xp, k, sx, yp, m, sy, batch, _type);
        }
        _e.LaunchKernel(stream, _epilogue.Kernel, _epilogue.Launch, batch);
    }

    public void Dispose() { }
}

/// <summary>
/// The library tactics of the plan engine: names ("cudnn:&lt;ALGO&gt;", "cublas"), which layers they apply to, which
/// need the NVRTC epilogue kernel, and creating the op that runs one.
/// </summary>
public static class LibraryTactics
{
    public const string CudnnPrefix = "cudnn:";
    public const string CublasTactic = "cublas";
    /// <summary>Largest cuDNN workspace a tactic may use.</summary>
    public const long MaxWorkspaceBytes = 64L << 20;

    private const string AlgoPrefix = "CUDNN_CONVOLUTION_FWD_ALGO_";

    public static bool IsLibrary(string tactic) => tactic.StartsWith(CudnnPrefix, StringComparison.Ordinal) || tactic == CublasTactic;

    public static string CudnnTactic(cudnnConvolutionFwdAlgo_t algo) => CudnnPrefix + algo.ToString()[AlgoPrefix.Length..];

    /// <summary>The algorithm of a "cudnn:&lt;ALGO&gt;" tactic.</summary>
    public static cudnnConvolutionFwdAlgo_t CudnnAlgorithm(string tactic, string layer)
    {
        if (tactic.StartsWith(CudnnPrefix, StringComparison.Ordinal) && Enum.TryParse<cudnnConvolutionFwdAlgo_t>(AlgoPrefix + tactic[CudnnPrefix.Length..], out var a)
            && Enum.IsDefined(a))
            return a;
        throw new EngineException($"layer '{layer}': unknown cuDNN tactic '{tactic}'");
    }

    /// <summary>The filter from the environment: VIGIL_ENGINE_TACTICS=library|nvrtc|all (default all).</summary>
    public static TacticFilter FilterFromEnvironment() => ParseFilter(Environment.GetEnvironmentVariable("VIGIL_ENGINE_TACTICS"));

    public static TacticFilter ParseFilter(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "all" => TacticFilter.All,
        "library" or "lib" => TacticFilter.Library,
        "nvrtc" => TacticFilter.Nvrtc,
        _ => throw new EngineException($"tactics '{value}' (--tactics or VIGIL_ENGINE_TACTICS): expected all, library or nvrtc"),
    };

    /// <summary>
    /// Whether cuDNN's legacy convolution can compute this layer exactly: its padding is symmetric (cuDNN pads both
    /// sides alike), which holds when cuDNN's output size with the leading pads equals the layer's.
    /// </summary>
    public static bool CudnnApplies(Layer l)
    {
        if (l.Kind != LayerKind.Conv) return false;
        var I = l.I;
        long Out(long size, long pad, long k, long s, long d) => (size + 2 * pad - d * (k - 1) - 1) / s + 1;
        return Out(I[1], I[10], I[6], I[8], I[12]) == I[4] && Out(I[2], I[11], I[7], I[9], I[13]) == I[5];
    }

    /// <summary>Whether the layer reads or writes an activation stored in FP32 inside an FP16 plan.</summary>
    public static bool TouchesFp32Buffer(LayerProgram p, Layer l) => l.Inputs.Concat(l.Outputs).Any(r => !r.IsConst && p.Buffers[r.Buffer].Fp32);

    /// <summary>1x1, stride 1, unpadded, ungrouped convolutions are one GEMM per image; Gemm layers without a fused activation too.</summary>
    public static bool CublasApplies(Layer l) => l.Kind switch
    {
        LayerKind.Conv => l.I[6] == 1 && l.I[7] == 1 && l.I[8] == 1 && l.I[9] == 1 && l.I[10] == 0 && l.I[11] == 0 && l.I[14] == 1
                          && l.I[4] == l.I[1] && l.I[5] == l.I[2],
        LayerKind.Gemm => l.I[3] == 0,
        _ => false,
    };

    /// <summary>
    /// The activation cuDNN's fused call applies for this layer and algorithm, or null when the layer needs the epilogue
    /// kernel: residual inputs, anything but one ReLU, or identity with an algorithm other than IMPLICIT_PRECOMP_GEMM
    /// (the only one cudnnConvolutionBiasActivationForward supports without an activation).
    /// </summary>
    public static cudnnActivationMode_t? FusedActivation(Layer l, cudnnConvolutionFwdAlgo_t algo)
    {
        if (l.Kind != LayerKind.Conv || l.Inputs.Length > 3) return null;
        if (l.I.Length <= 16)
            return algo == cudnnConvolutionFwdAlgo_t.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ? cudnnActivationMode_t.CUDNN_ACTIVATION_IDENTITY : null;
        var prog = PwProgram.Decode((int)l.I[15], l.I[16..], l.F);
        return prog.Code.Count == 1 && prog.Code[0].Op == PwOp.Relu && prog.Code[0].A == 0 ? cudnnActivationMode_t.CUDNN_ACTIVATION_RELU : null;
    }

    /// <summary>Whether a layer running <paramref name="tactic"/> needs its library epilogue kernel.</summary>
    public static bool NeedsEpilogueKernel(Layer l, string tactic) =>
        tactic == CublasTactic || (tactic.StartsWith(CudnnPrefix, StringComparison.Ordinal) && FusedActivation(l, CudnnAlgorithm(tactic, l.Name)) is null);

    /// <summary>
    /// The cuDNN and cuBLAS versions loadable here, for <see cref="PlanFile.EnsureCompatible"/>: probed only for the
    /// libraries the plan's header records ("none" otherwise, so NVRTC-only plans never load them).
    /// </summary>
    public static (string Cudnn, string Cublas) VersionsFor(PlanHeader h) =>
        (h.CudnnVersion == "none" ? "none" : CudaLibraries.Cudnn.Version ?? "unavailable",
         h.CublasVersion == "none" ? "none" : CudaLibraries.Cublas.Version ?? "unavailable");

    /// <summary>Creates the op that runs library tactic <paramref name="tactic"/> for layer <paramref name="index"/>.</summary>
    internal static ILayerOp Create(GpuEngine engine, int index, string tactic)
    {
        var l = engine.Plan.Program.Layers[index];
        if (tactic == CublasTactic)
        {
            if (!CublasApplies(l)) throw new EngineException($"layer '{l.Name}': tactic cublas does not apply to this {l.Kind} layer");
            return new CublasGemmOp(engine, index);
        }
        if (!CudnnApplies(l)) throw new EngineException($"layer '{l.Name}': tactic {tactic} does not apply to this {l.Kind} layer");
        return new CudnnConvOp(engine, index, CudnnAlgorithm(tactic, l.Name));
    }
}

/// <summary>
/// The builder's view of one layer's library tactics in the tuning engine: which ones cuDNN/cuBLAS offer at the
/// optimal batch, a correctness check of each against the layer's reference NVRTC kernel (random inputs in the first
/// and last image, output poisoned with NaN in between), and the timing of those that pass.
/// </summary>
internal sealed class LibraryTiming(GpuEngine engine, CudaStream stream, CudaEvent start, CudaEvent end, int index, int batch, KernelCandidate reference)
{
    /// <summary>Largest relative L2 difference from the reference kernel a tactic may show: FP32 plans, FP16 plans.</summary>
    public const double Fp32Tolerance = 1e-5, Fp16Tolerance = 5e-3;

    private Layer Layer => engine.Plan.Program.Layers[index];

    /// <summary>The candidate tactics, each with null or the reason it is not timed.</summary>
    public List<(string Tactic, string? Note)> Tactics(bool cudnn, bool cublas)
    {
        var l = Layer;
        var list = new List<(string, string?)>();
        if (LibraryTactics.TouchesFp32Buffer(engine.Plan.Program, l))
        {
            // The libraries see one data type per call; a layer reading or writing an FP32 buffer of an FP16 plan stays on NVRTC kernels.
            if (LibraryTactics.CudnnApplies(l) || LibraryTactics.CublasApplies(l)) list.Add(("library", "skipped: the layer touches an activation kept in FP32"));
            return list;
        }
        if (cudnn && LibraryTactics.CudnnApplies(l))
        {
            try
            {
                using var probe = new CudnnConvOp(engine, index, cudnnConvolutionFwdAlgo_t.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM);
                foreach (var (algo, ws) in probe.SupportedAlgorithms(batch))
                    list.Add((LibraryTactics.CudnnTactic(algo), ws > LibraryTactics.MaxWorkspaceBytes
                        ? $"skipped: needs {ws / 1048576.0:F0} MiB of workspace, over the {LibraryTactics.MaxWorkspaceBytes >> 20} MiB cap" : null));
                if (list.Count == 0) list.Add(("cudnn", "skipped: cuDNN offers no algorithm for this layer"));
            }
            catch (CudaLibraryException e)
            {
                list.Add(("cudnn", $"skipped: {e.Message}"));
            }
        }
        if (cublas && LibraryTactics.CublasApplies(l)) list.Add((LibraryTactics.CublasTactic, null));
        return list;
    }

    /// <summary>Checks the tactic against the reference kernel, then times it (library call + epilogue kernel); infinity and why when it fails.</summary>
    public (float Us, string? Why) CheckAndTime(string tactic)
    {
        try
        {
            using var op = engine.CreateOp(index, null, tactic);
            double err = Check(op);
            double tol = engine.Precision == PlanPrecision.Fp16 ? Fp16Tolerance : Fp32Tolerance;
            if (!(err <= tol))
                return (float.PositiveInfinity, $"rejected: relative L2 {err:E2} against the NVRTC reference kernel, limit {tol:E0}");
            return (engine.TimeOp(stream, op, batch, start, end), null);
        }
        catch (CudaLibraryException e)
        {
            return (float.PositiveInfinity, $"rejected: {e.Message}");
        }
    }

    private double Check(ILayerOp op)
    {
        var l = Layer;
        var y = l.Outputs[0];
        int[] images = batch > 1 ? [0, batch - 1] : [0];
        var rnd = new Random(17 + index);
        var inputs = l.Inputs.Where((r, k) => (k == 0 || k >= 3) && !r.IsConst).ToList();
        foreach (int n in images)
            foreach (var r in inputs)
                engine.WriteActivation(stream, r, batch, n, Enumerable.Range(0, (int)r.Count).Select(_ => (float)(rnd.NextDouble() * 2 - 1)).ToArray());
        using (var refOp = engine.CreateOp(index, reference, reference.Tactic)) engine.RunOnce(stream, refOp, batch);
        var expected = images.Select(n => engine.ReadActivation(stream, y, batch, n)).ToArray();
        var nan = Enumerable.Repeat(float.NaN, (int)y.Count).ToArray();
        foreach (int n in images) engine.WriteActivation(stream, y, batch, n, nan);
        engine.RunOnce(stream, op, batch);
        double num = 0, den = 0;
        for (int k = 0; k < images.Length; k++)
        {
            var actual = engine.ReadActivation(stream, y, batch, images[k]);
            for (int e = 0; e < actual.Length; e++)
            {
                if (!float.IsFinite(actual[e])) return double.PositiveInfinity;
                double d = actual[e] - expected[k][e];
                num += d * d;
                den += (double)expected[k][e] * expected[k][e];
            }
        }
        return Math.Sqrt(num / Math.Max(den, 1e-30));
    }
}
