using Rekey.Fuzz;

// Rekey.Fuzz TARGET                 run under afl-fuzz, the Rekey assemblies instrumented by sharpfuzz (scripts/fuzz.sh)
// Rekey.Fuzz TARGET --replay DIR    run every file in DIR once, without AFL and on an uninstrumented build (the corpus and past findings, as a regression check)
if (args.Length == 0 || FuzzTargets.Find(args[0]) is not { } target)
{
    Console.Error.WriteLine("usage: Rekey.Fuzz " + string.Join('|', FuzzTargets.Names) + " [--replay DIR]");
    return 2;
}

if (args.Length == 3 && args[1] == "--replay")
{
    var files = Directory.GetFiles(args[2]);
    foreach (var file in files)
    {
        target(File.ReadAllBytes(file));
    }

    Console.WriteLine($"{args[0]}: {files.Length} inputs replayed without a crash");
    return 0;
}

SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    target(buffer.ToArray());
});
return 0;
