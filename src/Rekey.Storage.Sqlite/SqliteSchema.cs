using Microsoft.Data.Sqlite;
using Rekey.Errors;

namespace Rekey.Storage.Sqlite;

/// <summary>
/// The store's versioned schema. Each migration runs once, in order, inside the same
/// transaction as the row that records it; a database newer than this build is refused.
/// </summary>
internal static class SqliteSchema
{
    private static readonly (int Version, string Sql)[] Migrations =
    [
        (1, """
            CREATE TABLE keys (
                name TEXT PRIMARY KEY,
                created_at INTEGER NOT NULL,
                min_decryption_version INTEGER NOT NULL CHECK (min_decryption_version >= 1),
                destruction_delay_ms INTEGER NOT NULL CHECK (destruction_delay_ms >= 0)
            ) STRICT;

            CREATE TABLE key_versions (
                key_name TEXT NOT NULL REFERENCES keys (name),
                version INTEGER NOT NULL CHECK (version >= 1),
                state TEXT NOT NULL CHECK (state IN ('Pending', 'Active', 'DecryptOnly', 'Retiring', 'Disabled', 'DestroyScheduled', 'Destroyed')),
                material BLOB,
                root_key_id TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                activated_at INTEGER,
                deactivated_at INTEGER,
                retire_deadline INTEGER,
                destroy_after INTEGER,
                destroyed_at INTEGER,
                encrypt_count INTEGER NOT NULL DEFAULT 0,
                decrypt_count INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (key_name, version),
                CHECK ((state = 'Destroyed') = (material IS NULL))
            ) STRICT;

            -- The database itself allows at most one Active version per key.
            CREATE UNIQUE INDEX key_versions_one_active ON key_versions (key_name) WHERE state = 'Active';

            CREATE TABLE audit_events (
                seq INTEGER PRIMARY KEY,
                time INTEGER NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                key_name TEXT,
                from_version INTEGER,
                to_version INTEGER,
                outcome TEXT NOT NULL,
                details TEXT,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL
            ) STRICT;

            CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
            BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

            CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
            BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
            """),
        (2, """
            CREATE TABLE tokens (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                roles TEXT NOT NULL,
                patterns TEXT NOT NULL,
                secret_hash BLOB NOT NULL CHECK (length(secret_hash) = 32),
                created_at INTEGER NOT NULL,
                expires_at INTEGER,
                revoked_at INTEGER
            ) STRICT;
            """),
        (3, """
            CREATE TABLE audit_signing_keys (
                key_id TEXT PRIMARY KEY,
                public_key BLOB NOT NULL,
                wrapped_private_key BLOB NOT NULL,
                root_key_id TEXT NOT NULL,
                created_at INTEGER NOT NULL
            ) STRICT;

            CREATE TABLE audit_checkpoints (
                seq INTEGER PRIMARY KEY,
                hash TEXT NOT NULL,
                time INTEGER NOT NULL,
                key_id TEXT NOT NULL REFERENCES audit_signing_keys (key_id),
                signature BLOB NOT NULL CHECK (length(signature) = 64)
            ) STRICT;
            """),
        (4, """
            ALTER TABLE keys ADD COLUMN deletion_allowed INTEGER NOT NULL DEFAULT 0 CHECK (deletion_allowed IN (0, 1));
            """),
        (5, """
            CREATE TABLE rewrap_jobs (
                id TEXT PRIMARY KEY,
                key_name TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('Pending', 'Running', 'Paused', 'Cancelled', 'Completed', 'Failed')),
                document TEXT NOT NULL,
                lease_owner TEXT,
                lease_until INTEGER,
                updated_at INTEGER NOT NULL
            ) STRICT;

            CREATE TABLE rewrap_failures (
                job_id TEXT NOT NULL REFERENCES rewrap_jobs (id),
                record_id TEXT NOT NULL,
                column_name TEXT NOT NULL,
                version INTEGER,
                reason TEXT NOT NULL,
                at INTEGER NOT NULL,
                PRIMARY KEY (job_id, record_id, column_name)
            ) STRICT;

            CREATE TABLE rewrap_inventory (
                source TEXT NOT NULL,
                key_name TEXT NOT NULL,
                version INTEGER NOT NULL,
                count INTEGER NOT NULL CHECK (count >= 0),
                counted_at INTEGER NOT NULL,
                PRIMARY KEY (source, key_name, version)
            ) STRICT;
            """),
        (6, """
            ALTER TABLE audit_events ADD COLUMN reason TEXT;
            ALTER TABLE audit_events ADD COLUMN request_id TEXT;
            ALTER TABLE audit_events ADD COLUMN client TEXT;
            ALTER TABLE audit_events ADD COLUMN presented_token TEXT;

            CREATE TABLE data_sources (
                name TEXT PRIMARY KEY,
                document TEXT NOT NULL,
                wrapped_connection BLOB NOT NULL,
                root_key_id TEXT NOT NULL,
                created_at INTEGER NOT NULL
            ) STRICT;
            """),
        (7, """
            CREATE TABLE lifecycle_policies (
                pattern TEXT PRIMARY KEY,
                document TEXT NOT NULL,
                updated_at INTEGER NOT NULL
            ) STRICT;

            CREATE TABLE key_schedule (
                key_name TEXT PRIMARY KEY,
                next_due INTEGER,
                lease_owner TEXT,
                lease_until INTEGER,
                generation INTEGER NOT NULL DEFAULT 0,
                document TEXT NOT NULL DEFAULT '{}'
            ) STRICT;

            -- The scheduler's one query: keys due by now, earliest first.
            CREATE INDEX key_schedule_due ON key_schedule (next_due) WHERE next_due IS NOT NULL;

            CREATE TABLE rotations (
                id TEXT PRIMARY KEY,
                key_name TEXT NOT NULL,
                from_version INTEGER NOT NULL,
                to_version INTEGER NOT NULL,
                cause TEXT NOT NULL,
                phase TEXT NOT NULL CHECK (phase IN ('prepare', 'execute', 'verify', 'complete', 'failed')),
                document TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            ) STRICT;

            CREATE INDEX rotations_by_key ON rotations (key_name, created_at);
            CREATE INDEX rotations_open ON rotations (key_name) WHERE phase NOT IN ('complete', 'failed');

            -- Keys from before the scheduler: looked at once.
            INSERT INTO key_schedule (key_name, next_due) SELECT name, 0 FROM keys;
            """),
        (8, """
            -- Bring your own key: where each version's material came from.
            ALTER TABLE key_versions ADD COLUMN origin TEXT NOT NULL DEFAULT 'generated' CHECK (origin IN ('generated', 'imported'));

            -- One-time RSA key pairs for importing material; the private key is wrapped by the root
            -- and erased when the token is spent or expires.
            CREATE TABLE import_tokens (
                id TEXT PRIMARY KEY,
                key_name TEXT NOT NULL,
                public_key BLOB NOT NULL,
                wrapped_private_key BLOB,
                root_key_id TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                used_at INTEGER,
                used_version INTEGER
            ) STRICT;
            """),
        (9, """
            -- Dual control: operations held for approval, and each approver's decision.
            CREATE TABLE approvals (
                id TEXT PRIMARY KEY,
                operation TEXT NOT NULL,
                key_name TEXT,
                version INTEGER,
                fields TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                requester TEXT NOT NULL,
                reason TEXT,
                required INTEGER NOT NULL CHECK (required >= 1),
                state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'executed', 'failed', 'denied', 'expired')),
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                decided_at INTEGER,
                result TEXT
            ) STRICT;
            CREATE INDEX approvals_by_state ON approvals (state, expires_at);
            CREATE TABLE approval_votes (
                approval_id TEXT NOT NULL REFERENCES approvals (id),
                approver TEXT NOT NULL,
                at INTEGER NOT NULL,
                approve INTEGER NOT NULL,
                comment TEXT,
                PRIMARY KEY (approval_id, approver)
            ) STRICT;
            """),
    ];

    /// <summary>The schema version this build writes.</summary>
    public static int LatestVersion => Migrations[^1].Version;

    public static void Migrate(SqliteConnection connection, long nowMs)
    {
        using var transaction = connection.BeginTransaction();
        Execute(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT;");
        using var read = connection.CreateCommand();
        read.Transaction = transaction;
        read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations;";
        var current = Convert.ToInt32(read.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        if (current > LatestVersion)
        {
            throw new RekeyStoreException(
                $"The database has schema version {current}, newer than this build's {LatestVersion}; upgrade Rekey.", isTransient: false);
        }

        foreach (var (version, sql) in Migrations)
        {
            if (version <= current)
            {
                continue;
            }

            Execute(connection, transaction, sql);
            using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_migrations (version, applied_at) VALUES ($v, $t);";
            record.Parameters.AddWithValue("$v", version);
            record.Parameters.AddWithValue("$t", nowMs);
            record.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
