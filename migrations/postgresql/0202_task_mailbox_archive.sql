-- A task mailbox points at the archive mailbox its runs write to, by id: the address is what
-- the task was told to sync, the archive mailbox is what holds the result. Set by the first run.
ALTER TABLE sync_task_mailboxes ADD COLUMN archive_mailbox_id BIGINT REFERENCES archive_mailboxes(id);
CREATE INDEX sync_task_mailboxes_archive ON sync_task_mailboxes(archive_mailbox_id);
