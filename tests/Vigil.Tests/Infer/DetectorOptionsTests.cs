using Vigil.Infer;

namespace Vigil.Tests.Infer;

public class DetectorOptionsTests
{
    private static string Yolox => InferTestMedia.Model("yolox_nano_416x416.onnx");

    [Fact]
    public void Validate_Defaults_NoErrors()
    {
        Assert.Empty(new DetectorOptions { ModelPath = "m.onnx", Classes = ["person", "2", "Traffic Light"] }.Validate());
    }

    [Fact]
    public void Validate_BadValues_NamesEachOption()
    {
        var errors = new DetectorOptions
        {
            ModelPath = "",
            InputWidth = 0,
            ScoreThreshold = 1.5f,
            NmsIou = 0f,
            MaxBatch = 0,
            Threads = -1,
            Classes = ["persn", "80"],
        }.Validate();
        foreach (var key in new[] { "ModelPath:", "InputWidth:", "ScoreThreshold:", "NmsIou:", "MaxBatch:", "Threads:" })
            Assert.Contains(errors, e => e.StartsWith(key, StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Classes: 'persn'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Classes: '80'", StringComparison.Ordinal));
    }

    [Fact]
    public void Create_DeclaredInputSizeDiffers_ThrowsNamingExpectedAndActual()
    {
        var ex = Assert.Throws<VigilException>(() => Detector.Create(new DetectorOptions { ModelPath = Yolox, InputWidth = 320, InputHeight = 320 }));
        Assert.Equal($"{Yolox}: input 'images' has shape [1,3,416,416] (416x416), but the config declares input size 320x320", ex.Message);
    }

    [Fact]
    public void Create_YoloxModelAsBlazeFace_ThrowsChannelLayoutError()
    {
        var ex = Assert.Throws<VigilException>(() => Detector.Create(new DetectorOptions { ModelPath = Yolox, Family = DetectorFamily.BlazeFace }));
        Assert.Equal($"{Yolox}: input 'images' has shape [1,3,416,416]; a blazeface model takes NHWC [N,H,W,3] (3 channels)", ex.Message);
    }

    [Fact]
    public void Create_BlazeFaceModelAsYolox_ThrowsChannelLayoutError()
    {
        var path = InferTestMedia.Model("blazeface_front_128x128.onnx");
        var ex = Assert.Throws<VigilException>(() => Detector.Create(new DetectorOptions { ModelPath = path, Family = DetectorFamily.Yolox }));
        Assert.Contains("a yolox model takes NCHW [N,3,H,W]", ex.Message);
        Assert.StartsWith(path, ex.Message);
    }

    [Fact]
    public void Create_InvalidOptions_ThrowsFirstError()
    {
        var ex = Assert.Throws<VigilException>(() => Detector.Create(new DetectorOptions { ModelPath = Yolox, MaxBatch = 0 }));
        Assert.Contains("MaxBatch: must be at least 1", ex.Message);
    }
}
