using System.Diagnostics;
using System.Text;
using Vigil.Cuda;
using Vigil.Engine.Plan;

namespace Vigil.Engine.Gpu;

/// <summary>
/// Runs a plan on the GPU. Activations live in one arena allocated once for the largest batch (buffers with
/// disjoint lifetimes share memory, as planned at build time); inputs and outputs are dense FP32 device buffers that
/// stay on the GPU. Each batch size's launches are captured once into a CUDA graph and replayed.
/// </summary>
public sealed class GpuEngine : IDisposable
{
    private readonly CudaContext _ctx;
    private readonly KernelSet? _owned;
    private readonly (CudaKernel Kernel, KernelLaunch Launch)[] _layers;
    private readonly (CudaKernel Kernel, KernelLaunch Launch)[] _inputs, _outputs;
    private readonly DeviceBuffer _arena, _weightsT, _weightsF;
    private readonly Dictionary<(int Batch, bool Convert), CudaGraphExec> _graphs = [];
    private readonly KernelArgs _args = new(8);

    public GpuEngine(CudaContext context, KernelCompiler compiler, PlanModel plan, string source = "plan")
        : this(context, compiler, plan, source, null) { }

    internal GpuEngine(CudaContext context, KernelCompiler compiler, PlanModel plan, string source, KernelSet? prebuilt)
    {
        var h = plan.Header;
        PlanFile.EnsureCompatible(h, source, context.Name, context.ComputeCapability.Major, context.ComputeCapability.Minor,
            context.DriverVersion, $"{compiler.NvrtcVersion.Major}.{compiler.NvrtcVersion.Minor}");
        _ctx = context;
        Plan = plan;
        var p = plan.Program;
        var gen = new KernelGenerator(p, h.Precision, h.BatchMax);
        int elem = h.Precision == PlanPrecision.Fp16 ? 2 : 4;
        ElementBytes = elem;

        var chosen = new List<KernelCandidate>();
        for (int i = 0; i < p.Layers.Count; i++)
        {
            var cands = gen.Candidates(i);
            var pick = cands.FirstOrDefault(c => c.Tactic == p.Layers[i].Tactic) ?? cands[0];
            chosen.Add(pick);
        }
        var ins = p.Inputs.Select((io, i) => gen.InputKernel(i, io)).ToList();
        var outs = p.Outputs.Select((io, i) => gen.OutputKernel(i, io)).ToList();
        var sw = Stopwatch.StartNew();
        var all = chosen.Concat(ins).Concat(outs).ToList();
        if (prebuilt is null)
        {
            _owned = KernelSet.Compile(compiler, gen, all, Convert.ToHexStringLower(h.ModelSha256)[..12]);
            prebuilt = _owned;
        }
        CompileSeconds = sw.Elapsed.TotalSeconds;
        var set = prebuilt;
        CudaKernel Find(string fn) => set.Kernels.TryGetValue(fn, out var k) ? k : throw new EngineException($"{source}: kernel {fn} missing from the compiled modules");
        _layers = chosen.Select(c => (Find(c.Launch.Function), c.Launch)).ToArray();
        _inputs = ins.Select(c => (Find(c.Launch.Function), c.Launch)).ToArray();
        _outputs = outs.Select(c => (Find(c.Launch.Function), c.Launch)).ToArray();

        MaxBatch = h.BatchMax;
        MinBatch = h.BatchMin;
        _arena = context.Allocate(Math.Max(1, p.ArenaPerSample * MaxBatch * elem));
        _weightsF = context.Allocate(Math.Max(1, gen.ConstantElements * 4));
        _weightsT = elem == 4 ? _weightsF : context.Allocate(Math.Max(1, gen.ConstantElements * elem));
        Inputs = p.Inputs.Select(io => DeviceBuffer<float>.Allocate(context, io.Ref.Count * MaxBatch)).ToArray();
        Outputs = p.Outputs.Select(io => DeviceBuffer<float>.Allocate(context, io.Ref.Count * MaxBatch)).ToArray();
        UploadConstants(gen);
    }

    public PlanModel Plan { get; }
    public int MinBatch { get; }
    public int MaxBatch { get; }
    public int ElementBytes { get; }
    public double CompileSeconds { get; }
    /// <summary>Dense FP32 input tensors, [MaxBatch, ...] each; write the first batch images before <see cref="Run"/>.</summary>
    public DeviceBuffer<float>[] Inputs { get; }
    /// <summary>Dense FP32 output tensors, valid for the first batch images after <see cref="Run"/> completes on its stream.</summary>
    public DeviceBuffer<float>[] Outputs { get; }
    /// <summary>Device memory held: arena, weights, inputs and outputs.</summary>
    public long DeviceBytes => _arena.SizeInBytes + _weightsF.SizeInBytes + (_weightsT == _weightsF ? 0 : _weightsT.SizeInBytes)
        + Inputs.Sum(b => b.SizeInBytes) + Outputs.Sum(b => b.SizeInBytes);

    private unsafe void UploadConstants(KernelGenerator gen)
    {
        var p = Plan.Program;
        var f = new float[Math.Max(1, gen.ConstantElements)];
        for (int i = 0; i < p.Constants.Count; i++)
        {
            var v = p.Constants[i].AsFloats();
            Array.Copy(v, 0, f, gen.ConstantOffset(i), v.Length);
        }
        using var stream = _ctx.CreateStream();
        fixed (float* pf = f) _weightsF.CopyFromHost(stream, (nint)pf, f.Length * 4L);
        if (_weightsT != _weightsF)
        {
            var hf = new Half[f.Length];
            for (int i = 0; i < f.Length; i++) hf[i] = (Half)f[i];
            fixed (Half* ph = hf) _weightsT.CopyFromHost(stream, (nint)ph, hf.Length * 2L);
        }
        stream.Synchronize();
    }

    private void Launch(CudaStream stream, CudaKernel k, KernelLaunch l, int batch, ulong? extra)
    {
        _args.Clear().Add(_arena.Pointer).Add(_weightsT.Pointer).Add(_weightsF.Pointer).Add(batch);
        if (extra is ulong e) _args.Add(e);
        if (l.Tiled) k.Launch(stream, new Dim3((uint)l.TilesX, (uint)l.TilesY, (uint)batch), (uint)l.Threads, _args);
        else k.Launch(stream, Dim3.CeilDiv(l.WorkPerImage * batch, (uint)l.Threads), (uint)l.Threads, _args);
    }

    /// <summary>Times one kernel on this engine's buffers: median-free mean of <paramref name="reps"/> launches after warm-up, in microseconds.</summary>
    internal float TimeKernel(CudaStream stream, CudaKernel k, KernelLaunch l, int batch, CudaEvent start, CudaEvent end, int reps = 20)
    {
        for (int i = 0; i < 3; i++) Launch(stream, k, l, batch, null);
        start.Record(stream);
        for (int i = 0; i < reps; i++) Launch(stream, k, l, batch, null);
        end.Record(stream);
        end.Synchronize();
        return CudaEvent.ElapsedMilliseconds(start, end) * 1000f / reps;
    }

    /// <summary>Queues every kernel of a batch without a graph (used for tactic timing and graph capture).</summary>
    internal void Enqueue(CudaStream stream, int batch, bool convertInputs = true)
    {
        if (convertInputs)
            for (int i = 0; i < _inputs.Length; i++) Launch(stream, _inputs[i].Kernel, _inputs[i].Launch, batch, Inputs[i].Pointer);
        foreach (var (k, l) in _layers) Launch(stream, k, l, batch, null);
        for (int i = 0; i < _outputs.Length; i++) Launch(stream, _outputs[i].Kernel, _outputs[i].Launch, batch, Outputs[i].Pointer);
    }

    /// <summary>
    /// Runs the first <paramref name="batch"/> images of <see cref="Inputs"/> on <paramref name="stream"/> (asynchronous).
    /// With <paramref name="convertInputs"/> false the input tensors are taken as already written into the arena in the
    /// plan's storage precision (see <see cref="ArenaInput"/>), skipping the FP32 conversion kernels.
    /// </summary>
    public void Run(CudaStream stream, int batch, bool convertInputs = true)
    {
        if (batch < MinBatch || batch > MaxBatch)
            throw new ArgumentOutOfRangeException(nameof(batch), $"batch {batch} is outside the plan's profile {MinBatch}..{MaxBatch}");
        if (!_graphs.TryGetValue((batch, convertInputs), out var exec))
        {
            stream.BeginCapture();
            Enqueue(stream, batch, convertInputs);
            using var graph = stream.EndCapture();
            exec = graph.Instantiate();
            _graphs[(batch, convertInputs)] = exec;
        }
        exec.Launch(stream);
    }

    /// <summary>
    /// Device address of input <paramref name="index"/> inside the arena for a run at <paramref name="batch"/>: a dense
    /// [batch, ...] tensor of <see cref="ElementBytes"/>-byte elements (FP16 in FP16 plans) that a producer such as the
    /// fused preprocessing kernel can write directly before <c>Run(stream, batch, convertInputs: false)</c>.
    /// </summary>
    public ulong ArenaInput(int index, int batch)
    {
        var io = Plan.Program.Inputs[index];
        bool fp32 = Plan.Program.Buffers[io.Ref.Buffer].Fp32 && ElementBytes == 2;
        // Buffers are padded to 64 elements: the input is dense across images only when its size is a multiple of 64.
        if (batch > 1 && Plan.Program.SampleStride(io.Ref) != io.Ref.Count * (fp32 ? 2 : 1))
            throw new InvalidOperationException($"input {io.Name} is not dense across images in the arena ({io.Ref.Count} elements per image, stride {Plan.Program.SampleStride(io.Ref)})");
        var b = Plan.Program.Buffers[io.Ref.Buffer];
        return fp32
            ? _arena.Pointer + (ulong)(batch * b.Offset * 2 + io.Ref.Offset * 4)
            : _arena.Pointer + (ulong)(Plan.Program.Address(io.Ref, batch, 0) * ElementBytes);
    }

    /// <summary>Whether input <paramref name="index"/> is stored in FP32 in the arena (always in FP32 plans; in FP16 plans when kept wide).</summary>
    public bool InputIsFp32(int index) => ElementBytes == 4 || Plan.Program.Buffers[Plan.Program.Inputs[index].Ref.Buffer].Fp32;

    /// <summary>Number of CUDA graphs captured so far (one per batch size used).</summary>
    public int CapturedGraphs => _graphs.Count;

    public void Dispose()
    {
        foreach (var g in _graphs.Values) g.Dispose();
        _graphs.Clear();
        foreach (var b in Inputs) b.Dispose();
        foreach (var b in Outputs) b.Dispose();
        if (_weightsT != _weightsF) _weightsT.Dispose();
        _weightsF.Dispose();
        _arena.Dispose();
        _owned?.Dispose();
        _args.Dispose();
    }
}

/// <summary>Compiled kernels by function name, and the modules holding them.</summary>
internal sealed class KernelSet : IDisposable
{
    private readonly List<CudaModule> _modules = [];
    public Dictionary<string, CudaKernel> Kernels { get; } = new(StringComparer.Ordinal);

    /// <summary>NVRTC compiles one program on one thread: the kernels are split over several programs compiled in parallel (each cached on disk).</summary>
    public static KernelSet Compile(KernelCompiler compiler, KernelGenerator gen, IReadOnlyList<KernelCandidate> kernels, string tag)
    {
        const int perChunk = 24;
        var chunks = kernels.DistinctBy(k => k.Launch.Function).Select((k, i) => (k, i)).GroupBy(x => x.i / perChunk).Select(g => g.Select(x => x.k).ToList()).ToList();
        var cubins = new byte[chunks.Count][];
        Parallel.For(0, chunks.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) }, i =>
        {
            var sb = new StringBuilder(gen.Prelude);
            foreach (var k in chunks[i]) sb.Append(k.Source);
            cubins[i] = compiler.Compile($"vigil-plan-{tag}-{i}", sb.ToString()).Cubin;
        });
        compiler.Context.MakeCurrent();
        var set = new KernelSet();
        for (int i = 0; i < chunks.Count; i++)
        {
            var m = new CudaModule(compiler.Context, cubins[i]);
            set._modules.Add(m);
            foreach (var k in chunks[i]) set.Kernels[k.Launch.Function] = m.GetKernel(k.Launch.Function);
        }
        return set;
    }

    public void Dispose()
    {
        foreach (var m in _modules) m.Dispose();
        _modules.Clear();
    }
}
