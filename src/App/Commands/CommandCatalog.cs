using System.CommandLine;

namespace Vigil.App.Commands;

/// <summary>Every subcommand of the vigil program, one file each.</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield return RunCommand.Create();
        yield return ValidateCommand.Create();
        yield return EvalMotCommand.Create();
        yield return TrackCommand.Create();
        yield return BuildCommand.Create();
        yield return InspectCommand.Create();
    }
}
