using System.CommandLine;
using Vigil.App.Commands;
using Vigil.Tracking.Mot;

namespace Vigil.Tests.Tracking;

public class MotCommandTests
{
    private static int Invoke(params string[] args)
    {
        var root = new RootCommand();
        foreach (var c in CommandCatalog.All()) root.Subcommands.Add(c);
        return root.Parse(args).Invoke();
    }

    [Fact]
    public void EvalMotRun_PyMotmetricsLayout_PrintsSequencesAndOverall()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"vigil-evalmot-{Guid.NewGuid():N}");
        try
        {
            foreach (var seq in new[] { "TUD-Campus", "TUD-Stadtmitte" })
            {
                Directory.CreateDirectory(Path.Combine(dir, "gt", seq, "gt")); // the <SEQ>/gt/gt.txt layout
                File.Copy(MotData.Path("py-motmetrics", seq, "gt.txt"), Path.Combine(dir, "gt", seq, "gt", "gt.txt"));
                Directory.CreateDirectory(Path.Combine(dir, "tracks"));
                File.Copy(MotData.Path("py-motmetrics", seq, "test.txt"), Path.Combine(dir, "tracks", seq + ".txt"));
            }
            string table = EvalMotCommand.Run(new DirectoryInfo(Path.Combine(dir, "gt")), new DirectoryInfo(Path.Combine(dir, "tracks")), new MotEvaluationOptions());
            var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(4, lines.Length);
            Assert.StartsWith("TUD-Campus ", lines[1]);
            Assert.Contains(" 55.8% ", lines[1]); // IDF1 0.557659
            Assert.StartsWith("OVERALL ", lines[3]);
            Assert.Contains(" 55.5% 0.330 ", lines[3]); // MOTA 0.555116, MOTP 0.330177
            Assert.Equal(0, Invoke("eval-mot", "--gt", Path.Combine(dir, "gt"), "--tracks", Path.Combine(dir, "tracks")));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void EvalMot_MissingFolder_ExitsNonZero()
    {
        Assert.Equal(1, Invoke("eval-mot", "--gt", "/nonexistent/gt", "--tracks", "/nonexistent/tracks"));
    }

    [Fact]
    public void Track_MalformedDetections_ExitsNonZero()
    {
        string path = Path.Combine(Path.GetTempPath(), $"vigil-det-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, "1,-1,10,20,30,40,0.9\n2,-1,x\n");
        try { Assert.Equal(1, Invoke("track", "--det", path, "--tracker", "sort", "--out", path + ".out")); }
        finally { File.Delete(path); File.Delete(path + ".out"); }
    }

    [Fact]
    public void Track_SortOnTudCampus_WritesMotChallengeOutput()
    {
        string output = Path.Combine(Path.GetTempPath(), $"vigil-track-{Guid.NewGuid():N}.txt");
        try
        {
            Assert.Equal(0, Invoke("track", "--det", MotData.Path("MOT15", "TUD-Campus", "det.txt"), "--tracker", "sort", "--out", output));
            var rows = MotFile.Read(output);
            Assert.NotEmpty(rows);
            Assert.Equal(1, rows.Min(r => r.Id));
            Assert.True(rows.All(r => r.Frame >= 1 && r.Frame <= 71));
            // Same rows as the library call the pipeline makes.
            var direct = MotTrackRunner.Run(MotFile.Read(MotData.Path("MOT15", "TUD-Campus", "det.txt")), new Vigil.Tracking.TrackerOptions { Kind = Vigil.Tracking.TrackerKind.Sort });
            Assert.Equal(direct.Count, rows.Count);
        }
        finally { File.Delete(output); }
    }
}
