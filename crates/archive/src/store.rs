use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use database::Database;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::blob::{BlobHash, Blobs};
use crate::error::ArchiveError;
use crate::meta::{parse_message, subject_sort_key};
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
    /// Current folder trees with their counts, each valid while the store's change sequence is
    /// the one it was computed at: counting a 100,000-item mailbox costs tens of milliseconds,
    /// and the portal asks for the tree on every page. Shared by clones.
    tree_cache: Arc<Mutex<TreeCache>>,
}

/// Per mailbox: the change sequence a tree was computed at, and the tree.
type TreeCache = HashMap<MailboxId, (i64, Vec<FolderNode>)>;

/// Columns of an item, its latest membership folded in. `i` is archive_items.
const ITEM_COLUMNS: &str = "i.id, i.mailbox_id, i.source_id, i.kind, i.blob_hash, i.size, i.subject, \
    i.sender, i.sender_address, i.to_list, i.cc_list, i.message_id, i.sent_at, \
    CASE WHEN i.has_attachments THEN 1 ELSE 0 END AS has_attachments, i.attachments, i.flags, \
    CASE WHEN i.parsed THEN 1 ELSE 0 END AS parsed, i.change_seq, i.created_at, \
    (SELECT m.folder_id FROM archive_memberships m WHERE m.item_id = i.id ORDER BY m.id DESC LIMIT 1) AS cur_folder, \
    (SELECT CASE WHEN m.is_read THEN 1 ELSE 0 END FROM archive_memberships m WHERE m.item_id = i.id ORDER BY m.id DESC LIMIT 1) AS cur_read, \
    (SELECT CASE WHEN m.seen_until IS NULL THEN 0 ELSE 1 END FROM archive_memberships m WHERE m.item_id = i.id ORDER BY m.id DESC LIMIT 1) AS cur_closed";

/// Rows per multi-row INSERT: 50 x 18 columns stays under SQLite's historical limit of 999
/// bound parameters, and far under PostgreSQL's.
const ITEM_ROWS_PER_INSERT: usize = 50;
const MEMBERSHIP_ROWS_PER_INSERT: usize = 100;
/// Keys per `IN (...)` lookup.
const KEYS_PER_LOOKUP: usize = 500;

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

/// A new item record, ready to insert.
struct ItemRow<'a> {
    item: &'a PutItem,
    hash: &'a BlobHash,
    meta: &'a ItemMeta,
    parsed: bool,
    folder: FolderId,
    date: Timestamp,
}

/// The Any driver cannot decode SQLite's BOOLEAN columns, so every boolean is selected as
/// `CASE WHEN col THEN 1 ELSE 0 END` and read back as an integer.
fn flag(row: &AnyRow, column: &str) -> Result<bool> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

fn list_from_text(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn list_to_text(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
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

fn mailbox_from_row(row: &AnyRow) -> Result<Mailbox> {
    Ok(Mailbox {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        owner_address: row.try_get("owner_address")?,
        display_name: row.try_get("display_name")?,
        created_at: Timestamp(row.try_get("created_at")?),
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

impl Archive {
    pub fn new(db: Database, blobs: Blobs) -> Self {
        Archive {
            db,
            blobs,
            tree_cache: Arc::default(),
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

    // ---- mailboxes ----

    /// Creates the mailbox when no mailbox has this name; returns it either way.
    pub async fn ensure_mailbox(&self, new: &NewMailbox) -> Result<Mailbox> {
        let (mut tx, _) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO archive_mailboxes (name, owner_address, display_name, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&new.name)
        .bind(new.owner_address.to_lowercase())
        .bind(&new.display_name)
        .bind(Timestamp::now().0)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query("SELECT * FROM archive_mailboxes WHERE name = $1")
            .bind(&new.name)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        mailbox_from_row(&row)
    }

    pub async fn mailbox(&self, id: MailboxId) -> Result<Option<Mailbox>> {
        let row = sqlx::query("SELECT * FROM archive_mailboxes WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(mailbox_from_row).transpose()
    }

    pub async fn mailbox_by_name(&self, name: &str) -> Result<Option<Mailbox>> {
        let row = sqlx::query("SELECT * FROM archive_mailboxes WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(mailbox_from_row).transpose()
    }

    /// The mailboxes a user owns (addresses compare case-insensitively).
    pub async fn mailboxes_by_owner(&self, address: &str) -> Result<Vec<Mailbox>> {
        let rows =
            sqlx::query("SELECT * FROM archive_mailboxes WHERE owner_address = $1 ORDER BY name")
                .bind(address.to_lowercase())
                .fetch_all(&self.db.pool)
                .await?;
        rows.iter().map(mailbox_from_row).collect()
    }

    pub async fn list_mailboxes(&self) -> Result<Vec<Mailbox>> {
        let rows = sqlx::query("SELECT * FROM archive_mailboxes ORDER BY name")
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(mailbox_from_row).collect()
    }

    // ---- folders ----

    async fn folder_row(
        tx: &mut Transaction<'static, Any>,
        mailbox: MailboxId,
        source_id: &str,
        kind: FolderKind,
    ) -> Result<FolderId> {
        sqlx::query(
            "INSERT INTO archive_folders (mailbox_id, source_id, kind, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (mailbox_id, source_id) DO NOTHING",
        )
        .bind(mailbox)
        .bind(source_id)
        .bind(kind.as_str())
        .bind(Timestamp::now().0)
        .execute(&mut **tx)
        .await?;
        let row = sqlx::query(
            "SELECT id, kind FROM archive_folders WHERE mailbox_id = $1 AND source_id = $2",
        )
        .bind(mailbox)
        .bind(source_id)
        .fetch_one(&mut **tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let stored: String = row.try_get("kind")?;
        if kind != FolderKind::Other && stored != kind.as_str() {
            sqlx::query("UPDATE archive_folders SET kind = $1 WHERE id = $2")
                .bind(kind.as_str())
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(id)
    }

    /// Records what the source says a folder is now. A changed name or parent closes the current
    /// version at `at` and opens a new one; an unchanged folder writes nothing new.
    pub async fn upsert_folder(
        &self,
        mailbox: MailboxId,
        spec: &FolderSpec,
        at: Timestamp,
    ) -> Result<FolderId> {
        let (mut tx, _) = self.begin_write().await?;
        let parent = match &spec.parent_source_id {
            Some(p) => Some(Self::folder_row(&mut tx, mailbox, p, FolderKind::Other).await?),
            None => None,
        };
        let id = Self::folder_row(&mut tx, mailbox, &spec.source_id, spec.kind).await?;
        let open = sqlx::query(
            "SELECT id, parent_id, name FROM archive_folder_versions WHERE folder_id = $1 AND seen_until IS NULL",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let unchanged = match &open {
            Some(row) => {
                let p: Option<i64> = row.try_get("parent_id")?;
                let n: String = row.try_get("name")?;
                p == parent && n == spec.name
            }
            None => false,
        };
        if !unchanged {
            if let Some(row) = open {
                let version: i64 = row.try_get("id")?;
                sqlx::query("UPDATE archive_folder_versions SET seen_until = $1 WHERE id = $2")
                    .bind(at.0)
                    .bind(version)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO archive_folder_versions (folder_id, mailbox_id, parent_id, name, seen_from) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(mailbox)
            .bind(parent)
            .bind(&spec.name)
            .bind(at.0)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The folder is gone from the source: its interval closes, and so do those of the items
    /// still in it. Nothing archived is removed.
    pub async fn close_folder(
        &self,
        mailbox: MailboxId,
        source_id: &str,
        at: Timestamp,
    ) -> Result<()> {
        let (mut tx, _) = self.begin_write().await?;
        let id = Self::folder_id_in(&mut tx, mailbox, source_id).await?;
        sqlx::query("UPDATE archive_folder_versions SET seen_until = $1 WHERE folder_id = $2 AND seen_until IS NULL")
            .bind(at.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE archive_memberships SET seen_until = $1 WHERE folder_id = $2 AND seen_until IS NULL")
            .bind(at.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn folder_id_in(
        tx: &mut Transaction<'static, Any>,
        mailbox: MailboxId,
        source_id: &str,
    ) -> Result<FolderId> {
        sqlx::query_scalar(
            "SELECT id FROM archive_folders WHERE mailbox_id = $1 AND source_id = $2",
        )
        .bind(mailbox)
        .bind(source_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| ArchiveError::UnknownFolder(source_id.to_owned()))
    }

    pub async fn folder_id(&self, mailbox: MailboxId, source_id: &str) -> Result<Option<FolderId>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM archive_folders WHERE mailbox_id = $1 AND source_id = $2",
        )
        .bind(mailbox)
        .bind(source_id)
        .fetch_optional(&self.db.pool)
        .await?)
    }

    /// The folder tree with total and unread counts, now (`None`) or as it was at an instant.
    /// Folders come in tree order (parents before children, siblings by name).
    pub async fn folder_tree(
        &self,
        mailbox: MailboxId,
        as_of: Option<Timestamp>,
    ) -> Result<Vec<FolderNode>> {
        if as_of.is_some() {
            return self.compute_folder_tree(mailbox, as_of).await;
        }
        let seq = self.change_seq().await?;
        if let Some((at, tree)) = self.cache().get(&mailbox) {
            if *at == seq {
                return Ok(tree.clone());
            }
        }
        let tree = self.compute_folder_tree(mailbox, None).await?;
        let mut cache = self.cache();
        // Bounded: a server browsing many mailboxes keeps the most recently asked ones warm.
        if cache.len() >= 1024 {
            cache.clear();
        }
        cache.insert(mailbox, (seq, tree.clone()));
        Ok(tree)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, TreeCache> {
        self.tree_cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn compute_folder_tree(
        &self,
        mailbox: MailboxId,
        as_of: Option<Timestamp>,
    ) -> Result<Vec<FolderNode>> {
        let (cond, binds) = valid_at("v", as_of, 2);
        let sql = format!(
            "SELECT v.folder_id, v.parent_id, v.name, f.source_id, f.kind FROM archive_folder_versions v \
             JOIN archive_folders f ON f.id = v.folder_id WHERE v.mailbox_id = $1 AND {cond}"
        );
        let mut query = sqlx::query(&sql).bind(mailbox);
        for b in &binds {
            query = query.bind(*b);
        }
        let rows = query.fetch_all(&self.db.pool).await?;

        let (mcond, mbinds) = valid_at("m", as_of, 2);
        let sql = format!(
            "SELECT m.folder_id, COUNT(*) AS total, SUM(CASE WHEN m.is_read THEN 0 ELSE 1 END) AS unread \
             FROM archive_memberships m WHERE m.mailbox_id = $1 AND {mcond} GROUP BY m.folder_id"
        );
        let mut query = sqlx::query(&sql).bind(mailbox);
        for b in &mbinds {
            query = query.bind(*b);
        }
        let mut counts = HashMap::new();
        for row in query.fetch_all(&self.db.pool).await? {
            let folder: i64 = row.try_get("folder_id")?;
            let total: i64 = row.try_get("total")?;
            // SUM is NUMERIC in PostgreSQL for some inputs; read it leniently.
            let unread: i64 = row
                .try_get::<i64, _>("unread")
                .or_else(|_| row.try_get::<f64, _>("unread").map(|f| f as i64))
                .unwrap_or(0);
            counts.insert(folder, (total, unread));
        }

        let mut nodes: HashMap<FolderId, FolderNode> = HashMap::new();
        for row in &rows {
            let id: i64 = row.try_get("folder_id")?;
            let (total, unread) = counts.get(&id).copied().unwrap_or((0, 0));
            nodes.insert(
                id,
                FolderNode {
                    id,
                    source_id: row.try_get("source_id")?,
                    parent_id: row.try_get("parent_id")?,
                    name: row.try_get("name")?,
                    kind: FolderKind::parse(&row.try_get::<String, _>("kind")?),
                    path: Vec::new(),
                    total,
                    unread,
                },
            );
        }
        let parents: HashMap<FolderId, (Option<FolderId>, String)> = nodes
            .iter()
            .map(|(id, n)| (*id, (n.parent_id, n.name.clone())))
            .collect();
        for node in nodes.values_mut() {
            let mut path = vec![node.name.clone()];
            let mut parent = node.parent_id;
            // A parent that is not visible at this instant makes the folder a root; the depth
            // bound guards against a cycle in bad data.
            while let Some(p) = parent {
                match parents.get(&p) {
                    Some((pp, name)) if path.len() < 64 => {
                        path.push(name.clone());
                        parent = *pp;
                    }
                    _ => break,
                }
            }
            path.reverse();
            node.path = path;
            if node.parent_id.is_some_and(|p| !parents.contains_key(&p)) {
                node.parent_id = None;
            }
        }
        let mut list: Vec<FolderNode> = nodes.into_values().collect();
        list.sort_by(|a, b| {
            let ka: Vec<String> = a.path.iter().map(|s| s.to_lowercase()).collect();
            let kb: Vec<String> = b.path.iter().map(|s| s.to_lowercase()).collect();
            ka.cmp(&kb).then(a.id.cmp(&b.id))
        });
        Ok(list)
    }

    /// Folder ids, in the given mailboxes, that have (or ever had) this name, case-insensitively.
    /// A path like `Projects/2024` matches on the full path as it is now.
    pub async fn folders_named(
        &self,
        mailboxes: &[MailboxId],
        name: &str,
    ) -> Result<Vec<FolderId>> {
        let wanted = name.trim().trim_matches('/').to_lowercase();
        let mut ids = Vec::new();
        for &mailbox in mailboxes {
            let rows = sqlx::query("SELECT DISTINCT folder_id, name FROM archive_folder_versions WHERE mailbox_id = $1")
                .bind(mailbox)
                .fetch_all(&self.db.pool)
                .await?;
            for row in rows {
                let n: String = row.try_get("name")?;
                if n.to_lowercase() == wanted {
                    ids.push(row.try_get("folder_id")?);
                }
            }
            if wanted.contains('/') {
                for node in self.folder_tree(mailbox, None).await? {
                    if node.path.join("/").to_lowercase() == wanted {
                        ids.push(node.id);
                    }
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    // ---- items: writes ----

    pub async fn put_item(&self, item: PutItem) -> Result<PutOutcome> {
        let mut out = self.put_items(vec![item]).await?;
        out.pop()
            .ok_or_else(|| ArchiveError::Inconsistent("no outcome for a put".into()))
    }

    /// Stores items as the source has them now, in one transaction. Blobs are written and made
    /// durable first, so no record ever points at missing content. Idempotent per
    /// (mailbox, source_id): an existing item only has its membership brought up to date.
    pub async fn put_items(&self, items: Vec<PutItem>) -> Result<Vec<PutOutcome>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let raws: Vec<&[u8]> = items.iter().map(|i| i.raw.as_slice()).collect();
        let hashes = self.blobs.put_many(&raws).await?;
        let metas: Vec<(ItemMeta, bool)> = items
            .iter()
            .map(|i| match (&i.meta, i.kind) {
                (Some(m), _) => (m.clone(), true),
                (None, ItemKind::Message) => match parse_message(&i.raw) {
                    Some(m) => (m, true),
                    None => (ItemMeta::default(), false),
                },
                (None, _) => (ItemMeta::default(), true),
            })
            .collect();

        let (mut tx, seq) = self.begin_write().await?;
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
            rows.push(ItemRow {
                item,
                hash: &hashes[n],
                meta,
                parsed: *parsed,
                folder: item_folders[n],
                date: meta.date.or(item.received_at).unwrap_or(item.at),
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
            for chunk in sources.chunks(KEYS_PER_LOOKUP) {
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
        for chunk in item_ids.chunks(KEYS_PER_LOOKUP) {
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
        const COLUMNS: usize = 18;
        let values: Vec<String> = (0..rows.len())
            .map(|r| format!("({})", placeholders(1 + r * COLUMNS, COLUMNS)))
            .collect();
        let sql = format!(
            "INSERT INTO archive_items (mailbox_id, source_id, kind, blob_hash, size, subject, sender, \
             sender_address, to_list, cc_list, message_id, sent_at, has_attachments, attachments, flags, \
             parsed, change_seq, created_at) VALUES {} RETURNING id, mailbox_id, source_id",
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
                .bind(item.at.0);
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

    /// Closes the item's open membership (if any) and opens one in `folder` (if given), carrying
    /// the read flag over unless a new one is given.
    async fn relocate(
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

    // ---- items: reads ----

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
            items.push(ItemSummary {
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
            });
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
        let hash: String = sqlx::query_scalar("SELECT blob_hash FROM archive_items WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| ArchiveError::UnknownItem(id.to_string()))?;
        Ok(self.blobs.get(&BlobHash::parse(&hash)?).await?)
    }

    /// The raw content as a reader, for streaming a download.
    pub async fn open_raw(&self, id: ItemId) -> Result<std::io::Cursor<Vec<u8>>> {
        Ok(std::io::Cursor::new(self.read_raw(id).await?))
    }

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

    // ---- the search index's feed ----

    /// Items changed after `cursor`, in change order: what the search index has not seen yet.
    pub async fn changes_since(
        &self,
        cursor: ChangeCursor,
        limit: u32,
    ) -> Result<Vec<IndexRecord>> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM archive_items i WHERE i.change_seq > $1 OR (i.change_seq = $2 AND i.id > $3) \
             ORDER BY i.change_seq, i.id LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(cursor.seq)
            .bind(cursor.seq)
            .bind(cursor.item_id)
            .bind(limit as i64)
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
