//! A mailbox as it was at an instant.

use sqlx::Row;

use super::{valid_at, Archive, Result};
use crate::types::*;

impl Archive {
    /// Folder tree and every item's folder and read flag, as the mailbox was at `at`.
    pub async fn state_at(&self, mailbox: MailboxId, at: Timestamp) -> Result<MailboxState> {
        let folders = self.folder_tree(mailbox, Some(at)).await?;
        let (cond, binds) = valid_at("m", Some(at), 2);
        let sql = format!(
            "SELECT m.item_id, m.folder_id, CASE WHEN m.is_read THEN 1 ELSE 0 END AS read_flag, i.source_id \
             FROM archive_memberships m JOIN archive_items i ON i.id = m.item_id \
             WHERE m.mailbox_id = $1 AND {cond} ORDER BY m.item_id"
        );
        let mut q = sqlx::query(&sql).bind(mailbox);
        for b in &binds {
            q = q.bind(*b);
        }
        let items = q
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(StateItem {
                    item_id: row.try_get("item_id")?,
                    source_id: row.try_get("source_id")?,
                    folder_id: row.try_get("folder_id")?,
                    is_read: row.try_get::<i64, _>("read_flag")? != 0,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(MailboxState { at, folders, items })
    }
}
