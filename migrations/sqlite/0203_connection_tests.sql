-- The last "Test connection" of each server connection: a sync task may be enabled only on a
-- connection whose last test passed. A change of settings clears it.
ALTER TABLE sync_connections ADD COLUMN tested_at BIGINT;
ALTER TABLE sync_connections ADD COLUMN test_passed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sync_connections ADD COLUMN test_summary TEXT;
