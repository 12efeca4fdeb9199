-- Retention: how long archived content is kept, and what a purge leaves behind for others to
-- follow. Times are Unix microseconds.

-- One row per item kind for the default policy (mailbox_id NULL) or a mailbox's override.
-- `keep_days` NULL keeps for ever. `basis` is what the days count from: `left_source` (the
-- item's last membership closed) or `archived` (the record was created).
CREATE TABLE archive_retention (
    mailbox_id BIGINT REFERENCES archive_mailboxes(id),
    kind       TEXT   NOT NULL,
    keep_days  BIGINT,
    basis      TEXT   NOT NULL,
    updated_by TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
-- NULL is distinct in a UNIQUE constraint on both backends, so the default's key is -1.
CREATE UNIQUE INDEX archive_retention_key ON archive_retention(COALESCE(mailbox_id, -1), kind);

-- Items a purge removed, in change order, so the search index drops them as it catches up.
CREATE TABLE archive_item_removals (
    item_id    BIGINT NOT NULL,
    mailbox_id BIGINT NOT NULL,
    change_seq BIGINT NOT NULL,
    removed_at BIGINT NOT NULL
);
CREATE INDEX archive_item_removals_seq ON archive_item_removals(change_seq);

-- Blobs whose last record a purge removed, waiting for the second step to delete them (so a
-- crash between the steps leaves a list to finish, never a record without its content).
CREATE TABLE archive_blob_orphans (
    hash      TEXT   PRIMARY KEY,
    marked_at BIGINT NOT NULL
);

-- Blobs deleted, with the change number of the deletion. A writer that found a blob present
-- before its transaction checks here, under the write lock, whether it was deleted since, and
-- writes it again if so.
CREATE TABLE archive_blob_deletions (
    hash       TEXT   PRIMARY KEY,
    change_seq BIGINT NOT NULL
);

CREATE INDEX archive_items_properties ON archive_items(properties_hash);
