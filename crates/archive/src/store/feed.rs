//! The search index's feed: items in change order after a cursor, and how many there are.

use sqlx::Row;

use super::{detail_from_row, Archive, Result, ITEM_COLUMNS};
use crate::types::*;

impl Archive {
    /// Items changed after `cursor`, in change order: what the search index has not seen yet.
    pub async fn changes_since(
        &self,
        cursor: ChangeCursor,
        limit: u32,
    ) -> Result<Vec<IndexRecord>> {
        self.shard_changes_since(Shard::WHOLE, cursor, limit).await
    }

    /// [`Archive::changes_since`] for the mailboxes of one search shard.
    pub async fn shard_changes_since(
        &self,
        shard: Shard,
        cursor: ChangeCursor,
        limit: u32,
    ) -> Result<Vec<IndexRecord>> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM archive_items i WHERE (i.change_seq > $1 OR (i.change_seq = $2 AND i.id > $3)) \
             AND i.mailbox_id % $5 = $6 ORDER BY i.change_seq, i.id LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(cursor.seq)
            .bind(cursor.seq)
            .bind(cursor.item_id)
            .bind(limit as i64)
            .bind(i64::from(shard.of.max(1)))
            .bind(i64::from(shard.number))
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(IndexRecord {
                    cursor: ChangeCursor {
                        seq: row.try_get("change_seq")?,
                        item_id: row.try_get("id")?,
                    },
                    item: detail_from_row(row)?,
                })
            })
            .collect()
    }

    /// How many items [`Archive::changes_since`] has after `cursor`, without reading them: how far
    /// a search index that stopped there is behind. One range scan of the change-order index,
    /// short when the index is nearly caught up.
    pub async fn count_changes_since(&self, cursor: ChangeCursor) -> Result<i64> {
        self.count_shard_changes_since(Shard::WHOLE, cursor).await
    }

    /// [`Archive::count_changes_since`] for the mailboxes of one search shard.
    pub async fn count_shard_changes_since(
        &self,
        shard: Shard,
        cursor: ChangeCursor,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM archive_items i WHERE (i.change_seq > $1 OR (i.change_seq = $2 AND i.id > $3)) \
             AND i.mailbox_id % $4 = $5",
        )
        .bind(cursor.seq)
        .bind(cursor.seq)
        .bind(cursor.item_id)
        .bind(i64::from(shard.of.max(1)))
        .bind(i64::from(shard.number))
        .fetch_one(&self.db.pool)
        .await?)
    }
}
