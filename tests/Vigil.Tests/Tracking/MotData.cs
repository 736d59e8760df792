namespace Vigil.Tests.Tracking;

/// <summary>Locates ../shared/mot (the MOTChallenge reference data) relative to the repository root.</summary>
internal static class MotData
{
    public static string Root { get; } = Locate();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string Locate()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Vigil.slnx"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException($"no Vigil.slnx above {AppContext.BaseDirectory}");
        // ../shared beside the clone (CI), or shared/ in the checkout, or a shared/ further up (worktrees).
        for (var d = dir; d is not null; d = d.Parent)
        {
            foreach (var candidate in new[] { System.IO.Path.Combine(d.FullName, "shared", "mot"), System.IO.Path.Combine(d.Parent?.FullName ?? d.FullName, "shared", "mot") })
                if (File.Exists(System.IO.Path.Combine(candidate, "EXPECTED.md"))) return candidate;
        }
        throw new InvalidOperationException($"MOT reference data (shared/mot/EXPECTED.md) not found beside {dir.FullName} or above it");
    }
}
