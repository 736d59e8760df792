using System.Runtime.InteropServices;

namespace Vigil.Cuda;

/// <summary>A cuDNN handle (cudnnDestroy frees device state, so it is destroyed with its context current).</summary>
public sealed class SafeCudnnHandle : CudaSafeHandle
{
    internal SafeCudnnHandle(SafeCudaContextHandle context) : base(context) { }

    protected override CUresult Destroy(nint value) =>
        Interop.Cudnn.DestroyNoThrow(value) == Interop.Cudnn.CUDNN_STATUS_SUCCESS ? CUresult.CUDA_SUCCESS : CUresult.CUDA_ERROR_UNKNOWN;
}

/// <summary>A cuBLAS handle (destroyed with its context current).</summary>
public sealed class SafeCublasHandle : CudaSafeHandle
{
    internal SafeCublasHandle(SafeCudaContextHandle context) : base(context) { }

    protected override CUresult Destroy(nint value) =>
        Interop.Cublas.DestroyNoThrow(value) == Interop.Cublas.CUBLAS_STATUS_SUCCESS ? CUresult.CUDA_SUCCESS : CUresult.CUDA_ERROR_UNKNOWN;
}

/// <summary>A cuDNN tensor descriptor (a host object: destroying it needs no CUDA context).</summary>
public sealed class SafeCudnnTensorDescriptorHandle : SafeHandle
{
    public SafeCudnnTensorDescriptorHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle() => Interop.Cudnn.DestroyTensorDescriptorNoThrow(handle) == Interop.Cudnn.CUDNN_STATUS_SUCCESS;
}

/// <summary>A cuDNN filter descriptor (host object).</summary>
public sealed class SafeCudnnFilterDescriptorHandle : SafeHandle
{
    public SafeCudnnFilterDescriptorHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle() => Interop.Cudnn.DestroyFilterDescriptorNoThrow(handle) == Interop.Cudnn.CUDNN_STATUS_SUCCESS;
}

/// <summary>A cuDNN convolution descriptor (host object).</summary>
public sealed class SafeCudnnConvolutionDescriptorHandle : SafeHandle
{
    public SafeCudnnConvolutionDescriptorHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle() => Interop.Cudnn.DestroyConvolutionDescriptorNoThrow(handle) == Interop.Cudnn.CUDNN_STATUS_SUCCESS;
}

/// <summary>A cuDNN activation descriptor (host object).</summary>
public sealed class SafeCudnnActivationDescriptorHandle : SafeHandle
{
    public SafeCudnnActivationDescriptorHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle() => Interop.Cudnn.DestroyActivationDescriptorNoThrow(handle) == Interop.Cudnn.CUDNN_STATUS_SUCCESS;
}
