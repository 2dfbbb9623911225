using Rekey.Benchmarks;

// dotnet run -c Release --project bench/Rekey.Benchmarks [-- --quick]              envelope operations
// dotnet run -c Release --project bench/Rekey.Benchmarks -- rotations [--quick]    rotations per second (REKEY_BENCH_PG for PostgreSQL)
// dotnet run -c Release --project bench/Rekey.Benchmarks -- http [--quick]         HTTP encrypt throughput on loopback
// dotnet run -c Release --project bench/Rekey.Benchmarks -- rewrap [--quick] [--large]   re-wrap jobs vs raw and naive updates (REKEY_BENCH_PG)
// dotnet run -c Release --project bench/Rekey.Benchmarks -- scheduler [--quick]    lifecycle scheduler over 100,000 keys (REKEY_BENCH_PG)
// dotnet run -c Release --project bench/Rekey.Benchmarks -- roots [--quick]        file, PKCS#11 (SoftHSM2) and AWS KMS (moto_server) roots
// dotnet run -c Release --project bench/Rekey.Benchmarks -- files [--quick]        encrypted files: 1 GiB against raw AES-GCM, header re-wrap
var quick = args.Contains("--quick");
return args switch
{
    _ when args.Contains("http-server") => await HttpBenchmark.ServeAsync(metrics: !args.Contains("--no-metrics")),
    _ when args.Length > 0 && args[0] == "rewrap-job" => await RewrapBenchmark.RunJobAsync(args),
    _ when args.Contains("rewrap") => await RewrapBenchmark.RunAsync(quick, args),
    _ when args.Contains("http") => await HttpBenchmark.RunAsync(quick),
    _ when args.Contains("rotations") => await RotationBenchmark.RunAsync(quick),
    _ when args.Contains("scheduler") => await SchedulerBenchmark.RunAsync(quick),
    _ when args.Contains("roots") => await RootBenchmark.RunAsync(quick),
    _ when args.Contains("files") => await FileBenchmark.RunAsync(quick),
    _ => await EnvelopeBenchmark.RunAsync(quick),
};
