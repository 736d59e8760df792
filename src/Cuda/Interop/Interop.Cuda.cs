using System.Runtime.InteropServices;

namespace Vigil.Cuda;

internal static partial class Interop
{
    /// <summary>
    /// CUDA driver API (libcuda.so.1). Raw imports are private; the internal wrappers check the status through
    /// <see cref="CudaStatus.ThrowIfFailed"/>. The *NoThrow wrappers are for ReleaseHandle, which must not throw.
    /// Entry points are the versioned names cuda.h maps to (<c>_v2</c>).
    /// </summary>
    internal static unsafe partial class Cuda
    {
        // ---- initialisation, device ----
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuInit")]
        private static partial CUresult cuInit(uint flags);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuDriverGetVersion")]
        private static partial CUresult cuDriverGetVersion(int* version);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuDeviceGetCount")]
        private static partial CUresult cuDeviceGetCount(int* count);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuDeviceGet")]
        private static partial CUresult cuDeviceGet(int* device, int ordinal);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuDeviceGetName")]
        private static partial CUresult cuDeviceGetName(byte* name, int len, int device);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuDeviceGetAttribute")]
        private static partial CUresult cuDeviceGetAttribute(int* value, CUdevice_attribute attribute, int device);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuDeviceTotalMem_v2")]
        private static partial CUresult cuDeviceTotalMem(nuint* bytes, int device);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuGetErrorName")]
        private static partial CUresult cuGetErrorName(CUresult error, byte** name);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuGetErrorString")]
        private static partial CUresult cuGetErrorString(CUresult error, byte** text);

        // ---- context ----
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuDevicePrimaryCtxRetain")]
        private static partial CUresult cuDevicePrimaryCtxRetain(nint* context, int device);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuDevicePrimaryCtxRelease_v2")]
        private static partial CUresult cuDevicePrimaryCtxRelease(int device);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuCtxSetCurrent")]
        private static partial CUresult cuCtxSetCurrent(nint context);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuCtxGetCurrent")]
        private static partial CUresult cuCtxGetCurrent(nint* context);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuCtxSynchronize")]
        private static partial CUresult cuCtxSynchronize();
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuMemGetInfo_v2")]
        private static partial CUresult cuMemGetInfo(nuint* free, nuint* total);

        // ---- streams, events ----
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuStreamCreate")]
        private static partial CUresult cuStreamCreate(nint* stream, uint flags);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuStreamDestroy_v2")]
        private static partial CUresult cuStreamDestroy(nint stream);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuStreamSynchronize")]
        private static partial CUresult cuStreamSynchronize(nint stream);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuStreamQuery")]
        private static partial CUresult cuStreamQuery(nint stream);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuStreamWaitEvent")]
        private static partial CUresult cuStreamWaitEvent(nint stream, nint ev, uint flags);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuEventCreate")]
        private static partial CUresult cuEventCreate(nint* ev, uint flags);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuEventDestroy_v2")]
        private static partial CUresult cuEventDestroy(nint ev);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuEventRecord")]
        private static partial CUresult cuEventRecord(nint ev, nint stream);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuEventSynchronize")]
        private static partial CUresult cuEventSynchronize(nint ev);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuEventQuery")]
        private static partial CUresult cuEventQuery(nint ev);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuEventElapsedTime_v2")]
        private static partial CUresult cuEventElapsedTime(float* milliseconds, nint start, nint end);

        // ---- memory ----
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuMemAlloc_v2")]
        private static partial CUresult cuMemAlloc(ulong* ptr, nuint bytes);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuMemAllocAsync")]
        private static partial CUresult cuMemAllocAsync(ulong* ptr, nuint bytes, nint stream);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuMemFree_v2")]
        private static partial CUresult cuMemFree(ulong ptr);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuMemFreeAsync")]
        private static partial CUresult cuMemFreeAsync(ulong ptr, nint stream);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuMemAllocHost_v2")]
        private static partial CUresult cuMemAllocHost(void** ptr, nuint bytes);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuMemFreeHost")]
        private static partial CUresult cuMemFreeHost(void* ptr);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuMemcpyHtoDAsync_v2")]
        private static partial CUresult cuMemcpyHtoDAsync(ulong dst, void* src, nuint bytes, nint stream);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuMemcpyDtoHAsync_v2")]
        private static partial CUresult cuMemcpyDtoHAsync(void* dst, ulong src, nuint bytes, nint stream);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuMemcpyDtoDAsync_v2")]
        private static partial CUresult cuMemcpyDtoDAsync(ulong dst, ulong src, nuint bytes, nint stream);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuMemcpy2DAsync_v2")]
        private static partial CUresult cuMemcpy2DAsync(CUDA_MEMCPY2D* copy, nint stream);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuMemsetD8Async")]
        private static partial CUresult cuMemsetD8Async(ulong dst, byte value, nuint count, nint stream);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuMemsetD32Async")]
        private static partial CUresult cuMemsetD32Async(ulong dst, uint value, nuint count, nint stream);

        // ---- modules, launches ----
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuModuleLoadData")]
        private static partial CUresult cuModuleLoadData(nint* module, void* image);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuModuleUnload")]
        private static partial CUresult cuModuleUnload(nint module);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuModuleGetFunction", StringMarshalling = StringMarshalling.Utf8)]
        private static partial CUresult cuModuleGetFunction(nint* function, nint module, string name);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuLaunchKernel")]
        private static partial CUresult cuLaunchKernel(nint function, uint gridX, uint gridY, uint gridZ,
            uint blockX, uint blockY, uint blockZ, uint sharedBytes, nint stream, void** parameters, void** extra);

        // ---- graphs ----
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuStreamBeginCapture_v2")]
        private static partial CUresult cuStreamBeginCapture(nint stream, CaptureMode mode);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuStreamEndCapture")]
        private static partial CUresult cuStreamEndCapture(nint stream, nint* graph);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuGraphInstantiateWithFlags")]
        private static partial CUresult cuGraphInstantiateWithFlags(nint* exec, nint graph, ulong flags);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuGraphLaunch")]
        private static partial CUresult cuGraphLaunch(nint exec, nint stream);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuGraphDestroy")]
        private static partial CUresult cuGraphDestroy(nint graph);
        [LibraryImport(Libraries.Cuda, EntryPoint = "cuGraphExecDestroy")]
        private static partial CUresult cuGraphExecDestroy(nint exec);

        // ================= checked wrappers =================
        internal static void Init() => CudaStatus.ThrowIfFailed(cuInit(0), "cuInit");

        internal static int DriverVersion()
        {
            int v;
            CudaStatus.ThrowIfFailed(cuDriverGetVersion(&v), "cuDriverGetVersion");
            return v;
        }

        internal static int DeviceCount()
        {
            int n;
            CudaStatus.ThrowIfFailed(cuDeviceGetCount(&n), "cuDeviceGetCount");
            return n;
        }

        internal static int DeviceGet(int ordinal)
        {
            int d;
            CudaStatus.ThrowIfFailed(cuDeviceGet(&d, ordinal), "cuDeviceGet");
            return d;
        }

        internal static string DeviceName(int device)
        {
            byte* buf = stackalloc byte[256];
            CudaStatus.ThrowIfFailed(cuDeviceGetName(buf, 256, device), "cuDeviceGetName");
            return Marshal.PtrToStringUTF8((nint)buf) ?? "";
        }

        internal static int DeviceAttribute(int device, CUdevice_attribute attribute)
        {
            int v;
            CudaStatus.ThrowIfFailed(cuDeviceGetAttribute(&v, attribute, device), "cuDeviceGetAttribute");
            return v;
        }

        internal static long DeviceTotalMemory(int device)
        {
            nuint b;
            CudaStatus.ThrowIfFailed(cuDeviceTotalMem(&b, device), "cuDeviceTotalMem_v2");
            return (long)b;
        }

        /// <summary>Name and description of a status; never throws (used while building an exception).</summary>
        internal static (string Name, string Text) Describe(CUresult result)
        {
            try
            {
                byte* name = null, text = null;
                string n = cuGetErrorName(result, &name) == CUresult.CUDA_SUCCESS && name != null
                    ? Marshal.PtrToStringUTF8((nint)name) ?? "" : $"CUDA error {(int)result}";
                string t = cuGetErrorString(result, &text) == CUresult.CUDA_SUCCESS && text != null
                    ? Marshal.PtrToStringUTF8((nint)text) ?? "" : "unknown error";
                return (n, t);
            }
            catch (DllNotFoundException)
            {
                return ($"CUDA error {(int)result}", "libcuda.so.1 not loadable");
            }
        }

        internal static nint PrimaryContextRetain(int device)
        {
            nint c;
            CudaStatus.ThrowIfFailed(cuDevicePrimaryCtxRetain(&c, device), "cuDevicePrimaryCtxRetain");
            return c;
        }

        internal static CUresult PrimaryContextReleaseNoThrow(int device) => cuDevicePrimaryCtxRelease(device);
        internal static void SetCurrent(nint context) => CudaStatus.ThrowIfFailed(cuCtxSetCurrent(context), "cuCtxSetCurrent");
        internal static CUresult SetCurrentNoThrow(nint context) => cuCtxSetCurrent(context);

        internal static nint GetCurrent()
        {
            nint c;
            CudaStatus.ThrowIfFailed(cuCtxGetCurrent(&c), "cuCtxGetCurrent");
            return c;
        }

        internal static void ContextSynchronize() => CudaStatus.ThrowIfFailed(cuCtxSynchronize(), "cuCtxSynchronize");

        internal static (long Free, long Total) MemoryInfo()
        {
            nuint f, t;
            CudaStatus.ThrowIfFailed(cuMemGetInfo(&f, &t), "cuMemGetInfo_v2");
            return ((long)f, (long)t);
        }

        internal static nint StreamCreate(uint flags)
        {
            nint s;
            CudaStatus.ThrowIfFailed(cuStreamCreate(&s, flags), "cuStreamCreate");
            return s;
        }

        internal static CUresult StreamDestroyNoThrow(nint stream) => cuStreamDestroy(stream);
        internal static void StreamSynchronize(nint stream) => CudaStatus.ThrowIfFailed(cuStreamSynchronize(stream), "cuStreamSynchronize");

        /// <summary>True when all work is done, false when some is pending (CUDA_ERROR_NOT_READY); faults throw.</summary>
        internal static bool StreamQuery(nint stream)
        {
            var r = cuStreamQuery(stream);
            if (r == CUresult.CUDA_ERROR_NOT_READY) return false;
            CudaStatus.ThrowIfFailed(r, "cuStreamQuery");
            return true;
        }

        internal static void StreamWaitEvent(nint stream, nint ev) => CudaStatus.ThrowIfFailed(cuStreamWaitEvent(stream, ev, 0), "cuStreamWaitEvent");

        internal static nint EventCreate(uint flags)
        {
            nint e;
            CudaStatus.ThrowIfFailed(cuEventCreate(&e, flags), "cuEventCreate");
            return e;
        }

        internal static CUresult EventDestroyNoThrow(nint ev) => cuEventDestroy(ev);
        internal static void EventRecord(nint ev, nint stream) => CudaStatus.ThrowIfFailed(cuEventRecord(ev, stream), "cuEventRecord");
        internal static void EventSynchronize(nint ev) => CudaStatus.ThrowIfFailed(cuEventSynchronize(ev), "cuEventSynchronize");

        internal static bool EventQuery(nint ev)
        {
            var r = cuEventQuery(ev);
            if (r == CUresult.CUDA_ERROR_NOT_READY) return false;
            CudaStatus.ThrowIfFailed(r, "cuEventQuery");
            return true;
        }

        internal static float EventElapsedMilliseconds(nint start, nint end)
        {
            float ms;
            CudaStatus.ThrowIfFailed(cuEventElapsedTime(&ms, start, end), "cuEventElapsedTime_v2");
            return ms;
        }

        internal static ulong MemAlloc(long bytes)
        {
            ulong p;
            CudaStatus.ThrowIfFailed(cuMemAlloc(&p, (nuint)bytes), "cuMemAlloc_v2", bytes);
            return p;
        }

        internal static ulong MemAllocAsync(long bytes, nint stream)
        {
            ulong p;
            CudaStatus.ThrowIfFailed(cuMemAllocAsync(&p, (nuint)bytes, stream), "cuMemAllocAsync", bytes);
            return p;
        }

        internal static CUresult MemFreeNoThrow(ulong ptr) => cuMemFree(ptr);
        internal static CUresult MemFreeAsyncNoThrow(ulong ptr, nint stream) => cuMemFreeAsync(ptr, stream);

        internal static nint MemAllocHost(long bytes)
        {
            void* p;
            CudaStatus.ThrowIfFailed(cuMemAllocHost(&p, (nuint)bytes), "cuMemAllocHost_v2", bytes);
            return (nint)p;
        }

        internal static CUresult MemFreeHostNoThrow(nint ptr) => cuMemFreeHost((void*)ptr);

        internal static void MemcpyHtoDAsync(ulong dst, nint src, long bytes, nint stream)
        {
            CudaStatus.ThrowIfFailed(cuMemcpyHtoDAsync(dst, (void*)src, (nuint)bytes, stream), "cuMemcpyHtoDAsync_v2");
            CudaCounters.CountHostToDevice(bytes);
        }

        internal static void MemcpyDtoHAsync(nint dst, ulong src, long bytes, nint stream)
        {
            CudaStatus.ThrowIfFailed(cuMemcpyDtoHAsync((void*)dst, src, (nuint)bytes, stream), "cuMemcpyDtoHAsync_v2");
            CudaCounters.CountDeviceToHost(bytes);
        }

        internal static void MemcpyDtoDAsync(ulong dst, ulong src, long bytes, nint stream) =>
            CudaStatus.ThrowIfFailed(cuMemcpyDtoDAsync(dst, src, (nuint)bytes, stream), "cuMemcpyDtoDAsync_v2");

        internal static void Memcpy2DAsync(in CUDA_MEMCPY2D copy, nint stream)
        {
            fixed (CUDA_MEMCPY2D* p = &copy)
                CudaStatus.ThrowIfFailed(cuMemcpy2DAsync(p, stream), "cuMemcpy2DAsync_v2");
            long bytes = (long)copy.WidthInBytes * (long)copy.Height;
            if (copy.dstMemoryType == CUmemorytype.CU_MEMORYTYPE_HOST && copy.srcMemoryType != CUmemorytype.CU_MEMORYTYPE_HOST)
                CudaCounters.CountDeviceToHost(bytes);
            else if (copy.srcMemoryType == CUmemorytype.CU_MEMORYTYPE_HOST && copy.dstMemoryType != CUmemorytype.CU_MEMORYTYPE_HOST)
                CudaCounters.CountHostToDevice(bytes);
        }

        internal static void MemsetD8Async(ulong dst, byte value, long count, nint stream) =>
            CudaStatus.ThrowIfFailed(cuMemsetD8Async(dst, value, (nuint)count, stream), "cuMemsetD8Async");

        internal static void MemsetD32Async(ulong dst, uint value, long count, nint stream) =>
            CudaStatus.ThrowIfFailed(cuMemsetD32Async(dst, value, (nuint)count, stream), "cuMemsetD32Async");

        internal static nint ModuleLoadData(ReadOnlySpan<byte> image)
        {
            nint m;
            fixed (byte* p = image)
                CudaStatus.ThrowIfFailed(cuModuleLoadData(&m, p), "cuModuleLoadData");
            return m;
        }

        internal static CUresult ModuleUnloadNoThrow(nint module) => cuModuleUnload(module);

        internal static nint ModuleGetFunction(nint module, string name)
        {
            nint f;
            CudaStatus.ThrowIfFailed(cuModuleGetFunction(&f, module, name), "cuModuleGetFunction", detail: name);
            return f;
        }

        internal static void LaunchKernel(nint function, Dim3 grid, Dim3 block, uint sharedBytes, nint stream, void** parameters) =>
            CudaStatus.ThrowIfFailed(cuLaunchKernel(function, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z,
                sharedBytes, stream, parameters, null), "cuLaunchKernel");

        internal static void StreamBeginCapture(nint stream, CaptureMode mode) =>
            CudaStatus.ThrowIfFailed(cuStreamBeginCapture(stream, mode), "cuStreamBeginCapture_v2");

        internal static nint StreamEndCapture(nint stream)
        {
            nint g;
            CudaStatus.ThrowIfFailed(cuStreamEndCapture(stream, &g), "cuStreamEndCapture");
            return g;
        }

        internal static nint GraphInstantiate(nint graph)
        {
            nint e;
            CudaStatus.ThrowIfFailed(cuGraphInstantiateWithFlags(&e, graph, 0), "cuGraphInstantiateWithFlags");
            return e;
        }

        internal static void GraphLaunch(nint exec, nint stream) => CudaStatus.ThrowIfFailed(cuGraphLaunch(exec, stream), "cuGraphLaunch");
        internal static CUresult GraphDestroyNoThrow(nint graph) => cuGraphDestroy(graph);
        internal static CUresult GraphExecDestroyNoThrow(nint exec) => cuGraphExecDestroy(exec);
    }
}
