using System.Globalization;
using System.Text;
using Vigil.Engine;
using Vigil.Engine.Cpu;
using Vigil.Engine.Gpu;
using Vigil.Engine.Optimizer;
using Vigil.Engine.Plan;

namespace Vigil.Benchmarks.Engine;

/// <summary>
/// Development tool (no GPU): writes a plan's generated CUDA kernels, their launch list, weights, an input and the CPU
/// executor's expected outputs, so benchmarks/engine/emu/run.sh can compile the kernels as C++ and execute them on the
/// CPU — catching code-generation errors before spending GPU time.
/// Usage: engine-emit model.onnx fp32|fp16 direct|gemm|mma|oc|tactic:prefix[,prefix...] batch outdir
/// </summary>
internal static class EngineKernelEmit
{
    public static int Run(string[] args)
    {
        if (args.Length < 5) { Console.Error.WriteLine("usage: engine-emit model.onnx fp32|fp16 direct|gemm batch outdir"); return 2; }
        var precision = args[1] == "fp16" ? PlanPrecision.Fp16 : PlanPrecision.Fp32;
        bool gemm = args[2] == "gemm";
        int batch = int.Parse(args[3], CultureInfo.InvariantCulture);
        string dir = args[4];
        Directory.CreateDirectory(dir);
        var compiled = ModelCompiler.Compile(args[0], OptimizerOptions.All, batch);
        var p = compiled.Program;
        var gen = new KernelGenerator(p, precision, batch);
        var src = new StringBuilder();
        var launches = new StringBuilder();
        string Call(KernelCandidate c, string extra) => c.Launch.Tiled
            ? $"run_tiled([&]{{ {c.Launch.Function}(A, WH, WF, N{extra}); }}, {c.Launch.TilesX}, {c.Launch.TilesY}, N, {c.Launch.Threads});\n"
            : $"run_linear([&]{{ {c.Launch.Function}(A, WH, WF, N{extra}); }}, {c.Launch.WorkPerImage}L * N);\n";
        for (int i = 0; i < p.Inputs.Count; i++) { var c = gen.InputKernel(i, p.Inputs[i]); src.Append(c.Source); launches.Append(Call(c, $", in{i}")); }
        for (int i = 0; i < p.Layers.Count; i++)
        {
            var cands = gen.Candidates(i);
            var c = args[2] switch
            {
                "gemm" => cands.LastOrDefault(x => x.Launch.Tiled) ?? cands[0],
                "mma" => cands.FirstOrDefault(x => x.Tactic.StartsWith("mma", StringComparison.Ordinal)) ?? cands[0],
                _ when args[2].StartsWith("tactic:", StringComparison.Ordinal) => args[2][7..].Split(',').Select(t => cands.FirstOrDefault(x => x.Tactic.StartsWith(t, StringComparison.Ordinal))).FirstOrDefault(x => x is not null) ?? cands[0],
                "oc" => cands.LastOrDefault(x => x.Tactic.StartsWith("directoc", StringComparison.Ordinal)) ?? cands[0],
                _ => cands[0],
            };
            src.Append(c.Source);
            launches.Append(Call(c, ""));
        }
        for (int i = 0; i < p.Outputs.Count; i++) { var c = gen.OutputKernel(i, p.Outputs[i]); src.Append(c.Source); launches.Append(Call(c, $", out{i}")); }
        File.WriteAllText(Path.Combine(dir, "kernels.inc"), src.ToString());
        File.WriteAllText(Path.Combine(dir, "launches.inc"), launches.ToString());

        var wf = new float[Math.Max(1, gen.ConstantElements)];
        for (int i = 0; i < p.Constants.Count; i++) { var v = p.Constants[i].AsFloats(); Array.Copy(v, 0, wf, gen.ConstantOffset(i), v.Length); }
        WriteFloats(Path.Combine(dir, "weights.bin"), wf);
        var rng = new Random(5);
        long perImage = p.Inputs[0].Ref.Count;
        var input = new float[perImage * batch];
        for (int i = 0; i < input.Length; i++) input[i] = (float)rng.NextDouble() * 255f;
        WriteFloats(Path.Combine(dir, "input.bin"), input);
        var outs = new CpuExecutor(p).Run([input], batch);
        WriteFloats(Path.Combine(dir, "expected.bin"), outs[0]);
        File.WriteAllText(Path.Combine(dir, "meta.h"),
            $"#define ARENA_PER_SAMPLE {p.ArenaPerSample}L\n#define CONST_ELEMS {wf.Length}L\n#define BATCH {batch}\n#define IN0_ELEMS {input.Length}L\n#define OUT0_ELEMS {outs[0].Length}L\n#define NUM_OUTPUTS {p.Outputs.Count}\n"
            + string.Concat(p.Outputs.Select((o, i) => $"#define OUT{i}_COUNT {o.Ref.Count * batch}L\n")) + (precision == PlanPrecision.Fp16 ? "#define HALF 1\n" : ""));
        Console.WriteLine($"wrote {dir}: {p.Layers.Count} layers, {(gemm ? "gemm" : "direct")} tactics, {precision}, batch {batch}");
        return 0;
    }

    private static void WriteFloats(string path, float[] data)
    {
        var bytes = new byte[data.Length * 4];
        Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
        File.WriteAllBytes(path, bytes);
    }
}
