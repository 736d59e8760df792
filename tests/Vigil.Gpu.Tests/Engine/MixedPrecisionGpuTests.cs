using System.Globalization;
using Vigil.Engine.Gpu;
using Vigil.Engine.Plan;
using Vigil.Tests.Engine;

namespace Vigil.Gpu.Tests.Engine;

/// <summary>FP16 plans keep activations that would overflow FP16 in FP32, on the GPU, against ONNX Runtime.</summary>
[Collection("Gpu")]
public sealed class MixedPrecisionGpuTests(GpuFixture gpu)
{
    [Fact]
    public void Run_Fp16PlanWithActivationsPastFp16Range_KeepsThemInFp32AndMatchesOnnxRuntime()
    {
        string path = Path.Combine(Path.GetTempPath(), $"vigil-fp16-overflow-{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, SyntheticModels.Fp16Overflow());
        const int batch = 2, per = 4 * 8 * 8;
        var rnd = new Random(5);
        var x = Enumerable.Range(0, per * batch).Select(_ => (float)(rnd.NextDouble() * 255)).ToArray();
        var expected = Enumerable.Range(0, batch).Select(n => EngineGpuEnv.Ort(path, "x", [1, 4, 8, 8], x.AsSpan(n * per, per).ToArray())[0]).ToArray();
        float largest = expected.SelectMany(e => e).Max(MathF.Abs);

        (double Error, int Fp32Buffers) Run(float fp32Above)
        {
            var plan = PlanBuilder.Build(gpu.Context, gpu.Compiler, path,
                new BuildOptions { Precision = PlanPrecision.Fp16, BatchMin = 1, BatchOpt = batch, BatchMax = batch, Fp32Above = fp32Above });
            using var engine = new GpuEngine(gpu.Context, gpu.Compiler, plan, path);
            engine.Inputs[0].CopyFrom(gpu.Stream, x);
            engine.Run(gpu.Stream, batch);
            gpu.Stream.Synchronize();
            var y = engine.Outputs[0].ToArray(gpu.Stream);
            double worst = 0;
            for (int n = 0; n < batch; n++) worst = Math.Max(worst, EngineGpuEnv.RelL2(y.AsSpan(n * per, per), expected[n]));
            return (worst, plan.Program.Buffers.Count(b => b.Fp32));
        }

        var kept = Run(new BuildOptions().Fp32Above);
        var off = Run(0);
        EngineGpuEnv.Report($"fp16 overflow model (intermediate activations up to ~1e5, outputs up to {largest:F0}): relative L2 vs ONNX Runtime "
            + $"{kept.Error.ToString("E3", CultureInfo.InvariantCulture)} with {kept.Fp32Buffers} buffer(s) kept in FP32; "
            + $"{(double.IsFinite(off.Error) ? off.Error.ToString("E3", CultureInfo.InvariantCulture) : "non-finite output")} with the check off");
        Assert.True(kept.Fp32Buffers >= 1);
        Assert.True(kept.Error <= 1e-2, $"relative L2 {kept.Error:E3} with FP32 buffers");
        Assert.Equal(0, off.Fp32Buffers);
        Assert.True(!double.IsFinite(off.Error) || off.Error > 0.1, $"the pure FP16 plan should overflow, got relative L2 {off.Error:E3}");
        File.Delete(path);
    }
}

/// <summary>The engine on shapes the bundled models lack (dilation, stride 2 with asymmetric padding, odd sizes, residual 1x1, transpose).</summary>
[Collection("Gpu")]
public sealed class SyntheticModelGpuTests(GpuFixture gpu)
{
    [Theory]
    [InlineData("fp32", "all")]
    [InlineData("fp16", "all")]
    [InlineData("fp16", "library")]
    public void Run_MixedShapesModel_MatchesOnnxRuntime(string precision, string tactics)
    {
        string path = Path.Combine(Path.GetTempPath(), $"vigil-mixed-shapes-{Environment.ProcessId}-{precision}-{tactics}.onnx");
        File.WriteAllBytes(path, SyntheticModels.MixedShapes());
        var prec = precision == "fp16" ? PlanPrecision.Fp16 : PlanPrecision.Fp32;
        double tol = prec == PlanPrecision.Fp16 ? 1e-2 : 1e-4;
        const int batch = 3, per = 6 * 23 * 19, outPer = 108 * 20;
        var x = SyntheticModels.Random(per * batch, 41, 2f);
        var plan = PlanBuilder.Build(gpu.Context, gpu.Compiler, path, new BuildOptions
        {
            Precision = prec, BatchMin = 1, BatchOpt = batch, BatchMax = 4, CalibrationRange = (-2f, 2f),
            TacticFilter = LibraryTactics.ParseFilter(tactics),
        });
        using var engine = new GpuEngine(gpu.Context, gpu.Compiler, plan, path);
        engine.Inputs[0].CopyFrom(gpu.Stream, x);
        engine.Run(gpu.Stream, batch);
        gpu.Stream.Synchronize();
        var y = engine.Outputs[0].ToArray(gpu.Stream);
        double worst = 0;
        for (int n = 0; n < batch; n++)
        {
            var expected = EngineGpuEnv.Ort(path, "x", [1, 6, 23, 19], x.AsSpan(n * per, per).ToArray())[0];
            worst = Math.Max(worst, EngineGpuEnv.RelL2(y.AsSpan(n * outPer, outPer), expected));
        }
        EngineGpuEnv.Report($"mixed-shapes model {precision} ({tactics} tactics) batch {batch}: worst relative L2 vs ONNX Runtime CPU = "
            + $"{worst.ToString("E3", CultureInfo.InvariantCulture)} (limit {tol:E0}); tactics {string.Join(", ", plan.Program.Layers.Select(l => l.Tactic))}");
        Assert.True(worst <= tol, $"relative L2 {worst:E3} > {tol:E0}");
        File.Delete(path);
    }
}
