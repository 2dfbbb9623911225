using System.Data.Common;
using System.Globalization;
using Rekey.Access;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Storage.Sql;

/// <summary>
/// Reads store rows into records, for SQL stores whose tables share one column layout (see
/// <see cref="KeyColumns"/>, <see cref="VersionColumns"/> and <see cref="AuditColumns"/>): every
/// time is Unix milliseconds, every state its name.
/// </summary>
internal static class StoreRows
{
    /// <summary>The key columns, in the order <see cref="ReadKey"/> expects.</summary>
    public const string KeyColumns = "name, created_at, min_decryption_version, destruction_delay_ms, deletion_allowed";

    /// <summary>The version columns, in the order <see cref="ReadVersion"/> expects.</summary>
    public const string VersionColumns =
        "key_name, version, state, material, root_key_id, created_at, activated_at, deactivated_at, retire_deadline, destroy_after, destroyed_at, encrypt_count, decrypt_count, origin";

    /// <summary>The audit columns, in the order <see cref="ReadAuditEvent"/> expects.</summary>
    public const string AuditColumns = "seq, time, actor, action, key_name, from_version, to_version, outcome, details, prev_hash, hash, reason, request_id, client, presented_token";

    /// <summary>The token columns, in the order <see cref="ReadToken"/> expects.</summary>
    public const string TokenColumns = "id, name, roles, patterns, secret_hash, created_at, expires_at, revoked_at";

    /// <summary>The signing-key columns, in the order <see cref="ReadSigningKey"/> expects.</summary>
    public const string SigningKeyColumns = "key_id, public_key, wrapped_private_key, root_key_id, created_at";

    /// <summary>The checkpoint columns, in the order <see cref="ReadCheckpoint"/> expects.</summary>
    public const string CheckpointColumns = "seq, hash, time, key_id, signature";

    /// <summary>The re-wrap job columns, in the order <see cref="ReadRewrapJob"/> expects.</summary>
    public const string RewrapJobColumns = "id, key_name, state, document, lease_owner, lease_until, updated_at";

    /// <summary>The failure columns, in the order <see cref="ReadRewrapFailure"/> expects.</summary>
    public const string RewrapFailureColumns = "job_id, record_id, column_name, version, reason, at";

    /// <summary>The inventory columns, in the order <see cref="ReadInventory"/> expects.</summary>
    public const string InventoryColumns = "source, key_name, version, count, counted_at";

    /// <summary>Reads a job row selected with <see cref="RewrapJobColumns"/>.</summary>
    public static StoredRewrapJob ReadRewrapJob(DbDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return new StoredRewrapJob(
            reader.GetString(0), KeyName.Parse(reader.GetString(1)), reader.GetString(2), reader.GetString(3),
            reader.IsDBNull(4) ? null : reader.GetString(4), Time(reader, 5), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)));
    }

    /// <summary>Reads a failure row selected with <see cref="RewrapFailureColumns"/>.</summary>
    public static RewrapFailureRecord ReadRewrapFailure(DbDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return new RewrapFailureRecord(
            reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetInt32(3), reader.GetString(4), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)));
    }

    /// <summary>Reads an inventory row selected with <see cref="InventoryColumns"/>.</summary>
    public static InventoryCount ReadInventory(DbDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return new InventoryCount(reader.GetString(0), KeyName.Parse(reader.GetString(1)), reader.GetInt32(2), reader.GetInt64(3), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)));
    }

    /// <summary>Reads a signing-key row selected with <see cref="SigningKeyColumns"/>.</summary>
    public static StoredSigningKey ReadSigningKey(DbDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return new StoredSigningKey(reader.GetString(0), reader.GetFieldValue<byte[]>(1), reader.GetFieldValue<byte[]>(2), reader.GetString(3), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)));
    }

    /// <summary>Reads a checkpoint row selected with <see cref="CheckpointColumns"/>.</summary>
    public static AuditCheckpoint ReadCheckpoint(DbDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return new AuditCheckpoint(reader.GetInt64(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), reader.GetString(3), reader.GetFieldValue<byte[]>(4));
    }

    /// <summary>Roles as stored: names joined by commas.</summary>
    public static string FormatRoles(IEnumerable<Role> roles) => string.Join(',', roles.Order());

    /// <summary>Patterns as stored: joined by commas (a pattern never contains one).</summary>
    public static string FormatPatterns(IEnumerable<KeyPattern> patterns) => string.Join(',', patterns.Select(p => p.Value));

    /// <summary>Reads a token row selected with <see cref="TokenColumns"/>.</summary>
    public static AccessToken ReadToken(DbDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return new AccessToken(
            reader.GetString(0),
            reader.GetString(1),
            reader.GetString(2).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Enum.Parse<Role>).ToHashSet(),
            reader.GetString(3).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(KeyPattern.Parse).ToList(),
            reader.GetFieldValue<byte[]>(4),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
            Time(reader, 6),
            Time(reader, 7));
    }

    /// <summary>Reads a key row selected with <see cref="KeyColumns"/>.</summary>
    public static StoredKey ReadKey(DbDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return new StoredKey(
            KeyName.Parse(reader.GetString(0)),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
            reader.GetInt32(2),
            TimeSpan.FromMilliseconds(reader.GetInt64(3)),
            reader.GetBoolean(4));
    }

    /// <summary>Reads a version row selected with <see cref="VersionColumns"/>.</summary>
    public static StoredKeyVersion ReadVersion(DbDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var info = new KeyVersionInfo(
            KeyName.Parse(reader.GetString(0)),
            reader.GetInt32(1),
            StoreIntegrity.ParseState(reader.GetString(2), reader.GetString(0), reader.GetInt32(1)),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
            Time(reader, 6),
            Time(reader, 7),
            Time(reader, 8),
            Time(reader, 9),
            Time(reader, 10),
            reader.GetInt64(11),
            reader.GetInt64(12),
            reader.GetString(13) == "imported" ? KeyVersionOrigin.Imported : KeyVersionOrigin.Generated);
        return new StoredKeyVersion(info, reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3), reader.GetString(4));
    }

    /// <summary>Reads an audit row selected with <see cref="AuditColumns"/>.</summary>
    public static AuditEvent ReadAuditEvent(DbDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var record = new AuditRecord(
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
            reader.GetString(2),
            reader.GetString(3),
            reader.IsDBNull(4) ? null : reader.GetString(4),
            reader.IsDBNull(5) ? null : reader.GetInt32(5),
            reader.IsDBNull(6) ? null : reader.GetInt32(6),
            reader.GetString(7),
            reader.IsDBNull(8) ? null : reader.GetString(8))
        {
            Reason = reader.IsDBNull(11) ? null : reader.GetString(11),
            RequestId = reader.IsDBNull(12) ? null : reader.GetString(12),
            Client = reader.IsDBNull(13) ? null : reader.GetString(13),
            PresentedTokenId = reader.IsDBNull(14) ? null : reader.GetString(14),
        };
        return new AuditEvent(reader.GetInt64(0), record, reader.GetString(9), reader.GetString(10));
    }

    /// <summary>The refusal for a conditional update that found another state, or a version number already taken.</summary>
    public static RekeyException Conflict(KeyName key, int version) =>
        new(RekeyErrorCode.Conflict, string.Create(CultureInfo.InvariantCulture, $"Key '{key}' version {version} was changed concurrently; read it again and retry."));

    /// <summary>The refusal for an unknown token id.</summary>
    public static RekeyException TokenNotFound(string id) => new(RekeyErrorCode.TokenNotFound, $"No access token has id '{id}'.");

    /// <summary>The refusal for revoking a token twice, or reusing an id.</summary>
    public static RekeyException TokenConflict(string id) => new(RekeyErrorCode.Conflict, $"Access token '{id}' exists already or is already revoked.");

    private static DateTimeOffset? Time(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));
}
