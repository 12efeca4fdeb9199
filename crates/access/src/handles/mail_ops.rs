//! What reading a mailbox takes, whoever reads it: the handles check who may, these do it.

use archive::{
    Archive, FolderId, FolderNode, ItemDetail, ItemKind, ItemPage, ListQuery, Mailbox, MailboxId,
};
use search::{FoundItems, SearchRequest, SearchSort};

use crate::{Access, AccessError};

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
}

/// A search within one mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailQuery {
    pub query: String,
    pub sort: SearchSort,
    pub offset: usize,
    pub limit: usize,
}

pub(crate) async fn folder_tree(
    archive: &Archive,
    mailbox: &ReadableMailbox,
) -> Result<Vec<FolderNode>, AccessError> {
    Ok(archive.folder_tree(mailbox.id(), None).await?)
}

/// A folder of another mailbox is "not found".
pub(crate) async fn list_folder(
    archive: &Archive,
    mailbox: &ReadableMailbox,
    folder: FolderId,
    query: &ListQuery,
) -> Result<ItemPage, AccessError> {
    let tree = folder_tree(archive, mailbox).await?;
    if !tree.iter().any(|f| f.id == folder) {
        return Err(AccessError::NotFound);
    }
    Ok(archive.list_folder_items(folder, query).await?)
}

/// A refusal names the field: `query` for an empty or malformed query, `page` past the
/// results that can be paged through.
pub(crate) async fn search(
    access: &Access,
    mailbox: &ReadableMailbox,
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
        mailbox_ids: vec![mailbox.id()],
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
