using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Vigil.Cuda;
using Vigil.Engine;
using Vigil.Engine.Gpu;
using Vigil.Engine.Graph;
using Vigil.Engine.Plan;

namespace Vigil.Gpu.Tests.Engine;

/// <summary>Locations of models/frames on the GPU machine and the report file the figures go to.</summary>
internal static class EngineGpuEnv
{
    public static string Model(string name)
    {
        string? dir = Environment.GetEnvironmentVariable("VIGIL_MODELS");
        var candidates = new List<string>();
        if (!string.IsNullOrEmpty(dir)) candidates.Add(Path.Combine(dir, name));
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent) candidates.Add(Path.Combine(d.FullName, "models", name));
        return candidates.FirstOrDefault(File.Exists) ?? throw new FileNotFoundException($"model {name} not found (set VIGIL_MODELS)");
    }

    private static readonly Lock s_lock = new();

    /// <summary>Appends a line to $VIGIL_ENGINE_REPORT (or the temp folder) and the console.</summary>
    public static void Report(string line)
    {
        string path = Environment.GetEnvironmentVariable("VIGIL_ENGINE_REPORT") ?? Path.Combine(Path.GetTempPath(), "vigil-engine-gpu-report.txt");
        lock (s_lock) File.AppendAllText(path, line + Environment.NewLine);
        Console.WriteLine(line);
    }

    public static float[][] Ort(string path, string input, int[] shape, float[] data)
    {
        using var opts = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var s = new InferenceSession(path, opts);
        using var r = s.Run([NamedOnnxValue.CreateFromTensor(input, new DenseTensor<float>(data, shape))]);
        return s.OutputMetadata.Keys.Select(k => r.First(x => x.Name == k).AsTensor<float>().ToArray()).ToArray();
    }

    /// <summary>The input range the test data of a model is drawn from: BlazeFace takes [-1, 1], the others pixel values.</summary>
    public static (float Low, float High) InputRange(string modelPath) =>
        Path.GetFileName(modelPath).StartsWith("blazeface", StringComparison.Ordinal) ? (-1f, 1f) : (0f, 255f);

    public static double RelL2(ReadOnlySpan<float> a, ReadOnlySpan<float> e)
    {
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (!float.IsFinite(a[i])) return double.PositiveInfinity;
            double d = a[i] - e[i]; num += d * d; den += (double)e[i] * e[i];
        }
        return Math.Sqrt(num / Math.Max(den, 1e-30));
    }
}

[Collection("Gpu")]
public sealed class EngineGpuTests(GpuFixture gpu)
{
    public static TheoryData<string, string> Models()
    {
        var d = new TheoryData<string, string>();
        foreach (var m in new[] { "yolox_nano_416x416.onnx", "person-reidentification-retail-0287.onnx", "blazeface_front_128x128.onnx" })
            foreach (var p in new[] { "fp32", "fp16" })
                d.Add(m, p);
        return d;
    }

    private PlanModel Build(string path, PlanPrecision precision, int opt, int max) =>
        PlanBuilder.Build(gpu.Context, gpu.Compiler, path, new BuildOptions { Precision = precision, BatchMin = 1, BatchOpt = opt, BatchMax = max, CalibrationRange = EngineGpuEnv.InputRange(path) });

    [Theory]
    [MemberData(nameof(Models))]
    public void Run_EveryModel_MatchesOnnxRuntimeCpu(string model, string precision)
    {
        string path = EngineGpuEnv.Model(model);
        var prec = precision == "fp16" ? PlanPrecision.Fp16 : PlanPrecision.Fp32;
        double tol = prec == PlanPrecision.Fp16 ? 1e-2 : 1e-4;
        var plan = Build(path, prec, 4, 4);
        using var engine = new GpuEngine(gpu.Context, gpu.Compiler, plan, model);
        var graph = OnnxImporter.Load(path);
        var input = graph.Inputs[0];
        int[] shape = [1, .. input.Shape[1..]];
        int per = (int)Shapes.Count(shape);
        bool blaze = model.StartsWith("blazeface", StringComparison.Ordinal);
        var rnd = new Random(11);
        const int batch = 3;
        var data = new float[per * batch];
        for (int i = 0; i < data.Length; i++) data[i] = blaze ? (float)(rnd.NextDouble() * 2 - 1) : (float)(rnd.NextDouble() * 255);

        // Poison inputs/outputs beyond the batch so unwritten or misplaced values show.
        engine.Inputs[0].CopyFrom(gpu.Stream, Enumerable.Repeat(float.NaN, (int)engine.Inputs[0].Length).ToArray());
        engine.Inputs[0].CopyFrom(gpu.Stream, data);
        foreach (var o in engine.Outputs) o.CopyFrom(gpu.Stream, Enumerable.Repeat(float.NaN, (int)o.Length).ToArray());
        engine.Run(gpu.Stream, batch);
        gpu.Stream.Synchronize();
        var outs = engine.Outputs.Select(o => o.ToArray(gpu.Stream)).ToArray();

        double worst = 0;
        for (int n = 0; n < batch; n++)
        {
            var expected = EngineGpuEnv.Ort(path, input.Name, shape, data.AsSpan(n * per, per).ToArray());
            for (int k = 0; k < expected.Length; k++)
            {
                int len = expected[k].Length;
                worst = Math.Max(worst, EngineGpuEnv.RelL2(outs[k].AsSpan(n * len, len), expected[k]));
            }
        }
        EngineGpuEnv.Report($"accuracy {model} {precision} batch {batch}: worst relative L2 vs ONNX Runtime CPU = {worst.ToString("E3", CultureInfo.InvariantCulture)} (limit {tol:E0}); {plan.Program.Buffers.Count(b => b.Fp32)} buffer(s) kept in FP32; tactics {string.Join(", ", plan.Program.Layers.GroupBy(l => l.Tactic).Select(g => $"{g.Key} x{g.Count()}"))}");
        Assert.True(worst <= tol, $"{model} {precision}: relative L2 {worst:E3} > {tol:E0}");
    }

    [Fact]
    public void Load_SavedPlan_RunsIdenticallyAndCapturesOneGraphPerBatch()
    {
        string path = EngineGpuEnv.Model("blazeface_front_128x128.onnx");
        var plan = Build(path, PlanPrecision.Fp16, 2, 8);
        string file = Path.Combine(gpu.CacheDirectory, "blaze.plan");
        Directory.CreateDirectory(gpu.CacheDirectory);
        PlanFile.Save(plan, file);
        using var a = new GpuEngine(gpu.Context, gpu.Compiler, plan, "built");
        using var b = new GpuEngine(gpu.Context, gpu.Compiler, PlanFile.Load(file), file);
        var data = Enumerable.Range(0, (int)a.Inputs[0].Length).Select(i => MathF.Sin(i * 0.37f)).ToArray();
        a.Inputs[0].CopyFrom(gpu.Stream, data);
        b.Inputs[0].CopyFrom(gpu.Stream, data);
        foreach (int n in new[] { 1, 5, 8, 5 }) { a.Run(gpu.Stream, n); b.Run(gpu.Stream, n); }
        gpu.Stream.Synchronize();
        Assert.Equal(3, b.CapturedGraphs);
        for (int k = 0; k < a.Outputs.Length; k++)
            Assert.Equal(a.Outputs[k].ToArray(gpu.Stream).AsSpan(0, (int)(a.Outputs[k].Length * 5 / 8)).ToArray(),
                         b.Outputs[k].ToArray(gpu.Stream).AsSpan(0, (int)(b.Outputs[k].Length * 5 / 8)).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Run(gpu.Stream, 9));
    }

    [Fact]
    public void Constructor_PlanForOtherGpu_ThrowsClearError()
    {
        string path = EngineGpuEnv.Model("blazeface_front_128x128.onnx");
        var plan = Build(path, PlanPrecision.Fp32, 1, 1);
        var other = new PlanModel { Header = plan.Header with { GpuName = "NVIDIA A100-SXM4-80GB", ComputeMajor = 8 }, Program = plan.Program, ConstantStorage = plan.ConstantStorage };
        var ex = Assert.Throws<EngineException>(() => new GpuEngine(gpu.Context, gpu.Compiler, other, "a100.plan"));
        Assert.Contains("the plan was built for NVIDIA A100-SXM4-80GB (sm_80", ex.Message);
    }

    /// <summary>vtest frames letterboxed to 416x416 BGR (prepared with ffmpeg beside the models: vtest_416.bgr).</summary>
    [Theory]
    [InlineData("fp32")]
    [InlineData("fp16")]
    public void YoloxGpuPostprocess_VtestFrames_MatchOnnxRuntimeDetections(string precision)
    {
        string path = EngineGpuEnv.Model("yolox_nano_416x416.onnx");
        string frames = Path.Combine(Path.GetDirectoryName(path)!, "vtest_416.bgr");
        byte[] raw = File.ReadAllBytes(frames);
        const int per = 3 * 416 * 416;
        int count = raw.Length / (416 * 416 * 3);
        var nchw = new float[count * per];
        for (int n = 0; n < count; n++)
            for (int y = 0; y < 416; y++)
                for (int x = 0; x < 416; x++)
                    for (int c = 0; c < 3; c++)
                        nchw[n * per + c * 416 * 416 + y * 416 + x] = raw[((long)n * 416 * 416 + y * 416 + x) * 3 + c];

        var plan = Build(path, precision == "fp16" ? PlanPrecision.Fp16 : PlanPrecision.Fp32, count, count);
        using var engine = new GpuEngine(gpu.Context, gpu.Compiler, plan, "yolox");
        using var post = new YoloxGpuPostprocess(gpu.Context, gpu.Compiler, 416, 3549, 85, count);
        engine.Inputs[0].CopyFrom(gpu.Stream, nchw);
        engine.Run(gpu.Stream, count);
        var gpuDets = post.Run(gpu.Stream, engine.Outputs[0], count, 0.3f, 0.45f);

        int total = 0;
        double worstIou = 1;
        for (int n = 0; n < count; n++)
        {
            var ort = EngineGpuEnv.Ort(path, "images", [1, 3, 416, 416], nchw.AsSpan(n * per, per).ToArray())[0];
            var cpu = ReferenceDecode(ort, 0.3f, 0.45f);
            Assert.True(cpu.Count == gpuDets[n].Count, $"frame {n}: ONNX Runtime {cpu.Count} detections, GPU engine {gpuDets[n].Count}");
            foreach (var d in cpu)
            {
                var best = gpuDets[n].Where(g => g.ClassId == d.ClassId).Select(g => Iou(g, d)).DefaultIfEmpty(0).Max();
                worstIou = Math.Min(worstIou, best);
                Assert.True(best > 0.9, $"frame {n}: ONNX Runtime box {d} has no GPU match with IoU > 0.9 (best {best:F3})");
            }
            total += cpu.Count;
        }
        Assert.True(total > 0, "vtest frames should contain people");
        EngineGpuEnv.Report($"yolox detections {precision}: {count} vtest frames, {total} detections, counts equal, worst matched IoU {worstIou:F4}");
    }

    private static double Iou(GpuDetection a, GpuDetection b)
    {
        double ix = Math.Max(0, Math.Min(a.X2, b.X2) - Math.Max(a.X1, b.X1)), iy = Math.Max(0, Math.Min(a.Y2, b.Y2) - Math.Max(a.Y1, b.Y1));
        double inter = ix * iy, u = (a.X2 - a.X1) * (a.Y2 - a.Y1) + (b.X2 - b.X1) * (b.Y2 - b.Y1) - inter;
        return u > 0 ? inter / u : 0;
    }

    /// <summary>CPU reference: the decode described in MODELS.md, best class per anchor, class-aware greedy NMS.</summary>
    private static List<GpuDetection> ReferenceDecode(float[] o, float thr, float iou)
    {
        var cands = new List<GpuDetection>();
        int a = 0;
        foreach (int s in new[] { 8, 16, 32 })
        {
            int g = 416 / s;
            for (int gy = 0; gy < g; gy++)
                for (int gx = 0; gx < g; gx++, a++)
                {
                    var p = o.AsSpan(a * 85, 85);
                    int best = 0;
                    for (int c = 1; c < 80; c++) if (p[5 + c] > p[5 + best]) best = c;
                    float score = p[4] * p[5 + best];
                    if (score < thr) continue;
                    float cx = (p[0] + gx) * s, cy = (p[1] + gy) * s, w = MathF.Exp(p[2]) * s, h = MathF.Exp(p[3]) * s;
                    cands.Add(new GpuDetection(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score, best));
                }
        }
        var kept = new List<GpuDetection>();
        foreach (var c in cands.OrderByDescending(c => c.Score))
            if (!kept.Any(k => k.ClassId == c.ClassId && Iou(k, c) > iou)) kept.Add(c);
        return kept.Take(100).ToList();
    }
}

[Collection("Gpu")]
public sealed class EnginePlanCacheGpuTests(GpuFixture gpu)
{
    [Fact]
    public void LoadOrBuild_SecondCall_LoadsCachedPlanNextToModelAndRunsThroughInferenceEngine()
    {
        string dir = Path.Combine(gpu.CacheDirectory, "plan-cache");
        Directory.CreateDirectory(dir);
        string model = Path.Combine(dir, "blazeface_front_128x128.onnx");
        File.Copy(EngineGpuEnv.Model("blazeface_front_128x128.onnx"), model, overwrite: true);
        var o = new BuildOptions { Precision = PlanPrecision.Fp16, BatchMin = 1, BatchOpt = 2, BatchMax = 4 };
        var (first, built1) = PlanCache.LoadOrBuild(gpu.Context, gpu.Compiler, model, o);
        var (second, built2) = PlanCache.LoadOrBuild(gpu.Context, gpu.Compiler, model, o);
        Assert.True(built1);
        Assert.False(built2);
        Assert.True(File.Exists(PlanCache.PathFor(gpu.Context, model, o)));
        Assert.Equal(first.Program.Layers.Select(l => l.Tactic), second.Program.Layers.Select(l => l.Tactic));

        using var infer = new PlanInferenceEngine(new GpuEngine(gpu.Context, gpu.Compiler, second, "cached"), model);
        var x = Enumerable.Range(0, 2 * 128 * 128 * 3).Select(i => MathF.Cos(i * 0.013f)).ToArray();
        x.CopyTo(infer.InputBuffer(0).Span);
        infer.Run(2);
        var expected = EngineGpuEnv.Ort(EngineGpuEnv.Model("blazeface_front_128x128.onnx"), "input:0", [1, 128, 128, 3], x.AsSpan(128 * 128 * 3).ToArray());
        for (int k = 0; k < expected.Length; k++)
        {
            int len = expected[k].Length;
            double err = EngineGpuEnv.RelL2(infer.OutputBuffer(k).Span.Slice(len, len), expected[k]);
            Assert.True(err < 1e-2, $"output {k}: relative L2 {err:E3}");
        }
    }
}
