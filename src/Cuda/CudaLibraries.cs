using System.Runtime.InteropServices;

namespace Vigil.Cuda;

/// <summary>A failed cuDNN or cuBLAS call: the library, the call, its status code and the library's own description.</summary>
public sealed class CudaLibraryException : Exception
{
    public CudaLibraryException(string library, int code, string call, string message) : base(message)
    {
        Library = library;
        Code = code;
        Call = call;
    }

    public string Library { get; }
    public int Code { get; }
    public string Call { get; }
}

/// <summary>Whether an optional CUDA library can be used here: its version ("9.14.0"), or why not.</summary>
public sealed record CudaLibraryInfo(string Name, string? Version, string? Unavailable)
{
    public bool IsAvailable => Version is not null;
    public override string ToString() => IsAvailable ? $"{Name} {Version}" : $"{Name} unavailable ({Unavailable})";
}

/// <summary>
/// The optional libraries behind the plan engine's library tactics. Each is probed once (loading the shared library
/// and asking its version); a missing library is a normal outcome, reported in <see cref="CudaLibraryInfo.Unavailable"/>.
/// </summary>
public static class CudaLibraries
{
    private static readonly Lazy<CudaLibraryInfo> s_cudnn = new(() => Probe("cuDNN", Interop.Libraries.Cudnn, () =>
    {
        long v = Interop.Cudnn.Version();
        return $"{v / 10000}.{v / 100 % 100}.{v % 100}";
    }));

    private static readonly Lazy<CudaLibraryInfo> s_cublas = new(() => Probe("cuBLAS", Interop.Libraries.Cublas, () =>
    {
        var (a, b, c) = Interop.Cublas.Properties();
        return $"{a}.{b}.{c}";
    }));

    public static CudaLibraryInfo Cudnn => s_cudnn.Value;
    public static CudaLibraryInfo Cublas => s_cublas.Value;

    private static CudaLibraryInfo Probe(string name, string file, Func<string> version)
    {
        try
        {
            return new CudaLibraryInfo(name, version(), null);
        }
        catch (DllNotFoundException)
        {
            return new CudaLibraryInfo(name, null, $"{file} is not installed or not on the library path");
        }
        catch (EntryPointNotFoundException e)
        {
            return new CudaLibraryInfo(name, null, $"{file} lacks an expected entry point ({e.Message})");
        }
        catch (CudaLibraryException e)
        {
            return new CudaLibraryInfo(name, null, e.Message);
        }
    }
}

/// <summary>
/// A cuDNN handle bound to one CUDA context. Calls are queued on the stream last given to <see cref="SetStream"/>;
/// they are asynchronous and can be captured into CUDA graphs (the workspace is passed in, never allocated by cuDNN).
/// </summary>
public sealed class CudnnHandle : IDisposable
{
    private nint _stream = -1;

    public CudnnHandle(CudaContext context)
    {
        Context = context;
        context.MakeCurrent();
        Handle = new SafeCudnnHandle(context.Handle);
        Handle.SetHandleValue(Interop.Cudnn.Create());
        Version = CudaLibraries.Cudnn.Version ?? "unknown";
    }

    public CudaContext Context { get; }
    public SafeCudnnHandle Handle { get; }
    /// <summary>"9.14.0".</summary>
    public string Version { get; }
    private nint Pointer => Handle.DangerousGetHandle();

    public void SetStream(CudaStream stream)
    {
        Context.MakeCurrent();
        if (_stream == stream.Pointer) return;
        Interop.Cudnn.SetStream(Pointer, stream.Pointer);
        _stream = stream.Pointer;
    }

    /// <summary>cuDNN's heuristic ranking of the forward algorithms; entries whose status is not 0 do not support the problem.</summary>
    public cudnnConvolutionFwdAlgoPerf_t[] ForwardAlgorithms(CudnnTensorDescriptor x, CudnnFilterDescriptor w, CudnnConvolutionDescriptor conv, CudnnTensorDescriptor y)
    {
        Context.MakeCurrent();
        return Interop.Cudnn.ForwardAlgorithms(Pointer, x.Pointer, w.Pointer, conv.Pointer, y.Pointer);
    }

    public long ForwardWorkspaceSize(CudnnTensorDescriptor x, CudnnFilterDescriptor w, CudnnConvolutionDescriptor conv, CudnnTensorDescriptor y, cudnnConvolutionFwdAlgo_t algo)
    {
        Context.MakeCurrent();
        return Interop.Cudnn.ForwardWorkspaceSize(Pointer, x.Pointer, w.Pointer, conv.Pointer, y.Pointer, algo);
    }

    /// <summary>Queues y = conv(x, w).</summary>
    public void ConvolutionForward(CudnnTensorDescriptor xDesc, ulong x, CudnnFilterDescriptor wDesc, ulong w, CudnnConvolutionDescriptor conv,
        cudnnConvolutionFwdAlgo_t algo, ulong workspace, long workspaceBytes, CudnnTensorDescriptor yDesc, ulong y)
    {
        Context.MakeCurrent();
        Interop.Cudnn.ConvolutionForward(Pointer, xDesc.Pointer, x, wDesc.Pointer, w, conv.Pointer, algo, workspace, workspaceBytes, yDesc.Pointer, y);
    }

    /// <summary>Queues y = act(conv(x, w) + bias) (cuDNN's fused call: ReLU with any algorithm, identity with IMPLICIT_PRECOMP_GEMM only).</summary>
    public void ConvolutionBiasActivationForward(CudnnTensorDescriptor xDesc, ulong x, CudnnFilterDescriptor wDesc, ulong w, CudnnConvolutionDescriptor conv,
        cudnnConvolutionFwdAlgo_t algo, ulong workspace, long workspaceBytes, CudnnTensorDescriptor biasDesc, ulong bias,
        CudnnActivationDescriptor activation, CudnnTensorDescriptor yDesc, ulong y)
    {
        Context.MakeCurrent();
        Interop.Cudnn.ConvolutionBiasActivationForward(Pointer, xDesc.Pointer, x, wDesc.Pointer, w, conv.Pointer, algo, workspace, workspaceBytes,
            biasDesc.Pointer, bias, activation.Pointer, yDesc.Pointer, y);
    }

    public void Dispose() => Handle.Dispose();
}

/// <summary>An N-d tensor layout with explicit strides (elements), e.g. NCHW with a batch stride larger than C·H·W.</summary>
public sealed class CudnnTensorDescriptor : IDisposable
{
    private readonly SafeCudnnTensorDescriptorHandle _handle = new();

    public CudnnTensorDescriptor(cudnnDataType_t type, ReadOnlySpan<int> dims, ReadOnlySpan<int> strides)
    {
        Marshal.InitHandle(_handle, Interop.Cudnn.CreateTensorDescriptor());
        Interop.Cudnn.SetTensorNd(_handle.DangerousGetHandle(), type, dims, strides);
    }

    internal nint Pointer => _handle.DangerousGetHandle();
    public void Dispose() => _handle.Dispose();
}

/// <summary>A convolution filter [K, C/groups, kh, kw] in KCRS order.</summary>
public sealed class CudnnFilterDescriptor : IDisposable
{
    private readonly SafeCudnnFilterDescriptorHandle _handle = new();

    public CudnnFilterDescriptor(cudnnDataType_t type, ReadOnlySpan<int> dims)
    {
        Marshal.InitHandle(_handle, Interop.Cudnn.CreateFilterDescriptor());
        Interop.Cudnn.SetFilterNd(_handle.DangerousGetHandle(), type, dims);
    }

    internal nint Pointer => _handle.DangerousGetHandle();
    public void Dispose() => _handle.Dispose();
}

/// <summary>A 2-D cross-correlation: pads, strides, dilations, groups, accumulation type and math (tensor cores or FMA only).</summary>
public sealed class CudnnConvolutionDescriptor : IDisposable
{
    private readonly SafeCudnnConvolutionDescriptorHandle _handle = new();

    public CudnnConvolutionDescriptor(ReadOnlySpan<int> pads, ReadOnlySpan<int> strides, ReadOnlySpan<int> dilations, int groups,
        cudnnDataType_t computeType, cudnnMathType_t math)
    {
        Marshal.InitHandle(_handle, Interop.Cudnn.CreateConvolutionDescriptor());
        Interop.Cudnn.SetConvolution(_handle.DangerousGetHandle(), pads, strides, dilations, groups, computeType, math);
    }

    internal nint Pointer => _handle.DangerousGetHandle();
    public void Dispose() => _handle.Dispose();
}

/// <summary>The activation of cuDNN's fused convolution call (ReLU or identity).</summary>
public sealed class CudnnActivationDescriptor : IDisposable
{
    private readonly SafeCudnnActivationDescriptorHandle _handle = new();

    public CudnnActivationDescriptor(cudnnActivationMode_t mode) => Marshal.InitHandle(_handle, Interop.Cudnn.CreateActivationDescriptor(mode));

    internal nint Pointer => _handle.DangerousGetHandle();
    public void Dispose() => _handle.Dispose();
}

/// <summary>
/// A cuBLAS handle bound to one CUDA context, default math (FP32 data never runs on TF32). Before queueing, call
/// <see cref="Bind"/>: it sets the stream and the caller's workspace, which keeps cuBLAS from allocating its own and
/// lets the calls be captured into CUDA graphs.
/// </summary>
public sealed class CublasHandle : IDisposable
{
    private (nint Stream, ulong Workspace, long Bytes) _bound = (-1, 0, 0);

    public CublasHandle(CudaContext context)
    {
        Context = context;
        context.MakeCurrent();
        Handle = new SafeCublasHandle(context.Handle);
        Handle.SetHandleValue(Interop.Cublas.Create());
        Interop.Cublas.SetMathMode(Pointer, cublasMath_t.CUBLAS_DEFAULT_MATH);
        int v = Interop.Cublas.Version(Pointer);
        Version = $"{v / 10000}.{v / 100 % 100}.{v % 100}";
    }

    public CudaContext Context { get; }
    public SafeCublasHandle Handle { get; }
    /// <summary>"13.0.2" (cublasGetVersion).</summary>
    public string Version { get; }
    private nint Pointer => Handle.DangerousGetHandle();

    public void Bind(CudaStream stream, ulong workspace, long workspaceBytes)
    {
        Context.MakeCurrent();
        if (_bound == (stream.Pointer, workspace, workspaceBytes)) return;
        Interop.Cublas.SetStreamAndWorkspace(Pointer, stream.Pointer, workspace, workspaceBytes);
        _bound = (stream.Pointer, workspace, workspaceBytes);
    }

    /// <summary>Queues column-major C_i = op(A_i)·op(B_i) for <paramref name="batch"/> matrices (FP32 accumulation, alpha 1, beta 0).</summary>
    public void GemmStridedBatched(cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, ulong c, int ldc, long strideC, int batch, cudaDataType type)
    {
        Context.MakeCurrent();
        Interop.Cublas.GemmStridedBatched(Pointer, transa, transb, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, batch, type);
    }

    public void Dispose() => Handle.Dispose();
}
