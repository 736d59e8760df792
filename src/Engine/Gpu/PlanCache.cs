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
    /// <summary>The cached plan's path: <c>model.onnx</c> becomes <c>model.&lt;gpu&gt;-sm90-fp16-b1-8-64.plan</c> beside it.</summary>
    public static string PathFor(CudaContext ctx, string onnxPath, BuildOptions o)
    {
        string gpu = new(ctx.Name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());
        string name = $"{Path.GetFileNameWithoutExtension(onnxPath)}.{gpu}-{ctx.Architecture.Replace("_", "", StringComparison.Ordinal)}-{o.Precision.ToString().ToLowerInvariant()}-b{o.BatchMin}-{o.BatchOpt}-{o.BatchMax}.plan";
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
