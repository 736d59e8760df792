using System.Runtime.InteropServices;

namespace Vigil.Cuda;

/// <summary>cudnnDataType_t values Vigil uses (cudnn_graph.h).</summary>
public enum cudnnDataType_t
{
    CUDNN_DATA_FLOAT = 0,
    CUDNN_DATA_HALF = 2,
}

/// <summary>cudnnMathType_t (cudnn_graph.h): tensor cores allowed, or FMA only (no TF32 for FP32 data).</summary>
public enum cudnnMathType_t
{
    CUDNN_DEFAULT_MATH = 0,
    CUDNN_TENSOR_OP_MATH = 1,
    CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION = 2,
    CUDNN_FMA_MATH = 3,
}

/// <summary>cudnnConvolutionFwdAlgo_t (cudnn_ops.h).</summary>
public enum cudnnConvolutionFwdAlgo_t
{
    CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM = 0,
    CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM = 1,
    CUDNN_CONVOLUTION_FWD_ALGO_GEMM = 2,
    CUDNN_CONVOLUTION_FWD_ALGO_DIRECT = 3,
    CUDNN_CONVOLUTION_FWD_ALGO_FFT = 4,
    CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING = 5,
    CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD = 6,
    CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED = 7,
}

/// <summary>cudnnActivationMode_t values usable with cudnnConvolutionBiasActivationForward (RELU, IDENTITY).</summary>
public enum cudnnActivationMode_t
{
    CUDNN_ACTIVATION_RELU = 1,
    CUDNN_ACTIVATION_IDENTITY = 5,
}

/// <summary>
/// cudnnConvolutionFwdAlgoPerf_t (cudnn_cnn.h), 48 bytes on x86-64: the algorithm, whether it supports the problem,
/// the heuristic's time estimate, its workspace, determinism and math type.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct cudnnConvolutionFwdAlgoPerf_t
{
    public cudnnConvolutionFwdAlgo_t algo;
    public int status;
    public float time;
    public nuint memory;
    public int determinism;
    public cudnnMathType_t mathType;
    public int reserved0, reserved1, reserved2;
}

/// <summary>cudaDataType values Vigil passes to cuBLAS (library_types.h).</summary>
public enum cudaDataType
{
    CUDA_R_32F = 0,
    CUDA_R_16F = 2,
}

/// <summary>cublasOperation_t (cublas_api.h).</summary>
public enum cublasOperation_t
{
    CUBLAS_OP_N = 0,
    CUBLAS_OP_T = 1,
}

/// <summary>cublasComputeType_t values Vigil uses (cublas_api.h): FP32 accumulation (no TF32).</summary>
public enum cublasComputeType_t
{
    CUBLAS_COMPUTE_32F = 68,
}

/// <summary>cublasGemmAlgo_t (cublas_api.h): Vigil lets cuBLAS choose (tensor cores are used for FP16 where they fit).</summary>
public enum cublasGemmAlgo_t
{
    CUBLAS_GEMM_DEFAULT = -1,
}

/// <summary>cublasMath_t (cublas_api.h).</summary>
public enum cublasMath_t
{
    CUBLAS_DEFAULT_MATH = 0,
    CUBLAS_PEDANTIC_MATH = 2,
}
