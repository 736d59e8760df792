using System.CommandLine;
using Vigil.Engine.Plan;

namespace Vigil.App.Commands;

/// <summary><c>vigil inspect model.plan</c>: prints a plan in words (no GPU needed).</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var plan = new Argument<FileInfo>("plan") { Description = "plan file written by 'vigil build'" };
        var cmd = new Command("inspect", "Describe a plan file: target GPU, versions, precision, batch profile, layers, tactics") { plan };
        cmd.SetAction(parse =>
        {
            var f = parse.GetValue(plan)!;
            try
            {
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
