//! Writing archived items back into a mailbox: what a restore needs of a connector.
//!
//! Both connectors implement [`MailboxWriter`]: find or create the target folders, list what a
//! folder already holds (so nothing is created twice), and create one item. Every item we
//! create carries our own named property ([`STAMP_GUID`], [`STAMP_NAME`]) holding its archive
//! identity; the listing reads it back, and as a fallback for items that are there from before
//! the restore (never deleted, or restored by another tool): the Internet-Message-Id of mail,
//! the UID of a calendar item, the display name with an e-mail address of a contact.
//!
//! Throttling and server-busy answers are obeyed by the same retry loop the sync uses
//! ([`MailboxCtx::run`]).

mod compose;
mod ews;
mod graph;

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::context::MailboxCtx;
use crate::error::SourceError;
use crate::source::FolderKind;

pub use compose::{
    graph_contact, graph_event, graph_item_attachment, graph_message, ComposedMessage,
};

/// The property set of our stamp: a GUID of our own, so no other application's property clashes.
pub const STAMP_GUID: &str = "c3f9a6e2-1b4d-4e8a-9f27-5a0d3c6b7e81";
pub const STAMP_NAME: &str = "SRSourceItem";

/// Graph's id of the stamp property, as `singleValueExtendedProperties` name it.
pub fn graph_stamp_id() -> String {
    format!("String {{{STAMP_GUID}}} Name {STAMP_NAME}")
}

/// A folder of the target mailbox, as the connector addresses it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TargetFolder {
    /// The server's id; for Graph's default calendar and contacts a fixed name ("calendar").
    pub id: String,
    pub kind: FolderKind,
}

/// Why an item counts as already in its target folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlreadyThere {
    /// An item carrying our stamp for this archive item: restored before.
    Restored,
    /// A message with the same Internet-Message-Id.
    SameMessageId,
    /// A calendar item with the same iCalendar UID (it never left the calendar).
    SameUid,
    /// A contact with the same display name and one of its e-mail addresses (or, for a contact
    /// without any, the same name and none either).
    SameContact,
}

/// What identifies an item in a folder without our stamp.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub message_id: Option<String>,
    pub uid: Option<String>,
    /// [`person_keys`] of a contact.
    pub person: Vec<String>,
}

/// The keys a contact is known by: its display name with each of its e-mail addresses,
/// compared without regard to case or surrounding space.
pub fn person_keys<'a>(name: &str, emails: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let name = name.trim().to_lowercase();
    if name.is_empty() {
        return Vec::new();
    }
    let mut keys: Vec<String> = emails
        .into_iter()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
        .map(|e| format!("{name}\n{e}"))
        .collect();
    if keys.is_empty() {
        keys.push(format!("{name}\n"));
    }
    keys
}

/// What a target folder holds, as far as skip-existing needs it.
#[derive(Debug, Clone, Default)]
pub struct FolderContents {
    /// Our stamp value -> the item's id.
    pub stamps: HashMap<String, String>,
    /// Internet-Message-Id (angle brackets as the server gives them) -> the item's id.
    pub message_ids: HashMap<String, String>,
    /// A calendar item's UID (EWS `calendar:UID`, Graph `iCalUId`) -> the item's id.
    pub uids: HashMap<String, String>,
    /// A contact's [`person_keys`] -> the item's id.
    pub people: HashMap<String, String>,
    /// A message's id -> whether it is read.
    pub read: HashMap<String, bool>,
}

/// An item found in the target folder: why it counts as there, and its id (empty for one
/// created earlier in the same run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub why: AlreadyThere,
    pub id: String,
}

impl FolderContents {
    /// Whether the item with this stamp and identity is there already, why, and which it is.
    pub fn find(&self, stamp: &str, identity: &Identity) -> Option<Existing> {
        let existing = |why, id: &String| {
            Some(Existing {
                why,
                id: id.clone(),
            })
        };
        if let Some(id) = self.stamps.get(stamp) {
            return existing(AlreadyThere::Restored, id);
        }
        let message_id = identity.message_id.as_deref().map(normalise_message_id);
        if let Some(id) = message_id.and_then(|m| self.message_ids.get(&m)) {
            return existing(AlreadyThere::SameMessageId, id);
        }
        let uid = identity
            .uid
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        if let Some(id) = uid.and_then(|u| self.uids.get(u)) {
            return existing(AlreadyThere::SameUid, id);
        }
        let id = identity.person.iter().find_map(|k| self.people.get(k))?;
        existing(AlreadyThere::SameContact, id)
    }

    /// Whether the message `id` is there with another read state than `is_read`.
    pub fn read_differs(&self, id: &str, is_read: bool) -> bool {
        self.read.get(id).is_some_and(|r| *r != is_read)
    }

    /// Notes an item just created, so a second copy of it in the same run is skipped too.
    pub fn add(&mut self, stamp: &str, identity: &Identity, id: &str) {
        self.stamps.insert(stamp.to_owned(), id.to_owned());
        if let Some(m) = &identity.message_id {
            self.message_ids
                .insert(normalise_message_id(m), id.to_owned());
        }
        if let Some(u) = identity
            .uid
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            self.uids.insert(u.to_owned(), id.to_owned());
        }
        for k in &identity.person {
            self.people.insert(k.clone(), id.to_owned());
        }
    }

    pub fn len(&self) -> usize {
        self.stamps
            .len()
            .max(self.message_ids.len())
            .max(self.uids.len())
            .max(self.people.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `<Abc@Host>` and `abc@host` name the same message: servers differ in the brackets they keep.
pub fn normalise_message_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_ascii_lowercase()
}

/// One item to write, as the archive holds it.
#[derive(Debug, Clone)]
pub struct RestoreItem {
    /// Our stamp: the archive's identity of the item.
    pub stamp: String,
    pub kind: FolderKind,
    /// The archived content (MIME, ICS or vCard).
    pub content: Vec<u8>,
    /// A calendar item's or contact's stored properties: what typed creation writes.
    pub record: Option<pim::Record>,
    pub is_read: bool,
    pub message_id: Option<String>,
    /// When it was received (PR_MESSAGE_DELIVERY_TIME) and sent (PR_CLIENT_SUBMIT_TIME).
    pub received_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// What the connection may do in the target mailbox, for restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteAccess {
    pub mail: bool,
    pub calendar: bool,
    pub contacts: bool,
    /// Where an administrator grants what is missing (empty when nothing is).
    pub missing: Vec<String>,
}

impl WriteAccess {
    pub fn allows(&self, kind: FolderKind) -> bool {
        match kind {
            FolderKind::Mail => self.mail,
            FolderKind::Calendar => self.calendar,
            FolderKind::Contacts => self.contacts,
        }
    }
}

/// Writes into one mailbox of a server. All calls name the mailbox by its context.
#[async_trait]
pub trait MailboxWriter: Send + Sync {
    fn protocol(&self) -> &'static str;

    /// What may be written into the mailbox. Fails only when the question cannot be asked
    /// (the server is unreachable); a refusal is an answer with `missing` set.
    async fn write_access(&self, mb: &MailboxCtx) -> Result<WriteAccess, SourceError>;

    /// The mailbox's standard folder for a kind: the top of the mail tree (the parent of
    /// Inbox), the default calendar, the default contacts folder.
    async fn top_folder(
        &self,
        mb: &MailboxCtx,
        kind: FolderKind,
    ) -> Result<TargetFolder, SourceError>;

    /// The child of `parent` with this display name (compared without regard to case).
    async fn child_folder(
        &self,
        mb: &MailboxCtx,
        parent: &TargetFolder,
        name: &str,
    ) -> Result<Option<TargetFolder>, SourceError>;

    /// Creates `names` as a chain below `parent` (a folder that exists already along the way is
    /// used as it is) and returns the last one.
    async fn create_folders(
        &self,
        mb: &MailboxCtx,
        parent: &TargetFolder,
        names: &[String],
    ) -> Result<TargetFolder, SourceError>;

    /// Our stamps and the Internet-Message-Ids of what the folder holds.
    async fn contents(
        &self,
        mb: &MailboxCtx,
        folder: &TargetFolder,
    ) -> Result<FolderContents, SourceError>;

    /// Creates the item, saved and never sent, not a draft, read state as given, carrying its
    /// stamp. Returns the new item's id.
    async fn create(
        &self,
        mb: &MailboxCtx,
        folder: &TargetFolder,
        item: &RestoreItem,
    ) -> Result<String, SourceError>;

    /// Sets the read state of a message that is there (a restore's merge), never sending a
    /// read receipt.
    async fn set_read(&self, mb: &MailboxCtx, id: &str, is_read: bool) -> Result<(), SourceError>;
}

/// What a series needs written after its master is created: the occurrences deleted from it
/// and the ones changed, each with its 1-based place in the pattern (EWS's `InstanceIndex`).
#[derive(Debug, Default)]
pub(crate) struct SeriesChanges<'a> {
    pub deleted: Vec<(u32, chrono::NaiveDateTime)>,
    pub changed: Vec<(u32, &'a pim::EventException)>,
}

impl SeriesChanges<'_> {
    pub(crate) fn is_empty(&self) -> bool {
        self.deleted.is_empty() && self.changed.is_empty()
    }
}

/// [`SeriesChanges`] of an event. An occurrence its own pattern does not have (a record that
/// contradicts itself) cannot be addressed on any server; it is left out and logged.
pub(crate) fn series_changes(e: &pim::Event) -> SeriesChanges<'_> {
    let mut out = SeriesChanges::default();
    if e.recurrence.is_none() {
        return out;
    }
    let place = |original: chrono::NaiveDateTime| {
        let index = e.instance_index(original);
        if index.is_none() {
            tracing::warn!(uid = %e.uid, %original, "an occurrence the series' pattern does not have is left out");
        }
        index
    };
    for d in &e.deleted_occurrences {
        if let Some(i) = place(*d) {
            out.deleted.push((i, *d));
        }
    }
    for x in &e.exceptions {
        if let Some(i) = place(x.original_start) {
            out.changed.push((i, x));
        }
    }
    out
}

/// Folder names Exchange refuses or that would nest where a person did not mean it to.
pub fn check_folder_name(name: &str) -> Result<(), String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err("The folder name is empty.".into());
    }
    if trimmed.contains('/') || trimmed.contains('\\') {
        return Err(format!(
            "The folder name \u{201c}{trimmed}\u{201d} contains a slash; choose a name without / or \\."
        ));
    }
    if trimmed.chars().count() > 255 {
        return Err("The folder name is longer than the 255 characters Exchange allows.".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_is_known_by_its_name_with_any_of_its_addresses() {
        let mut contents = FolderContents::default();
        let there = Identity {
            person: person_keys("Emma Stone", ["emma@example.org", "Emma@Home.example"]),
            ..Identity::default()
        };
        contents.add("stamp-1", &there, "id-1");
        // Without any address, the name alone matches a contact without any either.
        let bo = Identity {
            person: person_keys("Bo", []),
            ..Identity::default()
        };
        contents.add("stamp-3", &bo, "id-3");
        let same = |name: &str, emails: &[&str]| {
            let identity = Identity {
                person: person_keys(name, emails.iter().copied()),
                ..Identity::default()
            };
            contents.find("stamp-2", &identity).map(|e| e.why)
        };
        assert_eq!(
            same(" emma stone ", &["EMMA@home.example"]),
            Some(AlreadyThere::SameContact)
        );
        assert_eq!(same("Emma Stone", &["other@example.org"]), None);
        assert_eq!(same("Emma Watson", &["emma@example.org"]), None);
        assert_eq!(same("", &["emma@example.org"]), None, "no name, no match");
        assert_eq!(same("Bo", &[]), Some(AlreadyThere::SameContact));
        assert_eq!(same("Bo", &["bo@example.org"]), None);
    }
}
