using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Vigil.Cuda;
using Vigil.Engine.Graph;
using Vigil.Engine.Optimizer;
using Vigil.Engine.Plan;

namespace Vigil.Engine.Gpu;

/// <summary>Options of a build (the spirit of trtexec's).</summary>
public sealed record BuildOptions
{
    public PlanPrecision Precision { get; init; } = PlanPrecision.Fp16;
    public int BatchMin { get; init; } = 1;
    public int BatchOpt { get; init; } = 8;
    public int BatchMax { get; init; } = 64;
    /// <summary>Timing cache file; null = next to the kernel cache.</summary>
    public string? TimingCache { get; init; }
    public OptimizerOptions Optimizer { get; init; } = OptimizerOptions.All;

    /// <summary>
    /// FP16 plans: activations whose magnitude on the calibration inputs exceeds this stay in FP32 (FP16's largest
    /// finite value is 65504; the margin covers inputs brighter or busier than the calibration ones). 0 turns it off.
    /// </summary>
    public float Fp32Above { get; init; } = 65504f / 8;

    /// <summary>Calibration inputs (dense, one image each, per program input); null = two synthetic images, uniform in [0, 1) and [0, 255).</summary>
    public IReadOnlyList<float[]>? CalibrationInputs { get; init; }
}

/// <summary>
/// The build phase: import and optimize the ONNX graph, generate candidate kernels for every layer, time them on this
/// GPU at the optimal batch with CUDA events (results kept in a timing cache), keep the fastest, and return the plan.
/// </summary>
public static class PlanBuilder
{
    public static PlanModel Build(CudaContext ctx, KernelCompiler compiler, string onnxPath, BuildOptions o, TextWriter? log = null)
    {
        if (o.BatchMin < 1 || o.BatchMin > o.BatchOpt || o.BatchOpt > o.BatchMax)
            throw new EngineException($"batch profile {o.BatchMin}:{o.BatchOpt}:{o.BatchMax} must satisfy 1 <= min <= opt <= max");
        if (o.Precision == PlanPrecision.Int8)
            throw new EngineException("INT8 plans need calibration, which this Vigil does not implement yet; use fp32 or fp16");
        var sw = Stopwatch.StartNew();
        var graph = OnnxImporter.Load(onnxPath);
        var compiled = ModelCompiler.Compile(graph, o.Optimizer, o.BatchMax, log);
        var program = compiled.Program;
        if (o.Precision == PlanPrecision.Fp16 && o.Fp32Above > 0) KeepOverflowingInFp32(program, o, log);
        var header = new PlanHeader
        {
            GpuName = ctx.Name, ComputeMajor = ctx.ComputeCapability.Major, ComputeMinor = ctx.ComputeCapability.Minor,
            CudaDriverVersion = ctx.DriverVersion, NvrtcVersion = $"{compiler.NvrtcVersion.Major}.{compiler.NvrtcVersion.Minor}",
            CudnnVersion = "none", ModelSha256 = graph.SourceSha256, ModelName = Path.GetFileName(onnxPath), Precision = o.Precision,
            BatchMin = o.BatchMin, BatchOpt = o.BatchOpt, BatchMax = o.BatchMax,
        };
        var storage = StorageFor(program, o.Precision);
        var gen = new KernelGenerator(program, o.Precision, o.BatchMax);
        var candidates = Enumerable.Range(0, program.Layers.Count).Select(gen.Candidates).ToList();
        var io = program.Inputs.Select((x, i) => gen.InputKernel(i, x)).Concat(program.Outputs.Select((x, i) => gen.OutputKernel(i, x))).ToList();
        var compileWatch = Stopwatch.StartNew();
        using var set = KernelSet.Compile(compiler, gen, [.. candidates.SelectMany(c => c), .. io], Convert.ToHexStringLower(graph.SourceSha256)[..12] + (o.Precision == PlanPrecision.Fp16 ? "h" : "f"));
        log?.WriteLine($"compiled {set.Kernels.Count} candidate kernels in {compileWatch.Elapsed.TotalSeconds:F1} s (NVRTC, disk-cached)");

        var tuningPlan = new PlanModel { Header = header, Program = program, ConstantStorage = storage };
        string cachePath = o.TimingCache ?? Path.Combine(Path.GetDirectoryName(compiler.CacheDirectory) ?? ".", "timing-cache.tsv");
        var cache = LoadCache(cachePath);
        int hits = 0, timed = 0;
        using (var engine = new GpuEngine(ctx, compiler, tuningPlan, onnxPath, set))
        using (var stream = ctx.CreateStream())
        using (var start = ctx.CreateEvent(timing: true))
        using (var end = ctx.CreateEvent(timing: true))
        {
            // Realistic activations: a deterministic pseudo-random input run through the network once.
            var rnd = new Random(1);
            foreach (var inp in engine.Inputs)
            {
                var data = new float[inp.Length];
                for (int i = 0; i < data.Length; i++) data[i] = (float)rnd.NextDouble();
                inp.CopyFrom(stream, data);
            }
            engine.Enqueue(stream, o.BatchOpt);
            stream.Synchronize();
            for (int i = 0; i < program.Layers.Count; i++)
            {
                var layer = program.Layers[i];
                string best = "";
                float bestUs = float.MaxValue;
                foreach (var c in candidates[i])
                {
                    string key = CacheKey(header, gen.Prelude + c.Source, o.BatchOpt);
                    if (!cache.TryGetValue(key, out float us))
                    {
                        us = engine.TimeKernel(stream, set.Kernels[c.Launch.Function], c.Launch, o.BatchOpt, start, end);
                        cache[key] = us;
                        timed++;
                    }
                    else hits++;
                    if (us < bestUs) { bestUs = us; best = c.Tactic; }
                }
                layer.Tactic = best;
                layer.TacticMicroseconds = bestUs;
            }
        }
        SaveCache(cachePath, cache);
        log?.WriteLine($"tactics: {timed} kernels timed, {hits} from the timing cache ({cachePath})");
        var plan = new PlanModel
        {
            Header = header with { BuildSeconds = sw.Elapsed.TotalSeconds },
            Program = program,
            ConstantStorage = storage,
            KernelSource = gen.Prelude + string.Concat(Enumerable.Range(0, program.Layers.Count).Select(i => candidates[i].First(c => c.Tactic == program.Layers[i].Tactic).Source)),
        };
        log?.WriteLine($"build finished in {sw.Elapsed.TotalSeconds:F1} s; chosen tactics:");
        log?.Write(program.Describe());
        return plan;
    }

    /// <summary>
    /// Runs the program on the CPU reference executor (FP32) over calibration inputs and keeps every buffer whose
    /// activations exceed <see cref="BuildOptions.Fp32Above"/> in FP32; the layers touching them use FP32-capable kernels.
    /// </summary>
    internal static void KeepOverflowingInFp32(LayerProgram program, BuildOptions o, TextWriter? log)
    {
        var sw = Stopwatch.StartNew();
        IReadOnlyList<float[]> inputs;
        int images;
        if (o.CalibrationInputs is { } given)
        {
            inputs = given;
            images = (int)(given[0].Length / program.Inputs[0].Ref.Count);
        }
        else
        {
            var rnd = new Random(7);
            images = 2;
            inputs = program.Inputs.Select(io =>
            {
                long per = io.Ref.Count;
                var data = new float[per * 2];
                for (long i = 0; i < per; i++) { data[i] = (float)rnd.NextDouble(); data[per + i] = (float)rnd.NextDouble() * 255f; }
                return data;
            }).ToList();
        }
        var ranges = new Cpu.CpuExecutor(program).ActivationRanges(inputs, images);
        var wide = Enumerable.Range(0, ranges.Length).Where(b => ranges[b] > o.Fp32Above).ToList();
        program.KeepInFp32(wide);
        var layers = program.Layers.Where(l => l.Outputs.Any(t => !t.IsConst && wide.Contains(t.Buffer))).Select(l => l.Name).ToList();
        log?.WriteLine($"FP16 range check on {images} calibration image(s) in {sw.Elapsed.TotalSeconds:F1} s: largest activation {ranges.DefaultIfEmpty(0).Max():G4}; "
            + (layers.Count == 0 ? "no layer needs FP32" : $"kept in FP32 (above {o.Fp32Above:G4}): {string.Join(", ", layers)}"));
    }

    /// <summary>FP16 plans store convolution and GEMM weights in FP16 (their final precision); everything else stays FP32.</summary>
    public static ConstStorage[] StorageFor(LayerProgram program, PlanPrecision precision)
    {
        var s = program.Constants.Select(c => c.Kind == ElementKind.Int64 ? ConstStorage.Int64 : ConstStorage.Fp32).ToArray();
        if (precision == PlanPrecision.Fp16)
            foreach (var l in program.Layers.Where(l => l.Kind is LayerKind.Conv or LayerKind.Gemm))
                s[l.Inputs[1].Const] = ConstStorage.Fp16;
        return s;
    }

    private static string CacheKey(PlanHeader h, string source, int batch) =>
        $"{h.GpuName}|sm_{h.ComputeMajor}{h.ComputeMinor}|{h.CudaDriverVersion}|{h.NvrtcVersion}|b{batch}|{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(source)))}";

    private static Dictionary<string, float> LoadCache(string path)
    {
        var d = new Dictionary<string, float>(StringComparer.Ordinal);
        if (!File.Exists(path)) return d;
        foreach (var line in File.ReadLines(path))
        {
            int tab = line.LastIndexOf('\t');
            if (tab > 0 && float.TryParse(line.AsSpan(tab + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out float v)) d[line[..tab]] = v;
        }
        return d;
    }

    private static void SaveCache(string path, Dictionary<string, float> cache)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.WriteAllLines(path, cache.Select(kv => $"{kv.Key}\t{kv.Value.ToString("R", CultureInfo.InvariantCulture)}"));
        }
        catch (IOException) { /* a read-only cache only costs timing again next build */ }
    }
}
