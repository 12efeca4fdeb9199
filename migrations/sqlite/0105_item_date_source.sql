-- Where an item's date came from (archive::DateSource: header, header_without_zone, received,
-- mbox_from_line, file_time, source, archived), so a date that is only an estimate can be shown
-- as one. NULL for items archived before it was recorded.
ALTER TABLE archive_items ADD COLUMN date_source TEXT;
