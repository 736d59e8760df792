using Vigil.Engine;
using Vigil.Engine.Cpu;
using Vigil.Engine.Gpu;
using Vigil.Engine.Optimizer;
using Vigil.Engine.Plan;

namespace Vigil.Tests.Engine;

/// <summary>The plan format, written by the CPU-side serializer (no GPU): round trip, corruption, compatibility, inspect.</summary>
public class PlanFileTests
{
    private static PlanModel MakePlan(PlanPrecision precision)
    {
        var path = EngineTestModels.PathOf(EngineTestModels.BlazeFace);
        var compiled = ModelCompiler.Compile(path, OptimizerOptions.All, 8);
        compiled.Program.Layers[0].Tactic = "direct";
        compiled.Program.Layers[0].TacticMicroseconds = 12.5f;
        return new PlanModel
        {
            Header = new PlanHeader
            {
                GpuName = "Test GPU", ComputeMajor = 9, ComputeMinor = 0, CudaDriverVersion = 13000, NvrtcVersion = "13.0", CudnnVersion = "none",
                ModelSha256 = compiled.Source.SourceSha256, ModelName = Path.GetFileName(path), Precision = precision,
                BatchMin = 1, BatchOpt = 4, BatchMax = 8, BuildSeconds = 1.5,
            },
            Program = compiled.Program,
            ConstantStorage = PlanBuilder.StorageFor(compiled.Program, precision),
        };
    }

    [Fact]
    public void Deserialize_RoundTrip_RunsIdenticallyOnCpu()
    {
        var plan = MakePlan(PlanPrecision.Fp32);
        var bytes = PlanFile.Serialize(plan);
        var loaded = PlanFile.Deserialize(bytes, "t.plan");
        Assert.Equal(plan.Program.Layers.Count, loaded.Program.Layers.Count);
        Assert.Equal("direct", loaded.Program.Layers[0].Tactic);
        Assert.Equal(plan.Header.ModelSha256, loaded.Header.ModelSha256);
        var x = EngineTestModels.RandomInput(128 * 128 * 3 * 2, 3, -1, 1);
        var a = new CpuExecutor(plan.Program).Run([x], 2);
        var b = new CpuExecutor(loaded.Program).Run([x], 2);
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i]);
    }

    [Fact]
    public void Deserialize_Fp16Plan_StoresConvWeightsInHalfPrecision()
    {
        var p32 = PlanFile.Serialize(MakePlan(PlanPrecision.Fp32));
        var p16 = PlanFile.Serialize(MakePlan(PlanPrecision.Fp16));
        Assert.True(p16.Length < p32.Length * 0.75, $"{p16.Length} vs {p32.Length} bytes");
        var loaded = PlanFile.Deserialize(p16, "h.plan");
        var w = loaded.Program.Constants[loaded.Program.Layers.First(l => l.Kind == LayerKind.Conv).Inputs[1].Const].Floats!;
        Assert.All(w, v => Assert.Equal(v, (float)(Half)v));
    }

    [Fact]
    public void Deserialize_Truncated_ThrowsCorruptOrTruncated()
    {
        var bytes = PlanFile.Serialize(MakePlan(PlanPrecision.Fp32));
        var ex = Assert.Throws<EngineException>(() => PlanFile.Deserialize(bytes[..(bytes.Length / 2)], "cut.plan"));
        Assert.Equal("cut.plan: plan file is corrupt or truncated (checksum mismatch); rebuild it with 'vigil build'", ex.Message);
    }

    [Fact]
    public void Deserialize_FlippedByte_ThrowsCorrupt()
    {
        var bytes = PlanFile.Serialize(MakePlan(PlanPrecision.Fp32));
        bytes[bytes.Length / 3] ^= 0x40;
        var ex = Assert.Throws<EngineException>(() => PlanFile.Deserialize(bytes, "bad.plan"));
        Assert.Contains("corrupt or truncated", ex.Message);
    }

    [Fact]
    public void Deserialize_NotAPlan_ThrowsBadMagic()
    {
        var ex = Assert.Throws<EngineException>(() => PlanFile.Deserialize(new byte[100], "x.plan"));
        Assert.Equal("x.plan: not a Vigil plan file (bad magic or too short)", ex.Message);
    }

    [Fact]
    public void EnsureCompatible_OtherGpu_ThrowsNamingBoth()
    {
        var plan = MakePlan(PlanPrecision.Fp16);
        var ex = Assert.Throws<EngineException>(() => PlanFile.EnsureCompatible(plan.Header, "m.plan", "NVIDIA A100", 8, 0, 13000, "13.0"));
        Assert.Equal("m.plan: the plan was built for Test GPU (sm_90, CUDA driver 13.0, NVRTC 13.0) and cannot run on NVIDIA A100 (sm_80, CUDA driver 13.0, NVRTC 13.0); rebuild it with 'vigil build' on this machine", ex.Message);
        PlanFile.EnsureCompatible(plan.Header, "m.plan", "Test GPU", 9, 0, 13000, "13.0");
        Assert.Throws<EngineException>(() => PlanFile.EnsureCompatible(plan.Header, "m.plan", "Test GPU", 9, 0, 12080, "13.0"));
    }

    [Fact]
    public async Task InspectCommand_WrittenPlan_PrintsHeaderAndLayers()
    {
        var plan = MakePlan(PlanPrecision.Fp16);
        string path = Path.Combine(Path.GetTempPath(), $"vigil-inspect-{Environment.ProcessId}.plan");
        PlanFile.Save(plan, path);
        try
        {
            var cmd = Vigil.App.Commands.InspectCommand.Create();
            var root = new System.CommandLine.RootCommand { cmd };
            var sw = new StringWriter();
            var original = Console.Out;
            Console.SetOut(sw);
            int rc;
            try { rc = await root.Parse(["inspect", path]).InvokeAsync(cancellationToken: TestContext.Current.CancellationToken); }
            finally { Console.SetOut(original); }
            string text = sw.ToString();
            Assert.Equal(0, rc);
            Assert.Contains("built for:   Test GPU, compute capability 9.0, CUDA driver 13.0, NVRTC 13.0", text);
            Assert.Contains("precision:   Fp16", text);
            Assert.Contains("batch:       min 1, opt 4, max 8", text);
            Assert.Contains("tactic direct 12.5 us", text);
            Assert.Contains("input:       input:0 [N,128,128,3] float32", text);
        }
        finally { File.Delete(path); }
    }
}
