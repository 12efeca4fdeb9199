//! What reading a mailbox takes, whoever reads it: the handles check who may, these do it.

use archive::{Archive, FolderId, FolderNode, ItemKind, ItemPage, ListQuery};
use search::{FoundItems, SearchRequest};

use super::own_mail::{MailQuery, ReadableMailbox};
use crate::{Access, AccessError};

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
