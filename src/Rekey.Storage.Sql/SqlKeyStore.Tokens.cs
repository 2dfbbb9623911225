using Rekey.Access;
using Rekey.Audit;

namespace Rekey.Storage.Sql;

/// <summary>The access token part of the engine (<see cref="ITokenStore"/>): only secret hashes are kept.</summary>
public abstract partial class SqlKeyStore
{
    /// <inheritdoc />
    public Task CreateTokenAsync(AccessToken token, AuditRecord audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        return InsertAuditedAsync(
            $"INSERT INTO {T("tokens")} ({StoreRows.TokenColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING;",
            insert =>
            {
                Text(insert, token.Id);
                Text(insert, token.Name);
                Text(insert, StoreRows.FormatRoles(token.Roles));
                Text(insert, StoreRows.FormatPatterns(token.Patterns));
                Bytes(insert, token.SecretHash);
                Int64(insert, token.CreatedAt.ToUnixTimeMilliseconds());
                Millis(insert, token.ExpiresAt);
                Millis(insert, token.RevokedAt);
            },
            () => StoreRows.TokenConflict(token.Id),
            audit,
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<AccessToken?> FindTokenAsync(string id, CancellationToken cancellationToken = default) =>
        (await ReadAsync($"SELECT {StoreRows.TokenColumns} FROM {T("tokens")} WHERE id = $1;", c => Text(c, id), StoreRows.ReadToken, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <inheritdoc />
    public Task<IReadOnlyList<AccessToken>> ListTokensAsync(CancellationToken cancellationToken = default) =>
        ReadAsync($"SELECT {StoreRows.TokenColumns} FROM {T("tokens")} ORDER BY created_at, id;", null, StoreRows.ReadToken, cancellationToken);

    /// <inheritdoc />
    public Task RevokeTokenAsync(string id, DateTimeOffset revokedAt, AuditRecord audit, CancellationToken cancellationToken = default) =>
        WriteAsync(
            null,
            async (connection, transaction, ct) =>
            {
                await using (var update = Command(connection, transaction, $"UPDATE {T("tokens")} SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL;"))
                {
                    Text(update, id);
                    Int64(update, revokedAt.ToUnixTimeMilliseconds());
                    if (await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
                    {
                        await using var exists = Command(connection, transaction, $"SELECT 1 FROM {T("tokens")} WHERE id = $1;");
                        Text(exists, id);
                        throw await exists.ExecuteScalarAsync(ct).ConfigureAwait(false) is null ? StoreRows.TokenNotFound(id) : StoreRows.TokenConflict(id);
                    }
                }

                await AppendAuditAsync(connection, transaction, audit, ct).ConfigureAwait(false);
                return 0;
            },
            cancellationToken);
}
