using Microsoft.Data.Sqlite;
using Rekey.Access;
using Rekey.Audit;
using Rekey.Envelope;
using Rekey.Keys;
using Rekey.Rewrap;
using Rekey.Root;
using Rekey.Storage;
using Rekey.Storage.Postgres;
using Rekey.Storage.Sqlite;
using Rekey.Testing;

namespace Rekey.Lifecycle.Tests;

/// <summary>
/// A store (SQLite file or PostgreSQL database) on a manual clock, the service with the inventory
/// as its destroy gate, the re-wrap and lifecycle parts, and an application table of items in a
/// SQLite file that can be registered as a data source.
/// </summary>
public sealed class LifecycleHarness : IAsyncDisposable
{
    public static readonly ChangeContext Officer = new("officer", "test");

    private readonly string _directory;
    private readonly PostgresDatabase? _database;
    private readonly LocalRootKeyProvider _root;
    private readonly List<LifecycleScheduler> _schedulers = [];

    private LifecycleHarness(string directory, PostgresDatabase? database, LocalRootKeyProvider root)
    {
        _directory = directory;
        _database = database;
        _root = root;
    }

    public FakeTimeProvider Time { get; } = new();

    public IKeyStore Store { get; private set; } = null!;

    public ILifecycleStore Lifecycle => (ILifecycleStore)Store;

    public RekeyService Service { get; private set; } = null!;

    public RewrapJobs Jobs { get; private set; } = null!;

    public DataSources Sources { get; private set; } = null!;

    public LifecyclePolicies Policies { get; private set; } = null!;

    public RotationRecords Rotations { get; private set; } = null!;

    public LifecycleScheduler Scheduler { get; private set; } = null!;

    public LifecycleOptions Options { get; } = new();

    public string AppPath => Path.Combine(_directory, "app.db");

    public static async Task<LifecycleHarness> CreateAsync(bool postgres)
    {
        var directory = Directory.CreateTempSubdirectory("rekey-lifecycle-").FullName;
        var database = postgres ? await PostgresDatabase.CreateAsync() : null;
        var rootPath = Path.Combine(directory, "root.key");
        LocalRootKeyProvider.CreateKeyFile(rootPath).Dispose();
        var harness = new LifecycleHarness(directory, database, LocalRootKeyProvider.OpenKeyFile(rootPath));
        harness.Store = postgres
            ? await PostgresKeyStore.OpenAsync(database!.ConnectionString, harness.Time, listen: false)
            : await SqliteKeyStore.OpenAsync(Path.Combine(directory, "rekey.db"), harness.Time, TimeSpan.Zero);
        var gate = new InventoryGate((IDataSourceStore)harness.Store, (IRewrapJobStore)harness.Store);
        harness.Service = new RekeyService(harness.Store, harness._root, new RekeyServiceOptions { Inventory = gate }, harness.Time);
        harness.Sources = new DataSources((IDataSourceStore)harness.Store, harness._root, time: harness.Time);
        harness.Jobs = new RewrapJobs(harness.Service, (IRewrapJobStore)harness.Store, time: harness.Time, sources: harness.Sources);
        harness.Policies = new LifecyclePolicies(harness.Service, harness.Lifecycle, harness.Options, harness.Time);
        harness.Rotations = new RotationRecords(harness.Lifecycle, harness.Jobs, gate, harness.Time);
        harness.Scheduler = harness.NewScheduler("instance-a");
        await using var app = new SqliteConnection($"Data Source={harness.AppPath}");
        await app.OpenAsync();
        await using var create = app.CreateCommand();
        create.CommandText = "CREATE TABLE items (id INTEGER PRIMARY KEY, ct TEXT);";
        await create.ExecuteNonQueryAsync();
        return harness;
    }

    public LifecycleScheduler NewScheduler(string owner)
    {
        var gate = new InventoryGate((IDataSourceStore)Store, (IRewrapJobStore)Store);
        var scheduler = new LifecycleScheduler(Service, Lifecycle, Rotations, gate, owner, Options, Time);
        _schedulers.Add(scheduler);
        return scheduler;
    }

    /// <summary>Registers the items table as data source 'app' for <paramref name="patterns"/>.</summary>
    public Task RegisterAppAsync(params string[] patterns) =>
        Sources.RegisterAsync(
            new DataSourceRegistration("app", new SourceDefinition(SourceKind.Sqlite, AppPath, "items", "id", IdKind.Integer, [new CiphertextColumn("ct")]), patterns.Select(KeyPattern.Parse).ToList()),
            Officer);

    /// <summary>Inserts <paramref name="count"/> items encrypted under the key's Active version.</summary>
    public async Task FillAsync(KeyName key, int count)
    {
        await using var app = new SqliteConnection($"Data Source={AppPath}");
        await app.OpenAsync();
        await using var last = app.CreateCommand();
        last.CommandText = "SELECT coalesce(max(id), 0) FROM items;";
        var first = (long)(await last.ExecuteScalarAsync())! + 1;
        for (var id = first; id < first + count; id++)
        {
            await using var insert = app.CreateCommand();
            insert.CommandText = "INSERT INTO items (id, ct) VALUES ($id, $ct);";
            insert.Parameters.AddWithValue("$id", id);
            insert.Parameters.AddWithValue("$ct", EnvelopeText.Encode(await Service.EncryptAsync(key, "item"u8.ToArray(), ContextOf(id))));
            await insert.ExecuteNonQueryAsync();
        }
    }

    /// <summary>The context item <paramref name="id"/> is encrypted with; as a template, <c>item={id}</c>.</summary>
    public static EncryptionContext ContextOf(long id) => EncryptionContext.From("item=" + id);

    /// <summary>The version every item is under.</summary>
    public async Task<List<int>> ItemVersionsAsync()
    {
        await using var app = new SqliteConnection($"Data Source={AppPath}");
        await app.OpenAsync();
        await using var read = app.CreateCommand();
        read.CommandText = "SELECT ct FROM items ORDER BY id;";
        await using var reader = await read.ExecuteReaderAsync();
        var versions = new List<int>();
        while (await reader.ReadAsync())
        {
            versions.Add(EnvelopeReader.ReadVersion(EnvelopeText.Decode(reader.GetString(0))));
        }

        return versions;
    }

    /// <summary>
    /// Ticks the scheduler and runs the re-wrap jobs it starts, as the server's workers do, until
    /// neither has anything left to do at the current time.
    /// </summary>
    public async Task SettleAsync(LifecycleScheduler? scheduler = null)
    {
        scheduler ??= Scheduler;
        for (var round = 0; round < 100; round++)
        {
            var looked = await scheduler.TickAsync();
            var ran = 0;
            foreach (var id in await Jobs.RunnableAsync())
            {
                await Jobs.RunAsync(id, "runner");
                ran++;
            }

            if (looked == 0 && ran == 0)
            {
                return;
            }
        }

        throw new InvalidOperationException("The scheduler never settled.");
    }

    /// <summary>Moves the clock, then settles.</summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        Time.Advance(by);
        await SettleAsync();
    }

    public async Task<List<AuditEvent>> EventsAsync(string action) =>
        (await Service.ReadAuditAsync(0, 100_000)).Where(e => e.Record.Action == action).ToList();

    public async ValueTask DisposeAsync()
    {
        await Service.DisposeAsync();
        await Store.DisposeAsync();
        _root.Dispose();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        using (var app = new SqliteConnection($"Data Source={AppPath}"))
        {
            // This harness's own pool only: other test classes run beside it on their own stores.
            SqliteConnection.ClearPool(app);
        }

        Directory.Delete(_directory, recursive: true);
    }
}
