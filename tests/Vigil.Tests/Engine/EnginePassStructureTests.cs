using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Vigil.Engine;
using Vigil.Engine.Cpu;
using Vigil.Engine.Graph;
using Vigil.Engine.Onnx.Proto;
using Vigil.Engine.Optimizer;
using Vigil.Engine.Plan;

namespace Vigil.Tests.Engine;

public class EnginePassStructureTests
{
    [Theory]
    [InlineData(EngineTestModels.Yolox)]
    [InlineData(EngineTestModels.Reid)]
    [InlineData(EngineTestModels.BlazeFace)]
    public void Build_MemoryPlan_LiveBuffersNeverOverlap(string model)
    {
        var p = ModelCompiler.Compile(EngineTestModels.PathOf(model), OptimizerOptions.All, 8).Program;
        int nb = p.Buffers.Count;
        var first = Enumerable.Repeat(int.MaxValue, nb).ToArray();
        var last = Enumerable.Repeat(-1, nb).ToArray();
        for (int i = 0; i < p.Layers.Count; i++)
            foreach (var r in p.Layers[i].Inputs.Concat(p.Layers[i].Outputs).Where(r => !r.IsConst))
            {
                first[r.Buffer] = Math.Min(first[r.Buffer], i);
                last[r.Buffer] = Math.Max(last[r.Buffer], i);
            }
        foreach (var io in p.Inputs) first[io.Ref.Buffer] = -1;
        foreach (var io in p.Outputs) last[io.Ref.Buffer] = int.MaxValue;
        int shared = 0;
        for (int a = 0; a < nb; a++)
            for (int b = a + 1; b < nb; b++)
            {
                if (last[a] < 0 || last[b] < 0) continue;
                bool liveTogether = first[a] <= last[b] && first[b] <= last[a];
                var (ba, bb) = (p.Buffers[a], p.Buffers[b]);
                bool memOverlap = ba.Offset < bb.Offset + bb.SampleSize && bb.Offset < ba.Offset + ba.SampleSize;
                Assert.False(liveTogether && memOverlap, $"buffers {a} and {b} are live together and overlap in the arena");
                if (memOverlap) shared++;
            }
        Assert.True(shared > 0, "some buffers should share memory");
        // Every view stays inside its buffer.
        foreach (var l in p.Layers)
            foreach (var r in l.Inputs.Concat(l.Outputs).Where(r => !r.IsConst))
                Assert.True(r.Offset + r.Count <= p.Buffers[r.Buffer].SampleSize, $"{l.Name}: view beyond its buffer");
    }

    [Fact]
    public void Optimize_BatchFoldedIntoReshape_ReportsGraphCannotRunWithLargerBatch()
    {
        var g = new GraphProto { Name = "b" };
        g.Input.Add(SyntheticModels.Value("x", 1, 4, 2, 2));
        g.Output.Add(SyntheticModels.Value("y", 2, 8));
        var shape = new TensorProto { Name = "shape", DataType = (int)TensorProto.Types.DataType.Int64 };
        shape.Dims.Add(2);
        shape.Int64Data.AddRange([2, 8]);
        g.Initializer.Add(shape);
        g.Node.Add(SyntheticModels.Node("fold_batch", "Reshape", ["x", "shape"], ["y"]));
        var graph = OnnxImporter.Parse(SyntheticModels.Model(g), "b.onnx");
        ModelCompiler.Compile(graph, OptimizerOptions.All, 1); // batch 1 is fine
        var ex = Assert.Throws<EngineException>(() => ModelCompiler.Compile(graph, OptimizerOptions.All, 4));
        Assert.StartsWith("the graph cannot run with batch > 1: node 'fold_batch' (op Reshape)", ex.Message);
    }

    /// <summary>x -> two parallel 1x1 convs with SiLU (Sigmoid+Mul) each -> Concat -> y; plus a dead branch.</summary>
    private static byte[] ParallelConvs()
    {
        var g = new GraphProto { Name = "par" };
        g.Input.Add(SyntheticModels.Value("x", 1, 8, 5, 5));
        g.Output.Add(SyntheticModels.Value("y", 1, 10, 5, 5));
        g.Initializer.Add(SyntheticModels.Floats("w1", [4, 8, 1, 1], SyntheticModels.Random(32, 1)));
        g.Initializer.Add(SyntheticModels.Floats("b1", [4], SyntheticModels.Random(4, 2)));
        g.Initializer.Add(SyntheticModels.Floats("w2", [6, 8, 1, 1], SyntheticModels.Random(48, 3)));
        g.Initializer.Add(SyntheticModels.Floats("b2", [6], SyntheticModels.Random(6, 4)));
        g.Initializer.Add(SyntheticModels.Floats("w3", [3, 8, 3, 3], SyntheticModels.Random(216, 5)));
        foreach (var (c, w, b) in new[] { ("1", "w1", "b1"), ("2", "w2", "b2") })
        {
            g.Node.Add(SyntheticModels.Node("conv" + c, "Conv", ["x", w, b], ["c" + c], SyntheticModels.Ints("kernel_shape", 1, 1)));
            g.Node.Add(SyntheticModels.Node("sig" + c, "Sigmoid", ["c" + c], ["s" + c]));
            g.Node.Add(SyntheticModels.Node("mul" + c, "Mul", ["c" + c, "s" + c], ["m" + c]));
        }
        g.Node.Add(SyntheticModels.Node("dead_conv", "Conv", ["x", "w3"], ["unused"], SyntheticModels.Ints("kernel_shape", 3, 3)));
        var cat = SyntheticModels.Node("cat", "Concat", ["m1", "m2"], ["y"]);
        cat.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        g.Node.Add(cat);
        return SyntheticModels.Model(g);
    }

    [Fact]
    public void Optimize_ParallelOneByOneConvsWithSilu_MergesIntoOneConvAndDropsDeadLayer()
    {
        byte[] bytes = ParallelConvs();
        var compiled = ModelCompiler.Compile(OnnxImporter.Parse(bytes, "par.onnx"), OptimizerOptions.All, 2);
        var conv = Assert.Single(compiled.Program.Layers, l => l.Kind == LayerKind.Conv);
        Assert.Equal(10, conv.I[3]); // 4 + 6 output channels stacked
        Assert.DoesNotContain(compiled.Optimized.Nodes, n => n.Name == "dead_conv");
        Assert.DoesNotContain(compiled.Program.Layers, l => l.Kind == LayerKind.Pointwise); // SiLU in the epilogue

        var x = SyntheticModels.Random(8 * 25, 7, 2f);
        using var session = new InferenceSession(bytes);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, [1, 8, 5, 5]))]);
        var expected = results.First(r => r.Name == "y").AsTensor<float>().ToArray();
        var actual = new CpuExecutor(compiled.Program).Run([x], 1)[0];
        Assert.True(EngineTestModels.RelativeL2(actual, expected) < 1e-6);
    }
}
