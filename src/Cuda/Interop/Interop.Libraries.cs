namespace Vigil.Cuda;

internal static partial class Interop
{
    /// <summary>Native library names, in one place (the driver API, NVRTC and NVDEC ship with the driver/toolkit).</summary>
    internal static class Libraries
    {
        internal const string Cuda = "libcuda.so.1";
        internal const string Nvrtc = "libnvrtc.so.13";
    }
}
