//! The protocol-agnostic view of a mailbox that the sync engine works against.
//! [`crate::ews::EwsSource`] and [`crate::graph::GraphSource`] implement it.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::context::MailboxCtx;
use crate::error::SourceError;
pub use crate::well_known::WellKnown;

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
    /// Exactly as the server has it, leading and trailing spaces included.
    pub display_name: String,
    pub kind: FolderKind,
    /// Set for the mailbox's standard folders, whatever their display name.
    pub well_known: Option<WellKnown>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderChange {
    Upsert(SourceFolder),
    Delete {
        id: String,
    },
    /// A folder that is not archived: hidden (PidTagAttributeHidden, Graph `isHidden`) or a
    /// system folder Outlook does not show (recipient cache, birthdays, configuration). Its
    /// subfolders are not archived either. If it was archived before (it became hidden), the
    /// engine closes it like a deleted folder.
    Skip {
        id: String,
    },
}

/// Folder classes of system folders Outlook never shows, even where the hidden flag is missing.
/// Exact matches, compared without regard to case.
const SYSTEM_FOLDER_CLASSES: [&str; 6] = [
    "IPF.Contact.RecipientCache",
    "IPF.Contact.GalContacts",
    "IPF.Contact.OrganizationalContacts",
    "IPF.Contact.PeopleCentricConversationBuddies",
    "IPF.Appointment.Birthday",
    "IPF.Configuration",
];

/// Families of system folder classes (Skype/Lync contact lists, store-internal folders).
const SYSTEM_FOLDER_CLASS_PREFIXES: [&str; 2] = ["IPF.Contact.MOC.", "IPF.StoreItem."];

/// Whether a folder of this class is one of Exchange's or Outlook's internal folders.
pub fn is_system_folder_class(class: &str) -> bool {
    let class = class.trim();
    SYSTEM_FOLDER_CLASSES
        .iter()
        .any(|c| c.eq_ignore_ascii_case(class))
        || SYSTEM_FOLDER_CLASS_PREFIXES.iter().any(|p| {
            class.len() >= p.len()
                && class.is_char_boundary(p.len())
                && class[..p.len()].eq_ignore_ascii_case(p)
        })
}

/// One page of folder-hierarchy changes. `state` is opaque: store it and pass it back.
#[derive(Debug, Clone)]
pub struct FolderPage {
    pub changes: Vec<FolderChange>,
    pub state: String,
    /// More pages follow in this round.
    pub more: bool,
}

/// An item's content as the server gave it and, for a calendar item or contact, its
/// properties read into the archive's record: EWS MIME drops attendees and cannot restore a
/// contact, so the record is what export and restore read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemContent {
    pub data: Vec<u8>,
    /// Boxed: a record is large beside the bytes, and most items are messages without one.
    pub record: Option<Box<pim::Record>>,
}

impl ItemContent {
    pub fn raw(data: Vec<u8>) -> ItemContent {
        ItemContent { data, record: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemChange {
    /// Created or changed. `content` is set when the change already carries the item's full
    /// content (Graph events and contacts); otherwise the engine fetches it when it needs it.
    Upsert {
        id: String,
        is_read: Option<bool>,
        content: Option<ItemContent>,
        /// A key that stays with a message through moves (EWS PidTagSearchKey), when the
        /// source's ids do not.
        search_key: Option<String>,
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

/// Why the server did not give an item's content. The engine decides from this whether the item
/// is gone, worth asking for again, or to be recorded as failed: never silently dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The server says the item does not exist (deleted or moved since it was listed). Asked
    /// once more before the engine believes it: a store failover can answer this briefly.
    NotFound(String),
    /// Throttling or a server-side fault: ask again after `wait` (the server's own figure when
    /// it gave one) or the policy's back-off.
    Retryable {
        reason: String,
        wait: Option<Duration>,
        /// A throttling answer (ErrorServerBusy, 429): the whole mailbox pauses.
        throttled: bool,
    },
    /// The server cannot produce this item's content (for example ErrorMimeContentConversionFailed);
    /// asking again in the same run will not help.
    Permanent(String),
}

/// The content of one item, or why the server did not give it.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub id: String,
    pub content: Result<ItemContent, FetchError>,
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

    /// One [`Fetched`] per id (any order). An `Err` is for the request as a whole.
    async fn fetch(
        &self,
        mb: &MailboxCtx,
        folder: &SourceFolder,
        ids: &[String],
    ) -> Result<Vec<Fetched>, SourceError>;

    /// Whether an item id changes when the item moves to another folder (EWS ids do, Graph
    /// immutable ids do not). Only then can a new id be an old item that moved.
    fn ids_change_on_move(&self) -> bool {
        false
    }

    /// The mailbox owner's display name as the directory has it ("Alice Martin"), when the
    /// server tells. Asked once per run after `open`; a failure only means no name.
    async fn owner_name(&self, _mb: &MailboxCtx) -> Result<Option<String>, SourceError> {
        Ok(None)
    }

    /// Which of these item ids still exist in the mailbox, in order. Used to tell a move (the
    /// old id is gone) from a copy (both exist) when the new id is seen first. When in doubt an
    /// id counts as existing: a kept copy is safer than a merged one.
    async fn exist(&self, mb: &MailboxCtx, ids: &[String]) -> Result<Vec<bool>, SourceError> {
        let _ = mb;
        Ok(vec![true; ids.len()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_folder_classes() {
        for class in [
            "IPF.Contact.RecipientCache",
            "ipf.contact.galcontacts",
            "IPF.Contact.OrganizationalContacts",
            "IPF.Contact.MOC.QuickContacts",
            "IPF.Contact.MOC.ImContactList",
            "IPF.Appointment.Birthday",
            "IPF.Configuration",
            " IPF.StoreItem.CrawlerData ",
        ] {
            assert!(is_system_folder_class(class), "{class}");
        }
        for class in [
            "IPF.Note",
            "IPF.Contact",
            "IPF.Appointment",
            "IPF.Configurations",
            "IPF.Contact.MOC",
            "IPF.Note.OutlookHomepage",
            "",
        ] {
            assert!(!is_system_folder_class(class), "{class}");
        }
    }

    #[test]
    fn well_known_names_round_trip() {
        for w in WellKnown::ALL {
            assert_eq!(WellKnown::from_server_name(w.server_name()), Some(w));
        }
        assert_eq!(
            WellKnown::from_server_name("JunkEmail"),
            Some(WellKnown::JunkEmail)
        );
        assert_eq!(WellKnown::from_server_name("Posteingang"), None);
    }
}
