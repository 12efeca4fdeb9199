-- The archive's metadata. Raw content lives in the blob store, addressed by `blob_hash` (BLAKE3 hex
-- of the raw bytes). Times are Unix microseconds. Intervals are half-open: [seen_from, seen_until),
-- and an open interval (seen_until NULL) is what the source shows now.

CREATE TABLE archive_mailboxes (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    owner_address TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);
CREATE INDEX archive_mailboxes_owner ON archive_mailboxes(owner_address);

-- A folder's identity is its source id (Exchange folder id, or an import path); its place in the
-- tree and its name are versions over time.
CREATE TABLE archive_folders (
    id         BIGSERIAL PRIMARY KEY,
    mailbox_id BIGINT  NOT NULL REFERENCES archive_mailboxes(id),
    source_id  TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    UNIQUE (mailbox_id, source_id)
);

CREATE TABLE archive_folder_versions (
    id         BIGSERIAL PRIMARY KEY,
    folder_id  BIGINT  NOT NULL REFERENCES archive_folders(id),
    mailbox_id BIGINT  NOT NULL REFERENCES archive_mailboxes(id),
    parent_id  BIGINT  REFERENCES archive_folders(id),
    name       TEXT    NOT NULL,
    seen_from  BIGINT  NOT NULL,
    seen_until BIGINT
);
CREATE INDEX archive_folder_versions_folder ON archive_folder_versions(folder_id, seen_until);
CREATE INDEX archive_folder_versions_mailbox ON archive_folder_versions(mailbox_id, seen_from);

-- One record per item per mailbox, even when the blob is shared with other mailboxes.
-- change_seq orders every change the search index must see; the indexer catches up by it.
CREATE TABLE archive_items (
    id              BIGSERIAL PRIMARY KEY,
    mailbox_id      BIGINT  NOT NULL REFERENCES archive_mailboxes(id),
    source_id       TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    blob_hash       TEXT    NOT NULL,
    size            BIGINT  NOT NULL,
    subject         TEXT    NOT NULL,
    sender          TEXT    NOT NULL,
    sender_address  TEXT    NOT NULL,
    to_list         TEXT    NOT NULL,
    cc_list         TEXT    NOT NULL,
    message_id      TEXT,
    sent_at         BIGINT  NOT NULL,
    has_attachments BOOLEAN NOT NULL,
    attachments     TEXT    NOT NULL,
    flags           TEXT    NOT NULL,
    parsed          BOOLEAN NOT NULL,
    change_seq      BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL,
    UNIQUE (mailbox_id, source_id)
);
CREATE INDEX archive_items_change ON archive_items(change_seq, id);
CREATE INDEX archive_items_blob ON archive_items(blob_hash);

-- Folder membership over time. The read flag is part of the interval, so that "as of T" answers
-- unread counts too. Sort keys are copied here so that a folder's page is one index range scan.
CREATE TABLE archive_memberships (
    id           BIGSERIAL PRIMARY KEY,
    item_id      BIGINT  NOT NULL REFERENCES archive_items(id),
    folder_id    BIGINT  NOT NULL REFERENCES archive_folders(id),
    mailbox_id   BIGINT  NOT NULL REFERENCES archive_mailboxes(id),
    is_read      BOOLEAN NOT NULL,
    seen_from    BIGINT  NOT NULL,
    seen_until   BIGINT,
    sort_date    BIGINT  NOT NULL,
    sort_sender  TEXT    NOT NULL,
    sort_subject TEXT    NOT NULL,
    sort_size    BIGINT  NOT NULL
);
CREATE INDEX archive_memberships_item ON archive_memberships(item_id, seen_until);
CREATE INDEX archive_memberships_mailbox ON archive_memberships(mailbox_id, folder_id);
CREATE INDEX archive_memberships_date ON archive_memberships(folder_id, sort_date, item_id);
CREATE INDEX archive_memberships_sender ON archive_memberships(folder_id, sort_sender, item_id);
CREATE INDEX archive_memberships_subject ON archive_memberships(folder_id, sort_subject, item_id);
CREATE INDEX archive_memberships_size ON archive_memberships(folder_id, sort_size, item_id);

-- A single counter row: every writing transaction bumps it first, which serialises writers and
-- makes change_seq commit in order (no gaps for the indexer to skip over).
CREATE TABLE archive_counters (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO archive_counters (name, value) VALUES ('change_seq', 0);
