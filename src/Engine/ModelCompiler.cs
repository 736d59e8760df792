using Vigil.Engine.Graph;
using Vigil.Engine.Optimizer;
using Vigil.Engine.Plan;

namespace Vigil.Engine;

/// <summary>The result of compiling a model: the imported graph, the optimized graph and its layer program.</summary>
public sealed record CompiledModel(ModelGraph Source, ModelGraph Optimized, LayerProgram Program);

/// <summary>ONNX graph to layer program: optimizer passes, then lowering with concat elimination and memory planning.</summary>
public static class ModelCompiler
{
    public static CompiledModel Compile(ModelGraph source, OptimizerOptions options, int maxBatch, TextWriter? log = null)
    {
        if (log is not null)
        {
            var before = source.Clone();
            ShapeInference.Run(before, 1, fold: true);
            log.WriteLine($"layers before optimization ({before.Nodes.Count}, after constant folding):");
            log.Write(GraphOptimizer.Describe(before));
        }
        var optimized = GraphOptimizer.Optimize(source, options, maxBatch, log);
        var program = ProgramBuilder.Build(optimized, options);
        if (log is not null)
        {
            log.WriteLine($"layers after optimization ({program.Layers.Count}):");
            log.Write(program.Describe());
            log.WriteLine($"activation arena: {program.ArenaPerSample * 4 / 1024.0:F1} KiB per image in FP32, {program.Buffers.Count} buffers");
        }
        return new CompiledModel(source, optimized, program);
    }

    public static CompiledModel Compile(string onnxPath, OptimizerOptions options, int maxBatch, TextWriter? log = null) =>
        Compile(OnnxImporter.Load(onnxPath), options, maxBatch, log);
}
