using System.CommandLine;
using Vigil.App.Commands;

var root = new RootCommand("Vigil: GPU video analytics. Decode, infer, track, draw and publish many video streams.");
foreach (var command in CommandCatalog.All())
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
