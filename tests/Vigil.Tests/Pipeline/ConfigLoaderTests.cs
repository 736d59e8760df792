using Vigil.Pipeline.Config;

namespace Vigil.Tests.Pipeline;

public class ConfigLoaderTests
{
    private static readonly string Dir = TestPaths.RepoRoot + "/configs";

    private static ConfigException Fails(string yaml) =>
        Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, "bad.yaml", Dir));

    private const string Valid = """
        sources:
          - uri: ../sample-videos/vtest.mp4
        detector:
          model: ../models/yolox_nano_416x416.onnx
        """;

    [Fact]
    public void Load_BundledPeopleConfig_IsValid()
    {
        var c = ConfigLoader.Load(Path.Combine(Dir, "people.yaml"));
        Assert.Equal("people", c.Name);
        Assert.Single(c.Sources);
        Assert.True(Path.IsPathRooted(c.Sources[0].Uri));
        Assert.Equal(Vigil.Tracking.TrackerKind.ByteTrack, c.Tracker!.Kind);
        Assert.Equal(["person"], c.Detector.Classes);
        Assert.EndsWith("people-{stream}.mp4", c.Sinks.VideoPath);
    }

    [Fact]
    public void Parse_MinimalConfig_UsesDefaults()
    {
        var c = ConfigLoader.Parse(Valid, "ok.yaml", Dir);
        Assert.Equal("vtest", c.Sources[0].Name);
        Assert.Equal(ComputeDevice.Cpu, c.Device);
        Assert.Null(c.Detector.ScoreThreshold); // the family default applies
        Assert.Null(c.Sinks.VideoPath);
    }

    [Fact]
    public void Parse_SyntaxError_NamesFileAndLine()
    {
        var ex = Fails("sources:\n  - uri: a.mp4\ndetector: [unclosed\n");
        var e = Assert.Single(ex.Errors);
        Assert.Equal("bad.yaml", e.File);
        Assert.True(e.Line >= 3, $"line {e.Line}");
        Assert.StartsWith("bad.yaml:", ex.Message);
        Assert.Contains("invalid YAML", ex.Message);
    }

    [Fact]
    public void Parse_UnknownKey_NamesLineAndKey()
    {
        var ex = Fails(Valid + "\n  score_treshold: 0.5\n");
        var e = Assert.Single(ex.Errors);
        Assert.Equal("detector.score_treshold", e.Key);
        Assert.Equal(5, e.Line);
        Assert.Contains("unknown key", e.Message);
        Assert.Contains("score_threshold", e.Message); // the known keys are listed, so the typo is obvious
    }

    [Fact]
    public void Parse_WrongTypeAndRange_ReportsEveryError()
    {
        var ex = Fails(Valid + "\n  score_threshold: high\n  batch_size: 0\n  family: ssd\n");
        Assert.Equal(3, ex.Errors.Count);
        Assert.Contains(ex.Errors, e => e.Key == "detector.score_threshold" && e.Message.Contains("expected a number") && e.Line == 5);
        Assert.Contains(ex.Errors, e => e.Key == "detector.batch_size" && e.Message.Contains("out of range") && e.Line == 6);
        Assert.Contains(ex.Errors, e => e.Key == "detector.family" && e.Message.Contains("yolox") && e.Line == 7);
    }

    [Fact]
    public void Parse_MissingSourcesAndModel_ReportsRequiredKeys()
    {
        var ex = Fails("detector:\n  family: yolox\n");
        Assert.Contains(ex.Errors, e => e.Key == "sources" && e.Message.Contains("required"));
        Assert.Contains(ex.Errors, e => e.Key == "detector.model" && e.Message.Contains("required"));
    }

    [Fact]
    public void Parse_ModelFileMissing_NamesThePath()
    {
        var ex = Fails(Valid.Replace("yolox_nano_416x416.onnx", "nope.onnx"));
        var e = Assert.Single(ex.Errors);
        Assert.Equal("detector.model", e.Key);
        Assert.Contains("nope.onnx", e.Message);
        Assert.Equal(4, e.Line);
    }

    [Fact]
    public void Parse_SeveralSourcesWithoutStreamPlaceholder_IsAnError()
    {
        var yaml = Valid.Replace("sources:\n", "sources:\n  - uri: b.mp4\n") + "\nsinks:\n  video:\n    path: out.mp4\n";
        var ex = Fails(yaml);
        Assert.Contains(ex.Errors, e => e.Key == "sinks.video.path" && e.Message.Contains("{stream}"));
    }

    [Fact]
    public void Load_MissingFile_IsAConfigError()
    {
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load("/nonexistent/x.yaml"));
        Assert.Contains("no such configuration file", ex.Message);
    }

    [Fact]
    public void Parse_UnknownClassName_NamesTheClassesKey()
    {
        var ex = Fails(Valid + "\n  classes: [person, unicorn]\n");
        var e = Assert.Single(ex.Errors);
        Assert.Equal("detector.classes", e.Key);
        Assert.Contains("unicorn", e.Message);
        Assert.Equal(5, e.Line);
    }

    [Fact]
    public void Parse_TrackerNone_DisablesTracking()
    {
        var c = ConfigLoader.Parse(Valid + "\ntracker:\n  type: none\nosd:\n  enabled: false\n", "ok.yaml", Dir);
        Assert.Null(c.Tracker);
        Assert.Null(c.Osd);
    }
}
