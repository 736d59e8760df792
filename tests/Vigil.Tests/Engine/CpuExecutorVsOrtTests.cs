using Vigil.Engine;
using Vigil.Engine.Cpu;
using Vigil.Engine.Graph;
using Vigil.Engine.Optimizer;

namespace Vigil.Tests.Engine;

/// <summary>
/// Every optimizer pass must preserve the model's outputs: the layer program run by the CPU reference executor is
/// compared with ONNX Runtime (CPU) on the same input, relative L2 error at most 1e-4 in FP32.
/// </summary>
public class CpuExecutorVsOrtTests
{
    public static TheoryData<string, string> Cases()
    {
        var d = new TheoryData<string, string>();
        foreach (var m in new[] { EngineTestModels.Yolox, EngineTestModels.Reid, EngineTestModels.BlazeFace })
            foreach (var p in new[] { "none", "all" })
                d.Add(m, p);
        foreach (var p in new[] { "bn", "pointwise", "epilogue", "parallel", "concat", "memory", "slices" })
            d.Add(EngineTestModels.Yolox, p);
        return d;
    }

    internal static OptimizerOptions Options(string passes) => passes switch
    {
        "none" => OptimizerOptions.None,
        "all" => OptimizerOptions.All,
        "bn" => OptimizerOptions.None with { FoldBatchNorm = true },
        "pointwise" => OptimizerOptions.None with { MergePointwise = true },
        "epilogue" => OptimizerOptions.None with { FuseConvEpilogue = true },
        "parallel" => OptimizerOptions.None with { MergeParallelConvs = true },
        "concat" => OptimizerOptions.None with { EliminateConcat = true },
        "memory" => OptimizerOptions.None with { ReuseMemory = true },
        "slices" => OptimizerOptions.None with { MergeSlices = true },
        _ => throw new ArgumentException(passes),
    };

    internal static (float Lo, float Hi) InputRange(string model) => model == EngineTestModels.BlazeFace ? (-1f, 1f) : (0f, 255f);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Run_WithPasses_MatchesOnnxRuntime(string model, string passes)
    {
        string path = EngineTestModels.PathOf(model);
        var compiled = ModelCompiler.Compile(path, Options(passes), maxBatch: 1);
        var input = compiled.Source.Inputs[0];
        int[] shape = [1, .. input.Shape[1..]];
        var (lo, hi) = InputRange(model);
        var data = EngineTestModels.RandomInput((int)Shapes.Count(shape), 17, lo, hi);

        var expected = EngineTestModels.RunOrt(path, input.Name, shape, data);
        var actual = new CpuExecutor(compiled.Program).Run([data], 1);

        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
        {
            double err = EngineTestModels.RelativeL2(actual[i], expected[i]);
            Assert.True(err <= 1e-4, $"{model} passes={passes} output {i}: relative L2 {err:E3} > 1e-4");
        }
    }

    [Theory]
    [InlineData(EngineTestModels.Yolox)]
    [InlineData(EngineTestModels.Reid)]
    [InlineData(EngineTestModels.BlazeFace)]
    public void Run_Batch3_EachImageMatchesOnnxRuntimeAtBatch1(string model)
    {
        string path = EngineTestModels.PathOf(model);
        var compiled = ModelCompiler.Compile(path, OptimizerOptions.All, maxBatch: 8);
        var input = compiled.Source.Inputs[0];
        int[] shape = [1, .. input.Shape[1..]];
        int per = (int)Shapes.Count(shape);
        var (lo, hi) = InputRange(model);
        var images = Enumerable.Range(0, 3).Select(i => EngineTestModels.RandomInput(per, 100 + i, lo, hi)).ToArray();

        var outs = new CpuExecutor(compiled.Program).Run([images.SelectMany(x => x).ToArray()], 3);

        for (int n = 0; n < 3; n++)
        {
            var expected = EngineTestModels.RunOrt(path, input.Name, shape, images[n]);
            for (int i = 0; i < outs.Length; i++)
            {
                int len = expected[i].Length;
                double err = EngineTestModels.RelativeL2(outs[i].AsSpan(n * len, len), expected[i]);
                Assert.True(err <= 1e-4, $"{model} image {n} output {i}: relative L2 {err:E3}");
            }
        }
    }
}
