using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Vigil.FFmpeg;

/// <summary>An FFmpeg call failed; carries FFmpeg's negative AVERROR code and its message.</summary>
public sealed class FFmpegException : Exception
{
    public FFmpegException(int errorCode, string message) : base(message) => ErrorCode = errorCode;

    /// <summary>The negative AVERROR code returned by FFmpeg.</summary>
    public int ErrorCode { get; }
}

/// <summary>The one place where FFmpeg status codes become exceptions.</summary>
internal static class FFmpegError
{
    internal const int EAGAIN = -11;
    internal const int ENOMEM = -12;
    internal const int ENOENT = -2;
    internal const int EIO = -5;
    internal const int AVERROR_EOF = -0x20464F45;          // FFERRTAG('E','O','F',' ')
    internal const int AVERROR_INVALIDDATA = -0x41444E49;  // FFERRTAG('I','N','D','A')

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int ThrowIfFailed(int status, string operation)
    {
        if (status < 0) Throw(status, operation);
        return status;
    }

    [DoesNotReturn]
    internal static void Throw(int status, string operation) => throw Create(status, operation);

    internal static Exception Create(int status, string operation)
    {
        string message = $"{operation}: {Message(status)}";
        return status switch
        {
            AVERROR_INVALIDDATA => new InvalidDataException(message),
            ENOMEM => new OutOfMemoryException(message),
            _ => new FFmpegException(status, message),
        };
    }

    /// <summary>FFmpeg's text for an AVERROR code (av_strerror).</summary>
    internal static string Message(int status) => Interop.AVUtil.ErrorString(status);
}
