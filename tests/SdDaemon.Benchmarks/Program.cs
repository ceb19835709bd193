// BenchmarkDotNet entry point: `dotnet run -c Release --project tests/SdDaemon.Benchmarks -- --filter '*'`.
using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
