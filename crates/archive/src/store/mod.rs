//! The archive store, split by concern into `impl Archive` blocks: mailboxes, folders and their
//! tree, item writes (batch puts, then moves, deletes and flags), item reads, past states, the
//! search index's feed, and counts. What several of them share (the struct, the write
//! transaction, row decoding, interval conditions) lives here.

mod feed;
mod folders;
mod fresh;
mod history;
mod items_put;
mod items_read;
mod items_update;
mod mailboxes;
mod retention;

pub use retention::read_retention_policy;
mod state;
mod stats;
mod tree;

use database::Database;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::blob::Blobs;
use crate::error::ArchiveError;
use crate::types::*;

type Result<T> = std::result::Result<T, ArchiveError>;

/// The archive store: metadata in SQL, content in blobs. Cheap to clone.
///
/// Every method that writes starts its transaction by bumping the `change_seq` counter: that takes
/// the write lock first (no lock upgrade deadlocks on SQLite) and makes change numbers commit in
/// order, which the search indexer relies on to catch up without gaps.
#[derive(Debug, Clone)]
pub struct Archive {
    db: Database,
    blobs: Blobs,
    /// Shared by every clone: the writer and the indexer of a process hold clones.
    fresh: std::sync::Arc<fresh::FreshBodies>,
}

/// Columns of an item, its latest membership folded in. `i` is archive_items.
/// Keys per `IN (...)` lookup: well below every backend's limit on bound parameters.
const IN_CHUNK: usize = 500;

/// `$first, $first+1, ...`, `count` of them.
fn placeholders(first: usize, count: usize) -> String {
    let mut out = String::with_capacity(count * 5);
    for n in first..first + count {
        if n > first {
            out.push_str(", ");
        }
        out.push('$');
        out.push_str(&n.to_string());
    }
    out
}

const ITEM_COLUMNS: &str = "i.id, i.mailbox_id, i.source_id, i.kind, i.blob_hash, i.size, i.subject, \
    i.sender, i.sender_address, i.to_list, i.cc_list, i.message_id, i.sent_at, i.date_source, \
    CASE WHEN i.has_attachments THEN 1 ELSE 0 END AS has_attachments, i.attachments, i.flags, \
    CASE WHEN i.parsed THEN 1 ELSE 0 END AS parsed, i.change_seq, i.created_at, \
    (SELECT m.folder_id FROM archive_memberships m WHERE m.item_id = i.id ORDER BY m.id DESC LIMIT 1) AS cur_folder, \
    (SELECT CASE WHEN m.is_read THEN 1 ELSE 0 END FROM archive_memberships m WHERE m.item_id = i.id ORDER BY m.id DESC LIMIT 1) AS cur_read, \
    (SELECT CASE WHEN m.seen_until IS NULL THEN 0 ELSE 1 END FROM archive_memberships m WHERE m.item_id = i.id ORDER BY m.id DESC LIMIT 1) AS cur_closed";

/// The Any driver cannot decode SQLite's BOOLEAN columns, so every boolean is selected as
/// `CASE WHEN col THEN 1 ELSE 0 END` and read back as an integer.
fn flag(row: &AnyRow, column: &str) -> Result<bool> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

fn list_from_text(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn detail_from_row(row: &AnyRow) -> Result<ItemDetail> {
    let attachments: String = row.try_get("attachments")?;
    let cur_closed: Option<i64> = row.try_get("cur_closed")?;
    let cur_read: Option<i64> = row.try_get("cur_read")?;
    Ok(ItemDetail {
        id: row.try_get("id")?,
        mailbox_id: row.try_get("mailbox_id")?,
        source_id: row.try_get("source_id")?,
        kind: ItemKind::parse(&row.try_get::<String, _>("kind")?),
        blob_hash: row.try_get("blob_hash")?,
        size: row.try_get("size")?,
        subject: row.try_get("subject")?,
        sender: row.try_get("sender")?,
        sender_address: row.try_get("sender_address")?,
        to: list_from_text(&row.try_get::<String, _>("to_list")?),
        cc: list_from_text(&row.try_get::<String, _>("cc_list")?),
        message_id: row.try_get("message_id")?,
        date: Timestamp(row.try_get("sent_at")?),
        date_source: row
            .try_get::<Option<String>, _>("date_source")?
            .and_then(|s| DateSource::parse(&s)),
        has_attachments: flag(row, "has_attachments")?,
        attachments: serde_json::from_str(&attachments).unwrap_or_default(),
        flags: list_from_text(&row.try_get::<String, _>("flags")?),
        parsed: flag(row, "parsed")?,
        folder_id: row.try_get("cur_folder")?,
        is_read: cur_read.unwrap_or(0) != 0,
        deleted_in_source: cur_closed.unwrap_or(1) != 0,
        archived_at: Timestamp(row.try_get("created_at")?),
    })
}

/// The SQL condition for "valid at this instant" on a table aliased `alias`, and its binds.
fn valid_at(alias: &str, as_of: Option<Timestamp>, first_param: usize) -> (String, Vec<i64>) {
    match as_of {
        None => (format!("{alias}.seen_until IS NULL"), Vec::new()),
        Some(t) => (
            format!(
                "{alias}.seen_from <= ${} AND ({alias}.seen_until IS NULL OR {alias}.seen_until > ${})",
                first_param,
                first_param + 1
            ),
            vec![t.0, t.0],
        ),
    }
}

impl Archive {
    pub fn new(db: Database, blobs: Blobs) -> Self {
        Archive {
            db,
            blobs,
            fresh: Default::default(),
        }
    }

    /// The store's change sequence: it grows with every write, in any process sharing the
    /// database, so anything computed at one value is still true while it is unchanged.
    pub async fn change_seq(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT value FROM archive_counters WHERE name = 'change_seq'")
                .fetch_one(&self.db.pool)
                .await?,
        )
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub fn blobs(&self) -> &Blobs {
        &self.blobs
    }

    async fn begin_write(&self) -> Result<(Transaction<'static, Any>, i64)> {
        let mut tx = self.db.pool.begin().await?;
        let seq: i64 = sqlx::query_scalar(
            "UPDATE archive_counters SET value = value + 1 WHERE name = 'change_seq' RETURNING value",
        )
        .fetch_one(&mut *tx)
        .await?;
        Ok((tx, seq))
    }
}
