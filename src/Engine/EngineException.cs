namespace Vigil.Engine;

/// <summary>
/// A model the engine cannot take (unparsable file, unsupported operator, shape that cannot be inferred) or a plan
/// it cannot load. The message names the file, node, operator and reason, on one line.
/// </summary>
public sealed class EngineException : VigilException
{
    public EngineException(string message) : base(message) { }
    public EngineException(string message, Exception inner) : base(message, inner) { }
}
