using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Vigil.Cuda;

/// <summary>A failed CUDA driver API call: the call, its status code, and the driver's name and description.</summary>
public sealed class CudaException : Exception
{
    public CudaException(CUresult code, string call, string message) : base(message)
    {
        Code = code;
        Call = call;
    }

    public CUresult Code { get; }
    public string Call { get; }
}

/// <summary>The one place where CUDA driver statuses become exceptions.</summary>
public static class CudaStatus
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ThrowIfFailed(CUresult result, string call, long bytes = -1, string? detail = null)
    {
        if (result != CUresult.CUDA_SUCCESS) Throw(result, call, bytes, detail);
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Throw(CUresult result, string call, long bytes, string? detail)
    {
        var (name, text) = Interop.Cuda.Describe(result);
        string what = detail is null ? call : $"{call}({detail})";
        if (result == CUresult.CUDA_ERROR_OUT_OF_MEMORY)
            throw new OutOfMemoryException(bytes >= 0
                ? $"CUDA: {what} could not allocate {bytes} bytes of GPU memory ({name}: {text})."
                : $"CUDA: {what} ran out of GPU memory ({name}: {text}).");
        throw new CudaException(result, call, $"CUDA: {what} failed with {name} ({(int)result}): {text}.");
    }
}

/// <summary>Process-wide counters of host/device copies, used to assert that the GPU path keeps frames on the device.</summary>
public static class CudaCounters
{
    private static long s_dtoh, s_dtohBytes, s_htod, s_htodBytes;

    /// <summary>Device-to-host copies issued since the process started.</summary>
    public static long DeviceToHostCopies => Interlocked.Read(ref s_dtoh);
    public static long DeviceToHostBytes => Interlocked.Read(ref s_dtohBytes);
    public static long HostToDeviceCopies => Interlocked.Read(ref s_htod);
    public static long HostToDeviceBytes => Interlocked.Read(ref s_htodBytes);

    internal static void CountDeviceToHost(long bytes)
    {
        Interlocked.Increment(ref s_dtoh);
        Interlocked.Add(ref s_dtohBytes, bytes);
    }

    internal static void CountHostToDevice(long bytes)
    {
        Interlocked.Increment(ref s_htod);
        Interlocked.Add(ref s_htodBytes, bytes);
    }
}

/// <summary>
/// Native CUDA objects that were never disposed. Finalizers run on a thread with no CUDA context, so they never call
/// CUDA: they only count here. Tests assert <see cref="Count"/> stays 0 after a forced GC.
/// </summary>
public static class CudaLeaks
{
    private static long s_count;
    private static string? s_last;

    public static long Count => Interlocked.Read(ref s_count);
    /// <summary>Type of the most recently leaked object (for a test's failure message).</summary>
    public static string? LastLeaked => Volatile.Read(ref s_last);

    internal static void Record(string what)
    {
        Interlocked.Increment(ref s_count);
        Volatile.Write(ref s_last, what);
    }
}
