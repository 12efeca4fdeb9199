-- The folder tree as of an instant counts, per folder, the memberships valid then. With the
-- instant's columns and the read flag in the index that groups by folder, the count reads the
-- index alone, in folder order, instead of visiting every membership row of the mailbox. It
-- replaces the narrower (mailbox_id, folder_id) index, of which it is an extension.
CREATE INDEX archive_memberships_counts ON archive_memberships(mailbox_id, folder_id, seen_from, seen_until, is_read);
DROP INDEX archive_memberships_mailbox;
