using System.CommandLine;
using Vigil.Pipeline.Config;

namespace Vigil.App.Commands;

internal static class ValidateCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("config") { Description = "Pipeline YAML file" };
        var command = new Command("validate", "Check a pipeline configuration file without running it") { file };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(file)!;
            var config = ConfigLoader.Load(path);
            Console.WriteLine($"{path}: valid ({config.Sources.Count} source(s), detector {config.Detector.Family} {Path.GetFileName(config.Detector.ModelPath)}, tracker {(config.Tracker?.Kind.ToString().ToLowerInvariant() ?? "none")}, device {config.Device.ToString().ToLowerInvariant()})");
            return 0;
        });
        return command;
    }
}
