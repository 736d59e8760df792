using System.Runtime.CompilerServices;
using Vigil.Cuda;

namespace Vigil.Tests.Cuda;

/// <summary>
/// Native struct sizes against cuda.h / nvrtc.h of CUDA 13.0 (x86-64). The expected values were printed on the GPU
/// machine by a C program compiled with gcc against /usr/local/cuda/include (see tests/Vigil.Gpu.Tests/native/sizes.c).
/// </summary>
public sealed class CudaStructTests
{
    [Fact]
    public void CudaMemcpy2D_Size_MatchesHeader() => Assert.Equal(128, Unsafe.SizeOf<CUDA_MEMCPY2D>());

    [Fact]
    public void CacheKey_AnyInputChanges_KeyChanges()
    {
        string k = KernelCompiler.CacheKey("src", ["-a"], "sm_90", (13, 0));
        Assert.Equal(64, k.Length);
        Assert.Equal(k, KernelCompiler.CacheKey("src", ["-a"], "sm_90", (13, 0)));
        Assert.NotEqual(k, KernelCompiler.CacheKey("src2", ["-a"], "sm_90", (13, 0)));
        Assert.NotEqual(k, KernelCompiler.CacheKey("src", ["-b"], "sm_90", (13, 0)));
        Assert.NotEqual(k, KernelCompiler.CacheKey("src", ["-a"], "sm_89", (13, 0)));
        Assert.NotEqual(k, KernelCompiler.CacheKey("src", ["-a"], "sm_90", (13, 1)));
    }
}
