//! Counts and consistency checks over the whole store.

use std::collections::HashMap;

use sqlx::Row;

use super::{Archive, Result};
use crate::types::*;

impl Archive {
    /// Number of item records, across mailboxes or in one.
    pub async fn count_items(&self, mailbox: Option<MailboxId>) -> Result<i64> {
        let count: i64 = match mailbox {
            Some(m) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM archive_items WHERE mailbox_id = $1")
                    .bind(m)
                    .fetch_one(&self.db.pool)
                    .await?
            }
            None => {
                sqlx::query_scalar("SELECT COUNT(*) FROM archive_items")
                    .fetch_one(&self.db.pool)
                    .await?
            }
        };
        Ok(count)
    }

    /// Every distinct blob address that a record points at, for consistency checks.
    pub async fn referenced_blobs(&self) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT DISTINCT blob_hash FROM archive_items ORDER BY blob_hash")
                .fetch_all(&self.db.pool)
                .await?,
        )
    }

    /// Item counts and archived size of every mailbox, for the explorer's list.
    pub async fn mailbox_totals(&self) -> Result<HashMap<MailboxId, (i64, i64)>> {
        let rows = sqlx::query(
            "SELECT mailbox_id, COUNT(*) AS items, CAST(SUM(size) AS BIGINT) AS bytes FROM archive_items GROUP BY mailbox_id",
        )
        .fetch_all(&self.db.pool)
        .await?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in &rows {
            let bytes: Option<i64> = row.try_get("bytes")?;
            out.insert(
                row.try_get("mailbox_id")?,
                (row.try_get("items")?, bytes.unwrap_or(0)),
            );
        }
        Ok(out)
    }
}
