//! What happens to a stored item in the source later: moves, deletes and read flags, each
//! closing one membership interval and opening the next.

use sqlx::{Any, Row, Transaction};

use super::{Archive, Result};
use crate::error::ArchiveError;
use crate::types::*;

impl Archive {
    /// Closes the item's open membership (if any) and opens one in `folder` (if given), carrying
    /// the read flag over unless a new one is given.
    pub(super) async fn relocate(
        tx: &mut Transaction<'static, Any>,
        seq: i64,
        item_id: ItemId,
        folder: Option<FolderId>,
        read: Option<bool>,
        at: Timestamp,
    ) -> Result<()> {
        let latest = sqlx::query(
            "SELECT id, folder_id, CASE WHEN is_read THEN 1 ELSE 0 END AS read_flag FROM archive_memberships \
             WHERE item_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(item_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| ArchiveError::Inconsistent(format!("item {item_id} has no membership")))?;
        let latest_id: i64 = latest.try_get("id")?;
        let was_read = latest.try_get::<i64, _>("read_flag")? != 0;
        sqlx::query("UPDATE archive_memberships SET seen_until = $1 WHERE item_id = $2 AND seen_until IS NULL")
            .bind(at.0)
            .bind(item_id)
            .execute(&mut **tx)
            .await?;
        if let Some(folder) = folder {
            sqlx::query(
                "INSERT INTO archive_memberships (item_id, folder_id, mailbox_id, is_read, seen_from, sort_date, \
                 sort_sender, sort_subject, sort_size) SELECT item_id, $1, mailbox_id, $2, $3, sort_date, \
                 sort_sender, sort_subject, sort_size FROM archive_memberships WHERE id = $4",
            )
            .bind(folder)
            .bind(read.unwrap_or(was_read))
            .bind(at.0)
            .bind(latest_id)
            .execute(&mut **tx)
            .await?;
        }
        sqlx::query("UPDATE archive_items SET change_seq = $1 WHERE id = $2")
            .bind(seq)
            .bind(item_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn item_id_in(
        tx: &mut Transaction<'static, Any>,
        mailbox: MailboxId,
        source_id: &str,
    ) -> Result<ItemId> {
        sqlx::query_scalar("SELECT id FROM archive_items WHERE mailbox_id = $1 AND source_id = $2")
            .bind(mailbox)
            .bind(source_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| ArchiveError::UnknownItem(source_id.to_owned()))
    }

    /// The item moved to another folder in the source. Exchange may give it a new id on the way
    /// (`new_source_id`). A deleted item that reappears is re-added the same way.
    pub async fn move_item(
        &self,
        mailbox: MailboxId,
        source_id: &str,
        to_folder_source_id: &str,
        new_source_id: Option<&str>,
        at: Timestamp,
    ) -> Result<()> {
        let (mut tx, seq) = self.begin_write().await?;
        let id = Self::item_id_in(&mut tx, mailbox, source_id).await?;
        let folder = Self::folder_id_in(&mut tx, mailbox, to_folder_source_id).await?;
        Self::relocate(&mut tx, seq, id, Some(folder), None, at).await?;
        if let Some(new_id) = new_source_id {
            sqlx::query("UPDATE archive_items SET source_id = $1 WHERE id = $2")
                .bind(new_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The item was deleted in the source: its membership interval closes; content stays.
    pub async fn delete_item(
        &self,
        mailbox: MailboxId,
        source_id: &str,
        at: Timestamp,
    ) -> Result<()> {
        let (mut tx, _) = self.begin_write().await?;
        let id = Self::item_id_in(&mut tx, mailbox, source_id).await?;
        sqlx::query("UPDATE archive_memberships SET seen_until = $1 WHERE item_id = $2 AND seen_until IS NULL")
            .bind(at.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The read flag changed in the source. A no-op when it already has that value.
    pub async fn set_read(
        &self,
        mailbox: MailboxId,
        source_id: &str,
        is_read: bool,
        at: Timestamp,
    ) -> Result<()> {
        let (mut tx, seq) = self.begin_write().await?;
        let id = Self::item_id_in(&mut tx, mailbox, source_id).await?;
        let open = sqlx::query(
            "SELECT folder_id, CASE WHEN is_read THEN 1 ELSE 0 END AS read_flag FROM archive_memberships \
             WHERE item_id = $1 AND seen_until IS NULL",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = open {
            let current = row.try_get::<i64, _>("read_flag")? != 0;
            if current != is_read {
                let folder: i64 = row.try_get("folder_id")?;
                Self::relocate(&mut tx, seq, id, Some(folder), Some(is_read), at).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
