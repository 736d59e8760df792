using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Vigil.Cuda;

internal static partial class Interop
{
    /// <summary>
    /// cuDNN 9 (libcudnn.so.9), its legacy convolution API: handle, tensor/filter/convolution/activation descriptors,
    /// algorithm heuristics, workspace query, convolution and the fused convolution + bias + activation call. Raw
    /// imports are private; every status goes through <see cref="ThrowIfFailed"/>. Descriptors are host objects: their
    /// destroy calls need no CUDA context.
    /// </summary>
    internal static unsafe partial class Cudnn
    {
        internal const int CUDNN_STATUS_SUCCESS = 0;
        private const int CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED = 4003;
        private const int CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED = 4004;
        private const int CUDNN_TENSOR_NCHW = 0;
        private const int CUDNN_CROSS_CORRELATION = 1;
        private const int CUDNN_NOT_PROPAGATE_NAN = 0;

        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnGetVersion")]
        private static partial nuint cudnnGetVersion();
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnGetErrorString")]
        private static partial byte* cudnnGetErrorString(int status);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnGetLastErrorString")]
        private static partial void cudnnGetLastErrorString(byte* message, nuint maxSize);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnCreate")]
        private static partial int cudnnCreate(nint* handle);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnDestroy")]
        private static partial int cudnnDestroy(nint handle);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnSetStream")]
        private static partial int cudnnSetStream(nint handle, nint stream);

        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnCreateTensorDescriptor")]
        private static partial int cudnnCreateTensorDescriptor(nint* desc);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnSetTensorNdDescriptor")]
        private static partial int cudnnSetTensorNdDescriptor(nint desc, cudnnDataType_t dataType, int nbDims, int* dims, int* strides);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnDestroyTensorDescriptor")]
        private static partial int cudnnDestroyTensorDescriptor(nint desc);

        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnCreateFilterDescriptor")]
        private static partial int cudnnCreateFilterDescriptor(nint* desc);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnSetFilterNdDescriptor")]
        private static partial int cudnnSetFilterNdDescriptor(nint desc, cudnnDataType_t dataType, int format, int nbDims, int* dims);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnDestroyFilterDescriptor")]
        private static partial int cudnnDestroyFilterDescriptor(nint desc);

        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnCreateConvolutionDescriptor")]
        private static partial int cudnnCreateConvolutionDescriptor(nint* desc);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnSetConvolutionNdDescriptor")]
        private static partial int cudnnSetConvolutionNdDescriptor(nint desc, int arrayLength, int* pads, int* strides, int* dilations, int mode, cudnnDataType_t computeType);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnSetConvolutionGroupCount")]
        private static partial int cudnnSetConvolutionGroupCount(nint desc, int groups);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnSetConvolutionMathType")]
        private static partial int cudnnSetConvolutionMathType(nint desc, cudnnMathType_t mathType);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnDestroyConvolutionDescriptor")]
        private static partial int cudnnDestroyConvolutionDescriptor(nint desc);

        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnCreateActivationDescriptor")]
        private static partial int cudnnCreateActivationDescriptor(nint* desc);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnSetActivationDescriptor")]
        private static partial int cudnnSetActivationDescriptor(nint desc, cudnnActivationMode_t mode, int nanOpt, double coef);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnDestroyActivationDescriptor")]
        private static partial int cudnnDestroyActivationDescriptor(nint desc);

        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnGetConvolutionForwardAlgorithmMaxCount")]
        private static partial int cudnnGetConvolutionForwardAlgorithmMaxCount(nint handle, int* count);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnGetConvolutionForwardAlgorithm_v7")]
        private static partial int cudnnGetConvolutionForwardAlgorithm_v7(nint handle, nint x, nint w, nint conv, nint y,
            int requested, int* returned, cudnnConvolutionFwdAlgoPerf_t* results);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnGetConvolutionForwardWorkspaceSize")]
        private static partial int cudnnGetConvolutionForwardWorkspaceSize(nint handle, nint x, nint w, nint conv, nint y,
            cudnnConvolutionFwdAlgo_t algo, nuint* bytes);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnConvolutionForward")]
        private static partial int cudnnConvolutionForward(nint handle, float* alpha, nint xDesc, ulong x, nint wDesc, ulong w,
            nint conv, cudnnConvolutionFwdAlgo_t algo, ulong workspace, nuint workspaceBytes, float* beta, nint yDesc, ulong y);
        [LibraryImport(Libraries.Cudnn, EntryPoint = "cudnnConvolutionBiasActivationForward")]
        private static partial int cudnnConvolutionBiasActivationForward(nint handle, float* alpha1, nint xDesc, ulong x,
            nint wDesc, ulong w, nint conv, cudnnConvolutionFwdAlgo_t algo, ulong workspace, nuint workspaceBytes,
            float* alpha2, nint zDesc, ulong z, nint biasDesc, ulong bias, nint activation, nint yDesc, ulong y);

        // ================= the status choke point =================
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void ThrowIfFailed(int status, string call)
        {
            if (status != CUDNN_STATUS_SUCCESS) Throw(status, call);
        }

        [DoesNotReturn]
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void Throw(int status, string call)
        {
            string name = StatusName(status);
            string detail = LastErrorNoThrow();
            if (status is CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED or CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
                throw new OutOfMemoryException($"cuDNN: {call} ran out of memory ({name}).");
            throw new CudaLibraryException("cuDNN", status, call,
                detail.Length > 0 ? $"cuDNN: {call} failed with {name} ({status}): {detail}" : $"cuDNN: {call} failed with {name} ({status}).");
        }

        /// <summary>The status's name (cudnnGetErrorString); never throws.</summary>
        internal static string StatusName(int status)
        {
            try
            {
                return Marshal.PtrToStringUTF8((nint)cudnnGetErrorString(status)) ?? $"cuDNN status {status}";
            }
            catch (DllNotFoundException)
            {
                return $"cuDNN status {status}";
            }
        }

        /// <summary>cuDNN's thread-local description of the last failure (names the unsupported parameter); "" if none.</summary>
        private static string LastErrorNoThrow()
        {
            try
            {
                byte* buf = stackalloc byte[1024];
                buf[0] = 0;
                cudnnGetLastErrorString(buf, 1024);
                return (Marshal.PtrToStringUTF8((nint)buf) ?? "").Trim();
            }
            catch (EntryPointNotFoundException)
            {
                return "";
            }
        }

        // ================= checked wrappers =================
        /// <summary>cudnnGetVersion: major * 10000 + minor * 100 + patch (throws DllNotFoundException when absent).</summary>
        internal static long Version() => (long)cudnnGetVersion();

        internal static nint Create()
        {
            nint h;
            ThrowIfFailed(cudnnCreate(&h), "cudnnCreate");
            return h;
        }

        internal static int DestroyNoThrow(nint handle) => cudnnDestroy(handle);
        internal static void SetStream(nint handle, nint stream) => ThrowIfFailed(cudnnSetStream(handle, stream), "cudnnSetStream");

        internal static nint CreateTensorDescriptor()
        {
            nint d;
            ThrowIfFailed(cudnnCreateTensorDescriptor(&d), "cudnnCreateTensorDescriptor");
            return d;
        }

        internal static void SetTensorNd(nint desc, cudnnDataType_t type, ReadOnlySpan<int> dims, ReadOnlySpan<int> strides)
        {
            fixed (int* d = dims)
            fixed (int* s = strides)
                ThrowIfFailed(cudnnSetTensorNdDescriptor(desc, type, dims.Length, d, s), "cudnnSetTensorNdDescriptor");
        }

        internal static int DestroyTensorDescriptorNoThrow(nint desc) => cudnnDestroyTensorDescriptor(desc);

        internal static nint CreateFilterDescriptor()
        {
            nint d;
            ThrowIfFailed(cudnnCreateFilterDescriptor(&d), "cudnnCreateFilterDescriptor");
            return d;
        }

        /// <summary>A filter [K, C/groups, kh, kw] in NCHW (KCRS) order.</summary>
        internal static void SetFilterNd(nint desc, cudnnDataType_t type, ReadOnlySpan<int> dims)
        {
            fixed (int* d = dims)
                ThrowIfFailed(cudnnSetFilterNdDescriptor(desc, type, CUDNN_TENSOR_NCHW, dims.Length, d), "cudnnSetFilterNdDescriptor");
        }

        internal static int DestroyFilterDescriptorNoThrow(nint desc) => cudnnDestroyFilterDescriptor(desc);

        internal static nint CreateConvolutionDescriptor()
        {
            nint d;
            ThrowIfFailed(cudnnCreateConvolutionDescriptor(&d), "cudnnCreateConvolutionDescriptor");
            return d;
        }

        /// <summary>Cross-correlation (what ONNX Conv computes) with the given pads, strides, dilations, groups and math.</summary>
        internal static void SetConvolution(nint desc, ReadOnlySpan<int> pads, ReadOnlySpan<int> strides, ReadOnlySpan<int> dilations,
            int groups, cudnnDataType_t computeType, cudnnMathType_t math)
        {
            fixed (int* p = pads)
            fixed (int* s = strides)
            fixed (int* d = dilations)
                ThrowIfFailed(cudnnSetConvolutionNdDescriptor(desc, pads.Length, p, s, d, CUDNN_CROSS_CORRELATION, computeType), "cudnnSetConvolutionNdDescriptor");
            ThrowIfFailed(cudnnSetConvolutionGroupCount(desc, groups), "cudnnSetConvolutionGroupCount");
            ThrowIfFailed(cudnnSetConvolutionMathType(desc, math), "cudnnSetConvolutionMathType");
        }

        internal static int DestroyConvolutionDescriptorNoThrow(nint desc) => cudnnDestroyConvolutionDescriptor(desc);

        internal static nint CreateActivationDescriptor(cudnnActivationMode_t mode)
        {
            nint d;
            ThrowIfFailed(cudnnCreateActivationDescriptor(&d), "cudnnCreateActivationDescriptor");
            int r = cudnnSetActivationDescriptor(d, mode, CUDNN_NOT_PROPAGATE_NAN, 0.0);
            if (r != CUDNN_STATUS_SUCCESS)
            {
                cudnnDestroyActivationDescriptor(d);
                Throw(r, "cudnnSetActivationDescriptor");
            }
            return d;
        }

        internal static int DestroyActivationDescriptorNoThrow(nint desc) => cudnnDestroyActivationDescriptor(desc);

        /// <summary>cuDNN's heuristic ranking of every forward algorithm for the problem (each with its own status).</summary>
        internal static cudnnConvolutionFwdAlgoPerf_t[] ForwardAlgorithms(nint handle, nint x, nint w, nint conv, nint y)
        {
            int max;
            ThrowIfFailed(cudnnGetConvolutionForwardAlgorithmMaxCount(handle, &max), "cudnnGetConvolutionForwardAlgorithmMaxCount");
            var results = new cudnnConvolutionFwdAlgoPerf_t[Math.Max(1, max)];
            int returned;
            fixed (cudnnConvolutionFwdAlgoPerf_t* r = results)
                ThrowIfFailed(cudnnGetConvolutionForwardAlgorithm_v7(handle, x, w, conv, y, results.Length, &returned, r), "cudnnGetConvolutionForwardAlgorithm_v7");
            return results.AsSpan(0, returned).ToArray();
        }

        internal static long ForwardWorkspaceSize(nint handle, nint x, nint w, nint conv, nint y, cudnnConvolutionFwdAlgo_t algo)
        {
            nuint bytes;
            ThrowIfFailed(cudnnGetConvolutionForwardWorkspaceSize(handle, x, w, conv, y, algo, &bytes), "cudnnGetConvolutionForwardWorkspaceSize");
            return (long)bytes;
        }

        /// <summary>y = conv(x, w) (alpha 1, beta 0; scaling factors are FP32 for FP32 and FP16 data alike).</summary>
        internal static void ConvolutionForward(nint handle, nint xDesc, ulong x, nint wDesc, ulong w, nint conv, cudnnConvolutionFwdAlgo_t algo,
            ulong workspace, long workspaceBytes, nint yDesc, ulong y)
        {
            float alpha = 1f, beta = 0f;
            ThrowIfFailed(cudnnConvolutionForward(handle, &alpha, xDesc, x, wDesc, w, conv, algo, workspace, (nuint)workspaceBytes, &beta, yDesc, y),
                "cudnnConvolutionForward");
        }

        /// <summary>y = act(conv(x, w) + bias) (alpha1 1; alpha2 0 with z = y, so z is never read).</summary>
        internal static void ConvolutionBiasActivationForward(nint handle, nint xDesc, ulong x, nint wDesc, ulong w, nint conv,
            cudnnConvolutionFwdAlgo_t algo, ulong workspace, long workspaceBytes, nint biasDesc, ulong bias, nint activation, nint yDesc, ulong y)
        {
            float alpha1 = 1f, alpha2 = 0f;
            ThrowIfFailed(cudnnConvolutionBiasActivationForward(handle, &alpha1, xDesc, x, wDesc, w, conv, algo, workspace, (nuint)workspaceBytes,
                &alpha2, yDesc, y, biasDesc, bias, activation, yDesc, y), "cudnnConvolutionBiasActivationForward");
        }
    }
}
