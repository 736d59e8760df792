using System.Runtime.CompilerServices;
using Vigil.Decode.Nvdec;

namespace Vigil.Tests.Nvdec;

/// <summary>
/// NVDEC struct sizes against nv-codec-headers 13.0 (dynlink_cuviddec.h, dynlink_nvcuvid.h) on x86-64 Linux.
/// The expected values were printed by tests/Vigil.Gpu.Tests/native/sizes.c, compiled with gcc against those headers
/// on the GPU machine.
/// </summary>
public sealed class NvdecStructTests
{
    [Fact] public void DecodeCaps_Size_MatchesHeader() => Assert.Equal(88, Unsafe.SizeOf<CUVIDDECODECAPS>());
    [Fact] public void DecodeCreateInfo_Size_MatchesHeader() => Assert.Equal(176, Unsafe.SizeOf<CUVIDDECODECREATEINFO>());
    [Fact] public void ProcParams_Size_MatchesHeader() => Assert.Equal(264, Unsafe.SizeOf<CUVIDPROCPARAMS>());
    [Fact] public void GetDecodeStatus_Size_MatchesHeader() => Assert.Equal(192, Unsafe.SizeOf<CUVIDGETDECODESTATUS>());
    [Fact] public void VideoFormat_Size_MatchesHeader() => Assert.Equal(64, Unsafe.SizeOf<CUVIDEOFORMAT>());
    [Fact] public void ParserDispInfo_Size_MatchesHeader() => Assert.Equal(24, Unsafe.SizeOf<CUVIDPARSERDISPINFO>());
    [Fact] public void SourceDataPacket_Size_MatchesHeader() => Assert.Equal(32, Unsafe.SizeOf<CUVIDSOURCEDATAPACKET>());
    [Fact] public void ParserParams_Size_MatchesHeader() => Assert.Equal(136, Unsafe.SizeOf<CUVIDPARSERPARAMS>());
}
