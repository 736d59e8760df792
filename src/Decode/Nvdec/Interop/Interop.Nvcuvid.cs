using System.Runtime.InteropServices;
using Vigil.Cuda;

namespace Vigil.Decode.Nvdec;

internal static partial class Interop
{
    internal static class Libraries
    {
        internal const string Nvcuvid = "libnvcuvid.so.1";
    }

    /// <summary>NVDEC (libnvcuvid.so.1): bitstream parser and hardware decoder. Statuses are CUresult.</summary>
    internal static unsafe partial class Nvcuvid
    {
        [LibraryImport(Libraries.Nvcuvid, EntryPoint = "cuvidGetDecoderCaps")]
        private static partial CUresult cuvidGetDecoderCaps(CUVIDDECODECAPS* caps);
        [LibraryImport(Libraries.Nvcuvid, EntryPoint = "cuvidCreateDecoder")]
        private static partial CUresult cuvidCreateDecoder(nint* decoder, CUVIDDECODECREATEINFO* info);
        [LibraryImport(Libraries.Nvcuvid, EntryPoint = "cuvidDestroyDecoder")]
        private static partial CUresult cuvidDestroyDecoder(nint decoder);
        [LibraryImport(Libraries.Nvcuvid, EntryPoint = "cuvidDecodePicture")]
        private static partial CUresult cuvidDecodePicture(nint decoder, nint picParams);
        [LibraryImport(Libraries.Nvcuvid, EntryPoint = "cuvidGetDecodeStatus")]
        private static partial CUresult cuvidGetDecodeStatus(nint decoder, int picIndex, CUVIDGETDECODESTATUS* status);
        [LibraryImport(Libraries.Nvcuvid, EntryPoint = "cuvidMapVideoFrame64")]
        private static partial CUresult cuvidMapVideoFrame64(nint decoder, int picIndex, ulong* devPtr, uint* pitch, CUVIDPROCPARAMS* vpp);
        [LibraryImport(Libraries.Nvcuvid, EntryPoint = "cuvidUnmapVideoFrame64")]
        private static partial CUresult cuvidUnmapVideoFrame64(nint decoder, ulong devPtr);
        [LibraryImport(Libraries.Nvcuvid, EntryPoint = "cuvidCtxLockCreate")]
        private static partial CUresult cuvidCtxLockCreate(nint* lck, nint context);
        [LibraryImport(Libraries.Nvcuvid, EntryPoint = "cuvidCtxLockDestroy")]
        private static partial CUresult cuvidCtxLockDestroy(nint lck);
        [LibraryImport(Libraries.Nvcuvid, EntryPoint = "cuvidCreateVideoParser")]
        private static partial CUresult cuvidCreateVideoParser(nint* parser, CUVIDPARSERPARAMS* parameters);
        [LibraryImport(Libraries.Nvcuvid, EntryPoint = "cuvidParseVideoData")]
        private static partial CUresult cuvidParseVideoData(nint parser, CUVIDSOURCEDATAPACKET* packet);
        [LibraryImport(Libraries.Nvcuvid, EntryPoint = "cuvidDestroyVideoParser")]
        private static partial CUresult cuvidDestroyVideoParser(nint parser);

        internal static CUVIDDECODECAPS GetDecoderCaps(cudaVideoCodec codec, cudaVideoChromaFormat chroma, uint bitDepthMinus8)
        {
            var caps = new CUVIDDECODECAPS { eCodecType = codec, eChromaFormat = chroma, nBitDepthMinus8 = bitDepthMinus8 };
            CudaStatus.ThrowIfFailed(cuvidGetDecoderCaps(&caps), "cuvidGetDecoderCaps");
            return caps;
        }

        internal static nint CreateDecoder(ref CUVIDDECODECREATEINFO info)
        {
            nint d;
            fixed (CUVIDDECODECREATEINFO* p = &info)
                CudaStatus.ThrowIfFailed(cuvidCreateDecoder(&d, p), "cuvidCreateDecoder");
            return d;
        }

        internal static CUresult DestroyDecoderNoThrow(nint decoder) => cuvidDestroyDecoder(decoder);

        /// <summary>Returns the status instead of throwing: called from a parser callback, which must not throw.</summary>
        internal static CUresult DecodePicture(nint decoder, nint picParams) => cuvidDecodePicture(decoder, picParams);

        internal static CUresult GetDecodeStatus(nint decoder, int picIndex, out cuvidDecodeStatus status)
        {
            CUVIDGETDECODESTATUS s = default;
            var r = cuvidGetDecodeStatus(decoder, picIndex, &s);
            status = s.decodeStatus;
            return r;
        }

        internal static CUresult MapVideoFrame(nint decoder, int picIndex, ref CUVIDPROCPARAMS vpp, out ulong devPtr, out uint pitch)
        {
            ulong p;
            uint pt;
            CUresult r;
            fixed (CUVIDPROCPARAMS* v = &vpp)
                r = cuvidMapVideoFrame64(decoder, picIndex, &p, &pt, v);
            devPtr = p;
            pitch = pt;
            return r;
        }

        internal static CUresult UnmapVideoFrame(nint decoder, ulong devPtr) => cuvidUnmapVideoFrame64(decoder, devPtr);

        internal static nint CtxLockCreate(nint context)
        {
            nint l;
            CudaStatus.ThrowIfFailed(cuvidCtxLockCreate(&l, context), "cuvidCtxLockCreate");
            return l;
        }

        internal static CUresult CtxLockDestroyNoThrow(nint lck) => cuvidCtxLockDestroy(lck);

        internal static nint CreateVideoParser(ref CUVIDPARSERPARAMS parameters)
        {
            nint p;
            fixed (CUVIDPARSERPARAMS* pp = &parameters)
                CudaStatus.ThrowIfFailed(cuvidCreateVideoParser(&p, pp), "cuvidCreateVideoParser");
            return p;
        }

        internal static CUresult ParseVideoData(nint parser, ref CUVIDSOURCEDATAPACKET packet)
        {
            fixed (CUVIDSOURCEDATAPACKET* p = &packet)
                return cuvidParseVideoData(parser, p);
        }

        internal static CUresult DestroyVideoParserNoThrow(nint parser) => cuvidDestroyVideoParser(parser);
    }
}

internal sealed class SafeCuvidDecoderHandle(SafeCudaContextHandle context) : CudaSafeHandle(context)
{
    protected override CUresult Destroy(nint value) => Interop.Nvcuvid.DestroyDecoderNoThrow(value);
}

internal sealed class SafeCuvidParserHandle(SafeCudaContextHandle context) : CudaSafeHandle(context)
{
    protected override CUresult Destroy(nint value) => Interop.Nvcuvid.DestroyVideoParserNoThrow(value);
}

internal sealed class SafeCuvidCtxLockHandle(SafeCudaContextHandle context) : CudaSafeHandle(context)
{
    protected override CUresult Destroy(nint value) => Interop.Nvcuvid.CtxLockDestroyNoThrow(value);
}
