//! Storing items in batches: blobs first, then records and memberships a few statements per batch.

use std::collections::{HashMap, HashSet};

use sqlx::{Any, Row, Transaction};

use super::{placeholders, Archive, Result, IN_CHUNK};
use crate::blob::BlobHash;
use crate::error::ArchiveError;
use crate::meta::{parse_message, parse_message_and_body, subject_sort_key};
use crate::types::*;

/// Rows per multi-row INSERT: 45 x 20 columns stays under SQLite's historical limit of 999
/// bound parameters, and far under PostgreSQL's.
const ITEM_ROWS_PER_INSERT: usize = 45;
const MEMBERSHIP_ROWS_PER_INSERT: usize = 100;

/// A new item record, ready to insert.
struct ItemRow<'a> {
    item: &'a PutItem,
    hash: &'a BlobHash,
    properties: Option<&'a BlobHash>,
    meta: &'a ItemMeta,
    parsed: bool,
    folder: FolderId,
    date: Timestamp,
    date_source: DateSource,
}

fn list_to_text(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

impl Archive {
    pub async fn put_item(&self, item: PutItem) -> Result<PutOutcome> {
        let mut out = self.put_items(vec![item]).await?;
        out.pop()
            .ok_or_else(|| ArchiveError::Inconsistent("no outcome for a put".into()))
    }

    /// Writes again, under the write lock, any of these blobs that a purge deleted after
    /// change `seen_at` (when the caller found them present).
    pub(super) async fn rewrite_deleted(
        &self,
        tx: &mut Transaction<'static, Any>,
        seen_at: i64,
        raws: &[&[u8]],
        hashes: &[BlobHash],
    ) -> Result<()> {
        let refs: Vec<&BlobHash> = hashes.iter().collect();
        let gone = Self::deleted_since(tx, seen_at, &refs).await?;
        if gone.is_empty() {
            return Ok(());
        }
        let again: Vec<&[u8]> = raws
            .iter()
            .zip(hashes)
            .filter(|(_, h)| gone.contains(h.as_str()))
            .map(|(raw, _)| *raw)
            .collect();
        tracing::info!(
            blobs = again.len(),
            "writing again blobs a purge deleted meanwhile"
        );
        self.blobs.put_many(&again).await?;
        Ok(())
    }

    /// Stores items as the source has them now, in one transaction. Blobs are written and made
    /// durable first, so no record ever points at missing content. Idempotent per
    /// (mailbox, source_id): an existing item only has its membership brought up to date.
    pub async fn put_items(&self, items: Vec<PutItem>) -> Result<Vec<PutOutcome>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        // A purge may delete a blob between the moment put_many finds it present and this
        // batch's transaction: the transaction checks for deletions after this change number.
        let seen_at = self.change_seq().await?;
        let raws: Vec<&[u8]> = items.iter().map(|i| i.raw.as_slice()).collect();
        let hashes = self.blobs.put_many(&raws).await?;
        let props: Vec<&[u8]> = items
            .iter()
            .filter_map(|i| i.properties.as_deref())
            .collect();
        let mut prop_hashes = self.blobs.put_many(&props).await?.into_iter();
        let prop_hashes: Vec<Option<BlobHash>> = items
            .iter()
            .map(|i| i.properties.as_ref().and_then(|_| prop_hashes.next()))
            .collect();
        // A message's body text comes from the same parse when an indexer in this process
        // takes it (see `fresh`).
        let with_bodies = self.fresh.wanted();
        let read = |raw: &[u8]| -> Option<(ItemMeta, Option<String>)> {
            if with_bodies {
                parse_message_and_body(raw).map(|(meta, body)| (meta, Some(body)))
            } else {
                parse_message(raw).map(|meta| (meta, None))
            }
        };
        let (metas, bodies): (Vec<(ItemMeta, bool)>, Vec<Option<String>>) = items
            .iter()
            .map(|i| match (&i.meta, i.kind) {
                (Some(m), _) => ((m.clone(), true), None),
                (None, ItemKind::Message) => match read(&i.raw) {
                    Some((m, body)) => ((m, true), body),
                    None => ((ItemMeta::default(), false), None),
                },
                (None, _) => ((ItemMeta::default(), true), None),
            })
            .unzip();

        let (mut tx, seq) = self.begin_write().await?;
        self.rewrite_deleted(&mut tx, seen_at, &raws, &hashes)
            .await?;
        let props: Vec<&[u8]> = items
            .iter()
            .filter_map(|i| i.properties.as_deref())
            .collect();
        let prop_list: Vec<BlobHash> = prop_hashes.iter().flatten().cloned().collect();
        self.rewrite_deleted(&mut tx, seen_at, &props, &prop_list)
            .await?;
        let mut folders: HashMap<(MailboxId, &str), FolderId> = HashMap::new();
        let mut item_folders = Vec::with_capacity(items.len());
        for item in &items {
            let key = (item.mailbox_id, item.folder_source_id.as_str());
            let folder = match folders.get(&key) {
                Some(f) => *f,
                None => {
                    let f = Self::folder_id_in(&mut tx, item.mailbox_id, &item.folder_source_id)
                        .await?;
                    folders.insert(key, f);
                    f
                }
            };
            item_folders.push(folder);
        }

        // Which records exist already, and where each of them is now: a few queries per batch
        // rather than a few per item.
        let mut ids = Self::existing_ids(&mut tx, &items).await?;
        let mut open_folder = Self::open_folders(&mut tx, ids.values().copied().collect()).await?;

        // New records (the first occurrence of a key) are inserted together, several rows per
        // statement; the memberships follow in item order.
        let mut created = vec![false; items.len()];
        let mut new_rows = Vec::new();
        let mut new_keys = HashSet::new();
        for (n, item) in items.iter().enumerate() {
            let key = (item.mailbox_id, item.source_id.as_str());
            if !ids.contains_key(&key) && new_keys.insert(key) {
                created[n] = true;
                new_rows.push(n);
            }
        }
        let mut rows: Vec<ItemRow<'_>> = Vec::with_capacity(new_rows.len());
        for &n in &new_rows {
            let item = &items[n];
            let (meta, parsed) = &metas[n];
            let (date, date_source) = match (meta.date, item.fallback_date) {
                (Some(date), _) => (date, meta.date_source),
                (None, Some(fallback)) => (fallback.at, fallback.source),
                (None, None) => (item.at, DateSource::Archived),
            };
            rows.push(ItemRow {
                item,
                hash: &hashes[n],
                properties: prop_hashes[n].as_ref(),
                meta,
                parsed: *parsed,
                folder: item_folders[n],
                date,
                date_source,
            });
        }
        for chunk in rows.chunks(ITEM_ROWS_PER_INSERT) {
            for (key, id) in Self::insert_items(&mut tx, seq, chunk).await? {
                ids.insert(key, id);
            }
        }
        let mut members = Vec::with_capacity(rows.len());
        for row in &rows {
            let id = *ids
                .get(&(row.item.mailbox_id, row.item.source_id.as_str()))
                .ok_or_else(|| {
                    ArchiveError::Inconsistent(format!("no id for new item {}", row.item.source_id))
                })?;
            open_folder.insert(id, row.folder);
            members.push((id, row));
        }
        for chunk in members.chunks(MEMBERSHIP_ROWS_PER_INSERT) {
            Self::insert_memberships(&mut tx, chunk).await?;
        }

        // Everything else, in batch order: records that existed, and repeats within the batch.
        let mut outcomes = Vec::with_capacity(items.len());
        for (n, item) in items.iter().enumerate() {
            let key = (item.mailbox_id, item.source_id.as_str());
            let id = *ids.get(&key).ok_or_else(|| {
                ArchiveError::Inconsistent(format!("no id for item {}", item.source_id))
            })?;
            if created[n] {
                outcomes.push(PutOutcome::Created(id));
                continue;
            }
            let folder = item_folders[n];
            if open_folder.get(&id) != Some(&folder) {
                Self::relocate(&mut tx, seq, id, Some(folder), None, item.at).await?;
                open_folder.insert(id, folder);
            }
            outcomes.push(PutOutcome::Existing(id));
        }
        tx.commit().await?;
        if with_bodies {
            self.fresh
                .keep(outcomes.iter().zip(bodies).filter_map(|(outcome, body)| {
                    match (outcome, body) {
                        (PutOutcome::Created(id), Some(body)) => Some((*id, body)),
                        _ => None,
                    }
                }));
        }
        Ok(outcomes)
    }

    /// The ids of the batch's items that have a record already, by (mailbox, source id).
    async fn existing_ids<'a>(
        tx: &mut Transaction<'static, Any>,
        items: &'a [PutItem],
    ) -> Result<HashMap<(MailboxId, &'a str), ItemId>> {
        let mut by_mailbox: HashMap<MailboxId, Vec<&'a str>> = HashMap::new();
        for item in items {
            by_mailbox
                .entry(item.mailbox_id)
                .or_default()
                .push(item.source_id.as_str());
        }
        let mut ids = HashMap::new();
        for (mailbox, mut sources) in by_mailbox {
            sources.sort_unstable();
            sources.dedup();
            for chunk in sources.chunks(IN_CHUNK) {
                let sql = format!(
                    "SELECT id, source_id FROM archive_items WHERE mailbox_id = $1 AND source_id IN ({})",
                    placeholders(2, chunk.len())
                );
                let mut q = sqlx::query(&sql).bind(mailbox);
                for source in chunk {
                    q = q.bind(*source);
                }
                let wanted: HashSet<&'a str> = chunk.iter().copied().collect();
                for row in q.fetch_all(&mut **tx).await? {
                    let source: String = row.try_get("source_id")?;
                    if let Some(&s) = wanted.get(source.as_str()) {
                        ids.insert((mailbox, s), row.try_get::<i64, _>("id")?);
                    }
                }
            }
        }
        Ok(ids)
    }

    /// The folder of each item's open membership, for items that have one.
    async fn open_folders(
        tx: &mut Transaction<'static, Any>,
        mut item_ids: Vec<ItemId>,
    ) -> Result<HashMap<ItemId, FolderId>> {
        item_ids.sort_unstable();
        item_ids.dedup();
        let mut open = HashMap::new();
        for chunk in item_ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT item_id, folder_id FROM archive_memberships WHERE seen_until IS NULL AND item_id IN ({}) \
                 ORDER BY id",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            for row in q.fetch_all(&mut **tx).await? {
                open.insert(row.try_get("item_id")?, row.try_get("folder_id")?);
            }
        }
        Ok(open)
    }

    async fn insert_items<'a>(
        tx: &mut Transaction<'static, Any>,
        seq: i64,
        rows: &[ItemRow<'a>],
    ) -> Result<Vec<((MailboxId, &'a str), ItemId)>> {
        const COLUMNS: usize = 20;
        let values: Vec<String> = (0..rows.len())
            .map(|r| format!("({})", placeholders(1 + r * COLUMNS, COLUMNS)))
            .collect();
        let sql = format!(
            "INSERT INTO archive_items (mailbox_id, source_id, kind, blob_hash, size, subject, sender, \
             sender_address, to_list, cc_list, message_id, sent_at, has_attachments, attachments, flags, \
             parsed, change_seq, created_at, properties_hash, date_source) VALUES {} RETURNING id, mailbox_id, source_id",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for row in rows {
            let (item, meta) = (row.item, row.meta);
            q = q
                .bind(item.mailbox_id)
                .bind(item.source_id.as_str())
                .bind(item.kind.as_str())
                .bind(row.hash.as_str())
                .bind(item.raw.len() as i64)
                .bind(meta.subject.as_str())
                .bind(meta.sender.as_str())
                .bind(meta.sender_address.as_str())
                .bind(list_to_text(&meta.to))
                .bind(list_to_text(&meta.cc))
                .bind(meta.message_id.as_deref())
                .bind(row.date.0)
                .bind(!meta.attachments.is_empty())
                .bind(serde_json::to_string(&meta.attachments).unwrap_or_else(|_| "[]".into()))
                .bind(list_to_text(&item.flags))
                .bind(row.parsed)
                .bind(seq)
                .bind(item.at.0)
                .bind(row.properties.map(|h| h.as_str().to_string()))
                .bind(row.date_source.as_str());
        }
        let mut out = Vec::with_capacity(rows.len());
        for returned in q.fetch_all(&mut **tx).await? {
            let mailbox: i64 = returned.try_get("mailbox_id")?;
            let source: String = returned.try_get("source_id")?;
            let row = rows
                .iter()
                .find(|r| r.item.mailbox_id == mailbox && r.item.source_id == source)
                .ok_or_else(|| {
                    ArchiveError::Inconsistent(format!("insert returned unknown item {source}"))
                })?;
            out.push((
                (mailbox, row.item.source_id.as_str()),
                returned.try_get::<i64, _>("id")?,
            ));
        }
        if out.len() != rows.len() {
            return Err(ArchiveError::Inconsistent(format!(
                "inserted {} of {} items",
                out.len(),
                rows.len()
            )));
        }
        Ok(out)
    }

    async fn insert_memberships(
        tx: &mut Transaction<'static, Any>,
        members: &[(ItemId, &ItemRow<'_>)],
    ) -> Result<()> {
        const COLUMNS: usize = 9;
        let values: Vec<String> = (0..members.len())
            .map(|r| format!("({})", placeholders(1 + r * COLUMNS, COLUMNS)))
            .collect();
        let sql = format!(
            "INSERT INTO archive_memberships (item_id, folder_id, mailbox_id, is_read, seen_from, sort_date, \
             sort_sender, sort_subject, sort_size) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (id, row) in members {
            q = q
                .bind(*id)
                .bind(row.folder)
                .bind(row.item.mailbox_id)
                .bind(row.item.is_read)
                .bind(row.item.at.0)
                .bind(row.date.0)
                .bind(row.meta.sender.to_lowercase())
                .bind(subject_sort_key(&row.meta.subject))
                .bind(row.item.raw.len() as i64);
        }
        q.execute(&mut **tx).await?;
        Ok(())
    }
}
