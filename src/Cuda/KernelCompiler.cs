using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace Vigil.Cuda;

/// <summary>Result of <see cref="KernelCompiler.Compile"/>: the cubin, where it came from and its cache key.</summary>
public sealed record CompiledKernel(string Name, byte[] Cubin, bool FromCache, string Key, string? CachePath);

/// <summary>
/// Compiles CUDA C kept as source in the project with NVRTC for the context's GPU (cubin for sm_XY), caching cubins on
/// disk keyed by SHA-256 of source, options, architecture and NVRTC version, so a second start compiles nothing.
/// Cache folder: $VIGIL_CACHE/kernels, else $XDG_CACHE_HOME/vigil/kernels, else ~/.cache/vigil/kernels.
/// A compile error throws <see cref="NvrtcException"/> whose message includes NVRTC's log.
/// </summary>
public sealed class KernelCompiler
{
    private static readonly string[] s_baseOptions = ["--std=c++17"];
    private long _compilations, _cacheHits;

    public KernelCompiler(CudaContext context, string? cacheDirectory = null)
    {
        Context = context;
        CacheDirectory = cacheDirectory ?? DefaultCacheDirectory();
        try
        {
            NvrtcVersion = Interop.Nvrtc.Version();
        }
        catch (DllNotFoundException e)
        {
            throw new VigilException("CUDA: libnvrtc.so.13 (NVRTC, CUDA 13) is not installed or not on LD_LIBRARY_PATH.", e);
        }
    }

    public CudaContext Context { get; }
    public string CacheDirectory { get; }
    public (int Major, int Minor) NvrtcVersion { get; }
    /// <summary>Programs compiled by NVRTC through this instance.</summary>
    public long Compilations => Interlocked.Read(ref _compilations);
    /// <summary>Programs read from the disk cache through this instance.</summary>
    public long CacheHits => Interlocked.Read(ref _cacheHits);

    public static string DefaultCacheDirectory()
    {
        string? vigil = Environment.GetEnvironmentVariable("VIGIL_CACHE");
        if (!string.IsNullOrEmpty(vigil)) return Path.Combine(vigil, "kernels");
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg)) return Path.Combine(xdg, "vigil", "kernels");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "vigil", "kernels");
    }

    /// <summary>Reads a .cu file embedded in <paramref name="assembly"/> (logical name ending in <paramref name="fileName"/>).</summary>
    public static string ReadEmbeddedSource(Assembly assembly, string fileName)
    {
        string? name = assembly.GetManifestResourceNames().FirstOrDefault(n => n.EndsWith(fileName, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"Kernel source '{fileName}' is not embedded in {assembly.GetName().Name}.");
        using var s = assembly.GetManifestResourceStream(name)!;
        using var r = new StreamReader(s, Encoding.UTF8);
        return r.ReadToEnd();
    }

    /// <summary>Compiles and loads a module.</summary>
    public CudaModule Load(string name, string source, IReadOnlyList<string>? options = null) =>
        new(Context, Compile(name, source, options).Cubin);

    public CompiledKernel Compile(string name, string source, IReadOnlyList<string>? options = null)
    {
        var all = new List<string>(s_baseOptions) { $"--gpu-architecture={Context.Architecture}" };
        if (options is not null) all.AddRange(options);
        string key = CacheKey(source, all, Context.Architecture, NvrtcVersion);
        string path = Path.Combine(CacheDirectory, $"{Sanitize(name)}-{key}.cubin");
        if (File.Exists(path))
        {
            try
            {
                byte[] cached = File.ReadAllBytes(path);
                if (cached.Length > 0)
                {
                    Interlocked.Increment(ref _cacheHits);
                    return new CompiledKernel(name, cached, true, key, path);
                }
            }
            catch (IOException) { /* unreadable entry: compile again and overwrite */ }
        }

        using var program = Interop.Nvrtc.CreateProgram(source, name + ".cu");
        var (result, log) = Interop.Nvrtc.Compile(program, all);
        if (result != Interop.Nvrtc.NVRTC_SUCCESS)
            Interop.Nvrtc.Throw(result, $"compiling kernel source '{name}' for {Context.Architecture}", log);
        byte[] cubin = Interop.Nvrtc.GetCubin(program);
        Interlocked.Increment(ref _compilations);

        string? written = null;
        try
        {
            Directory.CreateDirectory(CacheDirectory);
            string tmp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
            File.WriteAllBytes(tmp, cubin);
            File.Move(tmp, path, overwrite: true);
            written = path;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only or full cache only costs a compile on the next start.
        }
        return new CompiledKernel(name, cubin, false, key, written);
    }

    /// <summary>SHA-256 (hex) over source, options, architecture and NVRTC version.</summary>
    public static string CacheKey(string source, IEnumerable<string> options, string architecture, (int Major, int Minor) nvrtc)
    {
        var sb = new StringBuilder(source.Length + 256);
        sb.Append(source).Append("\n\0options:");
        foreach (var o in options) sb.Append(o).Append('\0');
        sb.Append("\0arch:").Append(architecture).Append("\0nvrtc:").Append(nvrtc.Major).Append('.').Append(nvrtc.Minor);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    private static string Sanitize(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray();
        return new string(chars);
    }
}
