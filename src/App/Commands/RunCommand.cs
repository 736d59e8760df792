using System.CommandLine;
using Vigil.Pipeline;
using Vigil.Pipeline.Config;

namespace Vigil.App.Commands;

internal static class RunCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("config") { Description = "Pipeline YAML file" };
        var maxFrames = new Option<long?>("--max-frames") { Description = "Stop each source after this many frames" };
        var command = new Command("run", "Run a pipeline until its sources end (Ctrl-C stops cleanly)") { file, maxFrames };
        command.SetAction(async (parse, ct) =>
        {
            var config = ConfigLoader.Load(parse.GetValue(file)!);
            if (parse.GetValue(maxFrames) is { } mf)
                config = config with { Sources = config.Sources.Select(s => s with { MaxFrames = mf }).ToList() };
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var signals = PipelineHost.HandleSignals(stop);
            var (code, _) = await PipelineHost.RunAsync(config, Console.Error, stop.Token).ConfigureAwait(false);
            return code;
        });
        return command;
    }
}
