using System.Data.Common;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using Rekey.Envelope;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Storage;
using Rekey.Storage.Postgres;
using Rekey.Storage.Sqlite;
using Rekey.Testing;

namespace Rekey.Rewrap.Tests;

/// <summary>
/// A Rekey store and service, and an application table of patients in the same kind of database
/// (SQLite file, or a PostgreSQL database), with helpers to fill it and read it back.
/// </summary>
public sealed class RewrapHarness : IAsyncDisposable
{
    public static readonly KeyName Key = KeyName.Parse("tenants/h42/patients");

    private readonly string _directory;
    private readonly PostgresDatabase? _database;
    private LocalRootKeyProvider _root = null!;

    private RewrapHarness(SourceKind kind, string directory, PostgresDatabase? database)
    {
        Kind = kind;
        _directory = directory;
        _database = database;
    }

    public SourceKind Kind { get; }

    public IKeyStore Store { get; private set; } = null!;

    public RekeyService Service { get; private set; } = null!;

    public RewrapJobs Jobs { get; private set; } = null!;

    public string StoreConnection => Kind == SourceKind.Sqlite ? Path.Combine(_directory, "rekey.db") : _database!.ConnectionString;

    public string SourceConnection => Kind == SourceKind.Sqlite ? Path.Combine(_directory, "app.db") : _database!.ConnectionString;

    public string RootKeyPath => Path.Combine(_directory, "root.key");

    public static async Task<RewrapHarness> CreateAsync(SourceKind kind, RewrapOptions? options = null)
    {
        var directory = Directory.CreateTempSubdirectory("rekey-rewrap-").FullName;
        var database = kind == SourceKind.Postgres ? await PostgresDatabase.CreateAsync() : null;
        var harness = new RewrapHarness(kind, directory, database);
        LocalRootKeyProvider.CreateKeyFile(harness.RootKeyPath).Dispose();
        await harness.OpenAsync(options);
        await harness.Service.CreateKeyAsync(Key);
        await harness.ExecuteAsync(kind == SourceKind.Sqlite
            ? "CREATE TABLE patients (id INTEGER PRIMARY KEY, ssn TEXT, scan BLOB, ward TEXT NOT NULL);"
            : "CREATE SCHEMA app; CREATE TABLE app.patients (id bigint PRIMARY KEY, ssn text, scan bytea, ward text NOT NULL);");
        return harness;
    }

    public string Table => Kind == SourceKind.Sqlite ? "patients" : "app.patients";

    public SourceDefinition Source(params CiphertextColumn[] columns) =>
        new(Kind, SourceConnection, Table, "id", IdKind.Integer, columns.Length == 0 ? [new("ssn"), new("scan", CiphertextFormat.Bytes)] : columns);

    public RewrapJobDefinition Definition(int batchSize = 100, SourceDefinition? source = null) =>
        new(Key, source ?? Source(), BatchSize: batchSize, ContextTemplate: "table=patients;id={id}");

    public static EncryptionContext ContextOf(long id) => EncryptionContext.From($"table=patients;id={id}");

    public static byte[] PlaintextOf(long id, string column, int generation = 0) => Encoding.UTF8.GetBytes($"{column} of patient {id} (generation {generation})");

    /// <summary>Inserts rows 1..count with both columns encrypted under the current Active version.</summary>
    public async Task FillAsync(int count, int firstId = 1, Func<long, EncryptionContext>? contextOf = null)
    {
        contextOf ??= ContextOf;
        await using var connection = await OpenSourceAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        for (var id = firstId; id < firstId + count; id++)
        {
            var ssn = EnvelopeText.Encode(await Service.EncryptAsync(Key, PlaintextOf(id, "ssn"), contextOf(id)));
            var scan = await Service.EncryptAsync(Key, PlaintextOf(id, "scan"), contextOf(id));
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = $"INSERT INTO {Table} (id, ssn, scan, ward) VALUES ({id}, @ssn, @scan, 'w{id % 3}');";
            Add(insert, "@ssn", ssn);
            Add(insert, "@scan", scan);
            await insert.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    /// <summary>Every row: id, ssn envelope bytes (or null), scan envelope bytes (or null).</summary>
    public async Task<List<(long Id, byte[]? Ssn, byte[]? Scan)>> ReadAllAsync()
    {
        await using var connection = await OpenSourceAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT id, ssn, scan FROM {Table} ORDER BY id;";
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(long, byte[]?, byte[]?)>();
        while (await reader.ReadAsync())
        {
            rows.Add((Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture),
                reader.IsDBNull(1) ? null : TryDecode(reader.GetString(1)),
                reader.IsDBNull(2) ? null : reader.GetFieldValue<byte[]>(2)));
        }

        return rows;
    }

    public async Task<object?> ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenSourceAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            Add(command, name, value);
        }

        return await command.ExecuteScalarAsync();
    }

    public async Task<DbConnection> OpenSourceAsync()
    {
        DbConnection connection = Kind == SourceKind.Sqlite
            ? new SqliteConnection($"Data Source={SourceConnection};Default Timeout=30")
            : new NpgsqlConnection(SourceConnection);
        await connection.OpenAsync();
        return connection;
    }

    public async Task ReopenAsync(RewrapOptions? options = null)
    {
        await CloseAsync();
        await OpenAsync(options);
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private static byte[]? TryDecode(string text)
    {
        try
        {
            return EnvelopeText.Decode(text);
        }
        catch (FormatException)
        {
            return Encoding.UTF8.GetBytes(text);
        }
    }

    private static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

    private async Task OpenAsync(RewrapOptions? options)
    {
        _root = LocalRootKeyProvider.OpenKeyFile(RootKeyPath);
        Store = Kind == SourceKind.Sqlite
            ? await SqliteKeyStore.OpenAsync(StoreConnection)
            : await PostgresKeyStore.OpenAsync(StoreConnection);
        Service = new RekeyService(Store, _root);
        Jobs = new RewrapJobs(Service, (IRewrapJobStore)Store, options);
    }

    private async Task CloseAsync()
    {
        if (Service is not null)
        {
            await Service.DisposeAsync();
            await Store.DisposeAsync();
            _root.Dispose();
        }
    }
}
