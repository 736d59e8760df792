using System.Diagnostics;
using System.Globalization;
using Vigil.Cuda;
using Vigil.Engine;
using Vigil.Engine.Gpu;
using Vigil.Engine.Plan;

namespace Vigil.Benchmarks.Engine;

/// <summary>
/// The plan engine on the GPU: for each precision, build a plan (profile 1:opt:max), then for each batch size measure
/// throughput (back-to-back CUDA-graph replays timed with events), latency p50/p99 (one replay at a time), and report
/// build time, plan size and GPU memory. Usage: engine [--model path] [--batches 1,8,32,64] [--precisions fp32,fp16]
/// [--opt 32] [--out dir]. The PyTorch baseline is benchmarks/engine/torch_baseline.py, run in the same device call.
/// </summary>
internal static class EngineBenchmark
{
    public static int Run(string[] args)
    {
        string model = Arg(args, "--model") ?? "models/yolox_nano_416x416.onnx";
        int[] batches = (Arg(args, "--batches") ?? "1,8,32,64").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        string[] precisions = (Arg(args, "--precisions") ?? "fp32,fp16").Split(',');
        int opt = int.Parse(Arg(args, "--opt") ?? "32", CultureInfo.InvariantCulture);
        string outDir = Arg(args, "--out") ?? Path.GetTempPath();
        int max = batches.Max();

        using var ctx = CudaContext.Create(0);
        var compiler = new KernelCompiler(ctx);
        Console.WriteLine($"GPU: {ctx}, NVRTC {compiler.NvrtcVersion.Major}.{compiler.NvrtcVersion.Minor}");
        var rows = new List<string>();
        foreach (var prec in precisions)
        {
            var precision = prec == "fp16" ? PlanPrecision.Fp16 : PlanPrecision.Fp32;
            var sw = Stopwatch.StartNew();
            using var log = new StreamWriter(Path.Combine(outDir, $"build-{prec}.log"));
            var plan = PlanBuilder.Build(ctx, compiler, model, new BuildOptions { Precision = precision, BatchMin = 1, BatchOpt = opt, BatchMax = max }, log);
            double buildSeconds = sw.Elapsed.TotalSeconds;
            string planPath = Path.Combine(prec == "fp16" ? outDir : Path.GetTempPath(), $"{Path.GetFileNameWithoutExtension(model)}-{prec}.plan");
            PlanFile.Save(plan, planPath);
            long planBytes = new FileInfo(planPath).Length;
            sw.Restart();
            var rebuilt = PlanBuilder.Build(ctx, compiler, model, new BuildOptions { Precision = precision, BatchMin = 1, BatchOpt = opt, BatchMax = max });
            double warmBuildSeconds = sw.Elapsed.TotalSeconds;

            var (free0, _) = ctx.MemoryInfo();
            using var engine = new GpuEngine(ctx, compiler, PlanFile.Load(planPath), planPath);
            using var stream = ctx.CreateStream();
            var rnd = new Random(3);
            var input = new float[engine.Inputs[0].Length];
            for (int i = 0; i < input.Length; i++) input[i] = (float)rnd.NextDouble() * 255f;
            engine.Inputs[0].CopyFrom(stream, input);
            foreach (int b in batches) engine.Run(stream, b);
            stream.Synchronize();
            var (free1, _) = ctx.MemoryInfo();

            using var e0 = ctx.CreateEvent(timing: true);
            using var e1 = ctx.CreateEvent(timing: true);
            foreach (bool convert in new[] { true, false })
            foreach (int b in batches)
            {
                for (int i = 0; i < 20; i++) engine.Run(stream, b, convert);
                int iters = Math.Max(20, 2000 / b);
                e0.Record(stream);
                for (int i = 0; i < iters; i++) engine.Run(stream, b, convert);
                e1.Record(stream);
                e1.Synchronize();
                double ms = CudaEvent.ElapsedMilliseconds(e0, e1);
                double imagesPerSecond = b * iters / (ms / 1000.0);
                var lat = new List<double>();
                for (int i = 0; i < 200; i++)
                {
                    e0.Record(stream);
                    engine.Run(stream, b, convert);
                    e1.Record(stream);
                    e1.Synchronize();
                    lat.Add(CudaEvent.ElapsedMilliseconds(e0, e1));
                }
                lat.Sort();
                double p50 = lat[lat.Count / 2], p99 = lat[(int)(lat.Count * 0.99)];
                string inputKind = convert ? "fp32 tensor" : $"in arena ({prec})";
                rows.Add($"| {prec} | {inputKind} | {b} | {imagesPerSecond,10:F0} | {p50,8:F3} | {p99,8:F3} | {buildSeconds,6:F1} / {warmBuildSeconds,4:F1} | {planBytes / 1048576.0,6:F2} | {engine.DeviceBytes / 1048576.0,7:F1} / {(free0 - free1) / 1048576.0,7:F1} |");
            }
            // Latency plan: profile 1:1:1, tactics timed at batch 1 (as one would build for a single camera).
            {
                var p1 = PlanBuilder.Build(ctx, compiler, model, new BuildOptions { Precision = precision, BatchMin = 1, BatchOpt = 1, BatchMax = 1 });
                using var e1engine = new GpuEngine(ctx, compiler, p1, "latency plan");
                e1engine.Inputs[0].CopyFrom(stream, input.AsSpan(0, (int)e1engine.Inputs[0].Length));
                for (int i = 0; i < 50; i++) e1engine.Run(stream, 1);
                int iters = 2000;
                e0.Record(stream);
                for (int i = 0; i < iters; i++) e1engine.Run(stream, 1);
                e1.Record(stream);
                e1.Synchronize();
                double ips = iters / (CudaEvent.ElapsedMilliseconds(e0, e1) / 1000.0);
                var lat = new List<double>();
                for (int i = 0; i < 200; i++)
                {
                    e0.Record(stream); e1engine.Run(stream, 1); e1.Record(stream); e1.Synchronize();
                    lat.Add(CudaEvent.ElapsedMilliseconds(e0, e1));
                }
                lat.Sort();
                rows.Add($"| {prec} (plan 1:1:1) | fp32 tensor | 1 | {ips,10:F0} | {lat[lat.Count / 2],8:F3} | {lat[(int)(lat.Count * 0.99)],8:F3} | {p1.Header.BuildSeconds,6:F1} | - | {e1engine.DeviceBytes / 1048576.0,7:F1} |");
            }
            Console.WriteLine($"{prec}: build {buildSeconds:F1} s (cold kernel cache), {warmBuildSeconds:F1} s (warm caches)");
            Console.WriteLine(string.Join('\n', plan.Program.Layers.GroupBy(l => l.Tactic).Select(g => $"  tactic {g.Key}: {g.Count()} layers, {g.Sum(l => l.TacticMicroseconds):F0} us at batch {opt}")));
            GC.KeepAlive(rebuilt);
        }
        Console.WriteLine();
        Console.WriteLine($"Vigil plan engine, {Path.GetFileName(model)}, {ctx.Name}, driver API {PlanFile.FormatCuda(ctx.DriverVersion)}, NVRTC {compiler.NvrtcVersion.Major}.{compiler.NvrtcVersion.Minor}");
        Console.WriteLine("| precision | input | batch | images/s | p50 ms | p99 ms | build s (cold/warm) | plan MiB | GPU MiB (engine / cuMemGetInfo) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var r in rows) Console.WriteLine(r);
        return 0;
    }

    private static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
