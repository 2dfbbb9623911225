using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Npgsql;
using Rekey.Access;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Server.Hosting;
using Rekey.Soak;
using Rekey.Testing;

// Two servers on one PostgreSQL under a bounded load of encrypt, decrypt and rewrap from several
// clients on loopback: first without rotations (the baseline), then with a rotation every 2 s and
// re-wrap jobs running over a table the clients also write. Passes when no response was a 5xx,
// every ciphertext handed out (and every value in the table) still decrypts at the end, and the
// audit log verifies. Prints p50/p99 latency of both phases.
//   Rekey.Soak SECONDS [CLIENTS] [RATE_PER_CLIENT]     (REKEY_TEST_PG names the PostgreSQL server)
var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 600;
var clients = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8;
var rate = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 25;
var baselineSeconds = Math.Max(10, seconds / 4);
var rotatingSeconds = Math.Max(10, seconds - baselineSeconds);
const string Key = "soak/data";

await using var database = await PostgresDatabase.CreateAsync();
var folder = Directory.CreateTempSubdirectory("rekey-soak-").FullName;
var keyFile = Path.Combine(folder, "root.key");
LocalRootKeyProvider.CreateKeyFile(keyFile).Dispose();
RekeyServerOptions Options() => new() { Store = database.ConnectionString, RootKeyFile = keyFile, Listen = "http://127.0.0.1:0", CheckpointInterval = TimeSpan.FromSeconds(5) };
await using var a = await RekeyServerHost.StartAsync(Options());
await using var b = await RekeyServerHost.StartAsync(Options());
var (_, token) = await a.IssueTokenAsync("soak", new HashSet<Role> { Role.Admin }, [KeyPattern.All]);
await a.Service.CreateKeyAsync(KeyName.Parse(Key));

// The application's table, beside Rekey's schema, registered as a data source for the jobs.
await using (var connection = new NpgsqlConnection(database.ConnectionString))
{
    await connection.OpenAsync();
    await using var create = new NpgsqlCommand("CREATE TABLE public.soak_values (id bigint PRIMARY KEY, ct text NOT NULL);", connection);
    await create.ExecuteNonQueryAsync();
}

using var admin = new HttpClient();
admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
var source = JsonSerializer.Serialize(new Dictionary<string, object>
{
    ["name"] = "soak-values",
    ["kind"] = "postgres",
    ["connection"] = database.ConnectionString,
    ["table"] = "public.soak_values",
    ["columns"] = new[] { new Dictionary<string, string> { ["name"] = "ct" } },
    ["keys"] = new[] { "soak/*" },
});
using (var registered = await admin.PostAsync(new Uri(a.Address, "/v1/sources"), new StringContent(source, Encoding.UTF8, "application/json")))
{
    if (!registered.IsSuccessStatusCode)
    {
        Console.Error.WriteLine("soak: registering the data source failed: " + await registered.Content.ReadAsStringAsync());
        return 1;
    }
}

var load = new SoakLoad([a.Address, b.Address], token, Key, clients, rate);
await using var writer = NpgsqlDataSource.Create(database.ConnectionString);
async Task StoreInTableAsync(long id, string ciphertext)
{
    await using var insert = writer.CreateCommand("INSERT INTO public.soak_values (id, ct) VALUES ($1, $2);");
    insert.Parameters.AddWithValue(id);
    insert.Parameters.AddWithValue(ciphertext);
    await insert.ExecuteNonQueryAsync();
}

Console.WriteLine($"soak: 2 servers on one PostgreSQL, {clients} clients at {rate} requests/s each; {baselineSeconds} s without rotations, then {rotatingSeconds} s with a rotation every 2 s and re-wrap jobs.");
using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(baselineSeconds)))
{
    var baseline = await load.RunAsync(StoreInTableAsync, stop.Token);
    Report("without rotations", baseline, baselineSeconds);
}

var rotations = 0;
var jobs = 0;
using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(rotatingSeconds)))
{
    var rotating = Task.Run(async () =>
    {
        var servers = new[] { a, b };
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None);
            await servers[rotations % 2].Service.RotateAsync(KeyName.Parse(Key), change: new Rekey.ChangeContext("soak", "scheduled"));
            rotations++;
        }
    });
    var jobbing = Task.Run(async () =>
    {
        while (!stop.IsCancellationRequested)
        {
            using var started = await admin.PostAsync(new Uri(a.Address, "/v1/jobs/rewrap/" + Key), new StringContent("""{"source":"soak-values","batch_size":200}""", Encoding.UTF8, "application/json"));
            var id = JsonDocument.Parse(await started.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
            string state;
            do
            {
                await Task.Delay(250, CancellationToken.None);
                state = JsonDocument.Parse(await admin.GetStringAsync(new Uri(b.Address, "/v1/jobs/" + id))).RootElement.GetProperty("state").GetString()!;
            }
            while (state is "Pending" or "Running");
            jobs++;
        }
    });
    var measured = await load.RunAsync(StoreInTableAsync, stop.Token);
    await Task.WhenAll(rotating, jobbing);
    Report("with rotations and re-wrap jobs", measured, rotatingSeconds);
}

// Everything handed out must still decrypt, and so must every value the jobs moved in the table.
var problems = new List<string>(load.Failures.Take(10));
var checkedValues = 0;
using var check = new HttpClient();
check.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
var items = load.Items.ToDictionary(p => p.Key, p => p.Value);
var inTable = new List<(long Id, string Ciphertext)>();
await using (var read = writer.CreateCommand("SELECT id, ct FROM public.soak_values ORDER BY id;"))
await using (var reader = await read.ExecuteReaderAsync())
{
    while (await reader.ReadAsync())
    {
        inTable.Add((reader.GetInt64(0), reader.GetString(1)));
    }
}

foreach (var (id, ciphertext, plaintext, context) in items.Select(p => (p.Key, p.Value.Ciphertext, p.Value.Plaintext, p.Value.Context))
    .Concat(inTable.Select(r => (r.Id, r.Ciphertext, items[r.Id].Plaintext, items[r.Id].Context))))
{
    var body = JsonSerializer.Serialize(new Dictionary<string, string> { ["ciphertext"] = ciphertext, ["context"] = context });
    using var response = await check.PostAsync(new Uri(a.Address, "/v1/decrypt/" + Key), new StringContent(body, Encoding.UTF8, "application/json"));
    var text = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode || !Convert.FromBase64String(JsonDocument.Parse(text).RootElement.GetProperty("plaintext").GetString()!).AsSpan().SequenceEqual(plaintext))
    {
        problems.Add($"value {id} no longer decrypts: {(int)response.StatusCode} {text}");
    }

    checkedValues++;
}

var audit = await a.Service.VerifyAuditAsync();
Console.WriteLine($"soak: {rotations} rotations, {jobs} re-wrap jobs finished, {checkedValues} values decrypted at the end ({inTable.Count} from the table), {load.ServerErrors} responses with 5xx, audit {(audit.IsValid ? "verifies" : "INVALID: " + audit.Problem)} ({audit.EventCount} events, {audit.CheckpointCount} checkpoints).");
Directory.Delete(folder, recursive: true);
if (problems.Count > 0 || load.ServerErrors > 0 || !audit.IsValid || rotations == 0)
{
    foreach (var problem in problems)
    {
        Console.Error.WriteLine("soak: " + problem);
    }

    Console.Error.WriteLine("soak: FAILED");
    return 1;
}

Console.WriteLine("soak: passed");
return 0;

static void Report(string phase, List<double> latencies, int seconds)
{
    latencies.Sort();
    double At(double q) => latencies.Count == 0 ? 0 : latencies[Math.Min(latencies.Count - 1, (int)(q * latencies.Count))];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"soak: {phase}: {latencies.Count} requests in {seconds} s ({latencies.Count / (double)seconds:0}/s), p50 {At(0.50):0.0} ms, p99 {At(0.99):0.0} ms, max {At(1.0):0.0} ms"));
}
