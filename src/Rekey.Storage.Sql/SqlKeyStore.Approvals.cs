using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Rekey.Approvals;
using Rekey.Audit;
using Rekey.Errors;

namespace Rekey.Storage.Sql;

/// <summary>
/// Approvals: a request row and one row per decision. A decision holds the request's row for its
/// transaction, so racing approvers (on any number of servers) are counted one after another and
/// exactly one of them decides it; the change that carries it out spends it in its own transaction.
/// </summary>
public abstract partial class SqlKeyStore
{
    private const string ApprovalColumns = "id, operation, key_name, version, fields, request_hash, requester, reason, required, state, created_at, expires_at, decided_at, result";

    /// <inheritdoc />
    public Task AddApprovalAsync(ApprovalInfo approval, AuditRecord audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(approval);
        return InsertAuditedAsync(
            $"INSERT INTO {T("approvals")} ({ApprovalColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL);",
            insert =>
            {
                Text(insert, approval.Id);
                Text(insert, approval.Request.Operation);
                Text(insert, approval.Request.Key);
                Int32(insert, approval.Request.Version);
                Text(insert, JsonSerializer.Serialize(approval.Request.Fields.ToDictionary(), StoreJson.Default.DictionaryStringString));
                Text(insert, approval.RequestHash);
                Text(insert, approval.Requester);
                Text(insert, approval.Reason);
                Int32(insert, approval.Required);
                Text(insert, StateName(approval.State));
                Millis(insert, approval.CreatedAt);
                Millis(insert, approval.ExpiresAt);
            },
            null,
            audit,
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<ApprovalInfo?> FindApprovalAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        return RunAsync(async (connection, ct) => await LoadApprovalAsync(connection, null, id, false, ct).ConfigureAwait(false), cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ApprovalInfo>> ListApprovalsAsync(ApprovalState? state, int limit, CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<ApprovalInfo>>(
            async (connection, ct) =>
            {
                var ids = new List<string>();
                await using (var list = Command(connection, null, $"SELECT id FROM {T("approvals")} WHERE ($1 IS NULL OR state = $1) ORDER BY created_at DESC, id LIMIT $2;"))
                {
                    Text(list, state is { } s ? StateName(s) : null);
                    Int32(list, limit);
                    await using var reader = await list.ExecuteReaderAsync(ct).ConfigureAwait(false);
                    while (await reader.ReadAsync(ct).ConfigureAwait(false))
                    {
                        ids.Add(reader.GetString(0));
                    }
                }

                var approvals = new List<ApprovalInfo>(ids.Count);
                foreach (var id in ids)
                {
                    approvals.Add((await LoadApprovalAsync(connection, null, id, false, ct).ConfigureAwait(false))!);
                }

                return approvals;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<ApprovalDecision> VoteAsync(string id, ApprovalVote vote, AuditRecord audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(vote);
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(
            null,
            async (connection, transaction, ct) =>
            {
                var approval = await LoadApprovalAsync(connection, transaction, id, true, ct).ConfigureAwait(false)
                    ?? throw new RekeyException(RekeyErrorCode.ApprovalNotFound, $"No approval has the id '{id}'.");
                if (approval.StateAt(vote.At) != ApprovalState.Pending)
                {
                    throw new RekeyException(RekeyErrorCode.ApprovalRefused, $"Approval {id} is {approval.StateAt(vote.At).ToString().ToLowerInvariant()}, not pending; nothing more can be decided on it.");
                }

                if (string.Equals(approval.Requester, vote.Approver, StringComparison.Ordinal))
                {
                    throw new RekeyException(RekeyErrorCode.ApprovalRefused, $"Approval {id} was requested by {vote.Approver}, who cannot decide on their own request.");
                }

                if (approval.Votes.Any(v => string.Equals(v.Approver, vote.Approver, StringComparison.Ordinal)))
                {
                    throw new RekeyException(RekeyErrorCode.ApprovalRefused, $"{vote.Approver} has already decided on approval {id}; each approver counts once.");
                }

                await using (var insert = Command(connection, transaction, $"INSERT INTO {T("approval_votes")} (approval_id, approver, at, approve, comment) VALUES ($1, $2, $3, $4, $5);"))
                {
                    Text(insert, id);
                    Text(insert, vote.Approver);
                    Millis(insert, vote.At);
                    Bool(insert, vote.Approve);
                    Text(insert, vote.Comment);
                    await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                var votes = approval.Votes.Append(vote).ToList();
                var decided = !vote.Approve ? ApprovalState.Denied
                    : votes.Count(v => v.Approve) >= approval.Required ? ApprovalState.Approved
                    : (ApprovalState?)null;
                if (decided is { } state)
                {
                    await using var update = Command(connection, transaction, $"UPDATE {T("approvals")} SET state = $2, decided_at = $3 WHERE id = $1 AND state = 'pending';");
                    Text(update, id);
                    Text(update, StateName(state));
                    Millis(update, vote.At);
                    if (await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false) != 1)
                    {
                        throw new RekeyException(RekeyErrorCode.ApprovalRefused, $"Approval {id} was decided by another approver meanwhile.");
                    }
                }

                await AppendAuditAsync(connection, transaction, audit, ct).ConfigureAwait(false);
                return new ApprovalDecision(approval with { Votes = votes, State = decided ?? approval.State, DecidedAt = decided is null ? approval.DecidedAt : vote.At }, decided is not null);
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> FailApprovalAsync(string id, string result, AuditRecord audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(
            null,
            async (connection, transaction, ct) =>
            {
                await using (var update = Command(connection, transaction, $"UPDATE {T("approvals")} SET state = 'failed', decided_at = $2, result = $3 WHERE id = $1 AND state = 'approved';"))
                {
                    Text(update, id);
                    Millis(update, audit.Time);
                    Text(update, result);
                    if (await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false) != 1)
                    {
                        return false;
                    }
                }

                await AppendAuditAsync(connection, transaction, audit, ct).ConfigureAwait(false);
                return true;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<int> ExpireApprovalsAsync(DateTimeOffset now, Func<ApprovalInfo, AuditRecord> audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(audit);
        var due = await ReadAsync(
            $"SELECT id FROM {T("approvals")} WHERE state IN ('pending', 'approved') AND expires_at <= $1 ORDER BY expires_at LIMIT 500;",
            c => Millis(c, now),
            r => r.GetString(0),
            cancellationToken).ConfigureAwait(false);
        var expired = 0;
        foreach (var id in due)
        {
            var moved = await WriteAsync(
                null,
                async (connection, transaction, ct) =>
                {
                    var approval = await LoadApprovalAsync(connection, transaction, id, true, ct).ConfigureAwait(false);
                    if (approval is null || approval.StateAt(now) != ApprovalState.Expired || approval.State == ApprovalState.Expired)
                    {
                        return false;
                    }

                    await using (var update = Command(connection, transaction, $"UPDATE {T("approvals")} SET state = 'expired', decided_at = $2 WHERE id = $1;"))
                    {
                        Text(update, id);
                        Millis(update, now);
                        await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                    }

                    await AppendAuditAsync(connection, transaction, audit(approval), ct).ConfigureAwait(false);
                    return true;
                },
                cancellationToken).ConfigureAwait(false);
            expired += moved ? 1 : 0;
        }

        return expired;
    }

    // The change an approval carries out spends it here, in the change's own transaction: it
    // applies only if the approval is approved and unexpired, so it runs at most once.
    private async Task SpendApprovalAsync(DbConnection connection, DbTransaction transaction, AuditRecord record, CancellationToken cancellationToken)
    {
        await using var spend = Command(connection, transaction, $"UPDATE {T("approvals")} SET state = 'executed', decided_at = $2, result = $3 WHERE id = $1 AND state = 'approved' AND expires_at > $2;");
        Text(spend, record.SpendsApproval);
        Millis(spend, record.Time);
        Text(spend, record.Action + (record.Details is null ? string.Empty : ": " + record.Details));
        if (await spend.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
        {
            throw new RekeyException(RekeyErrorCode.ApprovalRefused, $"Approval {record.SpendsApproval} is not approved, has expired or was carried out already; nothing was changed.");
        }
    }

    private async Task<ApprovalInfo?> LoadApprovalAsync(DbConnection connection, DbTransaction? transaction, string id, bool forUpdate, CancellationToken cancellationToken)
    {
        ApprovalInfo? approval = null;
        await using (var read = Command(connection, transaction, $"SELECT {ApprovalColumns} FROM {T("approvals")} WHERE id = $1{(forUpdate ? Dialect.ForUpdate : string.Empty)};"))
        {
            Text(read, id);
            await using var r = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            var fields = JsonSerializer.Deserialize(r.GetString(4), StoreJson.Default.DictionaryStringString) ?? [];
            var request = new ApprovalRequest(r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetInt32(3), new SortedDictionary<string, string>(fields, StringComparer.Ordinal));
            approval = new ApprovalInfo(
                r.GetString(0),
                request,
                r.GetString(5),
                r.GetString(6),
                r.IsDBNull(7) ? null : r.GetString(7),
                r.GetInt32(8),
                ParseState(r.GetString(9)),
                DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(10)),
                DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(11)),
                r.IsDBNull(12) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(12)),
                [],
                r.IsDBNull(13) ? null : r.GetString(13));
        }

        var votes = new List<ApprovalVote>();
        await using (var read = Command(connection, transaction, $"SELECT approver, at, approve, comment FROM {T("approval_votes")} WHERE approval_id = $1 ORDER BY at, approver;"))
        {
            Text(read, id);
            await using var r = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                votes.Add(new ApprovalVote(r.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)), Convert.ToBoolean(r.GetValue(2), CultureInfo.InvariantCulture), r.IsDBNull(3) ? null : r.GetString(3)));
            }
        }

        return approval with { Votes = votes };
    }

    private static string StateName(ApprovalState state) => state.ToString().ToLowerInvariant();

    private static ApprovalState ParseState(string text) =>
        Enum.TryParse<ApprovalState>(text, ignoreCase: true, out var state) ? state : throw new RekeyStoreException($"The store holds an approval in an unknown state '{text}'.", isTransient: false);
}
