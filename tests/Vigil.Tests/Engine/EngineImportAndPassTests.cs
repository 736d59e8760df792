using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Vigil.Engine;
using Vigil.Engine.Cpu;
using Vigil.Engine.Graph;
using Vigil.Engine.Onnx.Proto;
using Vigil.Engine.Optimizer;
using Vigil.Engine.Plan;

namespace Vigil.Tests.Engine;

public class EngineImportAndPassTests
{
    [Fact]
    public void Parse_GarbageBytes_ThrowsNamingTheFile()
    {
        var ex = Assert.Throws<EngineException>(() => OnnxImporter.Parse([0xFF, 0xFF, 0xFF, 0x01, 0x02], "broken.onnx"));
        Assert.StartsWith("broken.onnx: not a valid ONNX model", ex.Message);
    }

    [Fact]
    public void Load_YoloxModel_ReadsAllInitializersAndNodes()
    {
        var g = OnnxImporter.Load(EngineTestModels.PathOf(EngineTestModels.Yolox));
        Assert.Equal(113, g.Nodes.Count(n => n.OpType == "Conv"));
        Assert.Equal([1, 3, 416, 416], g.Inputs[0].Shape);
        Assert.Equal("output", g.Outputs[0].Name);
        // Every Conv's weight initializer is present with a 4-D shape and the right number of values.
        foreach (var conv in g.Nodes.Where(n => n.OpType == "Conv"))
        {
            var w = g.Constants[conv.Inputs[1]];
            Assert.Equal(4, w.Shape.Length);
            Assert.Equal(Shapes.Count(w.Shape), w.Floats!.Length);
        }
        var shapes = ShapeInference.Run(g.Clone(), 1, fold: true);
        Assert.Equal([1, 3549, 85], shapes["output"]);
    }

    [Fact]
    public void Compile_UnsupportedOperator_NamesNodeAndOperator()
    {
        var g = new GraphProto { Name = "bad" };
        g.Input.Add(SyntheticModels.Value("x", 1, 4));
        g.Output.Add(SyntheticModels.Value("y", 1, 4));
        g.Node.Add(SyntheticModels.Node("mystery", "Foo", ["x"], ["y"]));
        var graph = OnnxImporter.Parse(SyntheticModels.Model(g), "bad.onnx");
        var ex = Assert.Throws<EngineException>(() => ModelCompiler.Compile(graph, OptimizerOptions.All, 1));
        Assert.Equal("node 'mystery' (op Foo): operator not supported by Vigil's engine", ex.Message);
    }

    [Fact]
    public void Compile_ConvChannelMismatch_ReportsShapeCannotBeInferred()
    {
        var g = new GraphProto { Name = "bad" };
        g.Input.Add(SyntheticModels.Value("x", 1, 3, 8, 8));
        g.Output.Add(SyntheticModels.Value("y", 1, 2, 8, 8));
        g.Initializer.Add(SyntheticModels.Floats("w", [2, 5, 1, 1], new float[10]));
        g.Node.Add(SyntheticModels.Node("conv7", "Conv", ["x", "w"], ["y"]));
        var graph = OnnxImporter.Parse(SyntheticModels.Model(g), "bad.onnx");
        var ex = Assert.Throws<EngineException>(() => ModelCompiler.Compile(graph, OptimizerOptions.All, 1));
        Assert.StartsWith("node 'conv7' (op Conv): shape cannot be inferred: input has 3 channels", ex.Message);
    }

    [Fact]
    public void Optimize_ConvBatchNormActivation_FoldsIntoOneConvAndMatchesOnnxRuntime()
    {
        byte[] bytes = SyntheticModels.ConvBatchNorm();
        var graph = OnnxImporter.Parse(bytes, "conv_bn.onnx");
        var compiled = ModelCompiler.Compile(graph, OptimizerOptions.All, 4);

        // BN folded into the conv, LeakyRelu and Clip fused into its epilogue: one conv layer for y, one pointwise for the lone BN.
        Assert.DoesNotContain(compiled.Optimized.Nodes, n => n.OpType == "BatchNormalization");
        var conv = Assert.Single(compiled.Program.Layers, l => l.Kind == LayerKind.Conv);
        Assert.True(conv.I.Length > 16, "the conv carries a fused epilogue");
        Assert.Single(compiled.Program.Layers, l => l.Kind == LayerKind.Pointwise);

        var x = SyntheticModels.Random(4 * 8 * 8, 9, 2f);
        using var session = new InferenceSession(bytes);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, [1, 4, 8, 8]))]);
        var outs = new CpuExecutor(compiled.Program).Run([x], 1);
        Assert.True(EngineTestModels.RelativeL2(outs[0], results.First(r => r.Name == "y").AsTensor<float>().ToArray()) < 1e-5);
        Assert.True(EngineTestModels.RelativeL2(outs[1], results.First(r => r.Name == "z").AsTensor<float>().ToArray()) < 1e-5);
    }

    [Fact]
    public void Compile_Yolox_FusesSiluIntoConvsEliminatesConcatsAndReusesMemory()
    {
        var path = EngineTestModels.PathOf(EngineTestModels.Yolox);
        var none = ModelCompiler.Compile(path, OptimizerOptions.None, 1);
        var all = ModelCompiler.Compile(path, OptimizerOptions.All, 64);

        // SiLU (x * sigmoid(x)) after every conv lands in the conv's epilogue: no stand-alone pointwise layers remain
        // except the head's sigmoids on merged-conv slices.
        Assert.True(all.Program.Layers.Count(l => l.Kind == LayerKind.Pointwise) <= 6, all.Program.Describe());
        Assert.True(none.Program.Layers.Count(l => l.Kind == LayerKind.Pointwise) >= 200);
        // Parallel 1x1 convs merged: fewer conv layers than the 113 in the model.
        Assert.True(all.Program.Layers.Count(l => l.Kind == LayerKind.Conv) < 113);
        // Concat elimination: far fewer copy layers than concat inputs.
        Assert.True(all.Program.Layers.Count(l => l.Kind == LayerKind.Copy) < none.Program.Layers.Count(l => l.Kind == LayerKind.Copy) / 2);
        // Memory reuse: the arena is much smaller than the sum of all buffers.
        Assert.True(all.Program.ArenaPerSample * 3 < none.Program.ArenaPerSample,
            $"arena {all.Program.ArenaPerSample} vs {none.Program.ArenaPerSample} elements per image");
    }

    [Fact]
    public void Compile_Yolox_RewritesBatchOneReshapesForLargerBatches()
    {
        var graph = OnnxImporter.Load(EngineTestModels.PathOf(EngineTestModels.Yolox));
        var optimized = GraphOptimizer.Optimize(graph, OptimizerOptions.All, 64);
        var shapes = ShapeInference.Run(optimized, 5);
        Assert.Equal([5, 3549, 85], shapes["output"]);
    }
}
