-- An item's latest membership (its folder and read flag now) is looked up by item, newest id
-- first, for every item a page or a search shows. Without this index PostgreSQL walks the
-- primary key backwards and filters, which costs a scan of the table per item at scale.
CREATE INDEX archive_memberships_item_latest ON archive_memberships(item_id, id);
