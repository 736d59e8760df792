using Vigil.Infer;

namespace Vigil.Tests.Infer;

public class OnnxRuntimeEngineTests
{
    private static string Yolox => InferTestMedia.Model("yolox_nano_416x416.onnx");

    [Fact]
    public void Constructor_Yolox_DescribesTensorsAndFixedBatch()
    {
        using var engine = new OnnxRuntimeEngine(Yolox, maxBatch: 4, intraOpThreads: 1);
        var input = Assert.Single(engine.Inputs);
        Assert.Equal("images", input.Name);
        Assert.Equal([1L, 3, 416, 416], input.Shape);
        var output = Assert.Single(engine.Outputs);
        Assert.Equal([1L, 3549, 85], output.Shape);
        Assert.Equal(1, engine.FixedBatch);
        Assert.Equal(4, engine.MaxBatch);
        Assert.Equal(4 * 3 * 416 * 416, engine.InputBuffer(0).Length);
        Assert.Equal(4 * 3549 * 85, engine.OutputBuffer(0).Length);
    }

    [Fact]
    public void Run_FixedBatchModel_EachItemMatchesASingleRun()
    {
        // Three different inputs in one batch must give the same outputs as three batch-1 runs.
        using var batched = new OnnxRuntimeEngine(Yolox, maxBatch: 3, intraOpThreads: 2);
        using var single = new OnnxRuntimeEngine(Yolox, maxBatch: 1, intraOpThreads: 2);
        int per = 3 * 416 * 416, outPer = 3549 * 85;
        var rng = new Random(5);
        var inputs = batched.InputBuffer(0).Span;
        for (int i = 0; i < inputs.Length; i++) inputs[i] = rng.Next(256);
        batched.Run(3);
        for (int item = 0; item < 3; item++)
        {
            inputs.Slice(item * per, per).CopyTo(single.InputBuffer(0).Span);
            single.Run(1);
            var expected = single.OutputBuffer(0).Span[..outPer];
            var actual = batched.OutputBuffer(0).Span.Slice(item * outPer, outPer);
            Assert.True(expected.SequenceEqual(actual), $"item {item} differs");
        }
        // And the items really differ from each other (the batch is not one image repeated).
        Assert.False(batched.OutputBuffer(0).Span[..outPer].SequenceEqual(batched.OutputBuffer(0).Span.Slice(outPer, outPer)));
    }

    [Fact]
    public void Constructor_TextFile_ThrowsNotAnOnnxModel()
    {
        var path = Path.Combine(Path.GetTempPath(), $"vigil-not-onnx-{Guid.NewGuid():N}.onnx");
        File.WriteAllText(path, "this is a text file, not a protobuf model\n");
        try
        {
            var ex = Assert.Throws<VigilException>(() => new OnnxRuntimeEngine(path));
            TestContext.Current.TestOutputHelper?.WriteLine(ex.Message);
            Assert.Equal($"{path}: not an ONNX model (Protobuf parsing failed)", ex.Message);
            Assert.DoesNotContain('\n', ex.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Constructor_TruncatedModel_ThrowsNotAnOnnxModel()
    {
        var path = Path.Combine(Path.GetTempPath(), $"vigil-truncated-{Guid.NewGuid():N}.onnx");
        var bytes = File.ReadAllBytes(Yolox);
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 3).ToArray());
        try
        {
            var ex = Assert.Throws<VigilException>(() => new OnnxRuntimeEngine(path));
            TestContext.Current.TestOutputHelper?.WriteLine(ex.Message);
            Assert.StartsWith($"{path}: not an ONNX model (", ex.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Constructor_MissingFile_ThrowsNotFound()
    {
        var ex = Assert.Throws<VigilException>(() => new OnnxRuntimeEngine("/nonexistent/model.onnx"));
        Assert.Equal("/nonexistent/model.onnx: model file not found", ex.Message);
    }

    [Fact]
    public void Run_BatchLargerThanMax_Throws()
    {
        using var engine = new OnnxRuntimeEngine(Yolox, maxBatch: 2, intraOpThreads: 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.Run(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.Run(0));
    }
}
