using Vigil.Engine;
using Vigil.Engine.Cpu;
using Vigil.Engine.Gpu;
using Vigil.Engine.Graph;
using Vigil.Engine.Optimizer;
using Vigil.Engine.Plan;

namespace Vigil.Tests.Engine;

/// <summary>FP16 plans keep the activations that would overflow FP16 in FP32 (the selection and the arena layout; the GPU kernels are tested on the GPU).</summary>
public class MixedPrecisionTests
{
    private static LayerProgram Compile() =>
        ModelCompiler.Compile(OnnxImporter.Parse(SyntheticModels.Fp16Overflow(), "fp16_overflow.onnx"), OptimizerOptions.All, 4).Program;

    [Fact]
    public void KeepOverflowingInFp32_ActivationsPastFp16Range_WidensOnlyThoseBuffers()
    {
        var program = Compile();
        var log = new StringWriter();
        PlanBuilder.KeepOverflowingInFp32(program, new BuildOptions(), log);

        var convs = program.Layers.Where(l => l.Kind == LayerKind.Conv).ToList();
        Assert.Equal(2, convs.Count);
        Assert.True(program.Buffers[convs[0].Outputs[0].Buffer].Fp32, log.ToString());   // conv1 + relu: values ~1e5
        Assert.False(program.Buffers[convs[1].Outputs[0].Buffer].Fp32, log.ToString());  // conv2: thousands, fits FP16
        Assert.False(program.Buffers[program.Inputs[0].Ref.Buffer].Fp32);
        Assert.Contains("kept in FP32", log.ToString());
        Assert.Contains(convs[0].Name, log.ToString());
    }

    [Fact]
    public void KeepInFp32_WidenedBuffer_DoesNotOverlapAnyOtherAndRunsIdentically()
    {
        var plain = Compile();
        var widened = Compile();
        int wide = widened.Layers.First(l => l.Kind == LayerKind.Conv).Outputs[0].Buffer;
        widened.KeepInFp32([wide]);

        var w = widened.Buffers[wide];
        Assert.True(w.Fp32);
        Assert.True(w.SampleSize >= 2 * plain.Buffers[wide].SampleSize);
        for (int b = 0; b < widened.Buffers.Count; b++)
        {
            if (b == wide) continue;
            var o = widened.Buffers[b];
            Assert.True(o.Offset + o.SampleSize <= w.Offset || w.Offset + w.SampleSize <= o.Offset, $"buffer {b} overlaps the FP32 buffer");
        }
        var x = SyntheticModels.Random(4 * 8 * 8 * 3, 21).Select(v => 127.5f + 127.5f * v).ToArray();
        var a = new CpuExecutor(plain).Run([x], 3);
        var c = new CpuExecutor(widened).Run([x], 3);
        Assert.Equal(a[0], c[0]);
    }

    [Fact]
    public void Deserialize_Fp32Buffers_SurviveTheRoundTripAndShowInInspect()
    {
        var program = Compile();
        PlanBuilder.KeepOverflowingInFp32(program, new BuildOptions(), null);
        var plan = new PlanModel
        {
            Header = new PlanHeader
            {
                GpuName = "Test GPU", ComputeMajor = 9, ComputeMinor = 0, CudaDriverVersion = 13000, NvrtcVersion = "13.0", CudnnVersion = "none",
                ModelSha256 = new byte[32], ModelName = "fp16_overflow.onnx", Precision = PlanPrecision.Fp16, BatchMin = 1, BatchOpt = 2, BatchMax = 4,
            },
            Program = program,
            ConstantStorage = PlanBuilder.StorageFor(program, PlanPrecision.Fp16),
        };
        var bytes = PlanFile.Serialize(plan);
        var loaded = PlanFile.Deserialize(bytes, "o.plan");
        Assert.Equal(program.Buffers.Select(b => b.Fp32), loaded.Program.Buffers.Select(b => b.Fp32));
        Assert.Equal(program.ArenaPerSample, loaded.Program.ArenaPerSample);
        string text = PlanFile.Describe(loaded, bytes.Length);
        Assert.Contains("kept in FP32 (FP16 would overflow): " + program.Layers.First(l => l.Kind == LayerKind.Conv).Name, text);
    }

    [Fact]
    public void Run_MixedShapesModel_CpuExecutorMatchesOnnxRuntime()
    {
        byte[] bytes = SyntheticModels.MixedShapes();
        var compiled = ModelCompiler.Compile(OnnxImporter.Parse(bytes, "mixed_shapes.onnx"), OptimizerOptions.All, 2);
        var x = SyntheticModels.Random(6 * 23 * 19, 31, 2f);
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(bytes);
        using var results = session.Run([Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("x", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(x, [1, 6, 23, 19]))]);
        var expected = results.First().AsTensor<float>().ToArray();
        var got = new CpuExecutor(compiled.Program).Run([x], 1)[0];
        Assert.Equal(expected.Length, got.Length);
        Assert.True(EngineTestModels.RelativeL2(got, expected) < 1e-5);
    }
}
