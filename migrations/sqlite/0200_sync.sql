-- Mailbox sync: the engine's sync states, server connections, sync tasks, the status of each
-- task's mailboxes and their run history. Times are Unix microseconds; flags are BIGINT 0/1
-- (sqlx's Any driver cannot read SQLite booleans).

-- Opaque EWS sync states / Graph delta links, per archive mailbox, under the engine's keys
-- ("ews/folders", "graph/items/<folder id>").
CREATE TABLE sync_states (
    mailbox_id BIGINT NOT NULL REFERENCES archive_mailboxes(id),
    state_key  TEXT   NOT NULL,
    state      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (mailbox_id, state_key)
);

-- A server connection. The secret (EWS password or Graph client secret) is AES-256-GCM sealed
-- under the server's key: `secret_sealed` is base64 of nonce || ciphertext.
CREATE TABLE sync_connections (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,   -- ews | graph
    ews_url         TEXT,
    ews_username    TEXT,
    graph_tenant    TEXT,
    graph_client_id TEXT,
    -- NULL means Microsoft's public cloud; set for national clouds and the simulator.
    graph_endpoint  TEXT,
    token_endpoint  TEXT,
    secret_sealed   TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);

CREATE TABLE sync_tasks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    connection_id BIGINT  NOT NULL REFERENCES sync_connections(id),
    sync_mail     BIGINT  NOT NULL DEFAULT 1,
    sync_calendar BIGINT  NOT NULL DEFAULT 1,
    sync_contacts BIGINT  NOT NULL DEFAULT 1,
    runs_per_day  BIGINT  NOT NULL DEFAULT 4,
    enabled       BIGINT  NOT NULL DEFAULT 1,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

-- One mailbox of a task. `claimed_until` is the worker's lease: a conditional UPDATE takes it,
-- so two workers never run the same mailbox at once (portable, unlike SKIP LOCKED).
CREATE TABLE sync_task_mailboxes (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id          BIGINT  NOT NULL REFERENCES sync_tasks(id) ON DELETE CASCADE,
    address          TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending',  -- pending | healthy | attention | failed
    reason           TEXT,
    last_started_at  BIGINT,
    last_finished_at BIGINT,
    last_counts      TEXT,   -- JSON RunCounts of the last run
    next_run_at      BIGINT,
    claimed_until    BIGINT,
    claimed_by       TEXT,
    created_at       BIGINT  NOT NULL,
    UNIQUE (task_id, address)
);
CREATE INDEX sync_task_mailboxes_due ON sync_task_mailboxes(next_run_at);

-- One row per mailbox run.
CREATE TABLE sync_runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    task_mailbox_id BIGINT  NOT NULL REFERENCES sync_task_mailboxes(id) ON DELETE CASCADE,
    task_id         BIGINT  NOT NULL,
    address         TEXT    NOT NULL,
    started_at      BIGINT  NOT NULL,
    finished_at     BIGINT  NOT NULL,
    status          TEXT    NOT NULL,   -- healthy | attention | failed
    counts          TEXT    NOT NULL,   -- JSON RunCounts
    requests        BIGINT  NOT NULL,
    throttled       BIGINT  NOT NULL,
    error           TEXT
);
CREATE INDEX sync_runs_mailbox ON sync_runs(task_mailbox_id, started_at);
