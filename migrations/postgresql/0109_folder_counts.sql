-- Each folder's total and unread count now, kept by the database as memberships open, close,
-- change or go (a sync's write, a move, a read change, a purge), in the same transaction as the
-- change: the folder tree after a write reads a few rows instead of counting the mailbox.
CREATE TABLE archive_folder_counts (
    folder_id  BIGINT PRIMARY KEY,
    mailbox_id BIGINT NOT NULL,
    total      BIGINT NOT NULL,
    unread     BIGINT NOT NULL
);
CREATE INDEX archive_folder_counts_mailbox ON archive_folder_counts(mailbox_id);

INSERT INTO archive_folder_counts (folder_id, mailbox_id, total, unread)
SELECT folder_id, MIN(mailbox_id), COUNT(*), SUM(CASE WHEN is_read THEN 0 ELSE 1 END)
FROM archive_memberships WHERE seen_until IS NULL GROUP BY folder_id;

-- An open membership counts in its folder; a closed one does not.
CREATE FUNCTION archive_folder_counts_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.seen_until IS NULL THEN
        UPDATE archive_folder_counts
        SET total = total - 1, unread = unread - (CASE WHEN OLD.is_read THEN 0 ELSE 1 END)
        WHERE folder_id = OLD.folder_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.seen_until IS NULL THEN
        INSERT INTO archive_folder_counts (folder_id, mailbox_id, total, unread)
        VALUES (NEW.folder_id, NEW.mailbox_id, 1, CASE WHEN NEW.is_read THEN 0 ELSE 1 END)
        ON CONFLICT (folder_id) DO UPDATE
        SET total = archive_folder_counts.total + 1,
            unread = archive_folder_counts.unread + EXCLUDED.unread;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER archive_folder_counts_change AFTER INSERT OR UPDATE OR DELETE ON archive_memberships
FOR EACH ROW EXECUTE FUNCTION archive_folder_counts_change();
