//! Counts and consistency checks over the whole store.

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
}
