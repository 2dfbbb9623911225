using System.Data.Common;

namespace Rekey.Storage.Sql;

/// <summary>The root-migration statements: what each root wraps, and re-wrapped secrets written only over what they were made from.</summary>
public abstract partial class SqlKeyStore
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<RootUsage>> CountByRootAsync(CancellationToken cancellationToken = default)
    {
        var counts = await ReadAsync(
            $"""
            SELECT root_key_id, 0, COUNT(*) FROM {T("key_versions")} WHERE material IS NOT NULL GROUP BY root_key_id
            UNION ALL SELECT root_key_id, 1, COUNT(*) FROM {T("audit_signing_keys")} GROUP BY root_key_id
            UNION ALL SELECT root_key_id, 2, COUNT(*) FROM {T("data_sources")} GROUP BY root_key_id
            UNION ALL SELECT root_key_id, 3, COUNT(*) FROM {T("import_tokens")} WHERE wrapped_private_key IS NOT NULL GROUP BY root_key_id;
            """,
            null,
            r => (Root: r.GetString(0), Kind: Convert.ToInt32(r.GetValue(1), System.Globalization.CultureInfo.InvariantCulture), Count: r.GetInt64(2)),
            cancellationToken).ConfigureAwait(false);
        return counts
            .GroupBy(c => c.Root, StringComparer.Ordinal)
            .Select(g => new RootUsage(
                g.Key,
                g.Where(c => c.Kind == 0).Sum(c => c.Count),
                g.Where(c => c.Kind == 1).Sum(c => c.Count),
                g.Where(c => c.Kind == 2).Sum(c => c.Count),
                g.Where(c => c.Kind == 3).Sum(c => c.Count)))
            .OrderBy(u => u.RootKeyId, StringComparer.Ordinal)
            .ToList();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<WrappedSecret>> ListWrappedOutsideAsync(string rootKeyId, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rootKeyId);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var found = new List<WrappedSecret>();
        foreach (var (kind, sql) in new[]
        {
            (WrappedSecretKind.SigningKey, $"SELECT key_id, 0, wrapped_private_key, root_key_id FROM {T("audit_signing_keys")} WHERE root_key_id <> $1 ORDER BY key_id LIMIT $2;"),
            (WrappedSecretKind.DataSource, $"SELECT name, 0, wrapped_connection, root_key_id FROM {T("data_sources")} WHERE root_key_id <> $1 ORDER BY name LIMIT $2;"),
            (WrappedSecretKind.ImportKey, $"SELECT id, 0, wrapped_private_key, root_key_id FROM {T("import_tokens")} WHERE wrapped_private_key IS NOT NULL AND root_key_id <> $1 ORDER BY id LIMIT $2;"),
            (WrappedSecretKind.KeyVersion, $"SELECT key_name, version, material, root_key_id FROM {T("key_versions")} WHERE material IS NOT NULL AND root_key_id <> $1 ORDER BY key_name, version LIMIT $2;"),
        })
        {
            if (found.Count >= limit)
            {
                break;
            }

            found.AddRange(await ReadAsync(
                sql,
                c =>
                {
                    Text(c, rootKeyId);
                    Int32(c, limit - found.Count);
                },
                r => new WrappedSecret(kind, r.GetString(0), Convert.ToInt32(r.GetValue(1), System.Globalization.CultureInfo.InvariantCulture), (byte[])r.GetValue(2), r.GetString(3)),
                cancellationToken).ConfigureAwait(false));
        }

        return found;
    }

    /// <inheritdoc />
    public Task<int> ReplaceWrappedAsync(IReadOnlyList<WrappedSecretReplacement> replacements, Func<int, Audit.AuditRecord> audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(replacements);
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(
            null,
            async (connection, transaction, ct) =>
            {
                var written = 0;
                foreach (var replacement in replacements)
                {
                    var old = replacement.Old;

                    // Compare-and-set on the wrapped bytes and their root: a secret erased or
                    // re-written since it was read keeps what it has now, so nothing ends up under
                    // neither root and no erasure is undone.
                    await using var update = Command(connection, transaction, old.Kind switch
                    {
                        WrappedSecretKind.KeyVersion => $"UPDATE {T("key_versions")} SET material = $1, root_key_id = $2 WHERE key_name = $3 AND root_key_id = $4 AND material = $5 AND version = $6;",
                        WrappedSecretKind.SigningKey => $"UPDATE {T("audit_signing_keys")} SET wrapped_private_key = $1, root_key_id = $2 WHERE key_id = $3 AND root_key_id = $4 AND wrapped_private_key = $5;",
                        WrappedSecretKind.DataSource => $"UPDATE {T("data_sources")} SET wrapped_connection = $1, root_key_id = $2 WHERE name = $3 AND root_key_id = $4 AND wrapped_connection = $5;",
                        _ => $"UPDATE {T("import_tokens")} SET wrapped_private_key = $1, root_key_id = $2 WHERE id = $3 AND root_key_id = $4 AND wrapped_private_key = $5;",
                    });
                    Bytes(update, replacement.Wrapped);
                    Text(update, replacement.RootKeyId);
                    Text(update, old.Name);
                    Text(update, old.RootKeyId);
                    Bytes(update, old.Wrapped);
                    if (old.Kind == WrappedSecretKind.KeyVersion)
                    {
                        Int32(update, old.Version);
                    }

                    written += await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                if (written > 0)
                {
                    await AppendAuditAsync(connection, transaction, audit(written), ct).ConfigureAwait(false);
                }

                return written;
            },
            cancellationToken);
    }
}
