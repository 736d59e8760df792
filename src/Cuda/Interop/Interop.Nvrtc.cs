using System.Runtime.InteropServices;

namespace Vigil.Cuda;

internal static partial class Interop
{
    /// <summary>NVRTC (libnvrtc.so.13): run-time compilation of CUDA C to cubin.</summary>
    internal static unsafe partial class Nvrtc
    {
        internal const int NVRTC_SUCCESS = 0;
        internal const int NVRTC_ERROR_COMPILATION = 6;

        [LibraryImport(Libraries.Nvrtc, EntryPoint = "nvrtcVersion")]
        private static partial int nvrtcVersion(int* major, int* minor);
        [LibraryImport(Libraries.Nvrtc, EntryPoint = "nvrtcGetErrorString")]
        private static partial byte* nvrtcGetErrorString(int result);
        [LibraryImport(Libraries.Nvrtc, EntryPoint = "nvrtcCreateProgram", StringMarshalling = StringMarshalling.Utf8)]
        private static partial int nvrtcCreateProgram(nint* program, string source, string name, int numHeaders, byte** headers, byte** includeNames);
        [LibraryImport(Libraries.Nvrtc, EntryPoint = "nvrtcDestroyProgram")]
        private static partial int nvrtcDestroyProgram(nint* program);
        [LibraryImport(Libraries.Nvrtc, EntryPoint = "nvrtcCompileProgram")]
        private static partial int nvrtcCompileProgram(nint program, int numOptions, byte** options);
        [LibraryImport(Libraries.Nvrtc, EntryPoint = "nvrtcGetCUBINSize")]
        private static partial int nvrtcGetCUBINSize(nint program, nuint* size);
        [LibraryImport(Libraries.Nvrtc, EntryPoint = "nvrtcGetCUBIN")]
        private static partial int nvrtcGetCUBIN(nint program, byte* cubin);
        [LibraryImport(Libraries.Nvrtc, EntryPoint = "nvrtcGetProgramLogSize")]
        private static partial int nvrtcGetProgramLogSize(nint program, nuint* size);
        [LibraryImport(Libraries.Nvrtc, EntryPoint = "nvrtcGetProgramLog")]
        private static partial int nvrtcGetProgramLog(nint program, byte* log);

        internal static void ThrowIfFailed(int result, string call)
        {
            if (result != NVRTC_SUCCESS) Throw(result, call, null);
        }

        [System.Diagnostics.CodeAnalysis.DoesNotReturn]
        internal static void Throw(int result, string call, string? log)
        {
            string text = Marshal.PtrToStringUTF8((nint)nvrtcGetErrorString(result)) ?? $"NVRTC error {result}";
            if (result == 1) throw new OutOfMemoryException($"NVRTC: {call} ran out of memory.");
            throw new NvrtcException(result, log is null ? $"NVRTC: {call} failed: {text}." : $"NVRTC: {call} failed: {text}.\n{log}", log);
        }

        internal static (int Major, int Minor) Version()
        {
            int a, b;
            ThrowIfFailed(nvrtcVersion(&a, &b), "nvrtcVersion");
            return (a, b);
        }

        internal static SafeNvrtcProgramHandle CreateProgram(string source, string name)
        {
            nint p;
            ThrowIfFailed(nvrtcCreateProgram(&p, source, name, 0, null, null), "nvrtcCreateProgram");
            var h = new SafeNvrtcProgramHandle();
            Marshal.InitHandle(h, p);
            return h;
        }

        internal static int DestroyProgramNoThrow(nint program) => nvrtcDestroyProgram(&program);

        /// <summary>Compiles; returns the NVRTC status and the log (the caller decides how to report a failure).</summary>
        internal static (int Result, string Log) Compile(SafeNvrtcProgramHandle program, IReadOnlyList<string> options)
        {
            var utf8 = new nint[options.Count];
            try
            {
                for (int i = 0; i < options.Count; i++) utf8[i] = Marshal.StringToCoTaskMemUTF8(options[i]);
                int r;
                fixed (nint* opts = utf8)
                    r = nvrtcCompileProgram(program.DangerousGetHandle(), options.Count, (byte**)opts);
                return (r, Log(program));
            }
            finally
            {
                foreach (var p in utf8) if (p != 0) Marshal.FreeCoTaskMem(p);
            }
        }

        private static string Log(SafeNvrtcProgramHandle program)
        {
            nuint size;
            ThrowIfFailed(nvrtcGetProgramLogSize(program.DangerousGetHandle(), &size), "nvrtcGetProgramLogSize");
            if (size <= 1) return "";
            var buf = new byte[(int)size];
            fixed (byte* b = buf)
                ThrowIfFailed(nvrtcGetProgramLog(program.DangerousGetHandle(), b), "nvrtcGetProgramLog");
            return System.Text.Encoding.UTF8.GetString(buf, 0, (int)size - 1).TrimEnd();
        }

        internal static byte[] GetCubin(SafeNvrtcProgramHandle program)
        {
            nuint size;
            ThrowIfFailed(nvrtcGetCUBINSize(program.DangerousGetHandle(), &size), "nvrtcGetCUBINSize");
            var buf = new byte[(int)size];
            fixed (byte* b = buf)
                ThrowIfFailed(nvrtcGetCUBIN(program.DangerousGetHandle(), b), "nvrtcGetCUBIN");
            return buf;
        }
    }
}

/// <summary>An NVRTC program (host-side object; destroying it needs no CUDA context, so no leak counting).</summary>
public sealed class SafeNvrtcProgramHandle : SafeHandle
{
    public SafeNvrtcProgramHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle() => Interop.Nvrtc.DestroyProgramNoThrow(handle) == Interop.Nvrtc.NVRTC_SUCCESS;
}

/// <summary>A failed NVRTC call; for a compile error <see cref="Log"/> holds the compiler's messages.</summary>
public sealed class NvrtcException : Exception
{
    public NvrtcException(int code, string message, string? log) : base(message)
    {
        Code = code;
        Log = log;
    }

    public int Code { get; }
    public string? Log { get; }
}
