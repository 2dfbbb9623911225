using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Rekey.Audit;
using Rekey.Storage;
using Rekey.Storage.Sql;

namespace Rekey.Cli.Tests;

/// <summary>
/// Someone with write access to the database but not the root key attacks the audit log with
/// SQL run straight against the store file; <c>rekey audit verify</c> with a pinned public key,
/// a witness, or the root must report each attack.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AuditTamperTests : IDisposable
{
    private const string Key = "tenants/h42/patients";
    private readonly RekeyProcess _rekey = new();
    private readonly string _outside = Directory.CreateTempSubdirectory("rekey-outside-").FullName;

    public AuditTamperTests()
    {
        _rekey.Environment["REKEY_AUDIT_WITNESS"] = WitnessFile;
        _rekey.Run("init").Ok();
        _rekey.Run("key", "create", Key).Ok();
        _rekey.Run("key", "rotate", Key).Ok();
        _rekey.Run("audit", "checkpoint").Ok();
        File.WriteAllText(PublicKeyFile, _rekey.Run("audit", "public-key").Ok().Stdout);
        _rekey.Run("key", "rotate", Key).Ok();
        _rekey.Run("key", "rotate", Key).Ok();
        _rekey.Run("audit", "checkpoint").Ok();
        _rekey.Environment.Remove("REKEY_AUDIT_WITNESS");
    }

    private string WitnessFile => Path.Combine(_outside, "witness.jsonl");

    private string PublicKeyFile => Path.Combine(_outside, "audit.pub");

    private string Database => Path.Combine(_rekey.StoreDir, "rekey.db");

    [Fact]
    public void Untouched_VerifiesWithPinAndWitness()
    {
        var result = _rekey.Run("audit", "verify", "--public-key", PublicKeyFile, "--witness", WitnessFile, "--format", "json").Ok().Stdout;
        Assert.Contains("\"keys_pinned\": true", result, StringComparison.Ordinal);
        Assert.Contains("\"witnessed\": 2", result, StringComparison.Ordinal);
        Assert.Equal(2, File.ReadAllLines(WitnessFile).Length);
    }

    [Fact]
    public void TailCut_WithItsCheckpoint_IsReportedByTheWitness()
    {
        // Events that change no state (a refused destroy), then a checkpoint over them, witnessed;
        // the attacker cuts them and that checkpoint, back to the last one before.
        var cut = ReadCheckpointSequences()[^1];
        _rekey.Environment["REKEY_AUDIT_WITNESS"] = WitnessFile;
        Assert.Equal(4, _rekey.Run("key", "destroy", Key, "1").ExitCode);
        _rekey.Run("audit", "checkpoint").Ok();
        _rekey.Environment.Remove("REKEY_AUDIT_WITNESS");
        Sql($"DROP TRIGGER audit_events_no_delete; DELETE FROM audit_checkpoints WHERE seq > {cut}; DELETE FROM audit_events WHERE seq > {cut};");

        // The database alone is consistent again: that is the attack.
        _rekey.Run("audit", "verify", "--public-key", PublicKeyFile).Ok();
        var verdict = _rekey.Run("audit", "verify", "--public-key", PublicKeyFile, "--witness", WitnessFile);
        Assert.Equal(8, verdict.ExitCode);
        Assert.Contains("removed from the end", verdict.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void EventEdited_ChainRecomputed_CheckpointsAndKeysDeleted_IsReportedWithThePinnedKey()
    {
        Sql("DELETE FROM audit_checkpoints; DELETE FROM audit_signing_keys;");
        RewriteChain(events => events.Select(e => e.Action == "key.rotate" ? e with { Actor = "someone-else" } : e).Where(e => !e.Action.StartsWith("audit.", StringComparison.Ordinal)).ToList());

        _rekey.Run("audit", "verify").Ok();
        var verdict = _rekey.Run("audit", "verify", "--public-key", PublicKeyFile);
        Assert.Equal(8, verdict.ExitCode);
        Assert.Contains("no checkpoint signed by the pinned audit-signing key", verdict.Stdout, StringComparison.Ordinal);
        Assert.Equal(8, _rekey.Run("audit", "verify", "--witness", WitnessFile).ExitCode);
    }

    [Fact]
    public void OwnKeyInserted_LogRewrittenAndResigned_RealKeyDeleted_IsReportedByRootAndPin()
    {
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var publicKey = attacker.ExportSubjectPublicKeyInfo();
        var keyId = AuditKeyId.Of(publicKey);
        var events = RewriteChain(events => events.Select(e => e.Action == "key.rotate" ? e with { Actor = "someone-else" } : e).ToList());
        var sequences = ReadCheckpointSequences();
        var commands = new StringBuilder("DELETE FROM audit_checkpoints; DELETE FROM audit_signing_keys;");
        commands.Append($"INSERT INTO audit_signing_keys VALUES ('{keyId}', X'{Convert.ToHexString(publicKey)}', X'00', 'root', 0);");
        foreach (var seq in sequences)
        {
            var hash = events.Single(e => e.Sequence == seq).Hash;
            var time = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
            var signature = attacker.SignData(AuditCheckpoint.SignedBytes(seq, hash, time, keyId), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            commands.Append($"INSERT INTO audit_checkpoints VALUES ({seq}, '{hash}', {time.ToUnixTimeMilliseconds()}, '{keyId}', X'{Convert.ToHexString(signature)}');");
        }

        Sql(commands.ToString());

        var byRoot = _rekey.Run("audit", "verify");
        Assert.Equal(8, byRoot.ExitCode);
        Assert.Contains($"The audit-signing key {keyId} in the store was not made under this store's root key", byRoot.Stdout, StringComparison.Ordinal);

        var byPin = _rekey.Run("audit", "verify", "--public-key", PublicKeyFile);
        Assert.Equal(8, byPin.ExitCode);
        Assert.Contains("not made under this store's root key", byPin.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void SigningKeyRotated_OldPinnedKey_FollowsTheEndorsement_AndWitnessHasBoth()
    {
        _rekey.Environment["REKEY_AUDIT_WITNESS"] = WitnessFile;
        _rekey.Run("audit", "rotate-signing-key").Ok();
        _rekey.Run("key", "rotate", Key).Ok();
        _rekey.Run("audit", "checkpoint").Ok();

        var ok = _rekey.Run("audit", "verify", "--public-key", PublicKeyFile, "--witness", WitnessFile).Ok().Stdout;
        Assert.Contains("signed checkpoints verified", ok, StringComparison.Ordinal);
        var keys = _rekey.Run("audit", "public-key").Ok().Stdout;
        Assert.Equal(2, keys.Split("BEGIN PUBLIC KEY").Length - 1);

        // Pinning a key the store never had refuses every checkpoint.
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var strangerFile = Path.Combine(_outside, "stranger.pub");
        File.WriteAllText(strangerFile, PemEncoding.WriteString("PUBLIC KEY", stranger.ExportSubjectPublicKeyInfo()));
        var refused = _rekey.Run("audit", "verify", "--public-key", strangerFile);
        Assert.Equal(8, refused.ExitCode);
        Assert.Contains("neither the pinned audit-signing key nor endorsed by it", refused.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void AuditList_EscapesControlCharacters()
    {
        _rekey.Run("key", "rotate", Key, "--reason", "evil\u001b[2J\u009b31m").Ok();
        var listed = _rekey.Run("audit", "list", "--limit", "1000").Ok().Stdout;
        Assert.DoesNotContain('\u001b', listed);
        Assert.DoesNotContain('\u009b', listed);
        Assert.Contains("evil\\u001b[2J", listed, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _rekey.Dispose();
        Directory.Delete(_outside, recursive: true);
    }

    private List<long> ReadCheckpointSequences()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq FROM audit_checkpoints ORDER BY seq;";
        using var reader = command.ExecuteReader();
        var result = new List<long>();
        while (reader.Read())
        {
            result.Add(reader.GetInt64(0));
        }

        return result;
    }

    // Reads every event, applies the attacker's edit, seals the records into a fresh chain (as
    // anyone who knows the public format can) and writes the log back.
    private List<AuditEvent> RewriteChain(Func<List<AuditRecord>, List<AuditRecord>> edit)
    {
        var records = new List<AuditRecord>();
        using (var connection = Open())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT {StoreRows.AuditColumns} FROM audit_events ORDER BY seq;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                records.Add(StoreRows.ReadAuditEvent(reader).Record);
            }
        }

        var previous = AuditChain.GenesisHash;
        var sealedEvents = new List<AuditEvent>();
        var sql = new StringBuilder("DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events;");
        foreach (var record in edit(records))
        {
            var e = AuditChain.Seal(record, sealedEvents.Count + 1, previous);
            var r = e.Record;
            sealedEvents.Add(e);
            sql.Append($"INSERT INTO audit_events ({StoreRows.AuditColumns}) VALUES ({e.Sequence}, {r.Time.ToUnixTimeMilliseconds()}, {Q(r.Actor)}, {Q(r.Action)}, {Q(r.Key)}, {N(r.FromVersion)}, {N(r.ToVersion)}, {Q(r.Outcome)}, {Q(r.Details)}, '{e.PreviousHash}', '{e.Hash}', {Q(r.Reason)}, {Q(r.RequestId)}, {Q(r.Client)}, {Q(r.PresentedTokenId)});");
            previous = e.Hash;
        }

        Sql(sql.ToString());
        return sealedEvents;

        static string Q(string? s) => s is null ? "NULL" : "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'";
        static string N(int? n) => n?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "NULL";
    }

    private void Sql(string commands)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = commands;
        command.ExecuteNonQuery();
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection($"Data Source={Database};Pooling=False");
        connection.Open();
        return connection;
    }

}
