//! [`ArchiveTarget`]: the sync engine's [`SyncTarget`] on the archive store, for one mailbox.
//!
//! A page's new messages are stored in one committed archive transaction (`put_messages`), every
//! other write in its own; all are durable before the engine saves the page's sync state (which
//! lands in `sync_states`, same database).

use std::collections::HashMap;
use std::sync::Mutex;

use archive::{
    Archive, ArchiveError, BlobHash, FolderId, FolderKind as ArchiveKind, FolderSpec, ItemKind,
    Mailbox, NewMailbox, PutItem, Timestamp,
};
use async_trait::async_trait;
use database::Database;
use mailsync::source::{ContentFormat, FolderKind, ItemContent, SourceFolder, WellKnown};
use mailsync::{FailedItem, ItemLocation, NewMessage, SyncTarget, TargetError};

use crate::meta::item_meta;
use crate::store::MailboxRecords;
use transfer::records::record_meta;

fn terr(e: impl std::fmt::Display) -> TargetError {
    TargetError(e.to_string())
}

#[derive(Default)]
struct FolderCache {
    by_source: HashMap<String, SourceFolder>,
    source_of: HashMap<FolderId, String>,
}

/// The archive bound to one mailbox. Build one per mailbox run: it caches the live folder tree.
pub struct ArchiveTarget {
    archive: Archive,
    mailbox: Mailbox,
    records: MailboxRecords,
    /// Last interval instant handed out: intervals need a clock that never goes backwards.
    clock: Mutex<i64>,
    folders: tokio::sync::Mutex<Option<FolderCache>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The archive's kind of a folder, from the role the server gave it: display names are in the
/// mailbox's language ("Posteingang"), so they say nothing.
fn archive_kind(kind: FolderKind, well_known: Option<WellKnown>) -> ArchiveKind {
    match (kind, well_known) {
        (FolderKind::Calendar, _) => ArchiveKind::Calendar,
        (FolderKind::Contacts, _) => ArchiveKind::Contacts,
        (FolderKind::Mail, Some(role)) => match role {
            WellKnown::Inbox => ArchiveKind::Inbox,
            WellKnown::SentItems => ArchiveKind::Sent,
            WellKnown::Drafts => ArchiveKind::Drafts,
            WellKnown::DeletedItems => ArchiveKind::Deleted,
            WellKnown::JunkEmail => ArchiveKind::Junk,
            WellKnown::Outbox => ArchiveKind::Outbox,
            WellKnown::Archive => ArchiveKind::Archive,
            WellKnown::Calendar | WellKnown::Contacts => ArchiveKind::Other,
        },
        (FolderKind::Mail, None) => ArchiveKind::Other,
    }
}

/// The role back from the archive's kind, for the folders the archive already holds.
fn well_known_of(kind: ArchiveKind) -> Option<WellKnown> {
    match kind {
        ArchiveKind::Inbox => Some(WellKnown::Inbox),
        ArchiveKind::Sent => Some(WellKnown::SentItems),
        ArchiveKind::Drafts => Some(WellKnown::Drafts),
        ArchiveKind::Deleted => Some(WellKnown::DeletedItems),
        ArchiveKind::Junk => Some(WellKnown::JunkEmail),
        ArchiveKind::Archive => Some(WellKnown::Archive),
        ArchiveKind::Outbox => Some(WellKnown::Outbox),
        ArchiveKind::Calendar | ArchiveKind::Contacts | ArchiveKind::Other => None,
    }
}

fn sync_kind(kind: ArchiveKind) -> FolderKind {
    match kind {
        ArchiveKind::Calendar => FolderKind::Calendar,
        ArchiveKind::Contacts => FolderKind::Contacts,
        _ => FolderKind::Mail,
    }
}

impl ArchiveTarget {
    /// The archive mailbox named by the address (created when missing), ready to sync into.
    /// `db` holds the sync's own records (states, search keys, the failed list); the server
    /// hands the same database to the archive and to the sync store.
    pub async fn open(
        archive: Archive,
        db: Database,
        address: &str,
        display_name: Option<&str>,
    ) -> Result<ArchiveTarget, ArchiveError> {
        let address = domain::MailAddress::fold(address);
        let mailbox = archive
            .ensure_mailbox(&NewMailbox {
                name: address.clone(),
                owner_address: address.clone(),
                display_name: display_name
                    .filter(|d| !d.trim().is_empty())
                    .unwrap_or(&address)
                    .to_string(),
            })
            .await?;
        Ok(ArchiveTarget::new(archive, db, mailbox))
    }

    pub fn new(archive: Archive, db: Database, mailbox: Mailbox) -> ArchiveTarget {
        ArchiveTarget {
            records: MailboxRecords::new(db, mailbox.id),
            archive,
            mailbox,
            clock: Mutex::new(0),
            folders: tokio::sync::Mutex::new(None),
        }
    }

    pub fn mailbox(&self) -> &Mailbox {
        &self.mailbox
    }

    fn at(&self) -> Timestamp {
        let mut last = lock(&self.clock);
        let now = Timestamp::now().0.max(*last + 1);
        *last = now;
        Timestamp(now)
    }

    async fn load_folders(&self) -> Result<FolderCache, TargetError> {
        let tree = self
            .archive
            .folder_tree(self.mailbox.id, None)
            .await
            .map_err(terr)?;
        let source_of: HashMap<FolderId, String> =
            tree.iter().map(|n| (n.id, n.source_id.clone())).collect();
        let by_source = tree
            .iter()
            .map(|n| {
                let f = SourceFolder {
                    id: n.source_id.clone(),
                    parent_id: n.parent_id.and_then(|p| source_of.get(&p).cloned()),
                    display_name: n.name.clone(),
                    kind: sync_kind(n.kind),
                    well_known: well_known_of(n.kind),
                };
                (n.source_id.clone(), f)
            })
            .collect();
        Ok(FolderCache {
            by_source,
            source_of,
        })
    }

    async fn folders(&self) -> Result<tokio::sync::MappedMutexGuard<'_, FolderCache>, TargetError> {
        let mut guard = self.folders.lock().await;
        if guard.is_none() {
            *guard = Some(self.load_folders().await?);
        }
        Ok(tokio::sync::MutexGuard::map(guard, |g| {
            g.get_or_insert_with(FolderCache::default)
        }))
    }

    /// Calendar items and contacts change in place. The archive keeps one record per source id,
    /// so a changed one has its old version renamed and closed, and the new content stored
    /// under the id: the interval model then shows which version was current when.
    async fn put_versioned(
        &self,
        folder: &str,
        id: &str,
        kind: ItemKind,
        format: ContentFormat,
        content: &ItemContent,
    ) -> Result<(), TargetError> {
        let properties = content.record.as_deref().map(pim::Record::to_json);
        let existing = self
            .archive
            .item_by_source_id(self.mailbox.id, id)
            .await
            .map_err(terr)?;
        if let Some(old) = existing {
            // EWS MIME of a calendar item leaves out the attendees: an answer changes only the
            // properties, and is a new version all the same.
            let same_content = old.blob_hash == BlobHash::of(&content.data).as_str();
            let old_props = self.archive.properties_hash(old.id).await.map_err(terr)?;
            let new_props = properties
                .as_deref()
                .map(|p| BlobHash::of(p).as_str().to_string());
            if !same_content || old_props != new_props {
                let retired = format!("{id}#{}#{}", old.blob_hash, old_props.unwrap_or_default());
                let at = self.at();
                self.archive
                    .move_item(self.mailbox.id, id, folder, Some(&retired), at)
                    .await
                    .map_err(terr)?;
                self.archive
                    .delete_item(self.mailbox.id, &retired, self.at())
                    .await
                    .map_err(terr)?;
            }
        }
        let meta = match content.record.as_deref() {
            Some(record) => record_meta(record),
            None => item_meta(format, &content.data),
        };
        self.archive
            .put_item(PutItem {
                mailbox_id: self.mailbox.id,
                folder_source_id: folder.to_string(),
                source_id: id.to_string(),
                kind,
                raw: content.data.clone(),
                is_read: true,
                flags: Vec::new(),
                meta: Some(meta),
                properties,
                fallback_date: None,
                at: self.at(),
            })
            .await
            .map_err(terr)?;
        Ok(())
    }
}

fn ignore_unknown(r: Result<(), ArchiveError>) -> Result<(), TargetError> {
    match r {
        Ok(()) | Err(ArchiveError::UnknownItem(_) | ArchiveError::UnknownFolder(_)) => Ok(()),
        Err(e) => Err(terr(e)),
    }
}

#[async_trait]
impl SyncTarget for ArchiveTarget {
    async fn set_owner_name(&self, name: &str) -> Result<(), TargetError> {
        if name != self.mailbox.display_name {
            self.archive
                .set_mailbox_display_name(self.mailbox.id, name)
                .await
                .map_err(terr)?;
        }
        Ok(())
    }

    async fn load_sync_state(&self, key: &str) -> Result<Option<String>, TargetError> {
        self.records.load_state(key).await.map_err(terr)
    }

    async fn save_sync_state(&self, key: &str, state: &str) -> Result<(), TargetError> {
        self.records.save_state(key, state).await.map_err(terr)
    }

    async fn delete_sync_state(&self, key: &str) -> Result<(), TargetError> {
        self.records.delete_state(key).await.map_err(terr)
    }

    async fn upsert_folder(
        &self,
        source_id: &str,
        parent_source_id: Option<&str>,
        display_name: &str,
        kind: FolderKind,
        well_known: Option<WellKnown>,
    ) -> Result<bool, TargetError> {
        let mut cache = self.folders().await?;
        let new = !cache.by_source.contains_key(source_id);
        let spec = FolderSpec {
            source_id: source_id.to_string(),
            parent_source_id: parent_source_id.map(str::to_string),
            name: display_name.to_string(),
            kind: archive_kind(kind, well_known),
        };
        let id = self
            .archive
            .upsert_folder(self.mailbox.id, &spec, self.at())
            .await
            .map_err(terr)?;
        cache.source_of.insert(id, source_id.to_string());
        cache.by_source.insert(
            source_id.to_string(),
            SourceFolder {
                id: source_id.to_string(),
                parent_id: parent_source_id.map(str::to_string),
                display_name: display_name.to_string(),
                kind,
                well_known,
            },
        );
        Ok(new)
    }

    async fn close_folder(&self, source_id: &str) -> Result<(), TargetError> {
        let mut cache = self.folders().await?;
        ignore_unknown(
            self.archive
                .close_folder(self.mailbox.id, source_id, self.at())
                .await,
        )?;
        cache.by_source.remove(source_id);
        Ok(())
    }

    async fn live_folders(&self) -> Result<Vec<SourceFolder>, TargetError> {
        let cache = self.folders().await?;
        let mut out: Vec<SourceFolder> = cache.by_source.values().cloned().collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn item_location(
        &self,
        source_item_id: &str,
    ) -> Result<Option<ItemLocation>, TargetError> {
        let Some(item) = self
            .archive
            .item_by_source_id(self.mailbox.id, source_item_id)
            .await
            .map_err(terr)?
        else {
            return Ok(None);
        };
        let folder_id = match (item.deleted_in_source, item.folder_id) {
            (false, Some(f)) => {
                let cache = self.folders().await?;
                cache
                    .source_of
                    .get(&f)
                    .filter(|s| cache.by_source.contains_key(*s))
                    .cloned()
            }
            _ => None,
        };
        Ok(Some(ItemLocation {
            folder_id,
            is_read: item.is_read,
        }))
    }

    async fn folder_item_ids(&self, folder_source_id: &str) -> Result<Vec<String>, TargetError> {
        let Some(folder) = self
            .archive
            .folder_id(self.mailbox.id, folder_source_id)
            .await
            .map_err(terr)?
        else {
            return Ok(Vec::new());
        };
        let state = self
            .archive
            .state_at(self.mailbox.id, self.at())
            .await
            .map_err(terr)?;
        Ok(state
            .items
            .into_iter()
            .filter(|i| i.folder_id == folder)
            .map(|i| i.source_id)
            .collect())
    }

    /// The messages in one archive transaction (one change number, one folder-tree refresh),
    /// then their search keys; the engine saves the page's sync state only after both.
    async fn put_messages(
        &self,
        folder_source_id: &str,
        messages: Vec<NewMessage>,
    ) -> Result<(), TargetError> {
        let keys: Vec<(String, String)> = messages
            .iter()
            .filter_map(|m| Some((m.id.clone(), m.search_key.clone()?)))
            .collect();
        let items = messages
            .into_iter()
            .map(|m| PutItem {
                mailbox_id: self.mailbox.id,
                folder_source_id: folder_source_id.to_string(),
                source_id: m.id,
                kind: ItemKind::Message,
                raw: m.mime,
                is_read: m.is_read,
                flags: Vec::new(),
                properties: None,
                meta: None,
                fallback_date: None,
                at: self.at(),
            })
            .collect();
        self.archive.put_items(items).await.map_err(terr)?;
        self.records.put_search_keys(&keys).await.map_err(terr)?;
        Ok(())
    }

    async fn put_calendar_item(
        &self,
        folder_source_id: &str,
        source_item_id: &str,
        format: ContentFormat,
        content: &ItemContent,
    ) -> Result<(), TargetError> {
        self.put_versioned(
            folder_source_id,
            source_item_id,
            ItemKind::Calendar,
            format,
            content,
        )
        .await
    }

    async fn put_contact(
        &self,
        folder_source_id: &str,
        source_item_id: &str,
        format: ContentFormat,
        content: &ItemContent,
    ) -> Result<(), TargetError> {
        self.put_versioned(
            folder_source_id,
            source_item_id,
            ItemKind::Contact,
            format,
            content,
        )
        .await
    }

    async fn move_item(
        &self,
        source_item_id: &str,
        to_folder_source_id: &str,
        new_source_id: Option<&str>,
    ) -> Result<(), TargetError> {
        self.archive
            .move_item(
                self.mailbox.id,
                source_item_id,
                to_folder_source_id,
                new_source_id,
                self.at(),
            )
            .await
            .map_err(terr)?;
        if let Some(new_id) = new_source_id {
            self.records
                .rename_search_key(source_item_id, new_id)
                .await
                .map_err(terr)?;
        }
        Ok(())
    }

    async fn twins(
        &self,
        search_key: Option<&str>,
        raw_mime: &[u8],
    ) -> Result<Vec<String>, TargetError> {
        let mut ids = self
            .archive
            .source_ids_with_content(self.mailbox.id, ItemKind::Message, &BlobHash::of(raw_mime))
            .await
            .map_err(terr)?;
        if let Some(key) = search_key {
            let keyed = self.records.ids_with_search_key(key).await.map_err(terr)?;
            for id in keyed {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        Ok(ids)
    }

    async fn delete_item(&self, source_item_id: &str) -> Result<(), TargetError> {
        let item = self
            .archive
            .item_by_source_id(self.mailbox.id, source_item_id)
            .await
            .map_err(terr)?;
        let Some(item) = item else { return Ok(()) };
        if item.deleted_in_source {
            return Ok(());
        }
        ignore_unknown(
            self.archive
                .delete_item(self.mailbox.id, source_item_id, self.at())
                .await,
        )
    }

    async fn set_read(&self, source_item_id: &str, is_read: bool) -> Result<(), TargetError> {
        ignore_unknown(
            self.archive
                .set_read(self.mailbox.id, source_item_id, is_read, self.at())
                .await,
        )
    }

    async fn record_failed_item(&self, item: &FailedItem) -> Result<(), TargetError> {
        self.records.record_failed(item).await.map_err(terr)
    }

    async fn clear_failed_item(&self, source_item_id: &str) -> Result<(), TargetError> {
        self.records
            .clear_failed(source_item_id)
            .await
            .map_err(terr)
    }

    async fn failed_items(&self) -> Result<Vec<FailedItem>, TargetError> {
        self.records.failed().await.map_err(terr)
    }
}
