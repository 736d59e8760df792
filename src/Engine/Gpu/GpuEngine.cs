using System.Diagnostics;
using System.Text;
using Vigil.Cuda;
using Vigil.Engine.Plan;

namespace Vigil.Engine.Gpu;

/// <summary>
/// Runs a plan on the GPU. Activations live in one arena allocated once for the largest batch (buffers with
/// disjoint lifetimes share memory, as planned at build time); inputs and outputs are dense FP32 device buffers that
/// stay on the GPU. Each layer runs as an <see cref="ILayerOp"/>: an NVRTC kernel, or a cuDNN/cuBLAS call (plus its
/// epilogue kernel) when the plan's tactic is a library one. Each batch size's work is captured once into a CUDA graph
/// and replayed; library workspace is sized before a capture, never during one.
/// </summary>
public sealed class GpuEngine : IDisposable
{
    private readonly CudaContext _ctx;
    private readonly string _source;
    private readonly KernelGenerator _gen;
    private readonly KernelSet? _owned;
    private readonly KernelSet _set;
    private readonly ILayerOp[] _layers;
    private LibraryRuntime? _library;
    private readonly bool _hasLibraryOps;
    private readonly (CudaKernel Kernel, KernelLaunch Launch)[] _inputs, _outputs;
    private readonly DeviceBuffer _arena, _weightsT, _weightsF;
    private readonly Dictionary<(int Batch, bool Convert), CudaGraphExec> _graphs = [];
    private readonly KernelArgs _args = new(8);

    public GpuEngine(CudaContext context, KernelCompiler compiler, PlanModel plan, string source = "plan")
        : this(context, compiler, plan, source, null) { }

    internal GpuEngine(CudaContext context, KernelCompiler compiler, PlanModel plan, string source, KernelSet? prebuilt)
    {
        var h = plan.Header;
        var (cudnn, cublas) = LibraryTactics.VersionsFor(h);
        PlanFile.EnsureCompatible(h, source, context.Name, context.ComputeCapability.Major, context.ComputeCapability.Minor,
            context.DriverVersion, $"{compiler.NvrtcVersion.Major}.{compiler.NvrtcVersion.Minor}", cudnn, cublas);
        _ctx = context;
        Plan = plan;
        var p = plan.Program;
        var gen = new KernelGenerator(p, h.Precision, h.BatchMax);
        _gen = gen;
        int elem = h.Precision == PlanPrecision.Fp16 ? 2 : 4;
        ElementBytes = elem;

        // Per layer: the chosen NVRTC kernel, or for a library tactic its epilogue kernel when it needs one.
        var chosen = new List<KernelCandidate?>();
        for (int i = 0; i < p.Layers.Count; i++)
        {
            var l = p.Layers[i];
            if (LibraryTactics.IsLibrary(l.Tactic))
            {
                chosen.Add(LibraryTactics.NeedsEpilogueKernel(l, l.Tactic) ? gen.LibraryEpilogue(i) : null);
                continue;
            }
            var cands = gen.Candidates(i);
            chosen.Add(cands.FirstOrDefault(c => c.Tactic == l.Tactic) ?? cands[0]);
        }
        var ins = p.Inputs.Select((io, i) => gen.InputKernel(i, io)).ToList();
        var outs = p.Outputs.Select((io, i) => gen.OutputKernel(i, io)).ToList();
        var sw = Stopwatch.StartNew();
        var all = chosen.OfType<KernelCandidate>().Concat(ins).Concat(outs).ToList();
        if (prebuilt is null)
        {
            _owned = KernelSet.Compile(compiler, gen, all, Convert.ToHexStringLower(h.ModelSha256)[..12]);
            prebuilt = _owned;
        }
        CompileSeconds = sw.Elapsed.TotalSeconds;
        _set = prebuilt;
        _source = source;
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

        _layers = new ILayerOp[p.Layers.Count];
        try
        {
            for (int i = 0; i < p.Layers.Count; i++)
                _layers[i] = LibraryTactics.IsLibrary(p.Layers[i].Tactic)
                    ? LibraryTactics.Create(this, i, p.Layers[i].Tactic)
                    : new KernelLayerOp(this, chosen[i]!.Tactic, Find(chosen[i]!.Launch.Function), chosen[i]!.Launch);
            // Workspace for the profile's ends and optimum up front, so captures rarely need to grow it.
            _hasLibraryOps = _layers.Any(o => o is not KernelLayerOp);
            if (_hasLibraryOps) EnsureWorkspace(new[] { MinBatch, h.BatchOpt, MaxBatch }.Max(b => _layers.Max(o => o.WorkspaceBytes(b))));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private CudaKernel Find(string fn) =>
        _set.Kernels.TryGetValue(fn, out var k) ? k : throw new EngineException($"{_source}: kernel {fn} missing from the compiled modules");

    public PlanModel Plan { get; }
    public int MinBatch { get; }
    public int MaxBatch { get; }
    public int ElementBytes { get; }
    public double CompileSeconds { get; }
    /// <summary>Dense FP32 input tensors, [MaxBatch, ...] each; write the first batch images before <see cref="Run"/>.</summary>
    public DeviceBuffer<float>[] Inputs { get; }
    /// <summary>Dense FP32 output tensors, valid for the first batch images after <see cref="Run"/> completes on its stream.</summary>
    public DeviceBuffer<float>[] Outputs { get; }
    /// <summary>Device memory held: arena, weights, inputs and outputs, library workspace.</summary>
    public long DeviceBytes => _arena.SizeInBytes + _weightsF.SizeInBytes + (_weightsT == _weightsF ? 0 : _weightsT.SizeInBytes)
        + Inputs.Sum(b => b.SizeInBytes) + Outputs.Sum(b => b.SizeInBytes) + (_library?.WorkspaceBytes ?? 0);

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

    /// <summary>cuDNN/cuBLAS handles and workspace (created when the plan, or the builder, first uses a library tactic).</summary>
    internal LibraryRuntime Library => _library ??= new LibraryRuntime(_ctx);

    internal PlanPrecision Precision => Plan.Header.Precision;

    /// <summary>Device address of image 0 of <paramref name="r"/> in a run at <paramref name="batch"/> (images follow at the buffer's sample stride).</summary>
    internal ulong ActivationPointer(TensorRef r, int batch) => _arena.Pointer + (ulong)(Plan.Program.Address(r, batch, 0) * ElementBytes);

    /// <summary>Device address of a constant: in the storage type (FP16 in FP16 plans) or in FP32.</summary>
    internal ulong ConstantPointer(TensorRef r, bool storage) =>
        storage ? _weightsT.Pointer + (ulong)(_gen.ConstantOffset(r.Const) * ElementBytes) : _weightsF.Pointer + (ulong)(_gen.ConstantOffset(r.Const) * 4);

    /// <summary>Layer <paramref name="index"/>'s library epilogue kernel (compiled into this engine's kernel set).</summary>
    internal (CudaKernel Kernel, KernelLaunch Launch) EpilogueKernel(int index) =>
        (Find(KernelGenerator.LibraryEpilogueFunction(index)), _gen.LibraryEpilogue(index).Launch);

    internal void LaunchKernel(CudaStream stream, CudaKernel k, KernelLaunch l, int batch) => Launch(stream, k, l, batch, null);

    /// <summary>
    /// Grows the shared library workspace (outside any capture). Work in flight and captured graphs refer to the old
    /// one: the context is synchronized and the graphs dropped first (they are captured again on their next run).
    /// </summary>
    private void EnsureWorkspace(long bytes)
    {
        if (bytes <= 0 || bytes <= Library.WorkspaceBytes) return;
        if (Library.WorkspaceBytes > 0) _ctx.Synchronize();
        foreach (var g in _graphs.Values) g.Dispose();
        _graphs.Clear();
        Library.EnsureWorkspace(bytes);
    }

    private void Launch(CudaStream stream, CudaKernel k, KernelLaunch l, int batch, ulong? extra)
    {
        _args.Clear().Add(_arena.Pointer).Add(_weightsT.Pointer).Add(_weightsF.Pointer).Add(batch);
        if (extra is ulong e) _args.Add(e);
        if (l.Tiled) k.Launch(stream, new Dim3((uint)l.TilesX, (uint)l.TilesY, (uint)batch), (uint)l.Threads, _args);
        else k.Launch(stream, Dim3.CeilDiv(l.WorkPerImage * batch, (uint)l.Threads), (uint)l.Threads, _args);
    }

    /// <summary>Times one kernel on this engine's buffers: mean of <paramref name="reps"/> launches after warm-up, in microseconds.</summary>
    internal float TimeKernel(CudaStream stream, CudaKernel k, KernelLaunch l, int batch, CudaEvent start, CudaEvent end, int reps = 20) =>
        TimeOp(stream, new KernelLayerOp(this, "", k, l), batch, start, end, reps);

    /// <summary>
    /// Times one layer op (a kernel, or a library call with its epilogue kernel) the same way: 3 warm-up runs, then the
    /// mean of <paramref name="reps"/> runs between two CUDA events, in microseconds.
    /// </summary>
    internal float TimeOp(CudaStream stream, ILayerOp op, int batch, CudaEvent start, CudaEvent end, int reps = 20)
    {
        EnsureWorkspace(op.WorkspaceBytes(batch));
        for (int i = 0; i < 3; i++) op.Enqueue(stream, batch);
        start.Record(stream);
        for (int i = 0; i < reps; i++) op.Enqueue(stream, batch);
        end.Record(stream);
        end.Synchronize();
        return CudaEvent.ElapsedMilliseconds(start, end) * 1000f / reps;
    }

    /// <summary>Runs one op once and waits for it (the builder's tactic check).</summary>
    internal void RunOnce(CudaStream stream, ILayerOp op, int batch)
    {
        EnsureWorkspace(op.WorkspaceBytes(batch));
        op.Enqueue(stream, batch);
        stream.Synchronize();
    }

    /// <summary>Creates an op for layer <paramref name="index"/> running <paramref name="tactic"/> (the builder times and checks candidates with it).</summary>
    internal ILayerOp CreateOp(int index, KernelCandidate? kernel, string tactic) =>
        kernel is not null ? new KernelLayerOp(this, kernel.Tactic, Find(kernel.Launch.Function), kernel.Launch) : LibraryTactics.Create(this, index, tactic);

    /// <summary>Writes image <paramref name="image"/> of an activation (a run at <paramref name="batch"/>), converting to the storage type.</summary>
    internal unsafe void WriteActivation(CudaStream stream, TensorRef r, int batch, int image, float[] values)
    {
        ulong dst = _arena.Pointer + (ulong)(Plan.Program.Address(r, batch, image) * ElementBytes);
        if (ElementBytes == 4)
        {
            fixed (float* pv = values) stream.CopyHostToDevice((nint)pv, dst, values.Length * 4L);
        }
        else
        {
            var h = new Half[values.Length];
            for (int i = 0; i < h.Length; i++) h[i] = (Half)values[i];
            fixed (Half* ph = h) stream.CopyHostToDevice((nint)ph, dst, h.Length * 2L);
        }
        stream.Synchronize();
    }

    /// <summary>Reads image <paramref name="image"/> of an activation back as FP32 (tests and the builder's tactic check).</summary>
    internal unsafe float[] ReadActivation(CudaStream stream, TensorRef r, int batch, int image)
    {
        ulong src = _arena.Pointer + (ulong)(Plan.Program.Address(r, batch, image) * ElementBytes);
        var values = new float[r.Count];
        if (ElementBytes == 4)
        {
            fixed (float* pv = values) stream.CopyDeviceToHost(src, (nint)pv, values.Length * 4L);
            stream.Synchronize();
        }
        else
        {
            var h = new Half[values.Length];
            fixed (Half* ph = h)
            {
                stream.CopyDeviceToHost(src, (nint)ph, h.Length * 2L);
                stream.Synchronize();
            }
            for (int i = 0; i < h.Length; i++) values[i] = (float)h[i];
        }
        return values;
    }

    /// <summary>Queues every kernel of a batch without a graph (used for tactic timing and graph capture).</summary>
    internal void Enqueue(CudaStream stream, int batch, bool convertInputs = true)
    {
        if (convertInputs)
            for (int i = 0; i < _inputs.Length; i++) Launch(stream, _inputs[i].Kernel, _inputs[i].Launch, batch, Inputs[i].Pointer);
        foreach (var op in _layers) op.Enqueue(stream, batch);
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
            if (_hasLibraryOps) WarmUpLibraryOps(stream, batch, convertInputs);
            stream.BeginCapture();
            try
            {
                Enqueue(stream, batch, convertInputs);
            }
            catch
            {
                // Leave the stream usable: end the (failed) capture and drop whatever it recorded.
                try { stream.EndCapture().Dispose(); }
                catch (CudaException) { }
                throw;
            }
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

    /// <summary>
    /// Before the first capture at a batch size: sizes the library workspace and runs the library ops once, because
    /// cuDNN and cuBLAS set a configuration up on its first run (kernel choice, lazy loading), which must not happen
    /// inside a capture. Every run recomputes the arena from the inputs, except inputs written straight into the arena
    /// (<paramref name="convertInputs"/> false): a library layer may reuse their memory, so they are saved around it.
    /// </summary>
    private void WarmUpLibraryOps(CudaStream stream, int batch, bool convertInputs)
    {
        EnsureWorkspace(_layers.Max(o => o.WorkspaceBytes(batch)));
        var p = Plan.Program;
        var saved = new List<(ulong Address, DeviceBuffer Copy, long Width, long Pitch)>();
        try
        {
            if (!convertInputs)
                for (int i = 0; i < p.Inputs.Count; i++)
                {
                    var io = p.Inputs[i];
                    long width = io.Ref.Count * (InputIsFp32(i) ? 4 : ElementBytes), pitch = p.SampleStride(io.Ref) * ElementBytes;
                    ulong address = ArenaInput(i, batch);
                    var copy = _ctx.Allocate(width * batch);
                    saved.Add((address, copy, width, pitch));
                    stream.CopyDeviceToDevice2D(address, pitch, copy.Pointer, width, width, batch);
                }
            foreach (var op in _layers.Where(o => o is not KernelLayerOp)) op.Enqueue(stream, batch);
            foreach (var (address, copy, width, pitch) in saved) stream.CopyDeviceToDevice2D(copy.Pointer, width, address, pitch, width, batch);
            stream.Synchronize();
        }
        finally
        {
            foreach (var s in saved) s.Copy.Dispose();
        }
    }

    /// <summary>Number of CUDA graphs captured so far (one per batch size used).</summary>
    public int CapturedGraphs => _graphs.Count;

    /// <summary>The tactic each layer runs (library ones by name, e.g. "cudnn:IMPLICIT_PRECOMP_GEMM").</summary>
    public IReadOnlyList<string> LayerTactics => _layers.Select(o => o.Tactic).ToArray();

    public void Dispose()
    {
        foreach (var g in _graphs.Values) g.Dispose();
        _graphs.Clear();
        foreach (var op in _layers ?? []) op?.Dispose();
        _library?.Dispose();
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
