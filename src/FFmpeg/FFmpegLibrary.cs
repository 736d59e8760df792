using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Vigil.FFmpeg;

/// <summary>The FFmpeg libraries Vigil loaded: versions and where they came from.</summary>
public sealed record FFmpegVersionInfo(int FormatMajor, string Format, string Codec, string Util, string SwScale, string Location)
{
    public override string ToString() =>
        $"libavformat {Format}, libavcodec {Codec}, libavutil {Util}, libswscale {SwScale} ({Location})";
}

/// <summary>The FFmpeg libraries cannot be used (missing, or a version Vigil has no layout table for).</summary>
public sealed class FFmpegNotAvailableException : VigilException
{
    public FFmpegNotAvailableException(string message) : base(message) { }
}

/// <summary>
/// Finds and loads libavutil, libavcodec, libavformat and libswscale at run time and selects the struct-layout table for
/// their major version. Search order: the folder in FFMPEG_LIB_DIR (any file name, including hashed ones such as
/// libavformat-4762a711.so.62.12.101), then the system sonames libavformat.so.62 down to .59.
/// </summary>
public static partial class FFmpegLibrary
{
    /// <summary>libavformat majors and the libavutil / libswscale majors released with them (libavcodec = libavformat).</summary>
    private static readonly Dictionary<int, (int Util, int SwScale)> Companions = new()
    {
        [59] = (57, 6),
        [60] = (58, 7),
        [61] = (59, 8),
        [62] = (60, 9),
    };

    private static readonly Lock s_lock = new();
    private static Loaded? s_loaded;
    private static FFmpegLayout? s_layout;

    private sealed record Loaded(nint Util, nint Codec, nint Format, nint SwScale, FFmpegVersionInfo Info, FFmpegLayout Layout);

    static FFmpegLibrary()
    {
        NativeLibrary.SetDllImportResolver(typeof(FFmpegLibrary).Assembly, Resolve);
    }

    /// <summary>Loads the libraries (once); throws <see cref="FFmpegNotAvailableException"/> with a one-line reason.</summary>
    public static FFmpegVersionInfo EnsureLoaded() => Ensure().Info;

    /// <summary>The layout table in use (loads the libraries if needed).</summary>
    public static FFmpegLayout Layout => s_layout ?? Ensure().Layout;

    private static Loaded Ensure()
    {
        var loaded = Volatile.Read(ref s_loaded);
        if (loaded is not null) return loaded;
        lock (s_lock)
        {
            if (s_loaded is not null) return s_loaded;
            loaded = Load();
            s_layout = loaded.Layout;
            Volatile.Write(ref s_loaded, loaded);
        }
        int level = int.TryParse(Environment.GetEnvironmentVariable("VIGIL_FFMPEG_LOGLEVEL"), out int l) ? l : 8; // AV_LOG_FATAL
        Interop.AVUtil.av_log_set_level(level);
        Interop.AVFormat.avformat_network_init();
        SelfCheck(loaded.Layout);
        return loaded;
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        return name switch
        {
            Interop.Libraries.AVUtil => Ensure().Util,
            Interop.Libraries.AVCodec => Ensure().Codec,
            Interop.Libraries.AVFormat => Ensure().Format,
            Interop.Libraries.SwScale => Ensure().SwScale,
            _ => 0,
        };
    }

    [GeneratedRegex(@"^lib(?<lib>avformat|avcodec|avutil|swscale|swresample)(-[0-9a-f]+)?\.so\.(?<major>\d+)(\.\d+)*$")]
    private static partial Regex LibraryFileName();

    private static Loaded Load()
    {
        string? dir = Environment.GetEnvironmentVariable("FFMPEG_LIB_DIR");
        return string.IsNullOrWhiteSpace(dir) ? LoadFromSystem() : LoadFromDirectory(dir);
    }

    private static Loaded LoadFromDirectory(string dir)
    {
        if (!Directory.Exists(dir))
            throw new FFmpegNotAvailableException($"FFMPEG_LIB_DIR={dir}: no such directory");
        var files = Directory.GetFiles(dir, "lib*.so*")
            .Select(path => (Path: path, Match: LibraryFileName().Match(System.IO.Path.GetFileName(path))))
            .Where(f => f.Match.Success)
            .Select(f => (f.Path, Lib: f.Match.Groups["lib"].Value, Major: int.Parse(f.Match.Groups["major"].Value)))
            .ToList();
        var formats = files.Where(f => f.Lib == "avformat").OrderByDescending(f => f.Major).ToList();
        if (formats.Count == 0)
            throw new FFmpegNotAvailableException($"FFMPEG_LIB_DIR={dir}: no libavformat*.so* in that folder");
        var format = formats.FirstOrDefault(f => Companions.ContainsKey(f.Major));
        if (format.Path is null)
            throw Unsupported(formats[0].Major, formats[0].Path);

        (int util, int sws) = Companions[format.Major];
        string Find(string lib, int major) =>
            files.Where(f => f.Lib == lib && f.Major == major).Select(f => f.Path).OrderBy(p => p.Length).FirstOrDefault()
            ?? throw new FFmpegNotAvailableException(
                $"FFMPEG_LIB_DIR={dir}: libavformat {format.Major} found at {format.Path} but no lib{lib} {major} beside it");

        // Dependency order, so each library's DT_NEEDED entries are already loaded under their sonames.
        nint hUtil = LoadFile(Find("avutil", util));
        string? swr = files.Where(f => f.Lib == "swresample").Select(f => f.Path).FirstOrDefault();
        if (swr is not null) NativeLibrary.TryLoad(swr, out _);
        nint hCodec = LoadFile(Find("avcodec", format.Major));
        nint hFormat = LoadFile(format.Path);
        nint hSws = LoadFile(Find("swscale", sws));
        return Verify(hUtil, hCodec, hFormat, hSws, format.Major, format.Path);
    }

    private static Loaded LoadFromSystem()
    {
        foreach (int major in Companions.Keys.OrderDescending())
        {
            if (!NativeLibrary.TryLoad($"libavformat.so.{major}", out nint hFormat)) continue;
            (int util, int sws) = Companions[major];
            nint hUtil = LoadSystem($"libavutil.so.{util}", major);
            nint hCodec = LoadSystem($"libavcodec.so.{major}", major);
            nint hSws = LoadSystem($"libswscale.so.{sws}", major);
            return Verify(hUtil, hCodec, hFormat, hSws, major, $"libavformat.so.{major}");
        }

        // Nothing supported: name what is there, if anything, so the user knows which version to change.
        if (NativeLibrary.TryLoad("libavformat.so", out nint any) && NativeLibrary.TryGetExport(any, "avformat_version", out nint fn))
        {
            unsafe
            {
                uint v = ((delegate* unmanaged<uint>)fn)();
                throw Unsupported((int)(v >> 16), "libavformat.so");
            }
        }
        foreach (string d in new[] { "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib" })
        {
            if (!Directory.Exists(d)) continue;
            var other = Directory.GetFiles(d, "libavformat.so.*")
                .Select(p => LibraryFileName().Match(System.IO.Path.GetFileName(p)))
                .FirstOrDefault(m => m.Success);
            if (other is not null)
                throw Unsupported(int.Parse(other.Groups["major"].Value), System.IO.Path.Combine(d, other.Value));
        }
        throw new FFmpegNotAvailableException(
            "FFmpeg libraries not found: install libavformat (59-62), libavcodec, libavutil and libswscale " +
            "(Debian 12: apt-get install libavformat59 libavcodec59 libswscale6) or set FFMPEG_LIB_DIR to their folder");
    }

    private static FFmpegNotAvailableException Unsupported(int major, string path) =>
        new($"FFmpeg libavformat {major} found at {path}; Vigil supports {FFmpegLayout.SupportedFormatMajors[0]}-{FFmpegLayout.SupportedFormatMajors[^1]}");

    private static nint LoadFile(string path)
    {
        try { return NativeLibrary.Load(path); }
        catch (DllNotFoundException e) { throw new FFmpegNotAvailableException($"{path}: cannot load ({e.Message})"); }
    }

    private static nint LoadSystem(string soname, int formatMajor)
    {
        if (NativeLibrary.TryLoad(soname, out nint h)) return h;
        throw new FFmpegNotAvailableException($"FFmpeg libavformat {formatMajor} found but {soname} is missing (install the matching FFmpeg libraries)");
    }

    private static unsafe Loaded Verify(nint util, nint codec, nint format, nint sws, int major, string location)
    {
        static uint Version(nint lib, string fn) =>
            NativeLibrary.TryGetExport(lib, fn, out nint p) ? ((delegate* unmanaged<uint>)p)() : 0;
        static string Text(uint v) => $"{v >> 16}.{(v >> 8) & 0xff}.{v & 0xff}";

        uint vf = Version(format, "avformat_version"), vc = Version(codec, "avcodec_version");
        uint vu = Version(util, "avutil_version"), vs = Version(sws, "swscale_version");
        if ((int)(vf >> 16) != major) throw Unsupported((int)(vf >> 16), location);
        (int wantUtil, int wantSws) = Companions[major];
        if ((int)(vc >> 16) != major || (int)(vu >> 16) != wantUtil || (int)(vs >> 16) != wantSws)
            throw new FFmpegNotAvailableException(
                $"FFmpeg libraries at {location} do not belong together: libavformat {Text(vf)}, libavcodec {Text(vc)}, " +
                $"libavutil {Text(vu)}, libswscale {Text(vs)} (expected libavcodec {major}, libavutil {wantUtil}, libswscale {wantSws})");
        var layout = FFmpegLayout.ForFormatMajor(major) ?? throw Unsupported(major, location);
        var info = new FFmpegVersionInfo(major, Text(vf), Text(vc), Text(vu), Text(vs), location);
        return new Loaded(util, codec, format, sws, info, layout);
    }

    /// <summary>
    /// Checks the layout table against the loaded library: a fresh AVFrame has pts, pkt_dts and best_effort_timestamp set
    /// to AV_NOPTS_VALUE and format -1; a fresh AVPacket has pts and dts AV_NOPTS_VALUE and pos -1. A wrong table fails
    /// here with a clear message instead of corrupting memory later.
    /// </summary>
    private static unsafe void SelfCheck(FFmpegLayout l)
    {
        using (var frame = Interop.AVUtil.FrameAlloc())
        {
            byte* f = (byte*)frame.DangerousGetHandle();
            if (*(long*)(f + l.Frame_pts) != Interop.AV_NOPTS_VALUE || *(long*)(f + l.Frame_pkt_dts) != Interop.AV_NOPTS_VALUE ||
                *(long*)(f + l.Frame_best_effort_timestamp) != Interop.AV_NOPTS_VALUE || *(int*)(f + l.Frame_format) != -1)
                throw LayoutMismatch(l, "AVFrame");
        }
        using (var packet = Interop.AVCodec.PacketAlloc())
        {
            byte* p = (byte*)packet.DangerousGetHandle();
            if (*(long*)(p + l.Packet_pts) != Interop.AV_NOPTS_VALUE || *(long*)(p + l.Packet_dts) != Interop.AV_NOPTS_VALUE ||
                *(long*)(p + l.Packet_pos) != -1 || *(nint*)(p + l.Packet_data) != 0)
                throw LayoutMismatch(l, "AVPacket");
        }
    }

    internal static FFmpegNotAvailableException LayoutMismatch(FFmpegLayout l, string structName) =>
        new($"FFmpeg {s_loaded?.Info.ToString() ?? $"libavformat {l.FormatMajor}"}: {structName} layout does not match Vigil's table for libavformat {l.FormatMajor}");
}
