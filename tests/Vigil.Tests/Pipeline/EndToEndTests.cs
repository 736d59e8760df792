using System.Text.Json;

namespace Vigil.Tests.Pipeline;

/// <summary>The main job and its failure modes, through the real vigil program.</summary>
public class EndToEndTests
{
    private static string Yaml(string dir, string sources, string extra = "") => $"""
        name: e2e
        sources:
        {sources}
        detector:
          model: {TestPaths.Model()}
          classes: [person]
          batch_size: 4
        tracker:
          type: bytetrack
        sinks:
          video:
            path: {dir}/out-{"{stream}"}.mp4
          jsonl:
            path: {dir}/out.jsonl
          report:
            path: {dir}/report.json
            interval_s: 0
        {extra}
        """;

    private static string Write(string dir, string yaml)
    {
        var path = Path.Combine(dir, "pipeline.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public async Task Run_Vtest_WritesEveryFrameDetectsPeopleAndKeepsTrackIds()
    {
        var dir = TestPaths.NewTempDir("e2e");
        var video = TestPaths.SampleVideo();
        var config = Write(dir, Yaml(dir, $"  - name: vtest\n    uri: {video}"));

        var r = await VigilProcess.RunAsync(dir, "run", config);

        Assert.True(r.ExitCode == 0, r.StdErr);
        int inputFrames = VigilProcess.CountFrames(video);
        Assert.Equal(795, inputFrames);
        Assert.Equal(inputFrames, VigilProcess.CountFrames(Path.Combine(dir, "out-vtest.mp4")));

        var records = VigilProcess.ReadJsonLines(Path.Combine(dir, "out.jsonl"));
        Assert.Equal(inputFrames, records.Count);
        Assert.Equal(Enumerable.Range(0, inputFrames), records.Select(r => r.GetProperty("frame").GetInt32()));
        var timestamps = records.Select(r => r.GetProperty("timestamp").GetDouble()).ToList();
        Assert.True(timestamps.Zip(timestamps.Skip(1)).All(p => p.Second > p.First), "timestamps increase");

        int withPeople = records.Count(r => r.GetProperty("objects").EnumerateArray().Any(o => o.GetProperty("class").GetString() == "person"));
        Assert.True(withPeople >= 0.9 * inputFrames, $"people in {withPeople} of {inputFrames} frames");

        // Track ids persist: some ids are seen in long runs of consecutive frames.
        var runs = new Dictionary<long, (long Last, int Run, int Best)>();
        foreach (var rec in records)
        {
            long f = rec.GetProperty("frame").GetInt64();
            foreach (var o in rec.GetProperty("objects").EnumerateArray())
            {
                if (!o.TryGetProperty("track_id", out var idEl)) continue;
                long id = idEl.GetInt64();
                var s = runs.GetValueOrDefault(id, (-2, 0, 0));
                int run = s.Last == f - 1 ? s.Run + 1 : 1;
                runs[id] = (f, run, Math.Max(s.Best, run));
            }
        }
        Assert.True(runs.Values.Count(v => v.Best >= 100) >= 3, "at least 3 people keep their id for 100+ consecutive frames");
        Assert.True(runs.Count < 200, $"{runs.Count} ids for a few dozen people: ids churn");

        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "report.json")));
        Assert.Equal(inputFrames, report.RootElement.GetProperty("frames_out").GetInt32());
        Assert.Contains("frames/s end to end", r.StdErr);
    }

    [Fact]
    public async Task Run_SeveralSourcesOneBroken_ReportsItAndFinishesTheOthers()
    {
        var dir = TestPaths.NewTempDir("multi");
        var video = TestPaths.SampleVideo();
        var notVideo = Path.Combine(dir, "notes.mp4");
        File.WriteAllText(notVideo, "this is a text file, not a video\n");
        var bytes = File.ReadAllBytes(video);
        // A truncated MP4 whose index (moov) comes first, as a camera recording cut off mid-write would be:
        // the frames present decode, then the stream ends.
        var faststart = Path.Combine(dir, "faststart.mp4");
        using (var ff = System.Diagnostics.Process.Start("ffmpeg", ["-v", "error", "-y", "-i", video, "-c", "copy", "-movflags", "+faststart", faststart]))
            await ff.WaitForExitAsync(TestContext.Current.CancellationToken);
        var fsBytes = File.ReadAllBytes(faststart);
        var truncated = Path.Combine(dir, "truncated.mp4");
        File.WriteAllBytes(truncated, fsBytes[..(fsBytes.Length / 10)]);
        // Cut before its index: not readable at all, which must be reported as a failed source.
        var noIndex = Path.Combine(dir, "noindex.mp4");
        File.WriteAllBytes(noIndex, bytes[..(bytes.Length / 10)]);
        var corrupt = Path.Combine(dir, "corrupt.mp4");
        var damaged = (byte[])bytes.Clone();
        new Random(7).NextBytes(damaged.AsSpan(bytes.Length / 20, 200_000));
        File.WriteAllBytes(corrupt, damaged);

        var sources = string.Join("\n", new[]
        {
            $"  - name: good\n    uri: {video}\n    max_frames: 60",
            $"  - name: missing\n    uri: {dir}/no-such-file.mp4",
            $"  - name: notvideo\n    uri: {notVideo}",
            $"  - name: truncated\n    uri: {truncated}",
            $"  - name: corrupt\n    uri: {corrupt}\n    max_frames: 120",
            $"  - name: noindex\n    uri: {noIndex}",
        });
        var config = Write(dir, Yaml(dir, sources));

        var r = await VigilProcess.RunAsync(dir, "run", config);

        Assert.True(r.ExitCode == 3, $"exit {r.ExitCode}: {r.StdErr}"); // some sources failed, the others ran
        Assert.Contains("SourceFailed", r.StdErr);
        Assert.Contains("missing", r.StdErr);
        Assert.Contains("no-such-file.mp4", r.StdErr);
        Assert.Contains("notvideo", r.StdErr);
        Assert.DoesNotContain("   at ", r.StdErr); // no stack traces

        var perStream = VigilProcess.ReadJsonLines(Path.Combine(dir, "out.jsonl"))
            .GroupBy(x => x.GetProperty("stream").GetString()!).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(60, perStream["good"]);
        Assert.Equal(120, perStream["corrupt"]);
        Assert.InRange(perStream["truncated"], 1, 794);
        Assert.False(perStream.ContainsKey("missing"));
        Assert.Equal(60, VigilProcess.CountFrames(Path.Combine(dir, "out-good.mp4")));
        Assert.Equal(perStream["truncated"], VigilProcess.CountFrames(Path.Combine(dir, "out-truncated.mp4")));

        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "report.json")));
        var outcomes = report.RootElement.GetProperty("sources").EnumerateArray()
            .ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("outcome").GetString());
        Assert.Equal("failed", outcomes["missing"]);
        Assert.Equal("failed", outcomes["notvideo"]);
        Assert.Equal("failed", outcomes["noindex"]);
        Assert.Equal("ended", outcomes["good"]);
        Assert.Equal("ended", outcomes["truncated"]);
        Assert.Equal("ended", outcomes["corrupt"]);
    }

    [Fact]
    public async Task Run_Interrupted_FinalizesVideoAndJsonLines()
    {
        var dir = TestPaths.NewTempDir("sigint");
        var config = Write(dir, Yaml(dir, $"  - name: vtest\n    uri: {TestPaths.SampleVideo()}"));
        using var p = VigilProcess.Start(dir, "run", config);
        var stderr = p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        var jsonl = Path.Combine(dir, "out.jsonl");
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline && (!File.Exists(jsonl) || new FileInfo(jsonl).Length < 20_000))
            await Task.Delay(200, TestContext.Current.CancellationToken);
        using (var kill = System.Diagnostics.Process.Start("kill", ["-INT", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        await p.WaitForExitAsync(TestContext.Current.CancellationToken);
        var err = await stderr;

        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}: {err}");
        Assert.Contains("SIGINT received", err);
        var records = VigilProcess.ReadJsonLines(jsonl); // every line is complete JSON
        Assert.InRange(records.Count, 1, 794);
        Assert.Equal(records.Count, VigilProcess.CountFrames(Path.Combine(dir, "out-vtest.mp4")));
    }
}
