using Vigil.Engine;
using Vigil.Engine.Gpu;
using Vigil.Engine.Plan;

namespace Vigil.Tests.Engine;

/// <summary>The cached plan's name depends on every choice that changes the plan (no GPU needed for the name itself).</summary>
public class PlanCacheNameTests
{
    private static string Name(BuildOptions o) => Path.GetFileName(PlanCache.PathFor("NVIDIA H100 80GB HBM3", "sm_90", "/models/yolox.onnx", o));

    [Fact]
    public void PathFor_SameOptions_SameNameBesideTheModel()
    {
        var o = new BuildOptions { Precision = PlanPrecision.Fp16, BatchMin = 1, BatchOpt = 8, BatchMax = 8, CalibrationRange = (0f, 255f) };
        Assert.Equal(Name(o), Name(o with { }));
        Assert.StartsWith("yolox.NVIDIA_H100_80GB_HBM3-sm90-fp16-b1-8-8-", Name(o));
        Assert.Equal("/models", Path.GetDirectoryName(PlanCache.PathFor("g", "sm_90", "/models/yolox.onnx", o)));
    }

    [Fact]
    public void PathFor_DifferentTacticsOrRangeCheck_DifferentPlans()
    {
        var o = new BuildOptions { Precision = PlanPrecision.Fp16, CalibrationRange = (0f, 255f), TacticFilter = TacticFilter.All };
        var names = new[]
        {
            Name(o), Name(o with { TacticFilter = TacticFilter.Nvrtc }), Name(o with { CalibrationRange = (-1f, 1f) }),
            Name(o with { CalibrationRange = null }), Name(o with { Fp32Above = 0 }), Name(o with { Precision = PlanPrecision.Fp32 }),
        };
        Assert.Equal(names.Length, names.Distinct().Count());
    }
}

/// <summary>`vigil build` option parsing (the build itself needs a GPU).</summary>
public class BuildCommandOptionTests
{
    [Theory]
    [InlineData("0:255", 0f, 255f)]
    [InlineData("-1:1", -1f, 1f)]
    [InlineData("-0.5:2.5", -0.5f, 2.5f)]
    public void ParseRange_LowHigh_Parsed(string text, float lo, float hi) =>
        Assert.Equal((lo, hi), Vigil.App.Commands.BuildCommand.ParseRange(text));

    [Theory]
    [InlineData("255")]
    [InlineData("1:0")]
    [InlineData("a:b")]
    [InlineData("0:inf")]
    public void ParseRange_Invalid_ThrowsNamingTheOption(string text)
    {
        var ex = Assert.Throws<EngineException>(() => Vigil.App.Commands.BuildCommand.ParseRange(text));
        Assert.StartsWith($"--calibration-range {text}:", ex.Message);
    }
}
