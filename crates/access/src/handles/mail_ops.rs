//! What reading a mailbox takes, whoever reads it: the handles check who may, these do it.

use archive::{
    Archive, FolderId, FolderNode, ItemDetail, ItemKind, ItemPage, ListQuery, Mailbox, MailboxId,
    Timestamp,
};
use search::{FoundItems, SearchRequest, SearchSort};
use syncer::RunRecord;

use crate::{Access, AccessError, Scope};

/// A mailbox the caller may read; only this crate makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadableMailbox(pub(crate) Mailbox);

impl ReadableMailbox {
    pub fn mailbox(&self) -> &Mailbox {
        &self.0
    }

    pub fn id(&self) -> MailboxId {
        self.0.id
    }
}

/// An archived message the caller may read, with its content a call away.
#[derive(Debug, Clone)]
pub struct ReadableItem {
    detail: ItemDetail,
    archive: archive::Archive,
}

impl ReadableItem {
    pub(crate) fn new(detail: ItemDetail, archive: archive::Archive) -> Self {
        ReadableItem { detail, archive }
    }

    pub fn detail(&self) -> &ItemDetail {
        &self.detail
    }

    pub fn into_detail(self) -> ItemDetail {
        self.detail
    }

    /// The content exactly as archived.
    pub async fn raw(&self) -> Result<Vec<u8>, AccessError> {
        Ok(self.archive.read_raw(self.detail.id).await?)
    }

    /// The content exactly as archived, as it is read: for a download, which never needs it
    /// whole. A fault after the first bytes ends the stream with an error.
    pub async fn raw_stream(&self) -> Result<archive::ByteStream, AccessError> {
        Ok(self.archive.read_raw_stream(self.detail.id).await?)
    }
}

/// A search within one mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailQuery {
    pub query: String,
    pub sort: SearchSort,
    pub offset: usize,
    pub limit: usize,
}

/// An instant of a mailbox as the archive knows it: the state there is the one the last sync
/// before it saw, so that is how precise it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownInstant {
    pub at: Timestamp,
    /// The sync whose view of the mailbox the instant shows (None: imported, or no sync yet).
    pub seen_by: Option<RunRecord>,
    /// The next sync after the instant, if there was one.
    pub next_sync: Option<RunRecord>,
    /// The archive knew nothing of the mailbox yet: the state is empty, and that is why.
    pub before_first_sync: bool,
}

/// A future instant is refused: nobody knows that state yet.
pub(crate) async fn known_instant(
    access: &Access,
    mailbox: &ReadableMailbox,
    at: Timestamp,
) -> Result<KnownInstant, AccessError> {
    // A minute of slack: the browser's clock and ours differ a little.
    if at.0 > Timestamp::now().0 + 60_000_000 {
        return Err(AccessError::invalid(
            "at",
            "That instant is in the future: pick a date and time up to now.",
        ));
    }
    let first = access.inner.archive.first_seen(mailbox.id()).await?;
    let (seen_by, next_sync) = access
        .inner
        .sync
        .store()
        .runs_around(mailbox.id(), at)
        .await?;
    Ok(KnownInstant {
        at,
        seen_by,
        next_sync,
        before_first_sync: first.is_none_or(|f| f > at),
    })
}

/// The instant a tab is opened at: none for "now", else checked and placed among the syncs.
pub(crate) async fn opened_at(
    access: &Access,
    mailbox: &ReadableMailbox,
    at: Option<Timestamp>,
) -> Result<Option<KnownInstant>, AccessError> {
    match at {
        Some(at) => Ok(Some(known_instant(access, mailbox, at).await?)),
        None => Ok(None),
    }
}

pub(crate) async fn folder_tree(
    archive: &Archive,
    mailbox: &ReadableMailbox,
    at: Option<Timestamp>,
) -> Result<Vec<FolderNode>, AccessError> {
    Ok(archive.folder_tree(mailbox.id(), at).await?)
}

/// A folder of another mailbox is "not found". Checked by the folder's owner rather than
/// against the tree: a tree as of an instant costs a count over the whole mailbox, and the
/// caller has usually just computed it.
pub(crate) async fn list_folder(
    archive: &Archive,
    mailbox: &ReadableMailbox,
    folder: FolderId,
    query: &ListQuery,
) -> Result<ItemPage, AccessError> {
    if archive.folder_mailbox(folder).await? != Some(mailbox.id()) {
        return Err(AccessError::NotFound);
    }
    Ok(archive.list_folder_items(folder, query).await?)
}

/// A mailbox the scope covers; any other (or none) is "not found".
pub(crate) async fn mailbox_in_scope(
    archive: &Archive,
    scope: &Scope,
    id: MailboxId,
) -> Result<ReadableMailbox, AccessError> {
    match archive.mailbox(id).await? {
        Some(m) if scope.covers(&m.owner_address) => Ok(ReadableMailbox(m)),
        _ => Err(AccessError::NotFound),
    }
}

/// A refusal names the field: `query` for an empty or malformed query, `page` past the
/// results that can be paged through.
pub(crate) async fn search(
    access: &Access,
    mailboxes: &[ReadableMailbox],
    query: &MailQuery,
) -> Result<FoundItems, AccessError> {
    if query.query.trim().is_empty() {
        return Err(AccessError::invalid(
            "query",
            "Type something to search for, for example a word, from:anna or has:attachment.",
        ));
    }
    if query.offset >= search::MAX_OFFSET {
        return Err(AccessError::invalid(
            "page",
            format!(
                "Only the first {} results can be paged through: add words or a date to narrow the search.",
                search::MAX_OFFSET
            ),
        ));
    }
    let request = SearchRequest {
        mailbox_ids: mailboxes.iter().map(ReadableMailbox::id).collect(),
        query: query.query.clone(),
        kinds: vec![ItemKind::Message],
        sort: query.sort,
        offset: query.offset,
        limit: query.limit,
        snippets: true,
    };
    Ok(access
        .inner
        .search
        .find(&access.inner.archive, &request)
        .await?)
}
