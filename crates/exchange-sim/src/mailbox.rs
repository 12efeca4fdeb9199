//! The simulated mailboxes: folders, items, and the change log that sync states point into.
//!
//! Every change in a mailbox gets the next sequence number. A sync state (EWS) or delta token
//! (Graph) is just "the client has seen every change up to sequence N", so incremental sync is a
//! scan for items and tombstones with a larger sequence number. Ids are derived from internal
//! numbers so both protocols can resolve them without lookup tables.

use std::collections::BTreeMap;
use std::path::Path;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderKind {
    /// The mailbox root and "Top of Information Store": containers, not synced themselves.
    Container,
    Mail,
    Calendar,
    Contacts,
}

impl FolderKind {
    pub fn folder_class(self) -> &'static str {
        match self {
            FolderKind::Container | FolderKind::Mail => "IPF.Note",
            FolderKind::Calendar => "IPF.Appointment",
            FolderKind::Contacts => "IPF.Contact",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Message,
    CalendarItem,
    Contact,
}

#[derive(Debug, Clone)]
pub struct Folder {
    pub id: String,
    pub parent: Option<String>,
    pub name: String,
    pub kind: FolderKind,
    pub well_known: Option<&'static str>,
    /// Overrides the class of `kind` (e.g. "IPF.Contact.RecipientCache", "IPF.Configuration").
    pub folder_class: Option<String>,
    /// PidTagAttributeHidden: Outlook does not show the folder, Graph lists it only on request.
    pub hidden: bool,
    pub created_seq: u64,
    pub modseq: u64,
}

impl Folder {
    pub fn class(&self) -> &str {
        self.folder_class
            .as_deref()
            .unwrap_or_else(|| self.kind.folder_class())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastChange {
    Content,
    ReadFlag,
}

#[derive(Debug, Clone)]
pub struct Item {
    pub n: u64,
    pub kind: ItemKind,
    pub folder: String,
    pub data: Vec<u8>,
    pub is_read: bool,
    /// Bumped on every move: EWS ids and plain Graph ids change on a move, immutable ids do not.
    pub move_gen: u32,
    pub entered_seq: u64,
    pub modseq: u64,
    pub last_change: LastChange,
    /// Set on items a restore created (EWS CreateItem, Graph POST): what the server was asked
    /// and what it did.
    pub restore: Option<crate::restore::RestoreMeta>,
}

#[derive(Debug, Clone)]
pub struct Tombstone {
    pub folder: String,
    pub n: u64,
    pub kind: ItemKind,
    pub move_gen: u32,
    pub seq: u64,
    /// A calendar item's content when it left: Graph reports a series' removal instance by
    /// instance.
    pub calendar: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct FolderTombstone {
    pub id: String,
    /// Folders above the removed one at removal time, so a hierarchy sync rooted anywhere can
    /// tell whether the removal is in its range.
    pub ancestors: Vec<String>,
    pub kind: FolderKind,
    pub seq: u64,
}

#[derive(Debug, Clone)]
pub struct Mailbox {
    pub address: String,
    pub index: u32,
    pub display_name: String,
    /// Whether the service account (EWS) / the app (Graph) may open this mailbox.
    pub access_granted: bool,
    pub folders: BTreeMap<String, Folder>,
    pub items: BTreeMap<u64, Item>,
    pub tombstones: Vec<Tombstone>,
    pub folder_tombstones: Vec<FolderTombstone>,
    pub seq: u64,
    /// Sync states carry this epoch; bumping it makes every earlier state unknown to the server.
    pub epoch: u32,
    next_item: u64,
    next_folder: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MailboxError {
    #[error("no such mailbox: {0}")]
    NoMailbox(String),
    #[error("no such folder: {0}")]
    NoFolder(String),
    #[error("no such item")]
    NoItem,
    #[error("folder {0} cannot be removed")]
    Protected(String),
    #[error("seed directory problem: {0}")]
    Seed(String),
}

/// A stable handle on an item for test code, independent of protocol ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemRef {
    pub mailbox_index: u32,
    pub n: u64,
}

const WELL_KNOWN_MAIL: [(&str, &str); 4] = [
    ("inbox", "Inbox"),
    ("sentitems", "Sent Items"),
    ("deleteditems", "Deleted Items"),
    ("drafts", "Drafts"),
];

/// Standard folders a mailbox gets only on request ([`Mailbox::add_well_known_folder`]), so the
/// folder numbering of the default mailboxes stays as the tests know it.
pub const OPTIONAL_WELL_KNOWN: [&str; 3] = ["junkemail", "outbox", "archive"];

impl Mailbox {
    pub fn new(address: &str, index: u32, display_name: &str) -> Mailbox {
        let mut mb = Mailbox {
            address: address.to_ascii_lowercase(),
            index,
            display_name: display_name.to_string(),
            access_granted: true,
            folders: BTreeMap::new(),
            items: BTreeMap::new(),
            tombstones: Vec::new(),
            folder_tombstones: Vec::new(),
            seq: 0,
            epoch: 1,
            next_item: 1,
            next_folder: 1,
        };
        let root = mb.insert_folder(None, "", FolderKind::Container, Some("root"));
        let top = mb.insert_folder(
            Some(root),
            "Top of Information Store",
            FolderKind::Container,
            Some("msgfolderroot"),
        );
        for (wk, name) in WELL_KNOWN_MAIL {
            mb.insert_folder(Some(top.clone()), name, FolderKind::Mail, Some(wk));
        }
        mb.insert_folder(
            Some(top.clone()),
            "Calendar",
            FolderKind::Calendar,
            Some("calendar"),
        );
        mb.insert_folder(
            Some(top),
            "Contacts",
            FolderKind::Contacts,
            Some("contacts"),
        );
        mb
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn insert_folder(
        &mut self,
        parent: Option<String>,
        name: &str,
        kind: FolderKind,
        well_known: Option<&'static str>,
    ) -> String {
        let n = self.next_folder;
        self.next_folder += 1;
        let id = folder_id(self.index, n);
        let seq = self.next_seq();
        self.folders.insert(
            id.clone(),
            Folder {
                id: id.clone(),
                parent,
                name: name.to_string(),
                kind,
                well_known,
                folder_class: None,
                hidden: false,
                created_seq: seq,
                modseq: seq,
            },
        );
        id
    }

    /// Resolves a folder id, a well-known name ("inbox", "msgfolderroot") or a display path
    /// below the top of the store ("Inbox/Projects").
    pub fn resolve_folder(&self, key: &str) -> Option<&Folder> {
        if let Some(f) = self.folders.get(key) {
            return Some(f);
        }
        let lower = key.to_ascii_lowercase();
        if let Some(f) = self
            .folders
            .values()
            .find(|f| f.well_known == Some(lower.as_str()))
        {
            return Some(f);
        }
        let mut cur = self.well_known("msgfolderroot")?;
        for part in key.split('/').filter(|p| !p.is_empty()) {
            cur = self
                .folders
                .values()
                .find(|f| f.parent.as_deref() == Some(&cur.id) && f.name == part)?;
        }
        Some(cur)
    }

    pub fn well_known(&self, name: &str) -> Option<&Folder> {
        self.folders.values().find(|f| f.well_known == Some(name))
    }

    pub fn ancestors(&self, folder_id: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = self.folders.get(folder_id).and_then(|f| f.parent.clone());
        while let Some(id) = cur {
            cur = self.folders.get(&id).and_then(|f| f.parent.clone());
            out.push(id);
        }
        out
    }

    pub fn is_descendant(&self, folder_id: &str, root_id: &str) -> bool {
        self.ancestors(folder_id).iter().any(|a| a == root_id)
    }

    pub fn add_folder(
        &mut self,
        parent_key: &str,
        name: &str,
        kind: FolderKind,
    ) -> Result<String, MailboxError> {
        let parent = self
            .resolve_folder(parent_key)
            .ok_or_else(|| MailboxError::NoFolder(parent_key.to_string()))?
            .id
            .clone();
        Ok(self.insert_folder(Some(parent), name, kind, None))
    }

    /// Adds one of the [`OPTIONAL_WELL_KNOWN`] folders at the top of the store.
    pub fn add_well_known_folder(
        &mut self,
        well_known: &str,
        name: &str,
    ) -> Result<String, MailboxError> {
        let wk = OPTIONAL_WELL_KNOWN
            .into_iter()
            .find(|w| w.eq_ignore_ascii_case(well_known))
            .ok_or_else(|| MailboxError::NoFolder(well_known.to_string()))?;
        if let Some(f) = self.well_known(wk) {
            return Ok(f.id.clone());
        }
        let top = self.folder_id_of("msgfolderroot")?;
        Ok(self.insert_folder(Some(top), name, FolderKind::Mail, Some(wk)))
    }

    /// Adds a folder with its own class and hidden flag, as Exchange and Outlook create them
    /// (Recipient Cache, Birthdays, Conversation Action Settings, ...).
    pub fn add_system_folder(
        &mut self,
        parent_key: &str,
        name: &str,
        kind: FolderKind,
        folder_class: &str,
        hidden: bool,
    ) -> Result<String, MailboxError> {
        let id = self.add_folder(parent_key, name, kind)?;
        if let Some(f) = self.folders.get_mut(&id) {
            f.folder_class = Some(folder_class.to_string());
            f.hidden = hidden;
        }
        Ok(id)
    }

    /// Hides or shows a folder (a change the hierarchy sync reports).
    pub fn set_hidden(&mut self, key: &str, hidden: bool) -> Result<(), MailboxError> {
        let id = self.folder_id_of(key)?;
        let seq = self.next_seq();
        if let Some(f) = self.folders.get_mut(&id) {
            f.hidden = hidden;
            f.modseq = seq;
        }
        Ok(())
    }

    /// Whether the folder or one above it is hidden.
    pub fn hidden_from_view(&self, folder_id: &str) -> bool {
        std::iter::once(folder_id.to_string())
            .chain(self.ancestors(folder_id))
            .any(|id| self.folders.get(&id).is_some_and(|f| f.hidden))
    }

    pub fn rename_folder(&mut self, key: &str, name: &str) -> Result<(), MailboxError> {
        let id = self.folder_id_of(key)?;
        let seq = self.next_seq();
        if let Some(f) = self.folders.get_mut(&id) {
            f.name = name.to_string();
            f.modseq = seq;
        }
        Ok(())
    }

    fn folder_id_of(&self, key: &str) -> Result<String, MailboxError> {
        self.resolve_folder(key)
            .map(|f| f.id.clone())
            .ok_or_else(|| MailboxError::NoFolder(key.to_string()))
    }

    /// Removes a folder, its subfolders and their items (a hard delete, as after emptying
    /// Deleted Items).
    pub fn remove_folder(&mut self, key: &str) -> Result<(), MailboxError> {
        let id = self.folder_id_of(key)?;
        if self.folders.get(&id).and_then(|f| f.well_known).is_some() {
            return Err(MailboxError::Protected(key.to_string()));
        }
        let mut doomed: Vec<String> = self
            .folders
            .keys()
            .filter(|f| self.is_descendant(f, &id))
            .cloned()
            .collect();
        // Children first, so each tombstone still knows its ancestors.
        doomed.sort_by_key(|f| std::cmp::Reverse(self.ancestors(f).len()));
        doomed.push(id);
        for fid in doomed {
            let items: Vec<u64> = self
                .items
                .values()
                .filter(|i| i.folder == fid)
                .map(|i| i.n)
                .collect();
            for n in items {
                self.delete_item(n)?;
            }
            let ancestors = self.ancestors(&fid);
            let seq = self.next_seq();
            if let Some(f) = self.folders.remove(&fid) {
                self.folder_tombstones.push(FolderTombstone {
                    id: fid,
                    ancestors,
                    kind: f.kind,
                    seq,
                });
            }
        }
        Ok(())
    }

    pub fn add_item(
        &mut self,
        folder_key: &str,
        kind: ItemKind,
        data: Vec<u8>,
        is_read: bool,
    ) -> Result<ItemRef, MailboxError> {
        let folder = self.folder_id_of(folder_key)?;
        let n = self.next_item;
        self.next_item += 1;
        let seq = self.next_seq();
        self.items.insert(
            n,
            Item {
                n,
                kind,
                folder,
                data,
                is_read,
                move_gen: 0,
                entered_seq: seq,
                modseq: seq,
                last_change: LastChange::Content,
                restore: None,
            },
        );
        Ok(ItemRef {
            mailbox_index: self.index,
            n,
        })
    }

    pub fn move_item(&mut self, n: u64, dest_key: &str) -> Result<(), MailboxError> {
        let dest = self.folder_id_of(dest_key)?;
        let item = self.items.get(&n).ok_or(MailboxError::NoItem)?;
        if item.folder == dest {
            return Ok(());
        }
        let tomb_seq = self.next_seq();
        let enter_seq = self.next_seq();
        let item = self.items.get_mut(&n).ok_or(MailboxError::NoItem)?;
        self.tombstones.push(Tombstone {
            folder: item.folder.clone(),
            n,
            kind: item.kind,
            move_gen: item.move_gen,
            seq: tomb_seq,
            calendar: (item.kind == ItemKind::CalendarItem).then(|| item.data.clone()),
        });
        item.folder = dest.clone();
        item.move_gen += 1;
        item.entered_seq = enter_seq;
        item.modseq = enter_seq;
        item.last_change = LastChange::Content;
        // An item that comes back must not also be reported as removed from its new folder.
        self.tombstones.retain(|t| !(t.n == n && t.folder == dest));
        Ok(())
    }

    pub fn delete_item(&mut self, n: u64) -> Result<(), MailboxError> {
        let item = self.items.remove(&n).ok_or(MailboxError::NoItem)?;
        let seq = self.next_seq();
        let calendar = (item.kind == ItemKind::CalendarItem).then_some(item.data);
        self.tombstones.push(Tombstone {
            folder: item.folder,
            n,
            kind: item.kind,
            move_gen: item.move_gen,
            seq,
            calendar,
        });
        Ok(())
    }

    /// Replaces an item's content (an attachment added): a change a sync reports as an update.
    pub fn replace_data(&mut self, n: u64, data: Vec<u8>) -> Result<(), MailboxError> {
        let seq = self.next_seq();
        let item = self.items.get_mut(&n).ok_or(MailboxError::NoItem)?;
        item.data = data;
        item.modseq = seq;
        item.last_change = LastChange::Content;
        Ok(())
    }

    /// Adds a folder below `parent_id` and returns its id.
    pub fn create_folder(
        &mut self,
        parent_id: &str,
        name: &str,
        kind: FolderKind,
        folder_class: Option<&str>,
    ) -> Result<String, MailboxError> {
        if !self.folders.contains_key(parent_id) {
            return Err(MailboxError::NoFolder(parent_id.to_string()));
        }
        let id = self.insert_folder(Some(parent_id.to_string()), name, kind, None);
        if let Some(f) = self.folders.get_mut(&id) {
            f.folder_class = folder_class.map(str::to_string);
        }
        Ok(id)
    }

    /// The child of a folder with this display name, compared as Exchange does (ignoring case).
    pub fn child_named(&self, parent_id: &str, name: &str) -> Option<&Folder> {
        let wanted = name.trim().to_lowercase();
        self.folders.values().find(|f| {
            f.parent.as_deref() == Some(parent_id) && f.name.trim().to_lowercase() == wanted
        })
    }

    /// The change key an item has now (empty for an item that is gone).
    pub fn change_key_of(&self, n: u64) -> String {
        self.items
            .get(&n)
            .map(|i| change_key(i.modseq))
            .unwrap_or_default()
    }

    pub fn set_read(&mut self, n: u64, is_read: bool) -> Result<(), MailboxError> {
        let seq = self.next_seq();
        let item = self.items.get_mut(&n).ok_or(MailboxError::NoItem)?;
        if item.is_read != is_read {
            item.is_read = is_read;
            item.modseq = seq;
            item.last_change = LastChange::ReadFlag;
        }
        Ok(())
    }

    pub fn items_in(&self, folder_id: &str) -> impl Iterator<Item = &Item> + '_ {
        let folder_id = folder_id.to_string();
        self.items.values().filter(move |i| i.folder == folder_id)
    }

    pub fn unread_count(&self, folder_id: &str) -> usize {
        self.items_in(folder_id).filter(|i| !i.is_read).count()
    }

    pub fn child_count(&self, folder_id: &str) -> usize {
        self.folders
            .values()
            .filter(|f| f.parent.as_deref() == Some(folder_id))
            .count()
    }

    /// Folder changes after `since` below `root_id`, oldest first.
    pub fn folder_changes(&self, root_id: &str, since: u64) -> Vec<FolderChange> {
        let mut out: Vec<FolderChange> = self
            .folders
            .values()
            .filter(|f| f.modseq > since && self.is_descendant(&f.id, root_id))
            .map(|f| FolderChange {
                seq: f.modseq,
                kind: if f.created_seq > since {
                    ChangeType::Create
                } else {
                    ChangeType::Update
                },
                folder_id: f.id.clone(),
            })
            .collect();
        // The first sync of a range has nothing to forget, so it reports no removals.
        if since > 0 {
            out.extend(
                self.folder_tombstones
                    .iter()
                    .filter(|t| t.seq > since && t.ancestors.iter().any(|a| a == root_id))
                    .map(|t| FolderChange {
                        seq: t.seq,
                        kind: ChangeType::Delete,
                        folder_id: t.id.clone(),
                    }),
            );
        }
        out.sort_by_key(|c| c.seq);
        out
    }

    /// Item changes in one folder after `since`, oldest first.
    pub fn item_changes(&self, folder_id: &str, since: u64) -> Vec<ItemChange> {
        let mut out: Vec<ItemChange> = self
            .items_in(folder_id)
            .filter(|i| i.modseq > since)
            .map(|i| ItemChange {
                seq: i.modseq,
                kind: if i.entered_seq > since {
                    ChangeType::Create
                } else if i.last_change == LastChange::ReadFlag {
                    ChangeType::ReadFlag
                } else {
                    ChangeType::Update
                },
                n: i.n,
                move_gen: i.move_gen,
                item_kind: i.kind,
                removed_calendar: None,
            })
            .collect();
        if since > 0 {
            out.extend(
                self.tombstones
                    .iter()
                    .filter(|t| t.seq > since && t.folder == folder_id)
                    .map(|t| ItemChange {
                        seq: t.seq,
                        kind: ChangeType::Delete,
                        n: t.n,
                        move_gen: t.move_gen,
                        item_kind: t.kind,
                        removed_calendar: t.calendar.clone(),
                    }),
            );
        }
        out.sort_by_key(|c| c.seq);
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    Create,
    Update,
    ReadFlag,
    Delete,
}

#[derive(Debug, Clone)]
pub struct FolderChange {
    pub seq: u64,
    pub kind: ChangeType,
    pub folder_id: String,
}

#[derive(Debug, Clone)]
pub struct ItemChange {
    pub seq: u64,
    pub kind: ChangeType,
    pub n: u64,
    pub move_gen: u32,
    pub item_kind: ItemKind,
    /// For a removed calendar item, its content when it left.
    pub removed_calendar: Option<Vec<u8>>,
}

// ---- ids -------------------------------------------------------------------------------------

pub fn folder_id(mailbox: u32, n: u64) -> String {
    format!(
        "AAMkAF{}",
        URL_SAFE_NO_PAD.encode(format!("f:{mailbox}:{n}"))
    )
}

/// EWS item ids look like Exchange's (standard base64 with padding) and change on every move.
pub fn ews_item_id(mailbox: u32, n: u64, move_gen: u32) -> String {
    format!(
        "AAMkAG{}",
        STANDARD.encode(format!("e:{mailbox}:{n}:{move_gen}"))
    )
}

/// Graph's default ids: the same item id, URL-safe.
pub fn rest_item_id(mailbox: u32, n: u64, move_gen: u32) -> String {
    format!(
        "AAMkAG{}",
        URL_SAFE_NO_PAD.encode(format!("e:{mailbox}:{n}:{move_gen}"))
    )
}

/// Graph immutable ids survive moves inside the mailbox.
pub fn immutable_item_id(mailbox: u32, n: u64) -> String {
    format!(
        "AAkALg{}",
        URL_SAFE_NO_PAD.encode(format!("i:{mailbox}:{n}"))
    )
}

/// PidTagSearchKey (0x300B) as EWS shows it, base64: fixed for the item's life, moves included.
pub fn search_key(mailbox: u32, n: u64) -> String {
    STANDARD.encode(format!("sk:{mailbox}:{n}:0000000000"))
}

pub fn change_key(seq: u64) -> String {
    format!("CQAAAB{}", STANDARD.encode(format!("ck:{seq}")))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedItemId {
    pub mailbox: u32,
    pub n: u64,
    /// `None` for an immutable id.
    pub move_gen: Option<u32>,
}

pub fn parse_item_id(id: &str) -> Option<ParsedItemId> {
    let (body, immutable) = if let Some(b) = id.strip_prefix("AAMkAG") {
        (b, false)
    } else if let Some(b) = id.strip_prefix("AAkALg") {
        (b, true)
    } else {
        return None;
    };
    let normalised: String = body
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    let raw = URL_SAFE_NO_PAD.decode(normalised).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let mut parts = text.split(':');
    let tag = parts.next()?;
    let mailbox = parts.next()?.parse().ok()?;
    let n = parts.next()?.parse().ok()?;
    match (tag, immutable) {
        ("i", true) => Some(ParsedItemId {
            mailbox,
            n,
            move_gen: None,
        }),
        ("e", false) => Some(ParsedItemId {
            mailbox,
            n,
            move_gen: Some(parts.next()?.parse().ok()?),
        }),
        _ => None,
    }
}

// ---- content helpers ---------------------------------------------------------------------------

/// The value of a header in the header block of a MIME message (unfolded, first occurrence).
pub fn mime_header(data: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    let mut value: Option<String> = None;
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if let Some(v) = value.as_mut() {
            if line.starts_with(' ') || line.starts_with('\t') {
                v.push(' ');
                v.push_str(line.trim());
                continue;
            }
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case(name) {
                value = Some(v.trim().to_string());
            }
        }
    }
    value
}

/// The value of a property in an iCalendar/vCard text, parameters dropped.
pub fn text_property(data: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        let base = key.split(';').next()?;
        base.eq_ignore_ascii_case(name)
            .then(|| crate::properties::unescape(value.trim()))
    })
}

// ---- seeding -----------------------------------------------------------------------------------

/// Loads mailboxes from a seed directory: one subdirectory per mailbox named by its SMTP
/// address; inside, one subdirectory per mail folder (nested directories are nested folders)
/// holding `.eml` files (a name ending in `.read.eml` marks the message read), plus `Calendar/`
/// with `.ics` files and `Contacts/` with `.vcf` files. An optional `displayname` file holds the
/// mailbox owner's name.
pub fn load_seed(dir: &Path, first_index: u32) -> Result<Vec<Mailbox>, MailboxError> {
    let mut out = Vec::new();
    let mut entries = sorted_entries(dir)?;
    entries.retain(|p| p.is_dir());
    for (i, path) in entries.into_iter().enumerate() {
        let Some(address) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !address.contains('@') {
            continue;
        }
        let display = std::fs::read_to_string(path.join("displayname"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| address.to_string());
        let index = first_index + u32::try_from(i).unwrap_or(u32::MAX - first_index);
        let mut mb = Mailbox::new(address, index, &display);
        for sub in sorted_entries(&path)? {
            if !sub.is_dir() {
                continue;
            }
            let name = file_name(&sub)?;
            match name.as_str() {
                "Calendar" => load_flat(&mut mb, &sub, "calendar", "ics", ItemKind::CalendarItem)?,
                "Contacts" => load_flat(&mut mb, &sub, "contacts", "vcf", ItemKind::Contact)?,
                _ => load_mail_folder(&mut mb, &sub, "msgfolderroot", &name)?,
            }
        }
        out.push(mb);
    }
    Ok(out)
}

fn load_mail_folder(
    mb: &mut Mailbox,
    dir: &Path,
    parent_id_or_key: &str,
    name: &str,
) -> Result<(), MailboxError> {
    let parent = mb
        .resolve_folder(parent_id_or_key)
        .ok_or_else(|| MailboxError::NoFolder(parent_id_or_key.into()))?
        .id
        .clone();
    let existing = mb
        .folders
        .values()
        .find(|f| f.parent.as_deref() == Some(parent.as_str()) && f.name == name)
        .map(|f| f.id.clone());
    let id = match existing {
        Some(id) => id,
        None => mb.insert_folder(Some(parent), name, FolderKind::Mail, None),
    };
    for entry in sorted_entries(dir)? {
        let fname = file_name(&entry)?;
        if entry.is_dir() {
            load_mail_folder(mb, &entry, &id, &fname)?;
        } else if fname.ends_with(".eml") {
            let data = read(&entry)?;
            mb.add_item(&id, ItemKind::Message, data, fname.ends_with(".read.eml"))?;
        }
    }
    Ok(())
}

fn load_flat(
    mb: &mut Mailbox,
    dir: &Path,
    folder: &str,
    ext: &str,
    kind: ItemKind,
) -> Result<(), MailboxError> {
    for entry in sorted_entries(dir)? {
        if entry.extension().and_then(|e| e.to_str()) == Some(ext) {
            let data = read(&entry)?;
            mb.add_item(folder, kind, data, true)?;
        }
    }
    Ok(())
}

fn sorted_entries(dir: &Path) -> Result<Vec<std::path::PathBuf>, MailboxError> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| MailboxError::Seed(format!("{}: {e}", dir.display())))?;
    let mut v = Vec::new();
    for e in rd {
        let e = e.map_err(|e| MailboxError::Seed(e.to_string()))?;
        v.push(e.path());
    }
    v.sort();
    Ok(v)
}

fn file_name(p: &Path) -> Result<String, MailboxError> {
    p.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| MailboxError::Seed(format!("non-UTF-8 name: {}", p.display())))
}

fn read(p: &Path) -> Result<Vec<u8>, MailboxError> {
    std::fs::read(p).map_err(|e| MailboxError::Seed(format!("{}: {e}", p.display())))
}

/// A plain synthetic message for volume tests.
pub fn synthetic_message(mailbox: &str, n: u64) -> Vec<u8> {
    let day = 1 + n % 28;
    let hour = n % 24;
    format!(
        "From: Sender {s} <sender{s}@example.com>\r\n\
         To: <{mailbox}>\r\n\
         Subject: Synthetic message {n}\r\n\
         Date: Mon, {day:02} Jun 2025 {hour:02}:15:00 +0000\r\n\
         Message-ID: <synthetic-{n}.{mailbox}>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         This is synthetic message number {n} for {mailbox}.\r\n\
         It exists to measure how many requests a full sync needs.\r\n",
        s = n % 97
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_ids_round_trip() {
        let e = ews_item_id(3, 42, 2);
        assert_eq!(
            parse_item_id(&e),
            Some(ParsedItemId {
                mailbox: 3,
                n: 42,
                move_gen: Some(2)
            })
        );
        let r = rest_item_id(3, 42, 2);
        assert_eq!(parse_item_id(&r), parse_item_id(&e));
        let i = immutable_item_id(3, 42);
        assert_eq!(parse_item_id(&i).map(|p| p.move_gen), Some(None));
        assert_eq!(parse_item_id("garbage"), None);
    }

    #[test]
    fn changes_classify_create_update_readflag_delete() {
        let mut mb = Mailbox::new("a@example.com", 1, "A");
        let inbox = mb
            .resolve_folder("inbox")
            .map(|f| f.id.clone())
            .unwrap_or_default();
        let a = mb
            .add_item("inbox", ItemKind::Message, b"x".to_vec(), false)
            .unwrap();
        let b = mb
            .add_item("inbox", ItemKind::Message, b"y".to_vec(), false)
            .unwrap();
        let since = mb.seq;
        mb.set_read(a.n, true).unwrap();
        mb.move_item(b.n, "drafts").unwrap();
        let c = mb.item_changes(&inbox, since);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].kind, ChangeType::ReadFlag);
        assert_eq!(c[1].kind, ChangeType::Delete);
        assert!(mb
            .item_changes(&inbox, 0)
            .iter()
            .all(|c| c.kind == ChangeType::Create));
    }
}
