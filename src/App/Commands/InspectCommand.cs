using System.CommandLine;
using Vigil.Engine.Plan;

namespace Vigil.App.Commands;

/// <summary><c>vigil inspect model.plan</c>: prints a plan in words (no GPU needed).</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var plan = new Argument<FileInfo>("plan") { Description = "plan file written by 'vigil build', or an .onnx model (its optimized layer program, no GPU needed)" };
        var cmd = new Command("inspect", "Describe a plan file (target GPU, versions, precision, batch profile, layers, tactics) or an ONNX model's optimized layers") { plan };
        cmd.SetAction(parse =>
        {
            var f = parse.GetValue(plan)!;
            try
            {
                if (f.Extension.Equals(".onnx", StringComparison.OrdinalIgnoreCase))
                {
                    Vigil.Engine.ModelCompiler.Compile(f.FullName, Vigil.Engine.Optimizer.OptimizerOptions.All, 64, Console.Out);
                    return 0;
                }
                var model = PlanFile.Load(f.FullName);
                Console.Write(PlanFile.Describe(model, f.Length));
                return 0;
            }
            catch (VigilException ex)
            {
                Console.Error.WriteLine($"vigil inspect: {ex.Message}");
                return 1;
            }
        });
        return cmd;
    }
}
