using System.Data.Common;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Storage.Sql;

/// <summary>Import tokens: stored with their audit event, spent inside the import's own transaction.</summary>
public abstract partial class SqlKeyStore
{
    private const string ImportTokenColumns = "id, key_name, public_key, wrapped_private_key, root_key_id, created_at, expires_at, used_at, used_version";

    /// <inheritdoc />
    public Task AddImportTokenAsync(StoredImportToken token, Audit.AuditRecord audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(
            null,
            async (connection, transaction, ct) =>
            {
                // Private keys of tokens that lapsed unspent are of no further use: erased here,
                // so nothing but live tokens is left for the root to wrap.
                await using (var lapse = Command(connection, transaction, $"UPDATE {T("import_tokens")} SET wrapped_private_key = NULL WHERE wrapped_private_key IS NOT NULL AND expires_at <= $1;"))
                {
                    Millis(lapse, token.CreatedAt);
                    await lapse.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                await using (var insert = Command(connection, transaction, $"INSERT INTO {T("import_tokens")} ({ImportTokenColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL);"))
                {
                    Text(insert, token.Id);
                    Text(insert, token.Key.Value);
                    Bytes(insert, token.PublicKey);
                    Bytes(insert, token.WrappedPrivateKey);
                    Text(insert, token.RootKeyId);
                    Millis(insert, token.CreatedAt);
                    Millis(insert, token.ExpiresAt);
                    await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                await AppendAuditAsync(connection, transaction, audit, ct).ConfigureAwait(false);
                return 0;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<StoredImportToken?> FindImportTokenAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        var rows = await ReadAsync(
            $"SELECT {ImportTokenColumns} FROM {T("import_tokens")} WHERE id = $1;",
            c => Text(c, id),
            r => new StoredImportToken(
                r.GetString(0),
                KeyName.Parse(r.GetString(1)),
                r.GetFieldValue<byte[]>(2),
                r.IsDBNull(3) ? null : r.GetFieldValue<byte[]>(3),
                r.GetString(4),
                DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)),
                DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)),
                r.IsDBNull(7) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(7)),
                r.IsDBNull(8) ? null : r.GetInt32(8)),
            cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    // Spent at most once: two imports racing with one token both read it unspent, and only the
    // first to reach this statement inserts its version.
    private async Task SpendImportTokenAsync(DbConnection connection, DbTransaction transaction, string token, KeyChange change, CancellationToken cancellationToken)
    {
        await using var spend = Command(
            connection,
            transaction,
            $"UPDATE {T("import_tokens")} SET used_at = $2, used_version = $3, wrapped_private_key = NULL WHERE id = $1 AND key_name = $4 AND used_at IS NULL AND expires_at > $2;");
        Text(spend, token);
        Millis(spend, change.Audit.Time);
        Int32(spend, change.Insert?.Info.Version);
        Text(spend, change.Key.Value);
        if (await spend.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
        {
            throw new RekeyException(RekeyErrorCode.ImportRefused, $"The import token {token} was spent by another import, or expired, while this one ran; ask for a new token.");
        }
    }
}
