-- A calendar item's or contact's properties in the archive's own form (JSON, a blob of its own):
-- EWS MIME of a calendar item drops its attendees, a vCard cannot be restored through EWS, and
-- Graph gives JSON only. NULL for messages and for items archived before this was kept.
ALTER TABLE archive_items ADD COLUMN properties_hash TEXT;
