using Microsoft.Data.Sqlite;
using Rekey.Audit;
using Rekey.Keys;
using Rekey.Storage;

namespace Rekey.Storage.Sqlite;

/// <summary>The re-wrap job part of the SQLite store (<see cref="IRewrapJobStore"/>).</summary>
public sealed partial class SqliteKeyStore
{
    /// <inheritdoc />
    public Task CreateJobAsync(StoredRewrapJob job, AuditRecord audit, CancellationToken cancellationToken = default) =>
        RunAsync(
            connection =>
            {
                ArgumentNullException.ThrowIfNull(job);
                using var transaction = connection.BeginTransaction();
                using (var insert = Command(connection, transaction, $"INSERT INTO rewrap_jobs ({StoreRows.RewrapJobColumns}) VALUES ($i, $k, $s, $d, $o, $u, $t) ON CONFLICT DO NOTHING;"))
                {
                    BindJob(insert, job);
                    if (insert.ExecuteNonQuery() == 0)
                    {
                        throw new Errors.RekeyException(Errors.RekeyErrorCode.Conflict, $"A re-wrap job '{job.Id}' exists already.");
                    }
                }

                AppendAudit(connection, transaction, audit);
                transaction.Commit();
                return 0;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<StoredRewrapJob?> FindJobAsync(string id, CancellationToken cancellationToken = default) =>
        RunAsync(
            connection =>
            {
                using var command = Command(connection, null, $"SELECT {StoreRows.RewrapJobColumns} FROM rewrap_jobs WHERE id = $i;");
                command.Parameters.AddWithValue("$i", id);
                using var reader = command.ExecuteReader();
                return reader.Read() ? StoreRows.ReadRewrapJob(reader) : null;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredRewrapJob>> ListJobsAsync(CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<StoredRewrapJob>>(
            connection =>
            {
                using var command = Command(connection, null, $"SELECT {StoreRows.RewrapJobColumns} FROM rewrap_jobs ORDER BY updated_at DESC, id;");
                using var reader = command.ExecuteReader();
                var jobs = new List<StoredRewrapJob>();
                while (reader.Read())
                {
                    jobs.Add(StoreRows.ReadRewrapJob(reader));
                }

                return jobs;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<bool> UpdateJobAsync(StoredRewrapJob job, IReadOnlyCollection<string> expectedStates, string? leaseOwner, IReadOnlyList<RewrapFailureRecord> failures, AuditRecord? audit, CancellationToken cancellationToken = default) =>
        RunAsync(
            connection =>
            {
                ArgumentNullException.ThrowIfNull(job);
                ArgumentNullException.ThrowIfNull(expectedStates);
                ArgumentNullException.ThrowIfNull(failures);
                using var transaction = connection.BeginTransaction();
                using (var update = Command(
                    connection,
                    transaction,
                    """
                    UPDATE rewrap_jobs SET state = $s, document = $d, lease_owner = $o, lease_until = $u, updated_at = $t
                    WHERE id = $i AND instr($states, ',' || state || ',') > 0 AND ($owner IS NULL OR lease_owner = $owner);
                    """))
                {
                    BindJob(update, job);
                    update.Parameters.AddWithValue("$states", "," + string.Join(',', expectedStates) + ",");
                    update.Parameters.AddWithValue("$owner", (object?)leaseOwner ?? DBNull.Value);
                    if (update.ExecuteNonQuery() == 0)
                    {
                        return false;
                    }
                }

                if (failures.Count > 0)
                {
                    using var insert = Command(
                        connection,
                        transaction,
                        $"INSERT INTO rewrap_failures ({StoreRows.RewrapFailureColumns}) VALUES ($j, $r, $c, $v, $why, $at) ON CONFLICT (job_id, record_id, column_name) DO UPDATE SET version = excluded.version, reason = excluded.reason, at = excluded.at;");
                    var j = insert.Parameters.Add("$j", SqliteType.Text);
                    var r = insert.Parameters.Add("$r", SqliteType.Text);
                    var c = insert.Parameters.Add("$c", SqliteType.Text);
                    var v = insert.Parameters.Add("$v", SqliteType.Integer);
                    var why = insert.Parameters.Add("$why", SqliteType.Text);
                    var at = insert.Parameters.Add("$at", SqliteType.Integer);
                    foreach (var f in failures)
                    {
                        (j.Value, r.Value, c.Value, v.Value, why.Value, at.Value) = (f.JobId, f.RecordId, f.Column, (object?)f.Version ?? DBNull.Value, f.Reason, f.At.ToUnixTimeMilliseconds());
                        insert.ExecuteNonQuery();
                    }
                }

                if (audit is not null)
                {
                    AppendAudit(connection, transaction, audit);
                }

                transaction.Commit();
                return true;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<bool> TryLeaseJobAsync(string id, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        RunAsync(
            connection =>
            {
                using var command = Command(
                    connection,
                    null,
                    "UPDATE rewrap_jobs SET lease_owner = $o, lease_until = $u WHERE id = $i AND (lease_owner IS NULL OR lease_owner = $o OR lease_until < $now);");
                command.Parameters.AddWithValue("$i", id);
                command.Parameters.AddWithValue("$o", owner);
                command.Parameters.AddWithValue("$u", until.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
                return command.ExecuteNonQuery() == 1;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<RewrapFailureRecord>> GetFailuresAsync(string jobId, int limit, CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<RewrapFailureRecord>>(
            connection =>
            {
                using var command = Command(connection, null, $"SELECT {StoreRows.RewrapFailureColumns} FROM rewrap_failures WHERE job_id = $j ORDER BY record_id, column_name LIMIT $l;");
                command.Parameters.AddWithValue("$j", jobId);
                command.Parameters.AddWithValue("$l", limit);
                using var reader = command.ExecuteReader();
                var failures = new List<RewrapFailureRecord>();
                while (reader.Read())
                {
                    failures.Add(StoreRows.ReadRewrapFailure(reader));
                }

                return failures;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task ReplaceInventoryAsync(string source, KeyName key, IReadOnlyList<InventoryCount> counts, CancellationToken cancellationToken = default) =>
        RunAsync(
            connection =>
            {
                ArgumentNullException.ThrowIfNull(counts);
                using var transaction = connection.BeginTransaction();
                using (var delete = Command(connection, transaction, "DELETE FROM rewrap_inventory WHERE source = $s AND key_name = $k;"))
                {
                    delete.Parameters.AddWithValue("$s", source);
                    delete.Parameters.AddWithValue("$k", key.Value);
                    delete.ExecuteNonQuery();
                }

                foreach (var count in counts)
                {
                    using var insert = Command(connection, transaction, $"INSERT INTO rewrap_inventory ({StoreRows.InventoryColumns}) VALUES ($s, $k, $v, $c, $at);");
                    insert.Parameters.AddWithValue("$s", source);
                    insert.Parameters.AddWithValue("$k", key.Value);
                    insert.Parameters.AddWithValue("$v", count.Version);
                    insert.Parameters.AddWithValue("$c", count.Count);
                    insert.Parameters.AddWithValue("$at", count.CountedAt.ToUnixTimeMilliseconds());
                    insert.ExecuteNonQuery();
                }

                transaction.Commit();
                return 0;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<InventoryCount>> GetInventoryAsync(KeyName key, CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<InventoryCount>>(
            connection =>
            {
                using var command = Command(connection, null, $"SELECT {StoreRows.InventoryColumns} FROM rewrap_inventory WHERE key_name = $k ORDER BY source, version;");
                command.Parameters.AddWithValue("$k", key.Value);
                using var reader = command.ExecuteReader();
                var counts = new List<InventoryCount>();
                while (reader.Read())
                {
                    counts.Add(StoreRows.ReadInventory(reader));
                }

                return counts;
            },
            cancellationToken);

    private static void BindJob(SqliteCommand command, StoredRewrapJob job)
    {
        command.Parameters.AddWithValue("$i", job.Id);
        command.Parameters.AddWithValue("$k", job.Key.Value);
        command.Parameters.AddWithValue("$s", job.State);
        command.Parameters.AddWithValue("$d", job.Document);
        command.Parameters.AddWithValue("$o", (object?)job.LeaseOwner ?? DBNull.Value);
        command.Parameters.AddWithValue("$u", Millis(job.LeaseUntil));
        command.Parameters.AddWithValue("$t", job.UpdatedAt.ToUnixTimeMilliseconds());
    }
}
