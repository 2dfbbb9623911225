using System.Globalization;
using Rekey;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Storage;
using Rekey.Storage.Postgres;
using Rekey.Storage.Sqlite;

// A separate OS process for the cross-process tests. Not shipped.
//   rotate <store> <root.key> <key> <count>                 rotate count times; prints "done"
//   rotate-expected <store> <root.key> <key> <v> <go-file>  prints "ready", waits for go-file, rotates expecting v; prints "won" or "conflict"
//   rotate-and-hang <store> <root.key> <key> <marker>        rotates, and inside the transaction (after the demotion) creates marker and hangs
//   rewrap-run <store> <root.key> <key> <job id>             prints "running", runs the re-wrap job as owner "worker"; prints its final state
if (args.Length < 4)
{
    Console.Error.WriteLine("usage: Rekey.TestWorker <command> <store> <root.key> <key> ...");
    return 2;
}

var (command, storeArg, rootPath, key) = (args[0], args[1], args[2], KeyName.Parse(args[3]));
await using IKeyStore store = PostgresConnectionString.IsPostgres(storeArg)
    ? await PostgresKeyStore.OpenAsync(storeArg, listen: false)
    : await SqliteKeyStore.OpenAsync(storeArg, changePollInterval: TimeSpan.Zero);
// The root as the suite names it: a key file, or a key in a PKCS#11 token (the PIN from the environment).
await using IRootKeyProvider root = rootPath.StartsWith("pkcs11:", StringComparison.Ordinal)
    ? Rekey.Providers.Pkcs11.Pkcs11RootKeyProvider.Open(Rekey.Providers.Pkcs11.Pkcs11RootOptions.Parse(rootPath))
    : rootPath.StartsWith("awskms:", StringComparison.Ordinal)
        ? await Rekey.Providers.AwsKms.AwsKmsRootKeyProvider.OpenAsync(Rekey.Providers.AwsKms.AwsKmsRootOptions.Parse(rootPath))
        : LocalRootKeyProvider.OpenKeyFile(rootPath);
await using var service = new RekeyService(store, root);

switch (command)
{
    case "rotate":
        var count = int.Parse(args[4], CultureInfo.InvariantCulture);
        for (var i = 0; i < count; i++)
        {
            await service.RotateAsync(key);
        }

        Console.WriteLine("done");
        return 0;

    case "rotate-expected":
        var expected = int.Parse(args[4], CultureInfo.InvariantCulture);
        Console.WriteLine("ready");
        while (!File.Exists(args[5]))
        {
            await Task.Delay(5);
        }

        try
        {
            await service.RotateAsync(key, new RotateOptions(ExpectedActiveVersion: expected));
            Console.WriteLine("won");
        }
        catch (RekeyException e) when (e.Code == RekeyErrorCode.Conflict)
        {
            Console.WriteLine("conflict");
        }

        return 0;

    case "rotate-and-hang":
        Action hang = () =>
        {
            File.WriteAllText(args[4], "inside the rotation transaction");
            Thread.Sleep(Timeout.Infinite);
        };
        if (store is PostgresKeyStore postgres)
        {
            postgres.AfterVersionUpdates = hang;
        }
        else
        {
            ((SqliteKeyStore)store).AfterVersionUpdates = hang;
        }

        await service.RotateAsync(key);
        Console.Error.WriteLine("the rotation finished, but it should have hung");
        return 1;

    case "rewrap-run":
        var jobs = new Rekey.Rewrap.RewrapJobs(service, (IRewrapJobStore)store);
        Console.WriteLine("running");
        var status = await jobs.RunAsync(args[4], "worker");
        Console.WriteLine(status.State);
        return 0;

    default:
        Console.Error.WriteLine($"unknown command {command}");
        return 2;
}
