using Vigil.Cuda;

namespace Vigil.Gpu.Tests;

/// <summary>One CUDA context for the whole run (GPU tests run serially in one collection).</summary>
public sealed class GpuFixture : IDisposable
{
    public GpuFixture()
    {
        Context = CudaContext.Create(0);
        Stream = Context.CreateStream();
        CacheDirectory = Path.Combine(Path.GetTempPath(), $"vigil-gpu-tests-{Environment.ProcessId}");
        Compiler = new KernelCompiler(Context, CacheDirectory);
        Console.WriteLine($"GPU: {Context}");
    }

    public CudaContext Context { get; }
    public CudaStream Stream { get; }
    public KernelCompiler Compiler { get; }
    public string CacheDirectory { get; }

    public void Dispose()
    {
        Stream.Dispose();
        Context.Dispose();
    }
}

[CollectionDefinition("Gpu")]
public sealed class GpuCollection : ICollectionFixture<GpuFixture>;

/// <summary>Paths of the sample media (sample-videos/fetch.sh); VIGIL_SAMPLES overrides the folder.</summary>
public static class Samples
{
    public static string Path(string name)
    {
        string? dir = Environment.GetEnvironmentVariable("VIGIL_SAMPLES");
        if (string.IsNullOrEmpty(dir))
        {
            var d = new DirectoryInfo(AppContext.BaseDirectory);
            while (d is not null && !Directory.Exists(System.IO.Path.Combine(d.FullName, "sample-videos"))) d = d.Parent;
            dir = d is null ? "sample-videos" : System.IO.Path.Combine(d.FullName, "sample-videos");
        }
        string p = System.IO.Path.Combine(dir, name);
        if (!File.Exists(p)) throw new FileNotFoundException($"Sample '{name}' missing in {dir} (run sample-videos/fetch.sh or set VIGIL_SAMPLES).", p);
        return p;
    }
}
