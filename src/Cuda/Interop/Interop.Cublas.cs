using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Vigil.Cuda;

internal static partial class Interop
{
    /// <summary>
    /// cuBLAS (libcublas.so.13): handle, stream, workspace (set explicitly so calls can be captured into CUDA graphs),
    /// math mode, version and the strided batched mixed-precision GEMM. Entry points are the <c>_v2</c> names that
    /// cublas_v2.h maps to. Every status goes through <see cref="ThrowIfFailed"/>.
    /// </summary>
    internal static unsafe partial class Cublas
    {
        internal const int CUBLAS_STATUS_SUCCESS = 0;
        private const int CUBLAS_STATUS_ALLOC_FAILED = 3;

        [LibraryImport(Libraries.Cublas, EntryPoint = "cublasCreate_v2")]
        private static partial int cublasCreate(nint* handle);
        [LibraryImport(Libraries.Cublas, EntryPoint = "cublasDestroy_v2")]
        private static partial int cublasDestroy(nint handle);
        [LibraryImport(Libraries.Cublas, EntryPoint = "cublasGetVersion_v2")]
        private static partial int cublasGetVersion(nint handle, int* version);
        [LibraryImport(Libraries.Cublas, EntryPoint = "cublasGetProperty")]
        private static partial int cublasGetProperty(int type, int* value);
        [LibraryImport(Libraries.Cublas, EntryPoint = "cublasSetStream_v2")]
        private static partial int cublasSetStream(nint handle, nint stream);
        [LibraryImport(Libraries.Cublas, EntryPoint = "cublasSetWorkspace_v2")]
        private static partial int cublasSetWorkspace(nint handle, ulong workspace, nuint bytes);
        [LibraryImport(Libraries.Cublas, EntryPoint = "cublasSetMathMode")]
        private static partial int cublasSetMathMode(nint handle, cublasMath_t mode);
        [LibraryImport(Libraries.Cublas, EntryPoint = "cublasGetStatusName")]
        private static partial byte* cublasGetStatusName(int status);
        [LibraryImport(Libraries.Cublas, EntryPoint = "cublasGetStatusString")]
        private static partial byte* cublasGetStatusString(int status);
        [LibraryImport(Libraries.Cublas, EntryPoint = "cublasGemmStridedBatchedEx")]
        private static partial int cublasGemmStridedBatchedEx(nint handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
            float* alpha, ulong a, cudaDataType aType, int lda, long strideA, ulong b, cudaDataType bType, int ldb, long strideB,
            float* beta, ulong c, cudaDataType cType, int ldc, long strideC, int batchCount, cublasComputeType_t computeType, cublasGemmAlgo_t algo);

        // ================= the status choke point =================
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void ThrowIfFailed(int status, string call)
        {
            if (status != CUBLAS_STATUS_SUCCESS) Throw(status, call);
        }

        [DoesNotReturn]
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void Throw(int status, string call)
        {
            var (name, text) = Describe(status);
            if (status == CUBLAS_STATUS_ALLOC_FAILED) throw new OutOfMemoryException($"cuBLAS: {call} could not allocate memory ({name}: {text}).");
            throw new CudaLibraryException("cuBLAS", status, call, $"cuBLAS: {call} failed with {name} ({status}): {text}.");
        }

        /// <summary>Name and description of a status; never throws.</summary>
        internal static (string Name, string Text) Describe(int status)
        {
            try
            {
                return (Marshal.PtrToStringUTF8((nint)cublasGetStatusName(status)) ?? $"cuBLAS status {status}",
                        Marshal.PtrToStringUTF8((nint)cublasGetStatusString(status)) ?? "unknown error");
            }
            catch (DllNotFoundException)
            {
                return ($"cuBLAS status {status}", "libcublas.so.13 not loadable");
            }
        }

        // ================= checked wrappers =================
        internal static nint Create()
        {
            nint h;
            ThrowIfFailed(cublasCreate(&h), "cublasCreate_v2");
            return h;
        }

        internal static int DestroyNoThrow(nint handle) => cublasDestroy(handle);

        /// <summary>major * 10000 + minor * 100 + patch.</summary>
        internal static int Version(nint handle)
        {
            int v;
            ThrowIfFailed(cublasGetVersion(handle, &v), "cublasGetVersion_v2");
            return v;
        }

        /// <summary>The library's version without a handle (libraryPropertyType MAJOR_VERSION 0, MINOR_VERSION 1, PATCH_LEVEL 2).</summary>
        internal static (int Major, int Minor, int Patch) Properties()
        {
            int a, b, c;
            ThrowIfFailed(cublasGetProperty(0, &a), "cublasGetProperty(MAJOR_VERSION)");
            ThrowIfFailed(cublasGetProperty(1, &b), "cublasGetProperty(MINOR_VERSION)");
            ThrowIfFailed(cublasGetProperty(2, &c), "cublasGetProperty(PATCH_LEVEL)");
            return (a, b, c);
        }

        /// <summary>Binds the stream and then the workspace (cublasSetStream resets the workspace to cuBLAS's own pool).</summary>
        internal static void SetStreamAndWorkspace(nint handle, nint stream, ulong workspace, long bytes)
        {
            ThrowIfFailed(cublasSetStream(handle, stream), "cublasSetStream_v2");
            ThrowIfFailed(cublasSetWorkspace(handle, workspace, (nuint)bytes), "cublasSetWorkspace_v2");
        }

        internal static void SetMathMode(nint handle, cublasMath_t mode) => ThrowIfFailed(cublasSetMathMode(handle, mode), "cublasSetMathMode");

        /// <summary>Column-major C_i = op(A_i) op(B_i) for i below <paramref name="batch"/> (alpha 1, beta 0), FP32 accumulation.</summary>
        internal static void GemmStridedBatched(nint handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
            ulong a, int lda, long strideA, ulong b, int ldb, long strideB, ulong c, int ldc, long strideC, int batch, cudaDataType type)
        {
            float alpha = 1f, beta = 0f;
            ThrowIfFailed(cublasGemmStridedBatchedEx(handle, transa, transb, m, n, k, &alpha, a, type, lda, strideA, b, type, ldb, strideB,
                &beta, c, type, ldc, strideC, batch, cublasComputeType_t.CUBLAS_COMPUTE_32F, cublasGemmAlgo_t.CUBLAS_GEMM_DEFAULT),
                "cublasGemmStridedBatchedEx");
        }
    }
}
