using System.Data.Common;
using Rekey.Audit;
using Rekey.Keys;

namespace Rekey.Storage.Sql;

/// <summary>
/// The lifecycle part of the engine (<see cref="ILifecycleStore"/>): policies, each key's next due
/// time and lease (found with one indexed query), and rotation records.
/// </summary>
public abstract partial class SqlKeyStore
{
    private const string ScheduleColumns = "key_name, next_due, lease_owner, lease_until, generation, document";
    private const string RotationColumns = "id, key_name, from_version, to_version, cause, phase, document, created_at, updated_at";

    /// <inheritdoc />
    public Task PutPolicyAsync(StoredPolicy policy, AuditRecord audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return WriteAsync(
            null,
            async (connection, transaction, ct) =>
            {
                await using (var upsert = Command(connection, transaction, $"INSERT INTO {T("lifecycle_policies")} (pattern, document, updated_at) VALUES ($1, $2, $3) ON CONFLICT (pattern) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at;"))
                {
                    Text(upsert, policy.Pattern);
                    Text(upsert, policy.Document);
                    Millis(upsert, policy.UpdatedAt);
                    await upsert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                await MarkMatchingDueAsync(connection, transaction, policy.Pattern, audit.Time, ct).ConfigureAwait(false);
                await AppendAuditAsync(connection, transaction, audit, ct).ConfigureAwait(false);
                return 0;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> DeletePolicyAsync(string pattern, AuditRecord audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(
            null,
            async (connection, transaction, ct) =>
            {
                await using (var delete = Command(connection, transaction, $"DELETE FROM {T("lifecycle_policies")} WHERE pattern = $1;"))
                {
                    Text(delete, pattern);
                    if (await delete.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                    {
                        return false;
                    }
                }

                await MarkMatchingDueAsync(connection, transaction, pattern, audit.Time, ct).ConfigureAwait(false);
                await AppendAuditAsync(connection, transaction, audit, ct).ConfigureAwait(false);
                return true;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<long> CountMatchingKeysAsync(string pattern, CancellationToken cancellationToken = default) =>
        RunAsync(
            async (connection, ct) =>
            {
                var (where, value) = Matching("name", pattern, "$1");
                await using var count = Command(connection, null, $"SELECT count(*) FROM {T("keys")} WHERE {where};");
                if (value is not null)
                {
                    Text(count, value);
                }

                return Convert.ToInt64(await count.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredPolicy>> ListPoliciesAsync(CancellationToken cancellationToken = default) =>
        ReadAsync(
            $"SELECT pattern, document, updated_at FROM {T("lifecycle_policies")} ORDER BY pattern{Dialect.ByteOrder};",
            null,
            r => new StoredPolicy(r.GetString(0), r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2))),
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<KeyName>> GetDueKeysAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default) =>
        ReadAsync(
            $"SELECT key_name FROM {T("key_schedule")} WHERE next_due IS NOT NULL AND next_due <= $1 AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_due LIMIT $2;",
            c =>
            {
                Millis(c, now);
                Int32(c, limit);
            },
            r => KeyName.Parse(r.GetString(0)),
            cancellationToken);

    /// <inheritdoc />
    public Task<StoredSchedule?> TryLeaseKeyAsync(KeyName key, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        RunAsync(
            async (connection, ct) =>
            {
                // One conditional statement, outside the audit chain's write lock: a lease is not an audited change.
                await using var lease = Command(
                    connection,
                    null,
                    $"UPDATE {T("key_schedule")} SET lease_owner = $2, lease_until = $3 WHERE key_name = $1 AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until < $4) RETURNING {ScheduleColumns};");
                Text(lease, key.Value);
                Text(lease, owner);
                Millis(lease, until);
                Millis(lease, now);
                await using var reader = await lease.ExecuteReaderAsync(ct).ConfigureAwait(false);
                return await reader.ReadAsync(ct).ConfigureAwait(false) ? ReadSchedule(reader) : null;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<bool> ReleaseKeyAsync(KeyName key, string owner, long generation, DateTimeOffset? nextDue, string document, CancellationToken cancellationToken = default) =>
        RunAsync(
            async (connection, ct) =>
            {
                // A change that came in while the scheduler looked at the key left it due now; keep that.
                await using var release = Command(
                    connection,
                    null,
                    $"UPDATE {T("key_schedule")} SET next_due = CASE WHEN generation = $3 THEN $4 ELSE next_due END, lease_owner = NULL, lease_until = NULL, document = $5 WHERE key_name = $1 AND lease_owner = $2;");
                Text(release, key.Value);
                Text(release, owner);
                Int64(release, generation);
                Millis(release, nextDue);
                Text(release, document);
                return await release.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<StoredSchedule?> GetScheduleAsync(KeyName key, CancellationToken cancellationToken = default) =>
        RunAsync((connection, ct) => ReadScheduleAsync(connection, key, ct), cancellationToken);

    /// <inheritdoc />
    public Task<bool> UpdateRotationAsync(StoredRotation rotation, string expectedPhase, AuditRecord? audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rotation);
        return WriteAsync(
            null,
            async (connection, transaction, ct) =>
            {
                await using (var update = Command(connection, transaction, $"UPDATE {T("rotations")} SET phase = $2, document = $3, updated_at = $4 WHERE id = $1 AND phase = $5;"))
                {
                    Text(update, rotation.Id);
                    Text(update, rotation.Phase);
                    Text(update, rotation.Document);
                    Millis(update, rotation.UpdatedAt);
                    Text(update, expectedPhase);
                    if (await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                    {
                        return false;
                    }
                }

                await MarkDueAsync(connection, transaction, rotation.Key, rotation.UpdatedAt, ct).ConfigureAwait(false);
                if (audit is not null)
                {
                    await AppendAuditAsync(connection, transaction, audit, ct).ConfigureAwait(false);
                }

                return true;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<StoredRotation?> FindRotationAsync(string id, CancellationToken cancellationToken = default) =>
        (await ReadAsync($"SELECT {RotationColumns} FROM {T("rotations")} WHERE id = $1;", c => Text(c, id), ReadRotation, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredRotation>> ListRotationsAsync(KeyName? key, bool openOnly, int limit, CancellationToken cancellationToken = default)
    {
        var where = (key is null ? "1 = 1" : "key_name = $2") + (openOnly ? " AND phase NOT IN ('complete', 'failed')" : string.Empty);
        return ReadAsync(
            $"SELECT {RotationColumns} FROM {T("rotations")} WHERE {where} ORDER BY created_at DESC, id LIMIT $1;",
            c =>
            {
                Int32(c, limit);
                if (key is { } k)
                {
                    Text(c, k.Value);
                }
            },
            ReadRotation,
            cancellationToken);
    }

    /// <summary>Marks a key due now, creating its schedule row the first time; inside the change's transaction.</summary>
    private async Task MarkDueAsync(DbConnection connection, DbTransaction transaction, KeyName key, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var mark = Command(
            connection,
            transaction,
            $"INSERT INTO {T("key_schedule")} AS s (key_name, next_due, generation) VALUES ($1, $2, 1) ON CONFLICT (key_name) DO UPDATE SET next_due = excluded.next_due, generation = s.generation + 1;");
        Text(mark, key.Value);
        Millis(mark, at);
        await mark.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task MarkMatchingDueAsync(DbConnection connection, DbTransaction transaction, string pattern, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var (where, value) = Matching("key_name", pattern, "$2");
        await using var mark = Command(connection, transaction, $"UPDATE {T("key_schedule")} SET next_due = $1, generation = generation + 1 WHERE {where};");
        Millis(mark, at);
        if (value is not null)
        {
            Text(mark, value);
        }

        await mark.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The condition for a pattern's three forms (every key, a subtree, one key) and the value to bind, if any.</summary>
    private (string Where, string? Value) Matching(string column, string pattern, string parameter) =>
        pattern == "*" ? ("1 = 1", null)
        : pattern.EndsWith("/*", StringComparison.Ordinal) ? (Dialect.StartsWith(column, parameter), pattern[..^1])
        : ($"{column} = {parameter}", pattern);

    private async Task InsertRotationAsync(DbConnection connection, DbTransaction transaction, StoredRotation rotation, CancellationToken cancellationToken)
    {
        await using var insert = Command(connection, transaction, $"INSERT INTO {T("rotations")} ({RotationColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);");
        Text(insert, rotation.Id);
        Text(insert, rotation.Key.Value);
        Int32(insert, rotation.FromVersion);
        Int32(insert, rotation.ToVersion);
        Text(insert, rotation.Cause);
        Text(insert, rotation.Phase);
        Text(insert, rotation.Document);
        Millis(insert, rotation.CreatedAt);
        Millis(insert, rotation.UpdatedAt);
        await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<StoredSchedule?> ReadScheduleAsync(DbConnection connection, KeyName key, CancellationToken cancellationToken)
    {
        await using var read = Command(connection, null, $"SELECT {ScheduleColumns} FROM {T("key_schedule")} WHERE key_name = $1;");
        Text(read, key.Value);
        await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadSchedule(reader) : null;
    }

    private static StoredSchedule ReadSchedule(DbDataReader reader) =>
        new(
            KeyName.Parse(reader.GetString(0)),
            reader.IsDBNull(1) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
            reader.IsDBNull(2) ? null : reader.GetString(2),
            reader.IsDBNull(3) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
            reader.GetInt64(4),
            reader.GetString(5));

    private static StoredRotation ReadRotation(DbDataReader r) =>
        new(
            r.GetString(0),
            KeyName.Parse(r.GetString(1)),
            r.GetInt32(2),
            r.GetInt32(3),
            r.GetString(4),
            r.GetString(5),
            r.GetString(6),
            DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(7)),
            DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(8)));
}
