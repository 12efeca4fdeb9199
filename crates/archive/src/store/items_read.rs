//! Reading items: folder pages by keyset, single records and their raw content.

use sqlx::Row;

use super::{
    detail_from_row, flag, placeholders, valid_at, Archive, Result, IN_CHUNK, ITEM_COLUMNS,
};
use crate::blob::{BlobHash, ByteStream};
use crate::error::ArchiveError;
use crate::types::*;

enum CursorKey {
    Int(i64),
    Text(String),
}

fn encode_cursor(item_id: ItemId, key: &CursorKey) -> String {
    match key {
        CursorKey::Int(v) => format!("{item_id}:{v}"),
        CursorKey::Text(v) => format!("{item_id}:{v}"),
    }
}

fn decode_cursor(cursor: &str, sort: SortKey) -> Result<(ItemId, CursorKey)> {
    let bad = || ArchiveError::BadCursor(cursor.to_owned());
    let (id, key) = cursor.split_once(':').ok_or_else(bad)?;
    let id: i64 = id.parse().map_err(|_| bad())?;
    let key = match sort {
        SortKey::Date | SortKey::Size => CursorKey::Int(key.parse().map_err(|_| bad())?),
        SortKey::Sender | SortKey::Subject => CursorKey::Text(key.to_owned()),
    };
    Ok((id, key))
}

/// A list line from a membership joined with its item (the columns both listings select).
fn summary_from_row(row: &sqlx::any::AnyRow) -> Result<ItemSummary> {
    Ok(ItemSummary {
        id: row.try_get("item_id")?,
        folder_id: row.try_get("folder_id")?,
        kind: ItemKind::parse(&row.try_get::<String, _>("kind")?),
        subject: row.try_get("subject")?,
        sender: row.try_get("sender")?,
        sender_address: row.try_get("sender_address")?,
        date: Timestamp(row.try_get("sent_at")?),
        size: row.try_get("size")?,
        has_attachments: flag(row, "has_attachments")?,
        is_read: row.try_get::<i64, _>("read_flag")? != 0,
    })
}

impl Archive {
    /// One page of a folder's items, now or as of an instant, by keyset on the chosen sort.
    pub async fn list_folder_items(&self, folder: FolderId, query: &ListQuery) -> Result<ItemPage> {
        let column = match query.sort {
            SortKey::Date => "m.sort_date",
            SortKey::Sender => "m.sort_sender",
            SortKey::Subject => "m.sort_subject",
            SortKey::Size => "m.sort_size",
        };
        let (dir, cmp) = if query.descending {
            ("DESC", "<")
        } else {
            ("ASC", ">")
        };
        let (cond, binds) = valid_at("m", query.as_of, 2);
        let mut next_param = 2 + binds.len();
        let after = query
            .after
            .as_deref()
            .map(|c| decode_cursor(c, query.sort))
            .transpose()?;
        let keyset = if after.is_some() {
            let s = format!(
                " AND ({column}, m.item_id) {cmp} (${}, ${})",
                next_param,
                next_param + 1
            );
            next_param += 2;
            s
        } else {
            String::new()
        };
        let limit = query.limit.clamp(1, 1000) as i64;
        let sql = format!(
            "SELECT m.item_id, m.folder_id, CASE WHEN m.is_read THEN 1 ELSE 0 END AS read_flag, m.sort_date, \
             m.sort_sender, m.sort_subject, m.sort_size, i.kind, i.subject, i.sender, i.sender_address, i.size, \
             i.sent_at, CASE WHEN i.has_attachments THEN 1 ELSE 0 END AS has_attachments FROM archive_memberships m JOIN archive_items i ON i.id = m.item_id \
             WHERE m.folder_id = $1 AND {cond}{keyset} ORDER BY {column} {dir}, m.item_id {dir} LIMIT ${next_param}"
        );
        let mut q = sqlx::query(&sql).bind(folder);
        for b in &binds {
            q = q.bind(*b);
        }
        if let Some((id, key)) = &after {
            q = match key {
                CursorKey::Int(v) => q.bind(*v),
                CursorKey::Text(v) => q.bind(v.clone()),
            };
            q = q.bind(*id);
        }
        let rows = q.bind(limit + 1).fetch_all(&self.db.pool).await?;
        let mut items = Vec::with_capacity(rows.len());
        let mut next = None;
        for (n, row) in rows.iter().enumerate() {
            if n as i64 == limit {
                if let Some(last) = items.last() {
                    let last: &ItemSummary = last;
                    let prev = &rows[n - 1];
                    let key = match query.sort {
                        SortKey::Date => CursorKey::Int(prev.try_get("sort_date")?),
                        SortKey::Size => CursorKey::Int(prev.try_get("sort_size")?),
                        SortKey::Sender => CursorKey::Text(prev.try_get("sort_sender")?),
                        SortKey::Subject => CursorKey::Text(prev.try_get("sort_subject")?),
                    };
                    next = Some(encode_cursor(last.id, &key));
                }
                break;
            }
            items.push(summary_from_row(row)?);
        }
        Ok(ItemPage { items, next })
    }

    pub async fn item(&self, id: ItemId) -> Result<Option<ItemDetail>> {
        let sql = format!("SELECT {ITEM_COLUMNS} FROM archive_items i WHERE i.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(detail_from_row).transpose()
    }

    /// Several items in as few queries as the backend allows, in the order of `ids`; ids
    /// without a record are left out.
    pub async fn items(&self, ids: &[ItemId]) -> Result<Vec<ItemDetail>> {
        let mut found = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(super::IN_CHUNK) {
            let sql = format!(
                "SELECT {ITEM_COLUMNS} FROM archive_items i WHERE i.id IN ({})",
                super::placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.db.pool).await? {
                let detail = detail_from_row(&row)?;
                found.insert(detail.id, detail);
            }
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    pub async fn item_by_source_id(
        &self,
        mailbox: MailboxId,
        source_id: &str,
    ) -> Result<Option<ItemDetail>> {
        let sql = format!("SELECT {ITEM_COLUMNS} FROM archive_items i WHERE i.mailbox_id = $1 AND i.source_id = $2");
        let row = sqlx::query(&sql)
            .bind(mailbox)
            .bind(source_id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(detail_from_row).transpose()
    }

    /// Source ids of the mailbox's items of `kind` whose content is exactly the blob `hash`,
    /// live or deleted (the sync engine pairs moves reported with a new id by this).
    pub async fn source_ids_with_content(
        &self,
        mailbox: MailboxId,
        kind: ItemKind,
        hash: &BlobHash,
    ) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT source_id FROM archive_items WHERE blob_hash = $1 AND mailbox_id = $2 AND kind = $3 ORDER BY id",
        )
        .bind(hash.as_str())
        .bind(mailbox)
        .bind(kind.as_str())
        .fetch_all(&self.db.pool)
        .await?)
    }

    /// The item's raw content (MIME, ICS, VCF or JSON) exactly as archived.
    pub async fn read_raw(&self, id: ItemId) -> Result<Vec<u8>> {
        let hash = self.content_address(id).await?;
        Ok(self.blobs.get(&hash).await?)
    }

    /// [`Self::read_raw`] as a stream of checked bytes ([`crate::Blobs::get_stream`]).
    pub async fn read_raw_stream(&self, id: ItemId) -> Result<ByteStream> {
        let hash = self.content_address(id).await?;
        Ok(self.blobs.get_stream(&hash).await?)
    }

    async fn content_address(&self, id: ItemId) -> Result<BlobHash> {
        let hash: String = sqlx::query_scalar("SELECT blob_hash FROM archive_items WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| ArchiveError::UnknownItem(id.to_string()))?;
        Ok(BlobHash::parse(&hash)?)
    }

    /// A calendar item's or contact's stored properties (the `pim` record's JSON); `None` for
    /// messages and for items archived before properties were kept.
    pub async fn read_properties(&self, id: ItemId) -> Result<Option<Vec<u8>>> {
        let hash: Option<Option<String>> =
            sqlx::query_scalar("SELECT properties_hash FROM archive_items WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?;
        let hash = hash.ok_or_else(|| ArchiveError::UnknownItem(id.to_string()))?;
        match hash {
            None => Ok(None),
            Some(h) => Ok(Some(self.blobs.get(&BlobHash::parse(&h)?).await?)),
        }
    }

    /// Every item of one kind in a mailbox, now (`None`) or as of an instant, in any folder,
    /// with its properties: what a calendar or an address book shows at once.
    pub async fn items_of_kind(
        &self,
        mailbox: MailboxId,
        kind: ItemKind,
        as_of: Option<Timestamp>,
    ) -> Result<Vec<KindItem>> {
        let (cond, binds) = valid_at("m", as_of, 3);
        let sql = format!(
            "SELECT m.item_id, m.folder_id, CASE WHEN m.is_read THEN 1 ELSE 0 END AS read_flag, \
             i.kind, i.subject, i.sender, i.sender_address, i.size, i.sent_at, \
             CASE WHEN i.has_attachments THEN 1 ELSE 0 END AS has_attachments, i.properties_hash \
             FROM archive_memberships m JOIN archive_items i ON i.id = m.item_id \
             WHERE m.mailbox_id = $1 AND i.kind = $2 AND {cond} ORDER BY m.item_id"
        );
        let mut q = sqlx::query(&sql).bind(mailbox).bind(kind.as_str());
        for b in &binds {
            q = q.bind(*b);
        }
        let rows = q.fetch_all(&self.db.pool).await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let hash: Option<String> = row.try_get("properties_hash")?;
            let properties = match hash {
                Some(h) => Some(self.blobs.get(&BlobHash::parse(&h)?).await?),
                None => None,
            };
            items.push(KindItem {
                summary: summary_from_row(row)?,
                properties,
            });
        }
        Ok(items)
    }

    /// Calendar items and contacts archived without properties, after `after` (an item id),
    /// in id order: what a backfill reads the records of from their content.
    pub async fn items_without_properties(&self, after: ItemId, limit: i64) -> Result<Vec<ItemId>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM archive_items WHERE properties_hash IS NULL AND kind IN ('calendar', 'contact') \
             AND id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit.clamp(1, 10_000))
        .fetch_all(&self.db.pool)
        .await?)
    }

    /// Keeps properties read afterwards from an item's own content. Not a new version: the
    /// content is the same; an item that already has properties keeps them.
    pub async fn set_missing_properties(&self, id: ItemId, properties: &[u8]) -> Result<bool> {
        let seen_at = self.change_seq().await?;
        let hash = self.blobs.put(properties).await?;
        let (mut tx, _) = self.begin_write().await?;
        self.rewrite_deleted(&mut tx, seen_at, &[properties], std::slice::from_ref(&hash))
            .await?;
        let done = sqlx::query(
            "UPDATE archive_items SET properties_hash = $1 WHERE id = $2 AND properties_hash IS NULL",
        )
        .bind(hash.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// The properties hash of an item, to tell whether a new version changed them.
    pub async fn properties_hash(&self, id: ItemId) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT properties_hash FROM archive_items WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?
                .flatten(),
        )
    }

    /// The raw content as a reader, for streaming a download.
    pub async fn open_raw(&self, id: ItemId) -> Result<std::io::Cursor<Vec<u8>>> {
        Ok(std::io::Cursor::new(self.read_raw(id).await?))
    }
}

impl Archive {
    /// The items of a mailbox with any of these Internet-Message-Ids (compared without angle
    /// brackets), with where each is now.
    pub async fn items_with_message_ids(
        &self,
        mailbox: MailboxId,
        message_ids: &[String],
    ) -> Result<Vec<MessageIdMatch>> {
        let mut wanted: Vec<String> = message_ids
            .iter()
            .map(|id| crate::meta::bare_message_id(id).to_owned())
            .filter(|id| !id.is_empty())
            .collect();
        wanted.sort();
        wanted.dedup();
        let mut out = Vec::new();
        for chunk in wanted.chunks(IN_CHUNK) {
            // Stored ids come from the header, usually without brackets; both forms are asked.
            let mut keys: Vec<String> = chunk.to_vec();
            keys.extend(chunk.iter().map(|id| format!("<{id}>")));
            let sql = format!(
                "SELECT {ITEM_COLUMNS} FROM archive_items i WHERE i.mailbox_id = $1 AND i.message_id IN ({})",
                placeholders(2, keys.len())
            );
            let mut q = sqlx::query(&sql).bind(mailbox);
            for key in &keys {
                q = q.bind(key);
            }
            for row in q.fetch_all(&self.db.pool).await? {
                let item = detail_from_row(&row)?;
                let Some(id) = item.message_id.clone() else {
                    continue;
                };
                out.push(MessageIdMatch {
                    message_id: crate::meta::bare_message_id(&id).to_owned(),
                    item_id: item.id,
                    source_id: item.source_id,
                    folder_id: item.folder_id,
                    is_read: item.is_read,
                    deleted_in_source: item.deleted_in_source,
                });
            }
        }
        Ok(out)
    }
}
