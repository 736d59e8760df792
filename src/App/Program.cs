using System.CommandLine;
using Vigil;
using Vigil.App.Commands;

var root = new RootCommand("Vigil: GPU video analytics. Decode, infer, track, draw and publish many video streams.");
foreach (var command in CommandCatalog.All())
    root.Subcommands.Add(command);
var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
try
{
    return await root.Parse(args).InvokeAsync(config).ConfigureAwait(false);
}
catch (Exception ex) when (ex is VigilException or VideoSourceException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException or IOException)
{
    // User errors are complete one-line messages (several lines for several config errors): no stack trace.
    Console.Error.WriteLine($"vigil: {ex.Message}");
    return 2;
}
