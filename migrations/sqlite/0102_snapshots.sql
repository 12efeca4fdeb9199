-- Point-in-time views: snapshots name an instant of a mailbox (never a copy of data), selections
-- are stored sets of items (for example "everything deleted between T1 and T2") that export and
-- restore take. Times are Unix microseconds; flags are BIGINT 0/1.

-- The difference of two instants reads only the intervals that start or end between them.
CREATE INDEX archive_memberships_from ON archive_memberships(mailbox_id, seen_from);
CREATE INDEX archive_memberships_until ON archive_memberships(mailbox_id, seen_until);
CREATE INDEX archive_folder_versions_until ON archive_folder_versions(mailbox_id, seen_until);

-- `task_id` is the sync task it was created from; no foreign key, because a snapshot (held ones
-- above all) outlives its task, and `task_name` keeps saying where it came from.
CREATE TABLE archive_snapshots (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox_id BIGINT  NOT NULL REFERENCES archive_mailboxes(id),
    taken_at   BIGINT  NOT NULL,
    label      TEXT    NOT NULL,
    task_id    BIGINT,
    task_name  TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    hold       BIGINT  NOT NULL DEFAULT 0,
    created_at BIGINT  NOT NULL
);
CREATE INDEX archive_snapshots_mailbox ON archive_snapshots(mailbox_id, taken_at);

-- `rule` says in words how the items were chosen; the items themselves are fixed at creation,
-- so an export or restore takes exactly what the person saw.
CREATE TABLE archive_selections (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox_id BIGINT  NOT NULL REFERENCES archive_mailboxes(id),
    label      TEXT    NOT NULL,
    rule       TEXT    NOT NULL,
    item_count BIGINT  NOT NULL,
    created_by TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);

-- `folder_id` is where the item was when it was chosen: a restore into the original folders
-- needs it, since a deleted item is in no folder now.
CREATE TABLE archive_selection_items (
    selection_id BIGINT NOT NULL REFERENCES archive_selections(id) ON DELETE CASCADE,
    item_id      BIGINT NOT NULL REFERENCES archive_items(id),
    folder_id    BIGINT REFERENCES archive_folders(id),
    PRIMARY KEY (selection_id, item_id)
);
