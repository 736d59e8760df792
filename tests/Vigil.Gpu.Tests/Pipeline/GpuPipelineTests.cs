using Vigil.Decode;
using Vigil.Pipeline;
using Vigil.Pipeline.Config;

namespace Vigil.Gpu.Tests.Pipeline;

/// <summary>
/// The whole pipeline with device: gpu (NVDEC → fused preprocessing → ONNX Runtime on the GPU-made tensor →
/// tracking → GPU OSD → one download → MP4 + JSON Lines) against the CPU pipeline on the same video.
/// </summary>
[Collection("Gpu")]
public class GpuPipelineTests
{
    private const int Frames = 200;

    // The CPU reference writes JSON Lines only: its OSD needs OpenCV's native library, which the GPU payload leaves out.
    private static PipelineConfig Config(ComputeDevice device, string dir, string engine) => ConfigLoader.Parse($"""
        device: {device.ToString().ToLowerInvariant()}
        sources:
          - name: vtest
            uri: {Samples.Path("vtest.mp4")}
            max_frames: {Frames}
        detector:
          model: {ModelPath()}
          classes: [person]
          batch_size: 8
          engine: {engine}
        tracker:
          type: bytetrack
        osd:
          enabled: {device == ComputeDevice.Gpu}
        sinks:
        {(device == ComputeDevice.Gpu ? $"  video:\n    path: {dir}/{{stream}}.mp4" : "")}
          jsonl:
            path: {dir}/out.jsonl
          report:
            interval_s: 0
        """, $"{device}.yaml", dir);

    internal static string ModelPath(string name = "yolox_nano_416x416.onnx")
    {
        string? dir = Environment.GetEnvironmentVariable("VIGIL_MODELS");
        if (string.IsNullOrEmpty(dir))
        {
            var d = new DirectoryInfo(AppContext.BaseDirectory);
            while (d is not null && !File.Exists(Path.Combine(d.FullName, "models", name))) d = d.Parent;
            dir = d is null ? "models" : Path.Combine(d.FullName, "models");
        }
        var p = Path.Combine(dir, name);
        return File.Exists(p) ? p : throw new FileNotFoundException($"model {name} missing in {dir} (models/fetch.sh or VIGIL_MODELS)", p);
    }

    private static async Task<(List<List<BoxF>> Boxes, PipelineResult Result, string Dir)> RunAsync(ComputeDevice device, string engine = "auto")
    {
        var dir = Path.Combine(Path.GetTempPath(), $"vigil-gpu-pipeline-{device}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        var log = new StringWriter();
        var (code, result) = await PipelineHost.RunAsync(Config(device, dir, engine), log, TestContext.Current.CancellationToken);
        Console.WriteLine($"{device} pipeline:\n{log}");
        Assert.True(code == 0, log.ToString());
        var boxes = new List<List<BoxF>>();
        foreach (var line in File.ReadLines(Path.Combine(dir, "out.jsonl")))
        {
            using var doc = System.Text.Json.JsonDocument.Parse(line);
            boxes.Add(doc.RootElement.GetProperty("objects").EnumerateArray().Select(o =>
            {
                var b = o.GetProperty("box").EnumerateArray().Select(v => v.GetSingle()).ToArray();
                return new BoxF(b[0], b[1], b[2], b[3]);
            }).ToList());
        }
        return (boxes, result, dir);
    }

    [Theory]
    [InlineData("plan")]
    [InlineData("onnxruntime")]
    public async Task Run_GpuDevice_MatchesCpuPipelineDetections(string engine)
    {
        // The first plan-engine run may build the plan (its tactic checks read results back); the counted run loads it from the cache.
        if (engine == "plan") await RunAsync(ComputeDevice.Gpu, engine);
        long copiesBefore = Vigil.Cuda.CudaCounters.DeviceToHostCopies;
        var gpu = await RunAsync(ComputeDevice.Gpu, engine);
        long copies = Vigil.Cuda.CudaCounters.DeviceToHostCopies - copiesBefore;
        Console.WriteLine($"GPU ({engine}) pipeline: {copies} device-to-host copies for {Frames} frames " +
            "(one download per annotated frame; with the plan engine the rest are final boxes, with ONNX Runtime the input tensors)");
        if (engine == "plan")
            Assert.True(copies <= Frames * 3 / 2, $"{copies} device-to-host copies for {Frames} frames: more than the annotated frames and the final boxes");
        var cpu = await RunAsync(ComputeDevice.Cpu);

        Assert.Equal(Frames, gpu.Boxes.Count);
        Assert.Equal(Frames, cpu.Boxes.Count);
        int cpuTotal = cpu.Boxes.Sum(b => b.Count), matched = 0;
        for (int f = 0; f < Frames; f++)
            foreach (var c in cpu.Boxes[f])
                if (gpu.Boxes[f].Any(g => BoxF.IoU(c, g) > 0.8f)) matched++;
        double rate = matched / (double)cpuTotal;
        Console.WriteLine($"GPU ({engine}) vs CPU pipeline: {cpuTotal} CPU boxes, {gpu.Boxes.Sum(b => b.Count)} GPU boxes, {rate:P1} of CPU boxes matched at IoU > 0.8; " +
            $"GPU {gpu.Result.FramesPerSecond:0.0} frames/s, CPU {cpu.Result.FramesPerSecond:0.0} frames/s (this machine)");
        // NVDEC's NV12 (chroma at half resolution) and FFmpeg's BGR differ slightly, so a few borderline boxes differ.
        Assert.True(rate > 0.9, $"only {rate:P1} of CPU boxes found by the GPU pipeline");

        // The annotated video holds every frame (decoded back with FFmpeg).
        using var video = FFmpegVideoSource.Open(Path.Combine(gpu.Dir, "vtest.mp4"), 0, "check");
        int n = 0;
        while ((await video.ReadAsync(TestContext.Current.CancellationToken)) is { Status: not ReadStatus.EndOfStream } r)
            if (r.Status == ReadStatus.Frame) { n++; r.Frame!.Dispose(); }
        Assert.Equal(Frames, n);
    }
}
