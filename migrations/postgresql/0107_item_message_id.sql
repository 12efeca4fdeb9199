-- Items by Internet-Message-Id within a mailbox: how the legacy agent's submissions find the
-- content they describe.
CREATE INDEX archive_items_message_id ON archive_items(mailbox_id, message_id);
