"""The SQLite schema: the migrations, applied in order in one transaction when the
file is opened. What goes into each table's columns is :mod:`livelens.store.schema`'s
business.
"""

from __future__ import annotations

import sqlite3

from livelens.errors import StoreUnavailable

# Migration n brings the schema from version n to n + 1. Append, never edit. A new
# field of a record needs its column here, with the field's default (checked by the
# contract suite against livelens.store.schema).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE tenants (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            region TEXT NOT NULL,
            created_at REAL NOT NULL,
            wrapped_data_key BLOB NOT NULL,
            master_key_id TEXT NOT NULL,
            require_totp INTEGER NOT NULL
        )""",
        """CREATE TABLE users (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            email TEXT NOT NULL,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            disabled INTEGER NOT NULL,
            totp_secret BLOB,
            totp_pending BLOB,
            recovery_codes TEXT NOT NULL
        )""",
        # E-mail addresses are unique on the whole instance: sign-in finds the
        # account from the address alone.
        "CREATE UNIQUE INDEX users_email ON users (email)",
        "CREATE INDEX users_tenant ON users (tenant_id, created_at)",
        """CREATE TABLE auth_sessions (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            ip TEXT NOT NULL,
            user_agent TEXT NOT NULL
        )""",
        "CREATE INDEX auth_sessions_user ON auth_sessions (tenant_id, user_id)",
        "CREATE INDEX auth_sessions_expiry ON auth_sessions (tenant_id, expires_at)",
        # seq keeps insertion order for events with the same timestamp.
        """CREATE TABLE audit_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            tenant_id TEXT NOT NULL,
            at REAL NOT NULL,
            action TEXT NOT NULL,
            actor TEXT NOT NULL,
            actor_id TEXT,
            ip TEXT,
            target TEXT,
            details TEXT NOT NULL
        )""",
        "CREATE INDEX audit_events_newest ON audit_events (tenant_id, at DESC, seq DESC)",
        """CREATE TABLE login_guards (
            key TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            locked_until REAL NOT NULL
        )""",
    ),
    # 1 -> 2: support sessions and the security log.
    (
        """CREATE TABLE support_sessions (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            created_at REAL NOT NULL,
            join_expires_at REAL NOT NULL,
            join_token_hash TEXT NOT NULL,
            pin_hash TEXT,
            status TEXT NOT NULL,
            customer_device_hash TEXT,
            joined_at REAL,
            consent_at REAL,
            consent_scopes TEXT NOT NULL,
            live_at REAL,
            ended_at REAL,
            outcome TEXT,
            ended_by TEXT
        )""",
        # A customer's link finds the session (and its account) from the token alone.
        "CREATE UNIQUE INDEX support_sessions_join_token ON support_sessions (join_token_hash)",
        "CREATE INDEX support_sessions_pin ON support_sessions (pin_hash)",
        # Reports: newest first, ties by id, so the index alone serves ORDER BY ... LIMIT.
        "CREATE INDEX support_sessions_newest ON support_sessions (tenant_id, created_at, id)",
        "CREATE INDEX support_sessions_agent ON support_sessions"
        " (tenant_id, agent_id, created_at, id)",
        # tenant_id is NULL until the account is known; seq as in audit_events.
        """CREATE TABLE security_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            ip TEXT,
            tenant_id TEXT,
            details TEXT NOT NULL
        )""",
        "CREATE INDEX security_events_newest ON security_events (tenant_id, at DESC, seq DESC)",
    ),
    # 3: one-time codes are single-use (RFC 6238 §5.2).
    ("ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0",),
    # 4: session content (sealed) and invited experts.
    (
        "ALTER TABLE support_sessions ADD COLUMN experts TEXT NOT NULL DEFAULT '[]'",
        """CREATE TABLE session_items (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            tenant_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            at REAL NOT NULL,
            author_id TEXT,
            media_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            sealed BLOB NOT NULL
        )""",
        "CREATE INDEX session_items_session ON session_items (tenant_id, session_id, at, seq)",
    ),
    # 5: instance-wide keys, sealed by a master key (the derivation key).
    (
        """CREATE TABLE instance_keys (
            name TEXT PRIMARY KEY,
            master_key_id TEXT NOT NULL,
            sealed BLOB NOT NULL
        )""",
    ),
    # 6: sign-in attempts reserved before they are checked (identity.lockout), which
    # replace the failure counters; display names for what customers see.
    (
        "DROP TABLE login_guards",
        """CREATE TABLE login_tickets (
            key TEXT NOT NULL,
            round INTEGER NOT NULL,
            number INTEGER NOT NULL,
            at REAL NOT NULL,
            PRIMARY KEY (key, round, number)
        )""",
        "ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT ''",
    ),
    # 7: support sessions are saved by compare-and-set on a version (existing rows are at
    # version 0), and keep which agent ended them.
    (
        "ALTER TABLE support_sessions ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE support_sessions ADD COLUMN ended_by_user_id TEXT",
        "ALTER TABLE support_sessions ADD COLUMN ended_by_name TEXT",
    ),
    # 8: support sessions may name their customer (sealed) and a case reference.
    (
        "ALTER TABLE support_sessions ADD COLUMN customer_name BLOB",
        "ALTER TABLE support_sessions ADD COLUMN reference TEXT",
    ),
    # Account policies and subscription; each session keeps the policy it started with
    # and the customer's rating (the comment sealed).
    (
        "ALTER TABLE tenants ADD COLUMN two_way_audio INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE tenants ADD COLUMN snapshots INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE tenants ADD COLUMN chat INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE tenants ADD COLUMN recording TEXT NOT NULL DEFAULT 'off'",
        "ALTER TABLE tenants ADD COLUMN join_link_minutes INTEGER NOT NULL DEFAULT 15",
        "ALTER TABLE tenants ADD COLUMN pin_joining INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE tenants ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 90",
        "ALTER TABLE tenants ADD COLUMN customer_rating INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE tenants ADD COLUMN seats INTEGER",
        "ALTER TABLE tenants ADD COLUMN subscription_ends TEXT",
        "ALTER TABLE support_sessions ADD COLUMN tools_off TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE support_sessions ADD COLUMN rating_on INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE support_sessions ADD COLUMN rating INTEGER",
        "ALTER TABLE support_sessions ADD COLUMN rating_comment BLOB",
        "ALTER TABLE support_sessions ADD COLUMN rated_at REAL",
    ),
    # API keys (reports only, kept as keyed hashes); session history and reports by
    # outcome, newest or oldest first, from the index alone.
    (
        """CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            name TEXT NOT NULL,
            key_hash TEXT NOT NULL,
            created_at REAL NOT NULL,
            created_by TEXT NOT NULL
        )""",
        # A request's key finds its account from the key alone.
        "CREATE UNIQUE INDEX api_keys_hash ON api_keys (key_hash)",
        "CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at, id)",
        "CREATE INDEX support_sessions_outcome ON support_sessions"
        " (tenant_id, outcome, created_at, id)",
    ),
    # Exports of an account's or a session's content (the ZIP lies in the data dir).
    (
        """CREATE TABLE export_jobs (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            scope TEXT NOT NULL,
            requested_by TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            session_id TEXT,
            state TEXT NOT NULL,
            finished_at REAL,
            size INTEGER,
            file_name TEXT NOT NULL,
            error TEXT
        )""",
        "CREATE INDEX export_jobs_tenant ON export_jobs (tenant_id, created_at, id)",
    ),
    # Deletion and retention: a data key per session (deleting it crypto-shreds the
    # session), the instance's record of deletions (no account's: it outlives them),
    # and leases (the retention job runs on one node at a time).
    (
        "ALTER TABLE support_sessions ADD COLUMN own_key INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE support_sessions ADD COLUMN purged_at REAL",
        "CREATE INDEX support_sessions_purge ON support_sessions"
        " (tenant_id, purged_at, created_at, id)",
        """CREATE TABLE session_keys (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            sealed BLOB NOT NULL,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX session_keys_tenant ON session_keys (tenant_id)",
        """CREATE TABLE deletion_records (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            account_id TEXT NOT NULL,
            account_name TEXT NOT NULL,
            actor TEXT NOT NULL,
            actor_id TEXT,
            session_ids TEXT NOT NULL,
            counts TEXT NOT NULL
        )""",
        "CREATE INDEX deletion_records_newest ON deletion_records (at DESC, seq DESC)",
        """CREATE TABLE leases (
            name TEXT NOT NULL,
            term INTEGER NOT NULL,
            holder TEXT NOT NULL,
            expires_at REAL NOT NULL,
            PRIMARY KEY (name, term)
        )""",
    ),
    # The customer page's branding: one row per account (its name, colour and logo).
    (
        """CREATE TABLE branding (
            tenant_id TEXT NOT NULL PRIMARY KEY,
            updated_at REAL NOT NULL,
            display_name TEXT NOT NULL DEFAULT '',
            accent_color TEXT NOT NULL DEFAULT '',
            logo BLOB,
            logo_type TEXT NOT NULL DEFAULT ''
        )""",
    ),
    # The account's alert webhook and how its deliveries went: one row per account.
    (
        """CREATE TABLE alert_hooks (
            tenant_id TEXT NOT NULL PRIMARY KEY,
            hook_id TEXT NOT NULL,
            url TEXT NOT NULL,
            secret BLOB NOT NULL,
            created_at REAL NOT NULL,
            created_by TEXT NOT NULL,
            delivered INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            abandoned INTEGER NOT NULL DEFAULT 0,
            dropped INTEGER NOT NULL DEFAULT 0,
            last_success_at REAL,
            last_error TEXT,
            last_error_at REAL
        )""",
    ),
    # When each user last signed in (the Users page shows it); NULL: never.
    ("ALTER TABLE users ADD COLUMN last_sign_in_at REAL",),
    # Recordings of sessions' media (their sealed bytes are files under recordings/).
    (
        """CREATE TABLE recordings (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            started_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            state TEXT NOT NULL,
            ended_at REAL,
            duration_s REAL NOT NULL DEFAULT 0,
            size INTEGER NOT NULL DEFAULT 0,
            stopped_reason TEXT,
            events BLOB,
            stats TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX recordings_session ON recordings (tenant_id, session_id, started_at, id)",
    ),
    # Whether each session is recorded, fixed when it was created (signalling.recording).
    ("ALTER TABLE support_sessions ADD COLUMN recording TEXT NOT NULL DEFAULT 'off'",),
    # The recording policy's "agent's choice" is named "agent", as the API documents it.
    ("UPDATE tenants SET recording = 'agent' WHERE recording = 'agent_choice'",),
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> None:
    # IMMEDIATE takes the write lock first, so two processes opening a new file
    # at once do not both run the same migration.
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        current = 0 if row is None else int(row["version"])
        if current > SCHEMA_VERSION:
            raise StoreUnavailable(
                f"The store has schema version {current}; this LiveLens knows up to "
                f"{SCHEMA_VERSION}. Upgrade LiveLens."
            )
        for statements in MIGRATIONS[current:]:
            for statement in statements:
                conn.execute(statement)
        if row is None:
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        elif current != SCHEMA_VERSION:
            conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
