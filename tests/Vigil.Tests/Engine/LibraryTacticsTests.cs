using System.Runtime.InteropServices;
using Vigil.Cuda;
using Vigil.Engine;
using Vigil.Engine.Gpu;
using Vigil.Engine.Optimizer;
using Vigil.Engine.Plan;

namespace Vigil.Tests.Engine;

/// <summary>The CPU-side rules of the cuDNN/cuBLAS tactics: names, which layers they apply to, fusion, epilogue kernels, the filter.</summary>
public sealed class LibraryTacticsTests
{
    private static readonly PwOp[] s_noOps = [];

    /// <summary>A conv layer: I = Cin,H,W,Cout,OH,OW,KH,KW,SH,SW,PT,PL,DH,DW,G, then the epilogue program.</summary>
    private static Layer Conv(long[] geometry, PwOp[]? epilogue = null, int residuals = 0)
    {
        var ops = epilogue ?? s_noOps;
        int registers = 1 + residuals; // register 0 = conv + bias, then the residuals
        var I = new List<long>(geometry) { registers };
        var F = new List<float>();
        for (int j = 0; j < ops.Length; j++)
        {
            I.AddRange([(long)ops[j], j == 0 ? 0 : registers + j - 1, 0]);
            F.AddRange([0f, 0f]);
        }
        var x = new TensorRef(0, 0, [(int)geometry[0], (int)geometry[1], (int)geometry[2]]);
        var y = new TensorRef(1, 0, [(int)geometry[3], (int)geometry[4], (int)geometry[5]]);
        var inputs = new List<TensorRef> { x, TensorRef.ForConst(0, [1]), TensorRef.ForConst(1, [1]) };
        for (int k = 0; k < residuals; k++) inputs.Add(new TensorRef(2, 0, y.Shape));
        return new Layer { Name = "conv", Kind = LayerKind.Conv, Inputs = [.. inputs], Outputs = [y], I = [.. I], F = [.. F] };
    }

    private static readonly long[] s_conv3x3 = [16, 32, 32, 32, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1];
    private static readonly long[] s_conv1x1 = [16, 32, 32, 32, 32, 32, 1, 1, 1, 1, 0, 0, 1, 1, 1];

    [Fact]
    public void CudnnTactic_EveryAlgorithm_RoundTripsThroughItsName()
    {
        foreach (var algo in Enum.GetValues<cudnnConvolutionFwdAlgo_t>())
        {
            string name = LibraryTactics.CudnnTactic(algo);
            Assert.StartsWith("cudnn:", name);
            Assert.DoesNotContain("CUDNN_", name);
            Assert.True(LibraryTactics.IsLibrary(name));
            Assert.Equal(algo, LibraryTactics.CudnnAlgorithm(name, "l"));
        }
        Assert.Equal("cudnn:IMPLICIT_PRECOMP_GEMM", LibraryTactics.CudnnTactic(cudnnConvolutionFwdAlgo_t.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM));
        Assert.True(LibraryTactics.IsLibrary("cublas"));
        Assert.False(LibraryTactics.IsLibrary("direct"));
        var ex = Assert.Throws<EngineException>(() => LibraryTactics.CudnnAlgorithm("cudnn:MAGIC", "conv7"));
        Assert.Equal("layer 'conv7': unknown cuDNN tactic 'cudnn:MAGIC'", ex.Message);
    }

    [Fact]
    public void CudnnApplies_SymmetricOrAsymmetricPadding_OnlyWhenCudnnOutputSizeMatches()
    {
        Assert.True(LibraryTactics.CudnnApplies(Conv(s_conv3x3)));
        // Stride 2, kernel 3, pads (1, 1): 32 -> 16 either way.
        Assert.True(LibraryTactics.CudnnApplies(Conv([16, 32, 32, 32, 16, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1])));
        // Depthwise and dilated.
        Assert.True(LibraryTactics.CudnnApplies(Conv([32, 32, 32, 32, 32, 32, 3, 3, 1, 1, 2, 2, 2, 2, 32])));
        // TensorFlow "SAME" with stride 2: pads top 0, bottom 1 -> 16 rows; cuDNN with pad 0 on both sides gives 15.
        Assert.False(LibraryTactics.CudnnApplies(Conv([16, 32, 32, 32, 16, 16, 3, 3, 2, 2, 0, 0, 1, 1, 1])));
    }

    [Fact]
    public void CublasApplies_OnlyPointwiseUngroupedConvolutionsAndPlainGemms()
    {
        Assert.True(LibraryTactics.CublasApplies(Conv(s_conv1x1)));
        Assert.False(LibraryTactics.CublasApplies(Conv(s_conv3x3)));
        Assert.False(LibraryTactics.CublasApplies(Conv([16, 32, 32, 32, 16, 16, 1, 1, 2, 2, 0, 0, 1, 1, 1])));
        Assert.False(LibraryTactics.CublasApplies(Conv([16, 32, 32, 32, 32, 32, 1, 1, 1, 1, 0, 0, 1, 1, 2])));
        var gemm = new Layer { Name = "fc", Kind = LayerKind.Gemm, Inputs = [], Outputs = [], I = [1, 256, 10, 0] };
        Assert.True(LibraryTactics.CublasApplies(gemm));
        Assert.False(LibraryTactics.CublasApplies(new Layer { Name = "fc", Kind = LayerKind.Gemm, Inputs = [], Outputs = [], I = [1, 256, 10, 1] }));
    }

    [Fact]
    public void FusedActivation_CudnnFusedCall_OnlyForIdentityWithPrecompGemmOrSingleRelu()
    {
        var precomp = cudnnConvolutionFwdAlgo_t.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
        var winograd = cudnnConvolutionFwdAlgo_t.CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD;
        Assert.Equal(cudnnActivationMode_t.CUDNN_ACTIVATION_IDENTITY, LibraryTactics.FusedActivation(Conv(s_conv3x3), precomp));
        Assert.Null(LibraryTactics.FusedActivation(Conv(s_conv3x3), winograd));
        Assert.Equal(cudnnActivationMode_t.CUDNN_ACTIVATION_RELU, LibraryTactics.FusedActivation(Conv(s_conv3x3, [PwOp.Relu]), winograd));
        Assert.Null(LibraryTactics.FusedActivation(Conv(s_conv3x3, [PwOp.Silu]), precomp));
        Assert.Null(LibraryTactics.FusedActivation(Conv(s_conv3x3, [PwOp.Relu, PwOp.Sigmoid]), precomp));
        Assert.Null(LibraryTactics.FusedActivation(Conv(s_conv3x3, [PwOp.Relu], residuals: 1), precomp));

        Assert.False(LibraryTactics.NeedsEpilogueKernel(Conv(s_conv3x3, [PwOp.Relu]), "cudnn:WINOGRAD"));
        Assert.True(LibraryTactics.NeedsEpilogueKernel(Conv(s_conv3x3, [PwOp.Silu]), "cudnn:WINOGRAD"));
        Assert.True(LibraryTactics.NeedsEpilogueKernel(Conv(s_conv1x1), "cublas"));
    }

    [Theory]
    [InlineData(null, TacticFilter.All)]
    [InlineData("", TacticFilter.All)]
    [InlineData("all", TacticFilter.All)]
    [InlineData("Library", TacticFilter.Library)]
    [InlineData("nvrtc", TacticFilter.Nvrtc)]
    public void ParseFilter_KnownValues_Parse(string? value, TacticFilter expected) => Assert.Equal(expected, LibraryTactics.ParseFilter(value));

    [Fact]
    public void ParseFilter_Unknown_ThrowsNamingTheVariable()
    {
        var ex = Assert.Throws<EngineException>(() => LibraryTactics.ParseFilter("cudnn"));
        Assert.Equal("tactics 'cudnn' (--tactics or VIGIL_ENGINE_TACTICS): expected all, library or nvrtc", ex.Message);
    }

    [Theory]
    [InlineData(EngineTestModels.BlazeFace)]
    [InlineData("yolox_nano_416x416.onnx")]
    [InlineData("person-reidentification-retail-0287.onnx")]
    public void LibraryEpilogue_EveryConvAndGemmOfModel_IsOneInPlaceKernelPerLayer(string model)
    {
        var program = ModelCompiler.Compile(EngineTestModels.PathOf(model), OptimizerOptions.All, 8).Program;
        var gen = new KernelGenerator(program, PlanPrecision.Fp16);
        int convs = 0, cudnn = 0;
        for (int i = 0; i < program.Layers.Count; i++)
        {
            var l = program.Layers[i];
            if (l.Kind is not (LayerKind.Conv or LayerKind.Gemm))
            {
                Assert.Throws<EngineException>(() => gen.LibraryEpilogue(i));
                continue;
            }
            var k = gen.LibraryEpilogue(i);
            Assert.Equal(KernelGenerator.LibraryEpilogueFunction(i), k.Launch.Function);
            Assert.Contains($"void __launch_bounds__(256) {k.Launch.Function}(KARGS)", k.Source);
            // One tile row per image; 256 threads a tile, each covering 2 elements (FP16, aligned output) or 1.
            Assert.True(k.Launch.Tiled);
            int per = k.Source.Contains("unsigned int pair", StringComparison.Ordinal) ? 2 : 1;
            Assert.Equal((l.Outputs[0].Count + 256 * per - 1) / (256 * per), k.Launch.TilesX);
            // Reads the library's result and the bias, writes the same elements.
            if (per == 1) Assert.Contains("y[r] = ST(", k.Source);
            else Assert.Contains("*(unsigned int*)(y + r) = (unsigned int)ST(o0) | ((unsigned int)ST(o1) << 16);", k.Source);
            Assert.Contains("+ (WF + ", k.Source);
            if (l.Kind == LayerKind.Conv)
            {
                convs++;
                if (LibraryTactics.CudnnApplies(l)) cudnn++;
            }
        }
        Assert.True(convs > 0);
        // YOLOX (a PyTorch export) pads symmetrically: every convolution can run on cuDNN. The TensorFlow-converted
        // models have a few stride-2 convolutions padded more at the bottom/right, which stay on NVRTC kernels.
        if (model == "yolox_nano_416x416.onnx") Assert.Equal(convs, cudnn);
        else Assert.InRange(cudnn, convs * 8 / 10, convs);
    }

    [Fact]
    public void CudnnAlgoPerf_Size_MatchesHeader()
    {
        // cudnn_cnn.h (cuDNN 9): algo, status, time (float), memory (size_t, 8-aligned), determinism, mathType, reserved[3].
        Assert.Equal(48, Marshal.SizeOf<cudnnConvolutionFwdAlgoPerf_t>());
        Assert.Equal(16, (int)Marshal.OffsetOf<cudnnConvolutionFwdAlgoPerf_t>(nameof(cudnnConvolutionFwdAlgoPerf_t.memory)));
        Assert.Equal(28, (int)Marshal.OffsetOf<cudnnConvolutionFwdAlgoPerf_t>(nameof(cudnnConvolutionFwdAlgoPerf_t.mathType)));
    }
}
