//! The protocol-agnostic view of a mailbox that the sync engine works against.
//! [`crate::ews::EwsSource`] and [`crate::graph::GraphSource`] implement it.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::context::MailboxCtx;
use crate::error::SourceError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FolderKind {
    Mail,
    Calendar,
    Contacts,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFolder {
    pub id: String,
    /// `None` for a folder at the top of the mailbox.
    pub parent_id: Option<String>,
    pub display_name: String,
    pub kind: FolderKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderChange {
    Upsert(SourceFolder),
    Delete { id: String },
}

/// One page of folder-hierarchy changes. `state` is opaque: store it and pass it back.
#[derive(Debug, Clone)]
pub struct FolderPage {
    pub changes: Vec<FolderChange>,
    pub state: String,
    /// More pages follow in this round.
    pub more: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemChange {
    /// Created or changed. `content` is set when the change already carries the item's full
    /// content (Graph events and contacts); otherwise the engine fetches it when it needs it.
    Upsert {
        id: String,
        is_read: Option<bool>,
        content: Option<Vec<u8>>,
    },
    ReadFlag {
        id: String,
        is_read: bool,
    },
    /// Deleted from the folder, or moved out of it.
    Delete {
        id: String,
    },
}

#[derive(Debug, Clone)]
pub struct ItemPage {
    pub changes: Vec<ItemChange>,
    pub state: String,
    pub more: bool,
}

/// The format of fetched or inline item content, so the archive knows how to read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContentFormat {
    /// RFC 5322 message.
    Mime,
    /// iCalendar (EWS MimeContent of a calendar item).
    Ics,
    /// vCard (EWS MimeContent of a contact).
    Vcf,
    /// Microsoft Graph `event` JSON.
    GraphEventJson,
    /// Microsoft Graph `contact` JSON.
    GraphContactJson,
}

/// The content of one item, or why the server could not give it (it was deleted meanwhile).
#[derive(Debug, Clone)]
pub struct Fetched {
    pub id: String,
    pub content: Result<Vec<u8>, String>,
}

#[async_trait]
pub trait MailboxSource: Send + Sync {
    /// Short protocol name, used as the prefix of sync-state keys ("ews", "graph").
    fn protocol(&self) -> &'static str;

    /// How many items [`MailboxSource::fetch`] should get per call.
    fn fetch_batch_size(&self) -> usize;

    fn content_format(&self, kind: FolderKind) -> ContentFormat;

    /// How many [`MailboxSource::fetch`] calls may run at once for one mailbox (on top of the
    /// per-mailbox request limit).
    fn max_concurrent_fetches(&self) -> usize {
        usize::MAX
    }

    /// Checks access to the mailbox and resolves what the other calls need (the root folder).
    async fn open(&self, mb: &MailboxCtx) -> Result<(), SourceError>;

    async fn sync_folders(
        &self,
        mb: &MailboxCtx,
        state: Option<&str>,
    ) -> Result<FolderPage, SourceError>;

    async fn sync_items(
        &self,
        mb: &MailboxCtx,
        folder: &SourceFolder,
        state: Option<&str>,
    ) -> Result<ItemPage, SourceError>;

    async fn fetch(
        &self,
        mb: &MailboxCtx,
        folder: &SourceFolder,
        ids: &[String],
    ) -> Result<Vec<Fetched>, SourceError>;
}
