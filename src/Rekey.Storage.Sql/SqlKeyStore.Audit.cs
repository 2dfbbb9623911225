using System.Data.Common;
using Rekey.Audit;

namespace Rekey.Storage.Sql;

/// <summary>The audit part of the engine: the hash-chained log, signing keys and signed checkpoints.</summary>
public abstract partial class SqlKeyStore
{
    /// <inheritdoc />
    public Task AppendAuditAsync(AuditRecord audit, CancellationToken cancellationToken = default) =>
        WriteAsync(
            null,
            async (connection, transaction, ct) =>
            {
                await AppendAuditAsync(connection, transaction, audit, ct).ConfigureAwait(false);
                return 0;
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<AuditEvent>> ReadAuditAsync(long afterSequence, int limit, CancellationToken cancellationToken = default) =>
        ReadAsync(
            $"SELECT {StoreRows.AuditColumns} FROM {T("audit_events")} WHERE seq > $1 ORDER BY seq LIMIT $2;",
            c =>
            {
                Int64(c, afterSequence);
                Int32(c, limit);
            },
            StoreRows.ReadAuditEvent,
            cancellationToken);

    /// <inheritdoc />
    public async Task<AuditHead?> GetAuditHeadAsync(CancellationToken cancellationToken = default) =>
        (await ReadAsync($"SELECT seq, hash FROM {T("audit_events")} ORDER BY seq DESC LIMIT 1;", null, r => new AuditHead(r.GetInt64(0), r.GetString(1)), cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <inheritdoc />
    public Task AddSigningKeyAsync(StoredSigningKey key, AuditRecord audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return InsertAuditedAsync(
            $"INSERT INTO {T("audit_signing_keys")} ({StoreRows.SigningKeyColumns}) VALUES ($1, $2, $3, $4, $5);",
            insert =>
            {
                Text(insert, key.KeyId);
                Bytes(insert, key.PublicKey);
                Bytes(insert, key.WrappedPrivateKey);
                Text(insert, key.RootKeyId);
                Int64(insert, key.CreatedAt.ToUnixTimeMilliseconds());
            },
            null,
            audit,
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredSigningKey>> GetSigningKeysAsync(CancellationToken cancellationToken = default) =>
        ReadAsync($"SELECT {StoreRows.SigningKeyColumns} FROM {T("audit_signing_keys")} ORDER BY created_at, key_id;", null, StoreRows.ReadSigningKey, cancellationToken);

    /// <inheritdoc />
    public Task AddCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return RunAsync(
            async (connection, ct) =>
            {
                await using var insert = Command(connection, null, $"INSERT INTO {T("audit_checkpoints")} ({StoreRows.CheckpointColumns}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING;");
                Int64(insert, checkpoint.Sequence);
                Text(insert, checkpoint.Hash);
                Int64(insert, checkpoint.Time.ToUnixTimeMilliseconds());
                Text(insert, checkpoint.KeyId);
                Bytes(insert, checkpoint.Signature);
                return await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<AuditCheckpoint>> GetCheckpointsAsync(CancellationToken cancellationToken = default) =>
        ReadAsync($"SELECT {StoreRows.CheckpointColumns} FROM {T("audit_checkpoints")} ORDER BY seq;", null, StoreRows.ReadCheckpoint, cancellationToken);

    /// <summary>Seals <paramref name="record"/> onto the chain's head; runs inside a write transaction, which holds the write lock.</summary>
    private async Task AppendAuditAsync(DbConnection connection, DbTransaction transaction, AuditRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.SpendsApproval is not null)
        {
            await SpendApprovalAsync(connection, transaction, record, cancellationToken).ConfigureAwait(false);
        }

        long sequence = 1;
        var previous = AuditChain.GenesisHash;
        await using (var head = Command(connection, transaction, $"SELECT seq, hash FROM {T("audit_events")} ORDER BY seq DESC LIMIT 1;"))
        await using (var reader = await head.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                sequence = reader.GetInt64(0) + 1;
                previous = reader.GetString(1);
            }
        }

        var sealedEvent = AuditChain.Seal(record, sequence, previous);
        var r = sealedEvent.Record;
        await using var insert = Command(
            connection,
            transaction,
            $"INSERT INTO {T("audit_events")} ({StoreRows.AuditColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15);");
        Int64(insert, sealedEvent.Sequence);
        Int64(insert, r.Time.ToUnixTimeMilliseconds());
        Text(insert, r.Actor);
        Text(insert, r.Action);
        Text(insert, r.Key);
        Int32(insert, r.FromVersion);
        Int32(insert, r.ToVersion);
        Text(insert, r.Outcome);
        Text(insert, r.Details);
        Text(insert, sealedEvent.PreviousHash);
        Text(insert, sealedEvent.Hash);
        Text(insert, r.Reason);
        Text(insert, r.RequestId);
        Text(insert, r.Client);
        Text(insert, r.PresentedTokenId);
        await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
