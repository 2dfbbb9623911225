using System.Data.Common;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Storage.Sql;

/// <summary>The re-wrap job part of the engine (<see cref="IRewrapJobStore"/>): jobs, leases, failures and inventory.</summary>
public abstract partial class SqlKeyStore
{
    /// <inheritdoc />
    public Task CreateJobAsync(StoredRewrapJob job, AuditRecord audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        return InsertAuditedAsync(
            $"INSERT INTO {T("rewrap_jobs")} ({StoreRows.RewrapJobColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING;",
            insert => BindJob(insert, job),
            () => new RekeyException(RekeyErrorCode.Conflict, $"A re-wrap job '{job.Id}' exists already."),
            audit,
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<StoredRewrapJob?> FindJobAsync(string id, CancellationToken cancellationToken = default) =>
        (await ReadAsync($"SELECT {StoreRows.RewrapJobColumns} FROM {T("rewrap_jobs")} WHERE id = $1;", c => Text(c, id), StoreRows.ReadRewrapJob, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredRewrapJob>> ListJobsAsync(CancellationToken cancellationToken = default) =>
        ReadAsync($"SELECT {StoreRows.RewrapJobColumns} FROM {T("rewrap_jobs")} ORDER BY updated_at DESC, id;", null, StoreRows.ReadRewrapJob, cancellationToken);

    /// <inheritdoc />
    public Task<bool> UpdateJobAsync(StoredRewrapJob job, IReadOnlyCollection<string> expectedStates, string? leaseOwner, IReadOnlyList<RewrapFailureRecord> failures, AuditRecord? audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(expectedStates);
        ArgumentNullException.ThrowIfNull(failures);
        if (expectedStates.Count == 0)
        {
            return Task.FromResult(false);
        }

        async Task<bool> Work(DbConnection connection, DbTransaction transaction, CancellationToken ct)
        {
            var states = string.Join(", ", Enumerable.Range(8, expectedStates.Count).Select(i => "$" + i));
            var owner = leaseOwner is null ? string.Empty : $" AND lease_owner = ${8 + expectedStates.Count}";
            await using (var update = Command(
                connection,
                transaction,
                $"UPDATE {T("rewrap_jobs")} SET state = $3, document = $4, lease_owner = $5, lease_until = $6, updated_at = $7 WHERE id = $1 AND state IN ({states}){owner};"))
            {
                BindJob(update, job);
                foreach (var state in expectedStates)
                {
                    Text(update, state);
                }

                if (leaseOwner is not null)
                {
                    Text(update, leaseOwner);
                }

                if (await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                {
                    return false;
                }
            }

            if (failures.Count > 0)
            {
                await using var insert = Command(
                    connection,
                    transaction,
                    $"INSERT INTO {T("rewrap_failures")} ({StoreRows.RewrapFailureColumns}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job_id, record_id, column_name) DO UPDATE SET version = excluded.version, reason = excluded.reason, at = excluded.at;");
                var (j, r, c, v, why, at) = (Text(insert, null), Text(insert, null), Text(insert, null), Int32(insert, null), Text(insert, null), Int64(insert, null));
                foreach (var f in failures)
                {
                    (j.Value, r.Value, c.Value, v.Value, why.Value, at.Value) = (f.JobId, f.RecordId, f.Column, (object?)f.Version ?? DBNull.Value, f.Reason, f.At.ToUnixTimeMilliseconds());
                    await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }
            }

            if (audit is not null)
            {
                await AppendAuditAsync(connection, transaction, audit, ct).ConfigureAwait(false);
            }

            return true;
        }

        // Progress without an audit event need not queue behind the write lock where the engine can avoid it.
        return audit is not null
            ? WriteAsync(null, Work, cancellationToken)
            : RunAsync(
                async (connection, ct) =>
                {
                    await using var transaction = await Dialect.BeginAsync(connection, ct).ConfigureAwait(false);
                    var done = await Work(connection, transaction, ct).ConfigureAwait(false);
                    await transaction.CommitAsync(ct).ConfigureAwait(false);
                    return done;
                },
                cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> TryLeaseJobAsync(string id, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        RunAsync(
            async (connection, ct) =>
            {
                await using var command = Command(connection, null, $"UPDATE {T("rewrap_jobs")} SET lease_owner = $2, lease_until = $3 WHERE id = $1 AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until < $4);");
                Text(command, id);
                Text(command, owner);
                Int64(command, until.ToUnixTimeMilliseconds());
                Int64(command, now.ToUnixTimeMilliseconds());
                return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<RewrapFailureRecord>> GetFailuresAsync(string jobId, int limit, CancellationToken cancellationToken = default) =>
        ReadAsync(
            $"SELECT {StoreRows.RewrapFailureColumns} FROM {T("rewrap_failures")} WHERE job_id = $1 ORDER BY record_id{Dialect.ByteOrder}, column_name LIMIT $2;",
            c =>
            {
                Text(c, jobId);
                Int32(c, limit);
            },
            StoreRows.ReadRewrapFailure,
            cancellationToken);

    /// <inheritdoc />
    public Task ReplaceInventoryAsync(string source, KeyName key, IReadOnlyList<InventoryCount> counts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(counts);
        return RunAsync(
            async (connection, ct) =>
            {
                await using var transaction = await Dialect.BeginAsync(connection, ct).ConfigureAwait(false);
                await using (var delete = Command(connection, transaction, $"DELETE FROM {T("rewrap_inventory")} WHERE source = $1 AND key_name = $2;"))
                {
                    Text(delete, source);
                    Text(delete, key.Value);
                    await delete.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                await using (var insert = Command(connection, transaction, $"INSERT INTO {T("rewrap_inventory")} ({StoreRows.InventoryColumns}) VALUES ($1, $2, $3, $4, $5);"))
                {
                    Text(insert, source);
                    Text(insert, key.Value);
                    var (v, n, at) = (Int32(insert, null), Int64(insert, null), Int64(insert, null));
                    foreach (var count in counts)
                    {
                        (v.Value, n.Value, at.Value) = (count.Version, count.Count, count.CountedAt.ToUnixTimeMilliseconds());
                        await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                    }
                }

                await transaction.CommitAsync(ct).ConfigureAwait(false);
                return 0;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<InventoryCount>> GetInventoryAsync(KeyName key, CancellationToken cancellationToken = default) =>
        ReadAsync(
            $"SELECT {StoreRows.InventoryColumns} FROM {T("rewrap_inventory")} WHERE key_name = $1 ORDER BY source{Dialect.ByteOrder}, version;",
            c => Text(c, key.Value),
            StoreRows.ReadInventory,
            cancellationToken);

    // $1..$7 in the order of StoredRewrapJob's columns.
    private void BindJob(DbCommand command, StoredRewrapJob job)
    {
        Text(command, job.Id);
        Text(command, job.Key.Value);
        Text(command, job.State);
        Text(command, job.Document);
        Text(command, job.LeaseOwner);
        Millis(command, job.LeaseUntil);
        Int64(command, job.UpdatedAt.ToUnixTimeMilliseconds());
    }
}
