namespace Vigil.Tests.Pipeline;

/// <summary>Bad input to the vigil program: a clear message, a non-zero exit, never a stack trace.</summary>
public class CliErrorTests
{
    private static string Config(string dir, string body)
    {
        var path = Path.Combine(dir, "bad.yaml");
        File.WriteAllText(path, body);
        return path;
    }

    private static string Valid(string video, string model, string extra = "") => $"""
        sources:
          - uri: {video}
        detector:
          model: {model}
        {extra}
        """;

    private static void AssertCleanError(VigilProcess.Result r, int exitCode, params string[] fragments)
    {
        Assert.True(r.ExitCode == exitCode, $"exit {r.ExitCode}, stderr: {r.StdErr}");
        foreach (var f in fragments) Assert.Contains(f, r.StdErr);
        Assert.DoesNotContain("   at ", r.StdErr);
        Assert.DoesNotContain("Exception:", r.StdErr);
    }

    [Fact]
    public async Task Validate_MalformedYaml_NamesFileLineAndSyntax()
    {
        var dir = TestPaths.NewTempDir("cli");
        var path = Config(dir, "sources:\n  - uri: a.mp4\n detector: {model: x\n");
        var r = await VigilProcess.RunAsync(dir, "validate", path);
        AssertCleanError(r, 2, "bad.yaml:3:", "invalid YAML");
        Assert.Single(r.StdErr.Trim().Split('\n'));
    }

    [Fact]
    public async Task Run_UnknownKey_NamesLineAndKey()
    {
        var dir = TestPaths.NewTempDir("cli");
        var path = Config(dir, Valid(TestPaths.SampleVideo(), TestPaths.Model(), "trackr:\n  type: iou\n"));
        var r = await VigilProcess.RunAsync(dir, "run", path);
        AssertCleanError(r, 2, "bad.yaml:5:1: trackr: unknown key");
    }

    [Fact]
    public async Task Run_ModelNotOnnx_SaysSo()
    {
        var dir = TestPaths.NewTempDir("cli");
        var fake = Path.Combine(dir, "model.onnx");
        File.WriteAllText(fake, "<html>not a model</html>");
        var r = await VigilProcess.RunAsync(dir, "run", Config(dir, Valid(TestPaths.SampleVideo(), fake)));
        AssertCleanError(r, 2, "model.onnx", "not an ONNX model");
        Assert.Single(r.StdErr.Trim().Split('\n'));
    }

    [Fact]
    public async Task Run_ModelInputDoesNotMatchConfig_NamesBothSizes()
    {
        var dir = TestPaths.NewTempDir("cli");
        var r = await VigilProcess.RunAsync(dir, "run",
            Config(dir, Valid(TestPaths.SampleVideo(), TestPaths.Model()) .Replace("detector:\n", "detector:\n  input_size: [320, 320]\n")));
        AssertCleanError(r, 2, "320", "416");
        Assert.Single(r.StdErr.Trim().Split('\n'));
    }

    [Fact]
    public async Task Run_MissingVideoFile_FailsWithTheFileName()
    {
        var dir = TestPaths.NewTempDir("cli");
        var r = await VigilProcess.RunAsync(dir, "run", Config(dir, Valid(Path.Combine(dir, "gone.mp4"), TestPaths.Model())));
        AssertCleanError(r, 1, "gone.mp4", "no such file");
    }

    [Fact]
    public async Task Run_FileThatIsNotVideo_FailsClearly()
    {
        var dir = TestPaths.NewTempDir("cli");
        var text = Path.Combine(dir, "clip.mp4");
        File.WriteAllText(text, string.Concat(Enumerable.Repeat("plain text ", 500)));
        var r = await VigilProcess.RunAsync(dir, "run", Config(dir, Valid(text, TestPaths.Model())));
        AssertCleanError(r, 1, "clip.mp4", "not a video");
    }

    [Fact]
    public async Task Validate_MissingConfigFile_IsOneLine()
    {
        var dir = TestPaths.NewTempDir("cli");
        var r = await VigilProcess.RunAsync(dir, "validate", "nope.yaml");
        AssertCleanError(r, 2, "nope.yaml", "no such configuration file");
    }
}
