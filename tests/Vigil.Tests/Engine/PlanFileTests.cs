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
    public void Deserialize_LibraryTactics_RoundTripVersionsAndNames()
    {
        var plan = MakePlan(PlanPrecision.Fp16);
        var convs = plan.Program.Layers.Where(l => l.Kind == LayerKind.Conv).ToList();
        convs[0].Tactic = "cudnn:IMPLICIT_PRECOMP_GEMM";
        convs[1].Tactic = "cublas";
        var withLibs = new PlanModel
        {
            Header = plan.Header with { CudnnVersion = "9.14.0", CublasVersion = "13.0.2" },
            Program = plan.Program, ConstantStorage = plan.ConstantStorage,
        };
        var loaded = PlanFile.Deserialize(PlanFile.Serialize(withLibs), "lib.plan");
        Assert.Equal("9.14.0", loaded.Header.CudnnVersion);
        Assert.Equal("13.0.2", loaded.Header.CublasVersion);
        Assert.Equal(plan.Program.Layers.Select(l => l.Tactic), loaded.Program.Layers.Select(l => l.Tactic));
        Assert.Equal("none", PlanFile.Deserialize(PlanFile.Serialize(plan), "nvrtc.plan").Header.CublasVersion);
    }

    [Fact]
    public void Deserialize_FormatVersion1_ThrowsRebuild()
    {
        var bytes = PlanFile.Serialize(MakePlan(PlanPrecision.Fp32));
        BitConverter.GetBytes(1u).CopyTo(bytes, 8);
        var ex = Assert.Throws<EngineException>(() => PlanFile.Deserialize(bytes, "old.plan"));
        Assert.Equal("old.plan: plan format version 1, this Vigil reads version 2; rebuild the plan with 'vigil build'", ex.Message);
    }

    [Fact]
    public void EnsureCompatible_OtherCudnnOrCublasVersion_ThrowsNamingBoth()
    {
        var plan = MakePlan(PlanPrecision.Fp16);
        var h = plan.Header with { CudnnVersion = "9.14.0", CublasVersion = "13.0.2" };
        PlanFile.EnsureCompatible(h, "m.plan", "Test GPU", 9, 0, 13000, "13.0", "9.14.0", "13.0.2");
        var ex = Assert.Throws<EngineException>(() => PlanFile.EnsureCompatible(h, "m.plan", "Test GPU", 9, 0, 13000, "13.0", "9.19.0", "13.0.2"));
        Assert.Equal("m.plan: the plan's tactics were built with cuDNN 9.14.0, but this machine has cuDNN 9.19.0; rebuild it with 'vigil build' on this machine", ex.Message);
        ex = Assert.Throws<EngineException>(() => PlanFile.EnsureCompatible(h, "m.plan", "Test GPU", 9, 0, 13000, "13.0", "9.14.0", "unavailable"));
        Assert.Equal("m.plan: the plan's tactics were built with cuBLAS 13.0.2, but cuBLAS cannot be loaded here; rebuild it with 'vigil build' on this machine", ex.Message);
        // A plan without library tactics runs wherever the GPU and NVRTC match.
        PlanFile.EnsureCompatible(plan.Header, "m.plan", "Test GPU", 9, 0, 13000, "13.0", "unavailable", "unavailable");
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
        var built = MakePlan(PlanPrecision.Fp16);
        var conv = built.Program.Layers.Last(l => l.Kind == LayerKind.Conv);
        conv.Tactic = "cudnn:WINOGRAD";
        conv.TacticMicroseconds = 7.5f;
        var plan = new PlanModel { Header = built.Header with { CudnnVersion = "9.14.0" }, Program = built.Program, ConstantStorage = built.ConstantStorage };
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
            Assert.Contains("tactic cudnn:WINOGRAD 7.5 us", text);
            Assert.Contains("cuDNN 9.14.0, cuBLAS none", text);
            Assert.Contains("tactics:     1 layers on library tactics (cudnn:WINOGRAD x1)", text);
            Assert.Contains("input:       input:0 [N,128,128,3] float32", text);
        }
        finally { File.Delete(path); }
    }
}
