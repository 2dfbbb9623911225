using Npgsql;
using Rekey.Errors;

namespace Rekey.Storage.Postgres;

/// <summary>
/// The store's versioned schema, in the <c>rekey</c> schema of the database. Migrations run under
/// a transaction-scoped advisory lock, so several instances starting at once apply each one once.
/// </summary>
internal static class PostgresSchema
{
    /// <summary>Advisory lock ids: the schema's, and the audit chain's (held by every writer).</summary>
    public const long MigrationLock = 0x52454B45_59000001;
    public const long AuditLock = 0x52454B45_59000002;

    /// <summary>The notification channel every change is announced on.</summary>
    public const string Channel = "rekey_key_changes";

    private static readonly (int Version, string Sql)[] Migrations =
    [
        (1, """
            CREATE TABLE rekey.keys (
                name text PRIMARY KEY,
                created_at bigint NOT NULL,
                min_decryption_version integer NOT NULL CHECK (min_decryption_version >= 1),
                destruction_delay_ms bigint NOT NULL CHECK (destruction_delay_ms >= 0)
            );

            CREATE TABLE rekey.key_versions (
                key_name text NOT NULL REFERENCES rekey.keys (name),
                version integer NOT NULL CHECK (version >= 1),
                state text NOT NULL CHECK (state IN ('Pending', 'Active', 'DecryptOnly', 'Retiring', 'Disabled', 'DestroyScheduled', 'Destroyed')),
                material bytea,
                root_key_id text NOT NULL,
                created_at bigint NOT NULL,
                activated_at bigint,
                deactivated_at bigint,
                retire_deadline bigint,
                destroy_after bigint,
                destroyed_at bigint,
                encrypt_count bigint NOT NULL DEFAULT 0,
                decrypt_count bigint NOT NULL DEFAULT 0,
                PRIMARY KEY (key_name, version),
                CHECK ((state = 'Destroyed') = (material IS NULL))
            );

            -- The database itself allows at most one Active version per key.
            CREATE UNIQUE INDEX key_versions_one_active ON rekey.key_versions (key_name) WHERE state = 'Active';

            CREATE TABLE rekey.audit_events (
                seq bigint PRIMARY KEY,
                time bigint NOT NULL,
                actor text NOT NULL,
                action text NOT NULL,
                key_name text,
                from_version integer,
                to_version integer,
                outcome text NOT NULL,
                details text,
                prev_hash text NOT NULL,
                hash text NOT NULL
            );

            CREATE FUNCTION rekey.audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_events is append-only';
            END $$;

            CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON rekey.audit_events
                FOR EACH ROW EXECUTE FUNCTION rekey.audit_events_append_only();
            CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON rekey.audit_events
                FOR EACH STATEMENT EXECUTE FUNCTION rekey.audit_events_append_only();
            """),
        (2, """
            CREATE TABLE rekey.tokens (
                id text PRIMARY KEY,
                name text NOT NULL,
                roles text NOT NULL,
                patterns text NOT NULL,
                secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
                created_at bigint NOT NULL,
                expires_at bigint,
                revoked_at bigint
            );
            """),
        (3, """
            CREATE TABLE rekey.audit_signing_keys (
                key_id text PRIMARY KEY,
                public_key bytea NOT NULL,
                wrapped_private_key bytea NOT NULL,
                root_key_id text NOT NULL,
                created_at bigint NOT NULL
            );

            CREATE TABLE rekey.audit_checkpoints (
                seq bigint PRIMARY KEY,
                hash text NOT NULL,
                time bigint NOT NULL,
                key_id text NOT NULL REFERENCES rekey.audit_signing_keys (key_id),
                signature bytea NOT NULL CHECK (length(signature) = 64)
            );
            """),
        (4, """
            ALTER TABLE rekey.keys ADD COLUMN deletion_allowed boolean NOT NULL DEFAULT false;
            """),
        (5, """
            CREATE TABLE rekey.rewrap_jobs (
                id text PRIMARY KEY,
                key_name text NOT NULL,
                state text NOT NULL CHECK (state IN ('Pending', 'Running', 'Paused', 'Cancelled', 'Completed', 'Failed')),
                document text NOT NULL,
                lease_owner text,
                lease_until bigint,
                updated_at bigint NOT NULL
            );

            CREATE TABLE rekey.rewrap_failures (
                job_id text NOT NULL REFERENCES rekey.rewrap_jobs (id),
                record_id text NOT NULL,
                column_name text NOT NULL,
                version integer,
                reason text NOT NULL,
                at bigint NOT NULL,
                PRIMARY KEY (job_id, record_id, column_name)
            );

            CREATE TABLE rekey.rewrap_inventory (
                source text NOT NULL,
                key_name text NOT NULL,
                version integer NOT NULL,
                count bigint NOT NULL CHECK (count >= 0),
                counted_at bigint NOT NULL,
                PRIMARY KEY (source, key_name, version)
            );
            """),
        (6, """
            ALTER TABLE rekey.audit_events ADD COLUMN reason text, ADD COLUMN request_id text, ADD COLUMN client text, ADD COLUMN presented_token text;

            CREATE TABLE rekey.data_sources (
                name text PRIMARY KEY,
                document text NOT NULL,
                wrapped_connection bytea NOT NULL,
                root_key_id text NOT NULL,
                created_at bigint NOT NULL
            );
            """),
        (7, """
            CREATE TABLE rekey.lifecycle_policies (
                pattern text PRIMARY KEY,
                document text NOT NULL,
                updated_at bigint NOT NULL
            );

            CREATE TABLE rekey.key_schedule (
                key_name text PRIMARY KEY,
                next_due bigint,
                lease_owner text,
                lease_until bigint,
                generation bigint NOT NULL DEFAULT 0,
                document text NOT NULL DEFAULT '{}'
            );

            -- The scheduler's one query: keys due by now, earliest first.
            CREATE INDEX key_schedule_due ON rekey.key_schedule (next_due) WHERE next_due IS NOT NULL;

            CREATE TABLE rekey.rotations (
                id text PRIMARY KEY,
                key_name text NOT NULL,
                from_version integer NOT NULL,
                to_version integer NOT NULL,
                cause text NOT NULL,
                phase text NOT NULL CHECK (phase IN ('prepare', 'execute', 'verify', 'complete', 'failed')),
                document text NOT NULL,
                created_at bigint NOT NULL,
                updated_at bigint NOT NULL
            );

            CREATE INDEX rotations_by_key ON rekey.rotations (key_name, created_at);
            CREATE INDEX rotations_open ON rekey.rotations (key_name) WHERE phase NOT IN ('complete', 'failed');

            -- Keys from before the scheduler: looked at once.
            INSERT INTO rekey.key_schedule (key_name, next_due) SELECT name, 0 FROM rekey.keys;
            """),
        (8, """
            -- Bring your own key: where each version's material came from.
            ALTER TABLE rekey.key_versions ADD COLUMN origin text NOT NULL DEFAULT 'generated' CHECK (origin IN ('generated', 'imported'));

            -- One-time RSA key pairs for importing material; the private key is wrapped by the root
            -- and erased when the token is spent or expires.
            CREATE TABLE rekey.import_tokens (
                id text PRIMARY KEY,
                key_name text NOT NULL,
                public_key bytea NOT NULL,
                wrapped_private_key bytea,
                root_key_id text NOT NULL,
                created_at bigint NOT NULL,
                expires_at bigint NOT NULL,
                used_at bigint,
                used_version integer
            );
            """),
        (9, """
            -- Dual control: operations held for approval, and each approver's decision.
            CREATE TABLE rekey.approvals (
                id text PRIMARY KEY,
                operation text NOT NULL,
                key_name text,
                version integer,
                fields text NOT NULL,
                request_hash text NOT NULL,
                requester text NOT NULL,
                reason text,
                required integer NOT NULL CHECK (required >= 1),
                state text NOT NULL CHECK (state IN ('pending', 'approved', 'executed', 'failed', 'denied', 'expired')),
                created_at bigint NOT NULL,
                expires_at bigint NOT NULL,
                decided_at bigint,
                result text
            );
            CREATE INDEX approvals_by_state ON rekey.approvals (state, expires_at);
            CREATE TABLE rekey.approval_votes (
                approval_id text NOT NULL REFERENCES rekey.approvals (id),
                approver text NOT NULL,
                at bigint NOT NULL,
                approve boolean NOT NULL,
                comment text,
                PRIMARY KEY (approval_id, approver)
            );
            """),
    ];

    public static int LatestVersion => Migrations[^1].Version;

    public static async Task MigrateAsync(NpgsqlDataSource dataSource, long nowMs, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, $"SELECT pg_advisory_xact_lock({MigrationLock});", cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, "CREATE SCHEMA IF NOT EXISTS rekey; CREATE TABLE IF NOT EXISTS rekey.schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL);", cancellationToken).ConfigureAwait(false);

        await using var read = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM rekey.schema_migrations;", connection);
        var current = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        if (current > LatestVersion)
        {
            throw new RekeyStoreException($"The database has schema version {current}, newer than this build's {LatestVersion}; upgrade Rekey.", isTransient: false);
        }

        foreach (var (version, sql) in Migrations)
        {
            if (version <= current)
            {
                continue;
            }

            await ExecuteAsync(connection, sql, cancellationToken).ConfigureAwait(false);
            await using var record = new NpgsqlCommand("INSERT INTO rekey.schema_migrations (version, applied_at) VALUES ($1, $2);", connection);
            record.Parameters.AddWithValue(version);
            record.Parameters.AddWithValue(nowMs);
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
