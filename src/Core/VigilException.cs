namespace Vigil;

/// <summary>
/// An error meant for the user: its message is complete and printed as one line, without a stack trace
/// (bad configuration, unusable model, unreadable input).
/// </summary>
public class VigilException : Exception
{
    public VigilException(string message) : base(message) { }
    public VigilException(string message, Exception inner) : base(message, inner) { }
}
