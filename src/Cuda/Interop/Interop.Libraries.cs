namespace Vigil.Cuda;

internal static partial class Interop
{
    /// <summary>
    /// Native library names, in one place (the driver API, NVRTC and NVDEC ship with the driver/toolkit; cuDNN and
    /// cuBLAS are optional: the plan engine builds with its own kernels alone when they cannot be loaded).
    /// </summary>
    internal static class Libraries
    {
        internal const string Cuda = "libcuda.so.1";
        internal const string Nvrtc = "libnvrtc.so.13";
        internal const string Cudnn = "libcudnn.so.9";
        internal const string Cublas = "libcublas.so.13";
    }
}
