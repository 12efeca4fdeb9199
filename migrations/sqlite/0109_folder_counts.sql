-- Each folder's total and unread count now, kept by the database as memberships open, close,
-- change or go (a sync's write, a move, a read change, a purge), in the same transaction as the
-- change: the folder tree after a write reads a few rows instead of counting the mailbox.
CREATE TABLE archive_folder_counts (
    folder_id  INTEGER PRIMARY KEY,
    mailbox_id INTEGER NOT NULL,
    total      INTEGER NOT NULL,
    unread     INTEGER NOT NULL
);
CREATE INDEX archive_folder_counts_mailbox ON archive_folder_counts(mailbox_id);

INSERT INTO archive_folder_counts (folder_id, mailbox_id, total, unread)
SELECT folder_id, MIN(mailbox_id), COUNT(*), SUM(CASE WHEN is_read THEN 0 ELSE 1 END)
FROM archive_memberships WHERE seen_until IS NULL GROUP BY folder_id;

-- An open membership counts in its folder; a closed one does not.
CREATE TRIGGER archive_folder_counts_insert AFTER INSERT ON archive_memberships
WHEN NEW.seen_until IS NULL
BEGIN
    INSERT INTO archive_folder_counts (folder_id, mailbox_id, total, unread)
    VALUES (NEW.folder_id, NEW.mailbox_id, 1, CASE WHEN NEW.is_read THEN 0 ELSE 1 END)
    ON CONFLICT (folder_id) DO UPDATE SET total = total + 1, unread = unread + excluded.unread;
END;

CREATE TRIGGER archive_folder_counts_update_old AFTER UPDATE ON archive_memberships
WHEN OLD.seen_until IS NULL
BEGIN
    UPDATE archive_folder_counts
    SET total = total - 1, unread = unread - (CASE WHEN OLD.is_read THEN 0 ELSE 1 END)
    WHERE folder_id = OLD.folder_id;
END;

CREATE TRIGGER archive_folder_counts_update_new AFTER UPDATE ON archive_memberships
WHEN NEW.seen_until IS NULL
BEGIN
    INSERT INTO archive_folder_counts (folder_id, mailbox_id, total, unread)
    VALUES (NEW.folder_id, NEW.mailbox_id, 1, CASE WHEN NEW.is_read THEN 0 ELSE 1 END)
    ON CONFLICT (folder_id) DO UPDATE SET total = total + 1, unread = unread + excluded.unread;
END;

CREATE TRIGGER archive_folder_counts_delete AFTER DELETE ON archive_memberships
WHEN OLD.seen_until IS NULL
BEGIN
    UPDATE archive_folder_counts
    SET total = total - 1, unread = unread - (CASE WHEN OLD.is_read THEN 0 ELSE 1 END)
    WHERE folder_id = OLD.folder_id;
END;
