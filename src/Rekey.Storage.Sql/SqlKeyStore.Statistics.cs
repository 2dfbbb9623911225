using Rekey.Keys;

namespace Rekey.Storage.Sql;

/// <summary>Aggregates for monitoring: grouped counts and extremes, so a scrape costs the same with ten keys or a hundred thousand.</summary>
public abstract partial class SqlKeyStore
{
    /// <inheritdoc />
    public async Task<StoreStatistics> GetStatisticsAsync(CancellationToken cancellationToken = default)
    {
        var versions = await ReadAsync(
            $"SELECT state, COUNT(*) FROM {T("key_versions")} GROUP BY state;",
            null,
            r => (State: r.GetString(0), Count: r.GetInt64(1)),
            cancellationToken).ConfigureAwait(false);
        var values = await ReadAsync(
            $"SELECT v.state, SUM(i.count) FROM {T("rewrap_inventory")} i JOIN {T("key_versions")} v ON v.key_name = i.key_name AND v.version = i.version GROUP BY v.state;",
            null,
            r => (State: r.GetString(0), Count: Convert.ToInt64(r.GetValue(1), System.Globalization.CultureInfo.InvariantCulture)),
            cancellationToken).ConfigureAwait(false);
        var extremes = await ReadAsync(
            $"""
            SELECT (SELECT MIN(activated_at) FROM {T("key_versions")} WHERE state = 'Active'),
                   (SELECT MIN(next_due) FROM {T("key_schedule")} WHERE next_due IS NOT NULL),
                   (SELECT MAX(time) FROM {T("audit_checkpoints")}),
                   (SELECT MAX(encrypt_count) FROM {T("key_versions")} WHERE state = 'Active'),
                   (SELECT COUNT(*) FROM {T("approvals")} WHERE state = 'pending'),
                   (SELECT MIN(created_at) FROM {T("approvals")} WHERE state = 'pending'),
                   (SELECT MIN(created_at) FROM {T("rotations")} WHERE phase NOT IN ('complete', 'failed'));
            """,
            null,
            r => (Active: Time(r, 0), Due: Time(r, 1), Checkpoint: Time(r, 2), Encryptions: r.IsDBNull(3) ? 0 : Convert.ToInt64(r.GetValue(3), System.Globalization.CultureInfo.InvariantCulture),
                Pending: Convert.ToInt64(r.GetValue(4), System.Globalization.CultureInfo.InvariantCulture), OldestPending: Time(r, 5), OldestRotation: Time(r, 6)),
            cancellationToken).ConfigureAwait(false);
        return new StoreStatistics(
            ByState(versions),
            extremes[0].Active,
            ByState(values),
            extremes[0].Due,
            extremes[0].Checkpoint,
            extremes[0].Encryptions)
        {
            PendingApprovals = extremes[0].Pending,
            OldestPendingApprovalAt = extremes[0].OldestPending,
            OldestOpenRotationAt = extremes[0].OldestRotation,
        };

        // A state Rekey never writes (a row edited outside it) is left out of the counts, not a failed scrape.
        static Dictionary<KeyVersionState, long> ByState(IEnumerable<(string State, long Count)> rows)
        {
            var counts = new Dictionary<KeyVersionState, long>();
            foreach (var (state, count) in rows)
            {
                if (Enum.TryParse<KeyVersionState>(state, out var parsed))
                {
                    counts[parsed] = count;
                }
            }

            return counts;
        }

        static DateTimeOffset? Time(System.Data.Common.DbDataReader r, int i) =>
            r.IsDBNull(i) ? null : DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<(KeyName Key, DateTimeOffset ActiveSince)>> GetActiveSinceAsync(Func<KeyName, bool> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var rows = await ReadAsync(
            $"SELECT key_name, activated_at FROM {T("key_versions")} WHERE state = 'Active' AND activated_at IS NOT NULL;",
            null,
            r => (Key: KeyName.Parse(r.GetString(0)), ActiveSince: DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1))),
            cancellationToken).ConfigureAwait(false);
        return rows.Where(r => keys(r.Key)).ToList();
    }
}
