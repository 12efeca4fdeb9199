use serde::{Deserialize, Serialize};

pub use domain::{FolderId, ItemId, MailboxId, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMailbox {
    /// Unique name: the primary SMTP address for an Exchange mailbox, any label for an import.
    pub name: String,
    /// Whose mail this is; the portal lists a user's mailboxes by it.
    pub owner_address: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    pub id: MailboxId,
    pub name: String,
    pub owner_address: String,
    pub display_name: String,
    pub created_at: Timestamp,
}

/// The well-known role of a folder, as Exchange names them, so the portal can order and label them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FolderKind {
    Inbox,
    Sent,
    Drafts,
    Deleted,
    Junk,
    Archive,
    Outbox,
    Calendar,
    Contacts,
    Other,
}

impl FolderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FolderKind::Inbox => "inbox",
            FolderKind::Sent => "sent",
            FolderKind::Drafts => "drafts",
            FolderKind::Deleted => "deleted",
            FolderKind::Junk => "junk",
            FolderKind::Archive => "archive",
            FolderKind::Outbox => "outbox",
            FolderKind::Calendar => "calendar",
            FolderKind::Contacts => "contacts",
            FolderKind::Other => "other",
        }
    }

    pub fn parse(value: &str) -> Self {
        match value {
            "inbox" => FolderKind::Inbox,
            "sent" => FolderKind::Sent,
            "drafts" => FolderKind::Drafts,
            "deleted" => FolderKind::Deleted,
            "junk" => FolderKind::Junk,
            "archive" => FolderKind::Archive,
            "outbox" => FolderKind::Outbox,
            "calendar" => FolderKind::Calendar,
            "contacts" => FolderKind::Contacts,
            _ => FolderKind::Other,
        }
    }
}

/// What the source says a folder is now. Upserting it versions the tree when anything changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderSpec {
    pub source_id: String,
    pub parent_source_id: Option<String>,
    pub name: String,
    pub kind: FolderKind,
}

/// A folder as it was at one instant, with its counts at that instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderNode {
    pub id: FolderId,
    pub source_id: String,
    pub parent_id: Option<FolderId>,
    pub name: String,
    pub kind: FolderKind,
    /// Names from the root down to this folder, for display and for `folder:` search.
    pub path: Vec<String>,
    pub total: i64,
    pub unread: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Message,
    Calendar,
    Contact,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Message => "message",
            ItemKind::Calendar => "calendar",
            ItemKind::Contact => "contact",
        }
    }

    pub fn parse(value: &str) -> Self {
        match value {
            "calendar" => ItemKind::Calendar,
            "contact" => ItemKind::Contact,
            _ => ItemKind::Message,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    pub name: String,
    pub size: i64,
    pub content_type: String,
}

/// Where an item's date came from, most trustworthy first. Recorded with the item, so a date
/// that is only an estimate can be shown as one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateSource {
    /// The message's `Date:` header, with its zone.
    Header,
    /// The `Date:` header without a readable zone, read as UTC.
    HeaderWithoutZone,
    /// The newest `Received:` header (the message had no readable `Date:`).
    Received,
    /// The date on the mbox `From ` line the message was imported from.
    MboxFromLine,
    /// The modification time of the file it was imported from (Maildir, EML).
    FileTime,
    /// What the source said (Exchange's own properties, a calendar item's start).
    #[default]
    Source,
    /// Nothing said when: the time it was archived.
    Archived,
}

impl DateSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DateSource::Header => "header",
            DateSource::HeaderWithoutZone => "header_without_zone",
            DateSource::Received => "received",
            DateSource::MboxFromLine => "mbox_from_line",
            DateSource::FileTime => "file_time",
            DateSource::Source => "source",
            DateSource::Archived => "archived",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "header" => DateSource::Header,
            "header_without_zone" => DateSource::HeaderWithoutZone,
            "received" => DateSource::Received,
            "mbox_from_line" => DateSource::MboxFromLine,
            "file_time" => DateSource::FileTime,
            "source" => DateSource::Source,
            "archived" => DateSource::Archived,
            _ => return None,
        })
    }
}

/// A date known from outside the content, used when the content has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FallbackDate {
    pub at: Timestamp,
    pub source: DateSource,
}

/// Searchable and listable facts about an item. For messages the store reads them from the MIME;
/// for calendar items and contacts the caller supplies what it knows (title, date).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemMeta {
    pub subject: String,
    /// Display form of the sender: the name when there is one, else the address.
    pub sender: String,
    pub sender_address: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub message_id: Option<String>,
    pub date: Option<Timestamp>,
    /// Where `date` came from.
    pub date_source: DateSource,
    pub attachments: Vec<AttachmentInfo>,
}

/// One item as the source has it now. `put_items` is idempotent on (mailbox, source_id).
#[derive(Debug, Clone)]
pub struct PutItem {
    pub mailbox_id: MailboxId,
    pub folder_source_id: String,
    /// The source's id (Exchange item id); imports derive one from folder and content hash.
    pub source_id: String,
    pub kind: ItemKind,
    pub raw: Vec<u8>,
    pub is_read: bool,
    /// Other flags (flagged, answered, draft...), kept as the source names them.
    pub flags: Vec<String>,
    /// For calendar items and contacts; messages are parsed from `raw` when this is None.
    pub meta: Option<ItemMeta>,
    /// A calendar item's or contact's properties (the `pim` record as JSON), stored as a blob
    /// of its own next to the content.
    pub properties: Option<Vec<u8>>,
    /// Used as the item's date when the content has none: the arrival time in the source, an mbox
    /// `From ` line's date, a file's time.
    pub fallback_date: Option<FallbackDate>,
    pub at: Timestamp,
}

impl PutItem {
    /// An unread message with no flags or other metadata: what tests and simple callers archive.
    pub fn message(
        mailbox_id: MailboxId,
        folder_source_id: &str,
        source_id: &str,
        raw: Vec<u8>,
        at: Timestamp,
    ) -> Self {
        PutItem {
            mailbox_id,
            folder_source_id: folder_source_id.to_owned(),
            source_id: source_id.to_owned(),
            kind: ItemKind::Message,
            raw,
            is_read: false,
            flags: Vec::new(),
            meta: None,
            properties: None,
            fallback_date: None,
            at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// A new item record was created.
    Created(ItemId),
    /// The record existed already (same mailbox and source id); membership was made to match.
    Existing(ItemId),
}

impl PutOutcome {
    pub fn item_id(self) -> ItemId {
        match self {
            PutOutcome::Created(id) | PutOutcome::Existing(id) => id,
        }
    }
}

/// A line in a folder's message list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemSummary {
    pub id: ItemId,
    pub folder_id: FolderId,
    pub kind: ItemKind,
    pub subject: String,
    pub sender: String,
    pub sender_address: String,
    pub date: Timestamp,
    pub size: i64,
    pub has_attachments: bool,
    pub is_read: bool,
}

/// Everything the reader pane shows besides the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemDetail {
    pub id: ItemId,
    pub mailbox_id: MailboxId,
    pub source_id: String,
    pub kind: ItemKind,
    pub blob_hash: String,
    pub size: i64,
    pub subject: String,
    pub sender: String,
    pub sender_address: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub message_id: Option<String>,
    pub date: Timestamp,
    /// Where `date` came from; None for items archived before this was recorded.
    pub date_source: Option<DateSource>,
    pub has_attachments: bool,
    pub attachments: Vec<AttachmentInfo>,
    pub flags: Vec<String>,
    /// False when the content could not be parsed and is kept as raw bytes only.
    pub parsed: bool,
    /// The folder it is in now (or was last in, when deleted in the source) and its read flag there.
    pub folder_id: Option<FolderId>,
    pub is_read: bool,
    pub deleted_in_source: bool,
    pub archived_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortKey {
    Date,
    Sender,
    Subject,
    Size,
}

/// A page request for a folder's item list. Paging is by keyset (`after` is the previous page's
/// `next`), so page 500 of a 100,000-item folder costs the same as page 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub sort: SortKey,
    pub descending: bool,
    pub limit: u32,
    pub after: Option<String>,
    /// None: as the source shows it now; Some(t): as it was at t.
    pub as_of: Option<Timestamp>,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            sort: SortKey::Date,
            descending: true,
            limit: 50,
            after: None,
            as_of: None,
        }
    }
}

/// A calendar item or contact in a mailbox at an instant, with its stored properties (the
/// `pim` record's JSON; `None` for an item archived before properties were kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindItem {
    pub summary: ItemSummary,
    pub properties: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemPage {
    pub items: Vec<ItemSummary>,
    /// Opaque cursor for the next page, None on the last page.
    pub next: Option<String>,
}

/// A mailbox as it was at one instant: what snapshots are made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxState {
    pub at: Timestamp,
    pub folders: Vec<FolderNode>,
    pub items: Vec<StateItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateItem {
    pub item_id: ItemId,
    pub source_id: String,
    pub folder_id: FolderId,
    pub is_read: bool,
}

/// Where the search indexer stands in the store's change order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChangeCursor {
    pub seq: i64,
    pub item_id: ItemId,
}

/// One part of the search index: the mailboxes whose id leaves `number` when divided by `of`.
/// `Shard::WHOLE` (0 of 1) is every mailbox, the embedded one-index case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard {
    pub number: u32,
    pub of: u32,
}

impl Shard {
    pub const WHOLE: Shard = Shard { number: 0, of: 1 };

    /// Every shard of a split into `of` (at least one).
    pub fn all(of: u32) -> Vec<Shard> {
        let of = of.max(1);
        (0..of).map(|number| Shard { number, of }).collect()
    }

    /// The shard a mailbox's items are indexed in.
    pub fn of_mailbox(mailbox_id: MailboxId, of: u32) -> Shard {
        let of = of.max(1);
        Shard {
            number: mailbox_id.rem_euclid(i64::from(of)) as u32,
            of,
        }
    }

    pub fn holds(&self, mailbox_id: MailboxId) -> bool {
        Shard::of_mailbox(mailbox_id, self.of) == *self
    }

    /// Its name in leases and on disk: `0-of-4`.
    pub fn key(&self) -> String {
        format!("{}-of-{}", self.number, self.of)
    }
}

/// What the indexer needs to (re)index one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRecord {
    pub cursor: ChangeCursor,
    pub item: ItemDetail,
}

/// An archived item found by its Internet-Message-Id, and where it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageIdMatch {
    /// Without angle brackets.
    pub message_id: String,
    pub item_id: ItemId,
    pub source_id: String,
    pub folder_id: Option<FolderId>,
    pub is_read: bool,
    pub deleted_in_source: bool,
}
