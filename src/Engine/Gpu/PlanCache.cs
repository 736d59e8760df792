using Vigil.Cuda;
using Vigil.Engine.Graph;
using Vigil.Engine.Plan;

namespace Vigil.Engine.Gpu;

/// <summary>
/// Builds a model's plan once and keeps it next to the model, keyed by everything a plan depends on (model hash,
/// GPU, compute capability, driver and NVRTC versions, precision, batch profile), so a restart loads instead of rebuilding.
/// </summary>
public static class PlanCache
{
    /// <summary>
    /// The cached plan's path: <c>model.onnx</c> becomes <c>model.&lt;gpu&gt;-sm90-fp16-b1-8-64-&lt;options&gt;.plan</c> beside it,
    /// where &lt;options&gt; is a short hash of the remaining choices that change the plan (tactic filter, FP16 range check).
    /// </summary>
    public static string PathFor(CudaContext ctx, string onnxPath, BuildOptions o) => PathFor(ctx.Name, ctx.Architecture, onnxPath, o);

    internal static string PathFor(string gpuName, string architecture, string onnxPath, BuildOptions o)
    {
        string gpu = new(gpuName.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());
        string range = o.CalibrationRange is { } r ? FormattableString.Invariant($"{r.Low:R}:{r.High:R}") : "default";
        string choices = FormattableString.Invariant($"{o.TacticFilter}|{range}|{o.Fp32Above:R}");
        string tag = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(choices)))[..8];
        string name = $"{Path.GetFileNameWithoutExtension(onnxPath)}.{gpu}-{architecture.Replace("_", "", StringComparison.Ordinal)}-{o.Precision.ToString().ToLowerInvariant()}-b{o.BatchMin}-{o.BatchOpt}-{o.BatchMax}-{tag}.plan";
        return Path.Combine(Path.GetDirectoryName(Path.GetFullPath(onnxPath))!, name);
    }

    /// <summary>Loads the cached plan when it matches the model's bytes and this GPU/driver/NVRTC; otherwise builds and saves it.</summary>
    public static (PlanModel Plan, bool Built) LoadOrBuild(CudaContext ctx, KernelCompiler compiler, string onnxPath, BuildOptions o, TextWriter? log = null)
    {
        string path = PathFor(ctx, onnxPath, o);
        byte[] sha = System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(onnxPath));
        if (File.Exists(path))
        {
            try
            {
                var plan = PlanFile.Load(path);
                var h = plan.Header;
                var (cudnn, cublas) = LibraryTactics.VersionsFor(h);
                PlanFile.EnsureCompatible(h, path, ctx.Name, ctx.ComputeCapability.Major, ctx.ComputeCapability.Minor, ctx.DriverVersion,
                    $"{compiler.NvrtcVersion.Major}.{compiler.NvrtcVersion.Minor}", cudnn, cublas);
                if (h.ModelSha256.AsSpan().SequenceEqual(sha) && h.Precision == o.Precision && h.BatchMin == o.BatchMin && h.BatchOpt == o.BatchOpt && h.BatchMax == o.BatchMax)
                    return (plan, false);
                log?.WriteLine($"{path}: stale (model or profile changed), rebuilding");
            }
            catch (EngineException ex)
            {
                log?.WriteLine($"{ex.Message}; rebuilding");
            }
        }
        var built = PlanBuilder.Build(ctx, compiler, onnxPath, o, log);
        try { PlanFile.Save(built, path); }
        catch (IOException ex) { log?.WriteLine($"{path}: cannot cache the plan ({ex.Message})"); }
        catch (UnauthorizedAccessException ex) { log?.WriteLine($"{path}: cannot cache the plan ({ex.Message})"); }
        return (built, true);
    }
}
