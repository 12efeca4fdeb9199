//! What the sync keeps per archive mailbox beside its content: the sync states of folders and
//! items, the PidTagSearchKey of each message (to pair moves that change ids), and the failed
//! list (`0201_sync_items.sql`). The archive target writes through this; only this file has
//! their SQL.

use archive::{MailboxId, Timestamp};
use database::Database;
use mailsync::FailedItem;
use sqlx::Row;

pub struct MailboxRecords {
    db: Database,
    mailbox: MailboxId,
}

type Result<T> = std::result::Result<T, sqlx::Error>;

impl MailboxRecords {
    pub fn new(db: Database, mailbox: MailboxId) -> MailboxRecords {
        MailboxRecords { db, mailbox }
    }

    pub async fn load_state(&self, key: &str) -> Result<Option<String>> {
        let row =
            sqlx::query("SELECT state FROM sync_states WHERE mailbox_id = $1 AND state_key = $2")
                .bind(self.mailbox)
                .bind(key)
                .fetch_optional(&self.db.pool)
                .await?;
        row.map(|r| r.try_get::<String, _>("state")).transpose()
    }

    pub async fn save_state(&self, key: &str, state: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO sync_states (mailbox_id, state_key, state, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (mailbox_id, state_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(self.mailbox)
        .bind(key)
        .bind(state)
        .bind(Timestamp::now().0)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    pub async fn delete_state(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM sync_states WHERE mailbox_id = $1 AND state_key = $2")
            .bind(self.mailbox)
            .bind(key)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// Search keys of newly stored messages, `(source id, key)`, in one transaction.
    pub async fn put_search_keys(&self, keys: &[(String, String)]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.pool.begin().await?;
        for (id, key) in keys {
            sqlx::query(
                "INSERT INTO sync_item_keys (mailbox_id, source_id, search_key) VALUES ($1, $2, $3) \
                 ON CONFLICT (mailbox_id, source_id) DO UPDATE SET search_key = excluded.search_key",
            )
            .bind(self.mailbox)
            .bind(id)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// A message moved and got a new id: its search key follows it.
    pub async fn rename_search_key(&self, old_id: &str, new_id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE sync_item_keys SET source_id = $1 WHERE mailbox_id = $2 AND source_id = $3",
        )
        .bind(new_id)
        .bind(self.mailbox)
        .bind(old_id)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    pub async fn ids_with_search_key(&self, key: &str) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT source_id FROM sync_item_keys WHERE mailbox_id = $1 AND search_key = $2 ORDER BY source_id",
        )
        .bind(self.mailbox)
        .bind(key)
        .fetch_all(&self.db.pool)
        .await
    }

    pub async fn record_failed(&self, item: &FailedItem) -> Result<()> {
        let now = Timestamp::now().0;
        sqlx::query(
            "INSERT INTO sync_failed_items (mailbox_id, source_item_id, folder_source_id, is_read, search_key, reason, attempts, first_failed_at, last_failed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) \
             ON CONFLICT (mailbox_id, source_item_id) DO UPDATE SET folder_source_id = excluded.folder_source_id, \
             is_read = excluded.is_read, search_key = excluded.search_key, reason = excluded.reason, \
             attempts = sync_failed_items.attempts + 1, last_failed_at = excluded.last_failed_at",
        )
        .bind(self.mailbox)
        .bind(&item.item_id)
        .bind(&item.folder_id)
        .bind(i64::from(item.is_read))
        .bind(item.search_key.as_deref())
        .bind(&item.reason)
        .bind(now)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    pub async fn clear_failed(&self, source_item_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM sync_failed_items WHERE mailbox_id = $1 AND source_item_id = $2")
            .bind(self.mailbox)
            .bind(source_item_id)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    pub async fn failed(&self) -> Result<Vec<FailedItem>> {
        let rows = sqlx::query(
            "SELECT source_item_id, folder_source_id, is_read, search_key, reason, attempts FROM sync_failed_items \
             WHERE mailbox_id = $1 ORDER BY first_failed_at, source_item_id",
        )
        .bind(self.mailbox)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FailedItem {
                    item_id: r.try_get("source_item_id")?,
                    folder_id: r.try_get("folder_source_id")?,
                    is_read: r.try_get::<i64, _>("is_read")? != 0,
                    search_key: r.try_get("search_key")?,
                    reason: r.try_get("reason")?,
                    attempts: u32::try_from(r.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                })
            })
            .collect()
    }
}
