//! Where the sync engine writes: one [`SyncTarget`] per mailbox. The archive implements it on
//! its store; [`MemoryTarget`] is the in-memory version for tests and benchmarks.
//!
//! Every write is keyed by the source's ids and must be idempotent: after a crash the engine
//! replays the page whose sync state was not saved yet.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::error::TargetError;
use crate::source::{ContentFormat, FolderKind, ItemContent, SourceFolder, WellKnown};

/// Where the target holds an item now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLocation {
    /// `None` when the item was deleted (or its folder closed): the content is kept.
    pub folder_id: Option<String>,
    pub is_read: bool,
}

/// An item the server listed but the engine could not archive yet. It is kept until a later run
/// archives it or the server says it is gone, so advancing the sync state past it loses nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedItem {
    pub folder_id: String,
    pub item_id: String,
    pub is_read: bool,
    /// See [`crate::source::ItemChange::Upsert`]: kept so a retried item still pairs a move.
    pub search_key: Option<String>,
    pub reason: String,
    /// Runs that tried and failed, counting the first (the target counts; callers pass 1).
    pub attempts: u32,
}

/// A message the archive does not have yet, as the engine hands it to [`SyncTarget::put_messages`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub id: String,
    pub mime: Vec<u8>,
    pub is_read: bool,
    pub search_key: Option<String>,
}

#[async_trait]
pub trait SyncTarget: Send + Sync {
    async fn load_sync_state(&self, key: &str) -> Result<Option<String>, TargetError>;
    async fn save_sync_state(&self, key: &str, state: &str) -> Result<(), TargetError>;
    async fn delete_sync_state(&self, key: &str) -> Result<(), TargetError>;

    /// Creates or updates (renames, re-parents) a folder. Returns true if it was new.
    /// `well_known` is the folder's role as the server identified it (never guessed from the
    /// display name, which is in the mailbox's language).
    async fn upsert_folder(
        &self,
        source_id: &str,
        parent_source_id: Option<&str>,
        display_name: &str,
        kind: FolderKind,
        well_known: Option<WellKnown>,
    ) -> Result<bool, TargetError>;
    /// The folder is gone from the source: close it (and the membership of its items).
    async fn close_folder(&self, source_id: &str) -> Result<(), TargetError>;
    /// Folders currently open.
    async fn live_folders(&self) -> Result<Vec<SourceFolder>, TargetError>;

    async fn item_location(
        &self,
        source_item_id: &str,
    ) -> Result<Option<ItemLocation>, TargetError>;
    /// Ids of the items currently in a folder.
    async fn folder_item_ids(&self, folder_source_id: &str) -> Result<Vec<String>, TargetError>;

    /// The owner's display name as Exchange has it, kept with the mailbox.
    async fn set_owner_name(&self, name: &str) -> Result<(), TargetError>;

    /// New messages of one folder, stored together: the engine hands over a page's new
    /// messages in one call, so a store can write them in one transaction before the page's
    /// sync state is saved.
    async fn put_messages(
        &self,
        folder_source_id: &str,
        messages: Vec<NewMessage>,
    ) -> Result<(), TargetError>;

    /// One new message; `search_key`: see [`crate::source::ItemChange::Upsert`] (kept to pair
    /// later moves).
    async fn put_message(
        &self,
        folder_source_id: &str,
        source_item_id: &str,
        raw_mime: &[u8],
        is_read: bool,
        search_key: Option<&str>,
    ) -> Result<(), TargetError> {
        let message = NewMessage {
            id: source_item_id.to_owned(),
            mime: raw_mime.to_vec(),
            is_read,
            search_key: search_key.map(str::to_owned),
        };
        self.put_messages(folder_source_id, vec![message]).await
    }
    async fn put_calendar_item(
        &self,
        folder_source_id: &str,
        source_item_id: &str,
        format: ContentFormat,
        content: &ItemContent,
    ) -> Result<(), TargetError>;
    async fn put_contact(
        &self,
        folder_source_id: &str,
        source_item_id: &str,
        format: ContentFormat,
        content: &ItemContent,
    ) -> Result<(), TargetError>;
    /// The item now lives in another folder (also brings a deleted item back), under
    /// `new_source_id` when the move gave it a new id.
    async fn move_item(
        &self,
        source_item_id: &str,
        to_folder_source_id: &str,
        new_source_id: Option<&str>,
    ) -> Result<(), TargetError>;
    /// Source ids of the messages of this mailbox with this search key or whose content is
    /// exactly `raw_mime`, live or deleted: candidates for a move reported as a create with a
    /// new id.
    async fn twins(
        &self,
        search_key: Option<&str>,
        raw_mime: &[u8],
    ) -> Result<Vec<String>, TargetError>;
    async fn delete_item(&self, source_item_id: &str) -> Result<(), TargetError>;
    async fn set_read(&self, source_item_id: &str, is_read: bool) -> Result<(), TargetError>;

    /// Records (or updates, counting one more attempt) an item that could not be archived.
    async fn record_failed_item(&self, item: &FailedItem) -> Result<(), TargetError>;
    /// The item was archived or is gone from the source: nothing left to retry.
    async fn clear_failed_item(&self, source_item_id: &str) -> Result<(), TargetError>;
    /// Every item of the mailbox still waiting to be archived.
    async fn failed_items(&self) -> Result<Vec<FailedItem>, TargetError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemFolder {
    pub parent_id: Option<String>,
    pub display_name: String,
    pub kind: FolderKind,
    pub well_known: Option<WellKnown>,
    pub live: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemItem {
    pub folder_id: Option<String>,
    pub kind: FolderKind,
    pub format: ContentFormat,
    pub data: Vec<u8>,
    pub is_read: bool,
    pub search_key: Option<String>,
    pub record: Option<pim::Record>,
}

#[derive(Debug, Clone, Default)]
pub struct MemoryState {
    pub folders: BTreeMap<String, MemFolder>,
    pub items: BTreeMap<String, MemItem>,
    pub states: BTreeMap<String, String>,
    pub failed: BTreeMap<String, FailedItem>,
    pub owner_name: Option<String>,
    /// Number of put_* calls, to prove content was not written twice.
    pub puts: u64,
    pub state_saves: u64,
}

impl MemoryState {
    /// Live items in a folder found by display-name path ("Inbox/Projects").
    pub fn items_in_path(&self, path: &str) -> Vec<(&String, &MemItem)> {
        let Some(folder) = self.folder_by_path(path) else {
            return Vec::new();
        };
        self.items
            .iter()
            .filter(|(_, i)| i.folder_id.as_deref() == Some(folder.as_str()))
            .collect()
    }

    pub fn folder_by_path(&self, path: &str) -> Option<String> {
        let mut parent: Option<String> = None;
        for part in path.split('/') {
            let found = self
                .folders
                .iter()
                .find(|(_, f)| f.live && f.parent_id == parent && f.display_name == part)?;
            parent = Some(found.0.clone());
        }
        parent
    }

    pub fn live_items(&self) -> impl Iterator<Item = (&String, &MemItem)> {
        self.items.iter().filter(|(_, i)| i.folder_id.is_some())
    }

    pub fn live_count(&self, kind: FolderKind) -> usize {
        self.live_items().filter(|(_, i)| i.kind == kind).count()
    }
}

/// An in-memory [`SyncTarget`]. `fail_after_saves` simulates a crash: after that many successful
/// sync-state saves every further save fails, as if the process died there.
#[derive(Default)]
pub struct MemoryTarget {
    state: Mutex<MemoryState>,
    fail_after_saves: Mutex<Option<u64>>,
}

impl MemoryTarget {
    pub fn new() -> MemoryTarget {
        MemoryTarget::default()
    }

    fn lock(&self) -> MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn snapshot(&self) -> MemoryState {
        self.lock().clone()
    }

    pub fn fail_after_saves(&self, n: Option<u64>) {
        let base = self.lock().state_saves;
        *self
            .fail_after_saves
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = n.map(|n| base + n);
    }

    #[allow(clippy::too_many_arguments)]
    fn put(
        &self,
        folder: &str,
        id: &str,
        kind: FolderKind,
        format: ContentFormat,
        data: &[u8],
        is_read: bool,
        search_key: Option<&str>,
        record: Option<&pim::Record>,
    ) {
        let mut s = self.lock();
        s.puts += 1;
        s.items.insert(
            id.to_string(),
            MemItem {
                folder_id: Some(folder.to_string()),
                kind,
                format,
                data: data.to_vec(),
                is_read,
                search_key: search_key.map(str::to_string),
                record: record.cloned(),
            },
        );
    }
}

#[async_trait]
impl SyncTarget for MemoryTarget {
    async fn set_owner_name(&self, name: &str) -> Result<(), TargetError> {
        self.lock().owner_name = Some(name.to_owned());
        Ok(())
    }

    async fn load_sync_state(&self, key: &str) -> Result<Option<String>, TargetError> {
        Ok(self.lock().states.get(key).cloned())
    }

    async fn save_sync_state(&self, key: &str, state: &str) -> Result<(), TargetError> {
        let limit = *self
            .fail_after_saves
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut s = self.lock();
        if limit.is_some_and(|l| s.state_saves >= l) {
            return Err(TargetError(
                "simulated crash before saving the sync state".into(),
            ));
        }
        s.state_saves += 1;
        s.states.insert(key.to_string(), state.to_string());
        Ok(())
    }

    async fn delete_sync_state(&self, key: &str) -> Result<(), TargetError> {
        self.lock().states.remove(key);
        Ok(())
    }

    async fn upsert_folder(
        &self,
        source_id: &str,
        parent_source_id: Option<&str>,
        display_name: &str,
        kind: FolderKind,
        well_known: Option<WellKnown>,
    ) -> Result<bool, TargetError> {
        let mut s = self.lock();
        let new = s.folders.get(source_id).is_none_or(|f| !f.live);
        s.folders.insert(
            source_id.to_string(),
            MemFolder {
                parent_id: parent_source_id.map(str::to_string),
                display_name: display_name.to_string(),
                kind,
                well_known,
                live: true,
            },
        );
        Ok(new)
    }

    async fn close_folder(&self, source_id: &str) -> Result<(), TargetError> {
        let mut s = self.lock();
        if let Some(f) = s.folders.get_mut(source_id) {
            f.live = false;
        }
        for item in s.items.values_mut() {
            if item.folder_id.as_deref() == Some(source_id) {
                item.folder_id = None;
            }
        }
        Ok(())
    }

    async fn live_folders(&self) -> Result<Vec<SourceFolder>, TargetError> {
        Ok(self
            .lock()
            .folders
            .iter()
            .filter(|(_, f)| f.live)
            .map(|(id, f)| SourceFolder {
                id: id.clone(),
                parent_id: f.parent_id.clone(),
                display_name: f.display_name.clone(),
                kind: f.kind,
                well_known: f.well_known,
            })
            .collect())
    }

    async fn item_location(
        &self,
        source_item_id: &str,
    ) -> Result<Option<ItemLocation>, TargetError> {
        Ok(self.lock().items.get(source_item_id).map(|i| ItemLocation {
            folder_id: i.folder_id.clone(),
            is_read: i.is_read,
        }))
    }

    async fn folder_item_ids(&self, folder_source_id: &str) -> Result<Vec<String>, TargetError> {
        Ok(self
            .lock()
            .items
            .iter()
            .filter(|(_, i)| i.folder_id.as_deref() == Some(folder_source_id))
            .map(|(id, _)| id.clone())
            .collect())
    }

    async fn put_messages(
        &self,
        folder: &str,
        messages: Vec<NewMessage>,
    ) -> Result<(), TargetError> {
        for m in &messages {
            self.put(
                folder,
                &m.id,
                FolderKind::Mail,
                ContentFormat::Mime,
                &m.mime,
                m.is_read,
                m.search_key.as_deref(),
                None,
            );
        }
        Ok(())
    }

    async fn put_calendar_item(
        &self,
        folder: &str,
        id: &str,
        format: ContentFormat,
        content: &ItemContent,
    ) -> Result<(), TargetError> {
        let (data, record) = (&content.data, content.record.as_deref());
        self.put(
            folder,
            id,
            FolderKind::Calendar,
            format,
            data,
            true,
            None,
            record,
        );
        Ok(())
    }

    async fn put_contact(
        &self,
        folder: &str,
        id: &str,
        format: ContentFormat,
        content: &ItemContent,
    ) -> Result<(), TargetError> {
        let (data, record) = (&content.data, content.record.as_deref());
        self.put(
            folder,
            id,
            FolderKind::Contacts,
            format,
            data,
            true,
            None,
            record,
        );
        Ok(())
    }

    async fn move_item(
        &self,
        id: &str,
        to_folder: &str,
        new_id: Option<&str>,
    ) -> Result<(), TargetError> {
        let mut s = self.lock();
        let mut item = s
            .items
            .remove(id)
            .ok_or_else(|| TargetError(format!("move of unknown item {id}")))?;
        item.folder_id = Some(to_folder.to_string());
        s.items.insert(new_id.unwrap_or(id).to_string(), item);
        Ok(())
    }

    async fn twins(
        &self,
        search_key: Option<&str>,
        raw_mime: &[u8],
    ) -> Result<Vec<String>, TargetError> {
        Ok(self
            .lock()
            .items
            .iter()
            .filter(|(_, i)| {
                i.kind == FolderKind::Mail
                    && (i.data == raw_mime
                        || search_key.is_some_and(|k| i.search_key.as_deref() == Some(k)))
            })
            .map(|(id, _)| id.clone())
            .collect())
    }

    async fn delete_item(&self, id: &str) -> Result<(), TargetError> {
        if let Some(item) = self.lock().items.get_mut(id) {
            item.folder_id = None;
        }
        Ok(())
    }

    async fn set_read(&self, id: &str, is_read: bool) -> Result<(), TargetError> {
        if let Some(item) = self.lock().items.get_mut(id) {
            item.is_read = is_read;
        }
        Ok(())
    }

    async fn record_failed_item(&self, item: &FailedItem) -> Result<(), TargetError> {
        let mut s = self.lock();
        let attempts = s.failed.get(&item.item_id).map_or(0, |f| f.attempts) + 1;
        s.failed.insert(
            item.item_id.clone(),
            FailedItem {
                attempts,
                ..item.clone()
            },
        );
        Ok(())
    }

    async fn clear_failed_item(&self, id: &str) -> Result<(), TargetError> {
        self.lock().failed.remove(id);
        Ok(())
    }

    async fn failed_items(&self) -> Result<Vec<FailedItem>, TargetError> {
        Ok(self.lock().failed.values().cloned().collect())
    }
}
