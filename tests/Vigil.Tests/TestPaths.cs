namespace Vigil.Tests;

/// <summary>Locates the repository (the folder holding Vigil.slnx) and the data the tests use.</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRoot();

    public static string SampleVideo(string name = "vtest.mp4") => Require(Path.Combine(RepoRoot, "sample-videos", name), "run sample-videos/fetch.sh (test.sh does)");

    public static string Model(string name = "yolox_nano_416x416.onnx") => Require(Path.Combine(RepoRoot, "models", name), "run models/fetch.sh (test.sh does)");

    /// <summary>The shared data folder beside the checkout (../shared), as on development machines and CI.</summary>
    public static string Shared(params string[] parts) => Path.Combine([Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared")), .. parts]);

    public static string NewTempDir(string prefix)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"vigil-{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string Require(string path, string hint) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"test data missing: {path} ({hint})");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Vigil.slnx"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (Vigil.slnx) above " + AppContext.BaseDirectory);
    }
}
