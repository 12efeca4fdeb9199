//! Search hits with their archive records: what the portal and the command line both show.

use std::collections::{HashMap, HashSet};

use archive::{Archive, FolderId, ItemDetail};

use crate::{Result, SearchReader, SearchRequest, SearchResults, Snippet};

/// A hit with the item's record and where it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundItem {
    pub item: ItemDetail,
    /// The path of its current folder, from the mailbox root; `None` when it is in none.
    pub folder_path: Option<Vec<String>>,
    pub score: Option<f32>,
    pub snippet: Option<Snippet>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FoundItems {
    /// Matches in the index, also those beyond this page.
    pub total: usize,
    pub items: Vec<FoundItem>,
}

impl SearchReader {
    /// Searches, then reads the hits' records in one batch. The store's record is checked
    /// against the request's mailboxes and kinds again, so a stale index entry can never show
    /// more than the caller may see.
    pub async fn find(&self, archive: &Archive, request: &SearchRequest) -> Result<FoundItems> {
        let results = self.search(archive, request).await?;
        with_records(archive, request, results).await
    }
}

/// The hits' records, read in one batch and checked against the request's mailboxes and kinds.
pub(crate) async fn with_records(
    archive: &Archive,
    request: &SearchRequest,
    results: SearchResults,
) -> Result<FoundItems> {
    let ids: Vec<i64> = results.hits.iter().map(|h| h.item_id).collect();
    let mut records: HashMap<i64, ItemDetail> = archive
        .items(&ids)
        .await?
        .into_iter()
        .filter(|item| request.mailbox_ids.contains(&item.mailbox_id))
        .filter(|item| request.kinds.is_empty() || request.kinds.contains(&item.kind))
        .map(|item| (item.id, item))
        .collect();
    let mailboxes: HashSet<i64> = records.values().map(|i| i.mailbox_id).collect();
    let mut paths: HashMap<FolderId, Vec<String>> = HashMap::new();
    for mailbox in mailboxes {
        for folder in archive.folder_tree(mailbox, None).await? {
            paths.insert(folder.id, folder.path);
        }
    }
    let items = results
        .hits
        .into_iter()
        .filter_map(|hit| {
            let item = records.remove(&hit.item_id)?;
            Some(FoundItem {
                folder_path: item.folder_id.and_then(|f| paths.get(&f).cloned()),
                item,
                score: hit.score,
                snippet: hit.snippet,
            })
        })
        .collect();
    Ok(FoundItems {
        total: results.total,
        items,
    })
}
