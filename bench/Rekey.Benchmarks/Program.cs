using Rekey.Benchmarks;

// dotnet run -c Release --project bench/Rekey.Benchmarks [-- --quick]              envelope operations
// dotnet run -c Release --project bench/Rekey.Benchmarks -- rotations [--quick]    rotations per second (REKEY_BENCH_PG for PostgreSQL)
var quick = args.Contains("--quick");
return args.Contains("rotations")
    ? await RotationBenchmark.RunAsync(quick)
    : await EnvelopeBenchmark.RunAsync(quick);
