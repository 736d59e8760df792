/* Prints what Vigil's cuDNN/cuBLAS bindings assume, from the real headers. Built and run on the GPU machine:
 *   gcc -I/usr/include/x86_64-linux-gnu -I/usr/local/cuda/include library_sizes.c -o library_sizes && ./library_sizes
 * The numbers are the expected values in tests/Vigil.Tests/Engine/LibraryTacticsTests.cs and src/Cuda/Interop/LibraryTypes.cs. */
#include <stdio.h>
#include <stddef.h>
#include <cudnn.h>
#include <cublas_v2.h>

int main(void)
{
    printf("cudnn %d.%d.%d cublas %d.%d.%d\n", CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL, CUBLAS_VER_MAJOR, CUBLAS_VER_MINOR, CUBLAS_VER_PATCH);
    printf("cudnnConvolutionFwdAlgoPerf_t %zu memory@%zu mathType@%zu\n", sizeof(cudnnConvolutionFwdAlgoPerf_t),
        offsetof(cudnnConvolutionFwdAlgoPerf_t, memory), offsetof(cudnnConvolutionFwdAlgoPerf_t, mathType));
    printf("DATA_FLOAT %d DATA_HALF %d TENSOR_OP_MATH %d FMA_MATH %d NCHW %d CROSS_CORRELATION %d RELU %d IDENTITY %d\n",
        CUDNN_DATA_FLOAT, CUDNN_DATA_HALF, CUDNN_TENSOR_OP_MATH, CUDNN_FMA_MATH, CUDNN_TENSOR_NCHW, CUDNN_CROSS_CORRELATION,
        CUDNN_ACTIVATION_RELU, CUDNN_ACTIVATION_IDENTITY);
    printf("FWD_ALGO IMPLICIT_GEMM %d PRECOMP %d GEMM %d DIRECT %d FFT %d FFT_TILING %d WINOGRAD %d WINOGRAD_NONFUSED %d\n",
        CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_CONVOLUTION_FWD_ALGO_GEMM,
        CUDNN_CONVOLUTION_FWD_ALGO_DIRECT, CUDNN_CONVOLUTION_FWD_ALGO_FFT, CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING,
        CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD, CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED);
    printf("CUDA_R_32F %d CUDA_R_16F %d CUBLAS_COMPUTE_32F %d CUBLAS_GEMM_DEFAULT %d OP_N %d OP_T %d DEFAULT_MATH %d ALLOC_FAILED %d\n",
        CUDA_R_32F, CUDA_R_16F, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT, CUBLAS_OP_N, CUBLAS_OP_T, CUBLAS_DEFAULT_MATH, CUBLAS_STATUS_ALLOC_FAILED);
    printf("HOST_ALLOCATION_FAILED %d DEVICE_ALLOCATION_FAILED %d\n", CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED, CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED);
    return 0;
}
