using System.CommandLine;
using System.Globalization;
using Vigil.Cuda;
using Vigil.Engine;
using Vigil.Engine.Gpu;
using Vigil.Engine.Plan;

namespace Vigil.App.Commands;

/// <summary><c>vigil build model.onnx --precision fp16 --batch 1:8:64 -o model.plan</c>: the engine's build phase (needs a GPU).</summary>
internal static class BuildCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "ONNX model to build" };
        var precision = new Option<string>("--precision") { Description = "fp32 or fp16", DefaultValueFactory = _ => "fp16" };
        var batch = new Option<string>("--batch") { Description = "batch profile min:opt:max", DefaultValueFactory = _ => "1:8:64" };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "plan file to write (default: model path with .plan)" };
        var timing = new Option<FileInfo?>("--timing-cache") { Description = "tactic timing cache file (default: in the kernel cache folder)" };
        var verbose = new Option<bool>("--verbose") { Description = "print the layer list before and after optimization and each chosen tactic" };
        var tactics = new Option<string?>("--tactics") { Description = "tactics to time: all (default), library (cuDNN/cuBLAS where they apply) or nvrtc; default from VIGIL_ENGINE_TACTICS" };
        var calibration = new Option<string?>("--calibration-range")
        {
            Description = "FP16 range check: the range of the model's input values, low:high (e.g. 0:255 for pixels, -1:1); " +
                "default: one synthetic image in [0,1) and one in [0,255)",
        };
        var cmd = new Command("build", "Build an optimized inference plan for this GPU from an ONNX model") { model, precision, batch, output, timing, verbose, tactics, calibration };
        cmd.SetAction(parse =>
        {
            try
            {
                var m = parse.GetValue(model)!;
                var prec = parse.GetValue(precision)!.ToLowerInvariant() switch
                {
                    "fp32" => PlanPrecision.Fp32,
                    "fp16" => PlanPrecision.Fp16,
                    var other => throw new EngineException($"--precision {other}: expected fp32 or fp16 (int8 needs calibration, not implemented yet)"),
                };
                var (min, opt, max) = ParseBatch(parse.GetValue(batch)!);
                var range = parse.GetValue(calibration) is { } c ? ParseRange(c) : ((float, float)?)null;
                string outPath = parse.GetValue(output)?.FullName ?? Path.ChangeExtension(m.FullName, ".plan");
                using var ctx = CudaContext.Create(0);
                var compiler = new KernelCompiler(ctx);
                var log = parse.GetValue(verbose) ? Console.Out : null;
                var filter = parse.GetValue(tactics) is { } t ? LibraryTactics.ParseFilter(t) : LibraryTactics.FilterFromEnvironment();
                var plan = PlanBuilder.Build(ctx, compiler, m.FullName, new BuildOptions
                {
                    Precision = prec, BatchMin = min, BatchOpt = opt, BatchMax = max, TimingCache = parse.GetValue(timing)?.FullName, TacticFilter = filter,
                    CalibrationRange = range,
                }, log);
                PlanFile.Save(plan, outPath);
                Console.WriteLine($"{outPath}: {prec} plan for {ctx.Name}, batch {min}:{opt}:{max}, {plan.Program.Layers.Count} layers, {new FileInfo(outPath).Length:N0} bytes, built in {plan.Header.BuildSeconds:F1} s");
                return 0;
            }
            catch (VigilException ex)
            {
                Console.Error.WriteLine($"vigil build: {ex.Message}");
                return 1;
            }
        });
        return cmd;
    }

    internal static (float Low, float High) ParseRange(string s)
    {
        var parts = s.Split(':');
        if (parts.Length == 2
            && float.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out float lo)
            && float.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out float hi)
            && float.IsFinite(lo) && float.IsFinite(hi) && lo < hi)
            return (lo, hi);
        throw new EngineException($"--calibration-range {s}: expected low:high with low < high (e.g. 0:255 or -1:1)");
    }

    internal static (int Min, int Opt, int Max) ParseBatch(string s)
    {
        var parts = s.Split(':');
        int[] v = new int[3];
        bool ok = parts.Length is 1 or 3;
        for (int i = 0; ok && i < parts.Length; i++) ok = int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out v[i]) && v[i] > 0;
        if (!ok) throw new EngineException($"--batch {s}: expected min:opt:max (or one number), positive integers");
        return parts.Length == 1 ? (v[0], v[0], v[0]) : (v[0], v[1], v[2]);
    }
}
