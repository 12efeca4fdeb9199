//! Who writes each shard, and what it last published: the `search_shards` table.
//!
//! A writer holds a shard's lease until `lease_until` and renews it while it works. Each new
//! holder gets a higher fencing token, and every renewal and publish names the token: once the
//! lease has passed to another node, the old writer's statements change nothing, so a writer
//! that paused (or lost its network) past its lease cannot overwrite its successor's publish.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use archive::{ChangeCursor, Shard};
use database::Database;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{Result, SearchError};

/// A shard's write lease, as its holder knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub shard: Shard,
    pub holder: String,
    pub token: i64,
}

/// One stored index file: its length and the blobs its bytes are in, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    pub len: u64,
    pub chunks: Vec<String>,
}

/// A published commit of one shard: tantivy's `meta.json` as the writer had it, and every file
/// that meta names.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub meta: String,
    pub files: BTreeMap<String, StoredFile>,
}

impl Manifest {
    /// How far the published commit has caught up with the store.
    pub fn cursor(&self) -> Result<ChangeCursor> {
        cursor_of_meta(&self.meta)
    }

    pub fn chunks(&self) -> impl Iterator<Item = &str> {
        self.files
            .values()
            .flat_map(|f| f.chunks.iter().map(String::as_str))
    }
}

/// The change cursor in a commit's `meta.json` (its payload); the store's start without one.
pub fn cursor_of_meta(meta: &str) -> Result<ChangeCursor> {
    let value: serde_json::Value =
        serde_json::from_str(meta).map_err(|e| SearchError::BadManifest(e.to_string()))?;
    match value.get("payload").and_then(|p| p.as_str()) {
        None => Ok(ChangeCursor::default()),
        Some(p) => crate::parse_payload(p),
    }
}

/// What a shard has published so far.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Published {
    pub generation: i64,
    pub manifest: Option<Manifest>,
}

/// A row of `search_shards`, for status pages and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardState {
    pub shard: String,
    pub writer: Option<String>,
    pub lease_until_micros: i64,
    pub fencing_token: i64,
    pub generation: i64,
}

pub(crate) fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

fn manifest_of(text: Option<String>) -> Result<Option<Manifest>> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| SearchError::BadManifest(e.to_string())))
        .transpose()
}

/// The shard leases and publishes, in the metadata database (SQLite or PostgreSQL).
#[derive(Debug, Clone)]
pub struct ShardLeases {
    db: Database,
}

impl ShardLeases {
    pub fn new(db: Database) -> Self {
        ShardLeases { db }
    }

    /// Takes the shard's lease for `holder` when nobody holds it or its holder's lease lapsed.
    /// Returns the lease and what the shard has published, or `None` while another holds it.
    pub async fn acquire(
        &self,
        shard: Shard,
        holder: &str,
        period: Duration,
    ) -> Result<Option<(Lease, Published)>> {
        let key = shard.key();
        sqlx::query("INSERT INTO search_shards (shard) VALUES ($1) ON CONFLICT (shard) DO NOTHING")
            .bind(&key)
            .execute(&self.db.pool)
            .await
            .map_err(db_error)?;
        let now = now_micros();
        let row = sqlx::query(
            "UPDATE search_shards SET writer = $2, lease_until = $3, fencing_token = fencing_token + 1 \
             WHERE shard = $1 AND (writer IS NULL OR lease_until < $4) \
             RETURNING fencing_token, generation, manifest",
        )
        .bind(&key)
        .bind(holder)
        .bind(now.saturating_add(micros(period)))
        .bind(now)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_error)?;
        let Some(row) = row else { return Ok(None) };
        let lease = Lease {
            shard,
            holder: holder.to_owned(),
            token: row.try_get("fencing_token").map_err(db_error)?,
        };
        let published = Published {
            generation: row.try_get("generation").map_err(db_error)?,
            manifest: manifest_of(row.try_get("manifest").map_err(db_error)?)?,
        };
        Ok(Some((lease, published)))
    }

    /// Extends the lease. `false`: it passed to another holder, who now writes the shard.
    pub async fn renew(&self, lease: &Lease, period: Duration) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE search_shards SET lease_until = $3 WHERE shard = $1 AND fencing_token = $2 AND writer = $4",
        )
        .bind(lease.shard.key())
        .bind(lease.token)
        .bind(now_micros().saturating_add(micros(period)))
        .bind(&lease.holder)
        .execute(&self.db.pool)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected() == 1)
    }

    /// Makes `manifest` the shard's published commit and extends the lease. `None`: the lease
    /// passed to another holder, and nothing was published.
    pub async fn publish(
        &self,
        lease: &Lease,
        manifest: &Manifest,
        period: Duration,
    ) -> Result<Option<i64>> {
        let text =
            serde_json::to_string(manifest).map_err(|e| SearchError::BadManifest(e.to_string()))?;
        let now = now_micros();
        let row = sqlx::query(
            "UPDATE search_shards SET generation = generation + 1, manifest = $3, published_at = $4, lease_until = $5 \
             WHERE shard = $1 AND fencing_token = $2 AND writer = $6 RETURNING generation",
        )
        .bind(lease.shard.key())
        .bind(lease.token)
        .bind(text)
        .bind(now)
        .bind(now.saturating_add(micros(period)))
        .bind(&lease.holder)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(db_error)?;
        row.map(|r| r.try_get("generation").map_err(db_error))
            .transpose()
    }

    /// Gives the lease up (a clean stop), so another node can take the shard at once.
    pub async fn release(&self, lease: &Lease) -> Result<()> {
        sqlx::query(
            "UPDATE search_shards SET writer = NULL, lease_until = 0 WHERE shard = $1 AND fencing_token = $2 AND writer = $3",
        )
        .bind(lease.shard.key())
        .bind(lease.token)
        .bind(&lease.holder)
        .execute(&self.db.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// The shard's publish count: one small read, to tell whether there is anything new.
    pub async fn generation(&self, shard: Shard) -> Result<i64> {
        let generation: Option<i64> =
            sqlx::query_scalar("SELECT generation FROM search_shards WHERE shard = $1")
                .bind(shard.key())
                .fetch_optional(&self.db.pool)
                .await
                .map_err(db_error)?;
        Ok(generation.unwrap_or(0))
    }

    pub async fn published(&self, shard: Shard) -> Result<Published> {
        let row = sqlx::query("SELECT generation, manifest FROM search_shards WHERE shard = $1")
            .bind(shard.key())
            .fetch_optional(&self.db.pool)
            .await
            .map_err(db_error)?;
        match row {
            None => Ok(Published::default()),
            Some(row) => Ok(Published {
                generation: row.try_get("generation").map_err(db_error)?,
                manifest: manifest_of(row.try_get("manifest").map_err(db_error)?)?,
            }),
        }
    }

    /// Every shard's row.
    pub async fn states(&self) -> Result<Vec<ShardState>> {
        let rows = sqlx::query(
            "SELECT shard, writer, lease_until, fencing_token, generation FROM search_shards ORDER BY shard",
        )
        .fetch_all(&self.db.pool)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                Ok(ShardState {
                    shard: row.try_get("shard")?,
                    writer: row.try_get("writer")?,
                    lease_until_micros: row.try_get("lease_until")?,
                    fencing_token: row.try_get("fencing_token")?,
                    generation: row.try_get("generation")?,
                })
            })
            .collect::<std::result::Result<_, sqlx::Error>>()
            .map_err(db_error)
    }

    /// Notes a chunk about to be uploaded for a publish that has not happened yet: if its writer
    /// dies before publishing, nothing would ever name it, and the shard's next writer deletes
    /// it once the grace has passed. Once published, the clean-up finds it named and forgets it.
    pub async fn note_unpublished(&self, shard: Shard, chunk: &str) -> Result<()> {
        self.retire(shard, &[chunk.to_owned()]).await
    }

    /// Notes chunks that the shard's newest publish no longer names. Each is deleted once the
    /// grace has passed, unless the newest publish by then names it.
    pub async fn retire(&self, shard: Shard, chunks: &[String]) -> Result<()> {
        let now = now_micros();
        for chunk in chunks {
            sqlx::query(
                "INSERT INTO search_shard_retired (shard, chunk, retired_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (shard, chunk) DO NOTHING",
            )
            .bind(shard.key())
            .bind(chunk)
            .bind(now)
            .execute(&self.db.pool)
            .await
            .map_err(db_error)?;
        }
        Ok(())
    }

    /// Chunks retired longer ago than `grace`.
    pub async fn retired_before(&self, shard: Shard, grace: Duration) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT chunk FROM search_shard_retired WHERE shard = $1 AND retired_at < $2",
        )
        .bind(shard.key())
        .bind(now_micros().saturating_sub(micros(grace)))
        .fetch_all(&self.db.pool)
        .await
        .map_err(db_error)
    }

    pub async fn forget_retired(&self, shard: Shard, chunk: &str) -> Result<()> {
        sqlx::query("DELETE FROM search_shard_retired WHERE shard = $1 AND chunk = $2")
            .bind(shard.key())
            .bind(chunk)
            .execute(&self.db.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

fn db_error(e: sqlx::Error) -> SearchError {
    SearchError::Archive(archive::ArchiveError::from(e))
}
