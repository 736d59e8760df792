// Vigil's benchmark programs (not tests): each prints its figures and the machine it ran on.
//   dotnet run -c Release --project benchmarks/Vigil.Benchmarks -- <name> [options]
// Results are recorded in BENCHMARKS.md with the machine, GPU, driver and CUDA version.
using Vigil.Benchmarks;

var registry = BenchmarkRegistry.All;
if (args.Length == 0 || !registry.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine($"usage: Vigil.Benchmarks <{string.Join("|", registry.Keys)}> [options]");
    return 2;
}
Console.WriteLine(MachineInfo.Describe());
return run(args[1..]);
