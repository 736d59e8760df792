using System.Globalization;
using Vigil.Cuda;
using Vigil.Engine;
using Vigil.Engine.Gpu;
using Vigil.Engine.Graph;
using Vigil.Engine.Plan;

namespace Vigil.Gpu.Tests.Engine;

/// <summary>
/// cuDNN and cuBLAS tactics: plans restricted to library tactics (where a layer has any) must match ONNX Runtime CPU
/// as the NVRTC plans do, run inside CUDA graphs at every batch of the profile, and record the library versions.
/// Build logs (every layer's timed candidates) go to library-build-logs.txt beside the report.
/// </summary>
[Collection("Gpu")]
public sealed class LibraryTacticGpuTests(GpuFixture gpu)
{
    private PlanModel Build(string path, PlanPrecision precision, int min, int opt, int max, TacticFilter filter, string title) =>
        BuildWithLog(path, precision, min, opt, max, filter, title).Plan;

    private (PlanModel Plan, string Log) BuildWithLog(string path, PlanPrecision precision, int min, int opt, int max, TacticFilter filter, string title)
    {
        var log = new StringWriter();
        var plan = PlanBuilder.Build(gpu.Context, gpu.Compiler, path, new BuildOptions
        {
            Precision = precision, BatchMin = min, BatchOpt = opt, BatchMax = max, TacticFilter = filter,
            CalibrationRange = EngineGpuEnv.InputRange(path),
        }, log);
        string report = Environment.GetEnvironmentVariable("VIGIL_ENGINE_REPORT") ?? Path.Combine(Path.GetTempPath(), "vigil-engine-gpu-report.txt");
        string text = log.ToString();
        int from = text.IndexOf("library tactics:", StringComparison.Ordinal);
        int to = text.IndexOf("build finished", StringComparison.Ordinal);
        File.AppendAllText(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(report))!, "library-build-logs.txt"),
            $"===== {title}\n{(from >= 0 && to > from ? text[from..to] : text)}\n");
        return (plan, text);
    }

    private static float[] Input(string model, int per, int batch, int seed)
    {
        bool blaze = model.StartsWith("blazeface", StringComparison.Ordinal);
        var rnd = new Random(seed);
        var data = new float[per * batch];
        for (int i = 0; i < data.Length; i++) data[i] = blaze ? (float)(rnd.NextDouble() * 2 - 1) : (float)(rnd.NextDouble() * 255);
        return data;
    }

    /// <summary>Worst relative L2 error of images <paramref name="images"/> of the engine's outputs against ONNX Runtime CPU.</summary>
    private double WorstError(GpuEngine engine, string path, float[] data, int batch, IEnumerable<int> images)
    {
        var graph = OnnxImporter.Load(path);
        var input = graph.Inputs[0];
        int[] shape = [1, .. input.Shape[1..]];
        int per = (int)Shapes.Count(shape);
        foreach (var o in engine.Outputs) o.CopyFrom(gpu.Stream, Enumerable.Repeat(float.NaN, (int)o.Length).ToArray());
        engine.Inputs[0].CopyFrom(gpu.Stream, data.AsSpan(0, per * batch));
        engine.Run(gpu.Stream, batch);
        gpu.Stream.Synchronize();
        var outs = engine.Outputs.Select(o => o.ToArray(gpu.Stream)).ToArray();
        double worst = 0;
        foreach (int n in images)
        {
            var expected = EngineGpuEnv.Ort(path, input.Name, shape, data.AsSpan(n * per, per).ToArray());
            for (int k = 0; k < expected.Length; k++)
            {
                int len = expected[k].Length;
                worst = Math.Max(worst, EngineGpuEnv.RelL2(outs[k].AsSpan(n * len, len), expected[k]));
            }
        }
        return worst;
    }

    private static string Tactics(PlanModel plan) =>
        string.Join(", ", plan.Program.Layers.GroupBy(l => l.Tactic).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} x{g.Count()}"));

    [Theory]
    [MemberData(nameof(EngineGpuTests.Models), MemberType = typeof(EngineGpuTests))]
    public void Run_LibraryTacticsOnly_MatchesOnnxRuntimeCpu(string model, string precision)
    {
        Assert.True(CudaLibraries.Cudnn.IsAvailable, CudaLibraries.Cudnn.ToString());
        Assert.True(CudaLibraries.Cublas.IsAvailable, CudaLibraries.Cublas.ToString());
        string path = EngineGpuEnv.Model(model);
        var prec = precision == "fp16" ? PlanPrecision.Fp16 : PlanPrecision.Fp32;
        double tol = prec == PlanPrecision.Fp16 ? 1e-2 : 1e-4;
        var plan = Build(path, prec, 1, 4, 4, TacticFilter.Library, $"{model} {precision} library only, batch 4");

        // Every convolution cuDNN can compute and every GEMM cuBLAS can compute runs a library tactic.
        var missed = plan.Program.Layers.Where(l =>
            (LibraryTactics.CudnnApplies(l) || LibraryTactics.CublasApplies(l)) && !LibraryTactics.IsLibrary(l.Tactic)).Select(l => $"{l.Name} ({l.Tactic})").ToList();
        Assert.True(missed.Count == 0, $"{model} {precision}: layers left on NVRTC kernels: {string.Join("; ", missed)} (see library-build-logs.txt)");
        int convs = plan.Program.Layers.Count(l => l.Kind == LayerKind.Conv);
        int onLibrary = plan.Program.Layers.Count(l => l.Kind == LayerKind.Conv && LibraryTactics.IsLibrary(l.Tactic));
        Assert.True(onLibrary >= convs * 8 / 10, $"{onLibrary} of {convs} convolutions on library tactics");
        Assert.Equal(CudaLibraries.Cudnn.Version, plan.Header.CudnnVersion);

        using var engine = new GpuEngine(gpu.Context, gpu.Compiler, plan, model);
        Assert.Equal(plan.Program.Layers.Select(l => l.Tactic), engine.LayerTactics);
        const int batch = 3;
        var data = Input(model, (int)(engine.Inputs[0].Length / 4), batch, 11);
        engine.Inputs[0].CopyFrom(gpu.Stream, Enumerable.Repeat(float.NaN, (int)engine.Inputs[0].Length).ToArray());
        double worst = WorstError(engine, path, data, batch, [0, 1, 2]);
        EngineGpuEnv.Report($"library-only accuracy {model} {precision} batch {batch}: worst relative L2 vs ONNX Runtime CPU = {worst.ToString("E3", CultureInfo.InvariantCulture)} (limit {tol:E0}); " +
            $"{onLibrary} of {convs} convolutions on library tactics; cuDNN {plan.Header.CudnnVersion}, cuBLAS {plan.Header.CublasVersion}; tactics {Tactics(plan)}");
        Assert.True(worst <= tol, $"{model} {precision} (library tactics): relative L2 {worst:E3} > {tol:E0}");
    }

    [Fact]
    public void Run_LibraryPlanAtSeveralBatches_CapturesOneGraphEachAndSurvivesSaveLoad()
    {
        const string model = "person-reidentification-retail-0287.onnx";
        string path = EngineGpuEnv.Model(model);
        var plan = Build(path, PlanPrecision.Fp16, 1, 2, 8, TacticFilter.Library, $"{model} fp16 library only, batch 1:2:8");
        Assert.Contains(plan.Program.Layers, l => l.Kind == LayerKind.Gemm && l.Tactic == LibraryTactics.CublasTactic);
        Assert.NotEqual("none", plan.Header.CublasVersion);
        string file = Path.Combine(gpu.CacheDirectory, "reid-library.plan");
        Directory.CreateDirectory(gpu.CacheDirectory);
        PlanFile.Save(plan, file);
        var loaded = PlanFile.Load(file);
        Assert.Contains($"cuDNN {plan.Header.CudnnVersion}, cuBLAS {plan.Header.CublasVersion}", PlanFile.Describe(loaded, new FileInfo(file).Length));

        using var engine = new GpuEngine(gpu.Context, gpu.Compiler, loaded, file);
        var data = Input(model, (int)(engine.Inputs[0].Length / 8), 8, 5);
        double worst = 0;
        foreach (int batch in new[] { 8, 3, 1, 8 })
            worst = Math.Max(worst, WorstError(engine, path, data, batch, batch == 1 ? [0] : [0, batch - 1]));
        Assert.Equal(3, engine.CapturedGraphs);
        EngineGpuEnv.Report($"library plan {model} fp16 at batches 8, 3, 1 (CUDA graphs, plan saved and loaded): worst relative L2 {worst.ToString("E3", CultureInfo.InvariantCulture)}; device memory {engine.DeviceBytes / 1048576.0:F1} MiB");
        Assert.True(worst <= 1e-2, $"relative L2 {worst:E3}");

        // Inputs written straight into the arena (FP16) at a batch not captured yet: the library warm-up before the
        // capture must leave them intact, so the result equals the converting run's.
        const int b5 = 5;
        int per = (int)(engine.Inputs[0].Length / 8);
        engine.Inputs[0].CopyFrom(gpu.Stream, data.AsSpan(0, per * b5));
        engine.Run(gpu.Stream, b5);
        var converted = engine.Outputs.Select(o => o.ToArray(gpu.Stream).AsSpan(0, (int)(o.Length / 8 * b5)).ToArray()).ToArray();
        foreach (var o in engine.Outputs) o.CopyFrom(gpu.Stream, Enumerable.Repeat(float.NaN, (int)o.Length).ToArray());
        var half = data.AsSpan(0, per * b5).ToArray().Select(v => (Half)v).ToArray();
        using (var staging = DeviceBuffer<Half>.Allocate(gpu.Context, half.Length))
        {
            staging.CopyFrom(gpu.Stream, half);
            gpu.Stream.CopyDeviceToDevice(staging.Pointer, engine.ArenaInput(0, b5), half.Length * 2L);
            engine.Run(gpu.Stream, b5, convertInputs: false);
            gpu.Stream.Synchronize();
        }
        for (int k = 0; k < converted.Length; k++)
            Assert.Equal(converted[k], engine.Outputs[k].ToArray(gpu.Stream).AsSpan(0, converted[k].Length).ToArray());
        Assert.Equal(5, engine.CapturedGraphs);
    }

    [Fact]
    public void Constructor_PlanWithOtherCudnnVersion_ThrowsClearError()
    {
        string path = EngineGpuEnv.Model("blazeface_front_128x128.onnx");
        var plan = Build(path, PlanPrecision.Fp32, 1, 1, 1, TacticFilter.Library, "blazeface fp32 library only, batch 1");
        string here = CudaLibraries.Cudnn.Version!;
        Assert.Equal(here, plan.Header.CudnnVersion);
        var other = new PlanModel { Header = plan.Header with { CudnnVersion = "9.0.0" }, Program = plan.Program, ConstantStorage = plan.ConstantStorage };
        var ex = Assert.Throws<EngineException>(() => new GpuEngine(gpu.Context, gpu.Compiler, other, "old-cudnn.plan"));
        Assert.Equal($"old-cudnn.plan: the plan's tactics were built with cuDNN 9.0.0, but this machine has cuDNN {here}; rebuild it with 'vigil build' on this machine", ex.Message);
        using var ok = new GpuEngine(gpu.Context, gpu.Compiler, plan, "blaze.plan");
    }

    /// <summary>YOLOX FP16 at batch 32 with every tactic competing: the plan is right, and which library tactics won is reported.</summary>
    [Fact]
    public void Build_YoloxFp16Batch32AllTactics_MatchesOnnxRuntimeAndReportsLibraryWinners()
    {
        const string model = "yolox_nano_416x416.onnx";
        string path = EngineGpuEnv.Model(model);
        var (plan, log) = BuildWithLog(path, PlanPrecision.Fp16, 1, 32, 32, TacticFilter.All, $"{model} fp16 all tactics, batch 32");
        using var engine = new GpuEngine(gpu.Context, gpu.Compiler, plan, model);
        var data = Input(model, (int)(engine.Inputs[0].Length / 32), 32, 3);
        double worst = WorstError(engine, path, data, 32, [0, 31]);
        var convs = plan.Program.Layers.Where(l => l.Kind == LayerKind.Conv).ToList();
        var won = convs.Where(l => LibraryTactics.IsLibrary(l.Tactic)).ToList();
        EngineGpuEnv.Report($"yolox fp16 batch 32, all tactics: library tactics won {won.Count} of {convs.Count} convolutions " +
            $"({string.Join(", ", won.GroupBy(l => l.Tactic).Select(g => $"{g.Key} x{g.Count()}"))}); conv time {convs.Sum(l => l.TacticMicroseconds):F0} us of " +
            $"{plan.Program.Layers.Sum(l => l.TacticMicroseconds):F0} us; worst relative L2 vs ONNX Runtime {worst.ToString("E3", CultureInfo.InvariantCulture)}");
        foreach (var l in won)
            EngineGpuEnv.Report($"  yolox b32 {l.Name}: {l.Tactic} {l.TacticMicroseconds:F1} us");
        Assert.True(worst <= 1e-2, $"relative L2 {worst:E3}");
        // Every convolution had at least one cuDNN algorithm checked and timed against the NVRTC kernels.
        var lines = log[log.IndexOf("tactic timing at batch", StringComparison.Ordinal)..].Split('\n');
        for (int i = 0; i < plan.Program.Layers.Count; i++)
        {
            if (plan.Program.Layers[i].Kind != LayerKind.Conv) continue;
            string line = lines.First(x => x.StartsWith($"  [{i,3}] Conv", StringComparison.Ordinal));
            Assert.Matches(@"cudnn:\w+\*? \d", line);
        }
    }
}
