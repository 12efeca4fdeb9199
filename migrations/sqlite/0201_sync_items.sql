-- Per-item sync bookkeeping: what could not be archived yet, and the keys that pair moves.

-- Items the server listed that a sync run could not archive (throttled beyond the run's
-- retries, a server fault, MIME conversion failed, ...). The engine saves a page's sync state
-- only after each of its items is archived, gone, or recorded here; the next run asks for these
-- first, and the mailbox shows "attention" while any remain.
CREATE TABLE sync_failed_items (
    mailbox_id       BIGINT  NOT NULL REFERENCES archive_mailboxes(id),
    source_item_id   TEXT    NOT NULL,
    folder_source_id TEXT    NOT NULL,
    is_read          BIGINT  NOT NULL DEFAULT 0,
    search_key       TEXT,
    reason           TEXT    NOT NULL,
    attempts         BIGINT  NOT NULL DEFAULT 1,
    first_failed_at  BIGINT  NOT NULL,
    last_failed_at   BIGINT  NOT NULL,
    PRIMARY KEY (mailbox_id, source_item_id)
);

-- EWS PidTagSearchKey of archived messages: it stays with a message when a move gives it a new
-- id, so the engine pairs the delete and the create of a move even when Exchange renders the
-- MIME differently on each fetch.
CREATE TABLE sync_item_keys (
    mailbox_id BIGINT NOT NULL REFERENCES archive_mailboxes(id),
    source_id  TEXT   NOT NULL,
    search_key TEXT   NOT NULL,
    PRIMARY KEY (mailbox_id, source_id)
);
CREATE INDEX sync_item_keys_key ON sync_item_keys(mailbox_id, search_key);
