-- Background jobs (export, restore; later import and purge). `params` and `result` are JSON owned
-- by the kind's runner. A running job is held by `lease_owner` until `lease_until`; a worker that
-- dies stops renewing and another claims the job and resumes from its outcomes. Times are Unix
-- microseconds; flags are BIGINT 0/1.
CREATE TABLE jobs (
    id               BIGSERIAL PRIMARY KEY,
    kind             TEXT    NOT NULL,
    label            TEXT    NOT NULL,
    mailbox_id       BIGINT,
    params           TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    total            BIGINT  NOT NULL DEFAULT 0,
    processed        BIGINT  NOT NULL DEFAULT 0,
    failed           BIGINT  NOT NULL DEFAULT 0,
    skipped          BIGINT  NOT NULL DEFAULT 0,
    bytes            BIGINT  NOT NULL DEFAULT 0,
    owner            TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    lease_owner      TEXT,
    lease_until      BIGINT,
    heartbeat_at     BIGINT,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    cancel_requested BIGINT  NOT NULL DEFAULT 0,
    error            TEXT,
    result           TEXT
);
CREATE INDEX jobs_claim ON jobs(state, id);
CREATE INDEX jobs_mailbox ON jobs(mailbox_id, id);

-- One row per unit of work (an item), recorded once: `item_key` is its identity inside the job,
-- so a resumed job skips what has an outcome. `id` orders the report.
CREATE TABLE job_outcomes (
    id          BIGSERIAL PRIMARY KEY,
    job_id      BIGINT  NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    item_key    TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    source_path TEXT    NOT NULL,
    target_path TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    at          BIGINT  NOT NULL,
    UNIQUE (job_id, item_key)
);
CREATE INDEX job_outcomes_report ON job_outcomes(job_id, id);
