using Npgsql;
using NpgsqlTypes;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Storage.Postgres;

/// <summary>The re-wrap job part of the PostgreSQL store (<see cref="IRewrapJobStore"/>).</summary>
public sealed partial class PostgresKeyStore
{
    /// <inheritdoc />
    public Task CreateJobAsync(StoredRewrapJob job, AuditRecord audit, CancellationToken cancellationToken = default) =>
        WriteAsync(
            null,
            async (connection, ct) =>
            {
                ArgumentNullException.ThrowIfNull(job);
                await using (var insert = new NpgsqlCommand($"INSERT INTO rekey.rewrap_jobs ({StoreRows.RewrapJobColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING;", connection))
                {
                    BindJob(insert, job);
                    if (await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                    {
                        throw new RekeyException(RekeyErrorCode.Conflict, $"A re-wrap job '{job.Id}' exists already.");
                    }
                }

                await AppendAuditAsync(connection, audit, ct).ConfigureAwait(false);
                return 0;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<StoredRewrapJob?> FindJobAsync(string id, CancellationToken cancellationToken = default) =>
        RunAsync(
            async ct =>
            {
                await using var command = _dataSource.CreateCommand($"SELECT {StoreRows.RewrapJobColumns} FROM rekey.rewrap_jobs WHERE id = $1;");
                command.Parameters.AddWithValue(id);
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                return await reader.ReadAsync(ct).ConfigureAwait(false) ? StoreRows.ReadRewrapJob(reader) : null;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredRewrapJob>> ListJobsAsync(CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<StoredRewrapJob>>(
            async ct =>
            {
                await using var command = _dataSource.CreateCommand($"SELECT {StoreRows.RewrapJobColumns} FROM rekey.rewrap_jobs ORDER BY updated_at DESC, id;");
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                var jobs = new List<StoredRewrapJob>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    jobs.Add(StoreRows.ReadRewrapJob(reader));
                }

                return jobs;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<bool> UpdateJobAsync(StoredRewrapJob job, IReadOnlyCollection<string> expectedStates, string? leaseOwner, IReadOnlyList<RewrapFailureRecord> failures, AuditRecord? audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(expectedStates);
        ArgumentNullException.ThrowIfNull(failures);

        // Progress without an audit event need not queue behind the audit chain's lock.
        async Task<bool> Work(NpgsqlConnection connection, CancellationToken ct)
        {
            await using (var update = new NpgsqlCommand(
                """
                UPDATE rekey.rewrap_jobs SET state = $3, document = $4, lease_owner = $5, lease_until = $6, updated_at = $7
                WHERE id = $1 AND state = ANY($8) AND ($9::text IS NULL OR lease_owner = $9);
                """,
                connection))
            {
                BindJob(update, job);
                update.Parameters.AddWithValue(expectedStates.ToArray());
                update.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)leaseOwner ?? DBNull.Value });
                if (await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                {
                    return false;
                }
            }

            if (failures.Count > 0)
            {
                await using var insert = new NpgsqlCommand(
                    """
                    INSERT INTO rekey.rewrap_failures (job_id, record_id, column_name, version, reason, at)
                    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::bigint[])
                    ON CONFLICT (job_id, record_id, column_name) DO UPDATE SET version = excluded.version, reason = excluded.reason, at = excluded.at;
                    """,
                    connection);
                insert.Parameters.AddWithValue(failures.Select(f => f.JobId).ToArray());
                insert.Parameters.AddWithValue(failures.Select(f => f.RecordId).ToArray());
                insert.Parameters.AddWithValue(failures.Select(f => f.Column).ToArray());
                insert.Parameters.AddWithValue(failures.Select(f => f.Version).ToArray());
                insert.Parameters.AddWithValue(failures.Select(f => f.Reason).ToArray());
                insert.Parameters.AddWithValue(failures.Select(f => f.At.ToUnixTimeMilliseconds()).ToArray());
                await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            if (audit is not null)
            {
                await AppendAuditAsync(connection, audit, ct).ConfigureAwait(false);
            }

            return true;
        }

        return audit is not null
            ? WriteAsync(null, Work, cancellationToken)
            : RunAsync(
                async ct =>
                {
                    await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
                    await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
                    var done = await Work(connection, ct).ConfigureAwait(false);
                    await transaction.CommitAsync(ct).ConfigureAwait(false);
                    return done;
                },
                cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> TryLeaseJobAsync(string id, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        RunAsync(
            async ct =>
            {
                await using var command = _dataSource.CreateCommand(
                    "UPDATE rekey.rewrap_jobs SET lease_owner = $2, lease_until = $3 WHERE id = $1 AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until < $4);");
                command.Parameters.AddWithValue(id);
                command.Parameters.AddWithValue(owner);
                command.Parameters.AddWithValue(until.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue(now.ToUnixTimeMilliseconds());
                return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<RewrapFailureRecord>> GetFailuresAsync(string jobId, int limit, CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<RewrapFailureRecord>>(
            async ct =>
            {
                await using var command = _dataSource.CreateCommand($"SELECT {StoreRows.RewrapFailureColumns} FROM rekey.rewrap_failures WHERE job_id = $1 ORDER BY record_id COLLATE \"C\", column_name LIMIT $2;");
                command.Parameters.AddWithValue(jobId);
                command.Parameters.AddWithValue(limit);
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                var failures = new List<RewrapFailureRecord>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    failures.Add(StoreRows.ReadRewrapFailure(reader));
                }

                return failures;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task ReplaceInventoryAsync(string source, KeyName key, IReadOnlyList<InventoryCount> counts, CancellationToken cancellationToken = default) =>
        RunAsync(
            async ct =>
            {
                ArgumentNullException.ThrowIfNull(counts);
                await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
                await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
                await using (var delete = new NpgsqlCommand("DELETE FROM rekey.rewrap_inventory WHERE source = $1 AND key_name = $2;", connection))
                {
                    delete.Parameters.AddWithValue(source);
                    delete.Parameters.AddWithValue(key.Value);
                    await delete.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                await using (var insert = new NpgsqlCommand(
                    "INSERT INTO rekey.rewrap_inventory (source, key_name, version, count, counted_at) SELECT $1, $2, v, c, t FROM unnest($3::integer[], $4::bigint[], $5::bigint[]) AS x (v, c, t);",
                    connection))
                {
                    insert.Parameters.AddWithValue(source);
                    insert.Parameters.AddWithValue(key.Value);
                    insert.Parameters.AddWithValue(counts.Select(c => c.Version).ToArray());
                    insert.Parameters.AddWithValue(counts.Select(c => c.Count).ToArray());
                    insert.Parameters.AddWithValue(counts.Select(c => c.CountedAt.ToUnixTimeMilliseconds()).ToArray());
                    await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                await transaction.CommitAsync(ct).ConfigureAwait(false);
                return 0;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<InventoryCount>> GetInventoryAsync(KeyName key, CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<InventoryCount>>(
            async ct =>
            {
                await using var command = _dataSource.CreateCommand($"SELECT {StoreRows.InventoryColumns} FROM rekey.rewrap_inventory WHERE key_name = $1 ORDER BY source COLLATE \"C\", version;");
                command.Parameters.AddWithValue(key.Value);
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                var counts = new List<InventoryCount>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    counts.Add(StoreRows.ReadInventory(reader));
                }

                return counts;
            },
            cancellationToken);

    private static void BindJob(NpgsqlCommand command, StoredRewrapJob job)
    {
        command.Parameters.AddWithValue(job.Id);
        command.Parameters.AddWithValue(job.Key.Value);
        command.Parameters.AddWithValue(job.State);
        command.Parameters.AddWithValue(job.Document);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)job.LeaseOwner ?? DBNull.Value });
        command.Parameters.Add(Millis(job.LeaseUntil));
        command.Parameters.AddWithValue(job.UpdatedAt.ToUnixTimeMilliseconds());
    }
}
