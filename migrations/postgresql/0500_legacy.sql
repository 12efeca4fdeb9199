-- The older agent-based Synchronization Engine: its agents, what they submitted, and the users
-- migrated from it to direct sync. Times are Unix microseconds.

-- `token_hash` is the SHA-256 (hex) of the bearer token, which is shown once and never stored.
CREATE TABLE legacy_agents (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    token_hash   TEXT    NOT NULL UNIQUE,
    token_hint   TEXT    NOT NULL,
    created_by   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);

-- One row per submission and agent: a repeat answers with the stored receipt (JSON).
CREATE TABLE legacy_submissions (
    agent_id      BIGINT NOT NULL REFERENCES legacy_agents(id),
    submission_id TEXT   NOT NULL,
    mailbox       TEXT   NOT NULL,
    received_at   BIGINT NOT NULL,
    outcome       TEXT   NOT NULL,
    PRIMARY KEY (agent_id, submission_id)
);

-- Per user (address, case-folded): submissions used, the migration, submissions ignored since.
CREATE TABLE legacy_mailboxes (
    address            TEXT   PRIMARY KEY,
    submissions        BIGINT NOT NULL DEFAULT 0,
    last_submission_at BIGINT,
    migrated_at        BIGINT,
    migrated_by        TEXT,
    ignored            BIGINT NOT NULL DEFAULT 0,
    last_ignored_at    BIGINT
);
