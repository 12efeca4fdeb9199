-- The search index is split into shards by mailbox (mailbox_id mod the shard count). Each shard
-- has one writer at a time: the node holding `writer` until `lease_until` (Unix microseconds).
-- Every new holder gets a higher `fencing_token`; a publish names the token it holds, so a writer
-- that lost its lease without knowing cannot publish over its successor. `manifest` (JSON) is the
-- shard's last published commit: tantivy's meta.json and, per file, the blob chunks it is stored
-- in; `generation` counts publishes, so searching nodes notice a new one with one small read.
CREATE TABLE search_shards (
    shard         TEXT    PRIMARY KEY,
    writer        TEXT,
    lease_until   BIGINT  NOT NULL DEFAULT 0,
    fencing_token BIGINT  NOT NULL DEFAULT 0,
    generation    BIGINT  NOT NULL DEFAULT 0,
    manifest      TEXT,
    published_at  BIGINT
);

-- Chunks a newer publish no longer names. They are deleted from the object store once no
-- searching node can still be fetching the generation that named them.
CREATE TABLE search_shard_retired (
    shard      TEXT    NOT NULL,
    chunk      TEXT    NOT NULL,
    retired_at BIGINT  NOT NULL,
    PRIMARY KEY (shard, chunk)
);
