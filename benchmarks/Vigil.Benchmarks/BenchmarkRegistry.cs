namespace Vigil.Benchmarks;

internal static class BenchmarkRegistry
{
    public static readonly Dictionary<string, Func<string[], int>> All = new()
    {
        ["pipeline"] = Pipeline.PipelineBenchmark.Run,
        ["decode"] = Decode.DecodeBenchmark.Run,
        ["infer"] = Infer.InferBenchmark.Run,
        ["tracker"] = Tracking.TrackerBenchmark.Run,
        ["engine"] = Engine.EngineBenchmark.Run,
        ["engine-emit"] = Engine.EngineKernelEmit.Run,
        ["nvdec"] = Gpu.NvdecBenchmark.Run,
        ["preprocess"] = Gpu.PreprocessBenchmark.Run,
    };
}

internal static class MachineInfo
{
    public static string Describe()
    {
        string cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
        }
        return $"machine: {Environment.ProcessorCount} cores, {cpu}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC";
    }

    /// <summary>Median of the samples.</summary>
    public static double Median(IReadOnlyList<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length == 0 ? 0 : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
