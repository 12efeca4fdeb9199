//! The end user's archive: mailboxes, folders, message lists, the reader, search. Every function
//! checks the caller through `access` before it reads anything.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::error::ApiError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxView {
    pub id: i64,
    pub name: String,
    pub display_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderView {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    /// `inbox`, `sent`, `drafts`, `deleted`, ... or `other`.
    pub kind: String,
    pub depth: usize,
    pub has_children: bool,
    pub total: i64,
    pub unread: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRow {
    pub id: i64,
    pub subject: String,
    pub sender: String,
    pub sender_address: String,
    /// Short date for the list (time today, day this year, else full date).
    pub date: String,
    /// Full date and time, for a tooltip.
    pub date_full: String,
    pub size: String,
    pub has_attachments: bool,
    pub is_read: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageList {
    pub mailbox_id: i64,
    pub folder: FolderView,
    pub rows: Vec<MessageRow>,
    /// Cursor for the next page, if there is one.
    pub next: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentView {
    pub index: usize,
    pub name: String,
    pub content_type: String,
    pub size: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDetail {
    pub id: i64,
    pub mailbox_id: i64,
    pub folder_id: Option<i64>,
    pub subject: String,
    pub sender: String,
    pub sender_address: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub date_full: String,
    /// Set when the date is not the message's own (`Date:` missing, unreadable or without zone):
    /// where it came from instead.
    pub date_note: Option<String>,
    pub size: String,
    /// The sanitised HTML body is served at `/mail/body/{id}` into a sandboxed frame.
    pub has_html: bool,
    pub text: Option<String>,
    pub remote_images_blocked: usize,
    pub attachments: Vec<AttachmentView>,
    /// Set when the content could not be parsed: it is archived as raw bytes, downloadable.
    pub unparsed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHitView {
    pub row: MessageRow,
    pub folder_id: Option<i64>,
    pub mailbox_id: i64,
    /// The mailbox's name, when the search spanned several.
    pub mailbox_name: Option<String>,
    pub folder_path: String,
    /// Escaped text with `<mark>` around the matches: safe to insert as markup.
    pub snippet_html: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchPage {
    pub query: String,
    pub total: usize,
    pub page: usize,
    pub page_size: usize,
    pub hits: Vec<SearchHitView>,
    /// A problem with the query itself, said for a person ("Unclosed quote", ...).
    pub problem: Option<String>,
    /// The mailboxes the search can be narrowed to; empty when there is only one.
    pub mailboxes: Vec<MailboxView>,
    /// The one mailbox searched, when narrowed; None: all of them.
    pub within: Option<i64>,
}

/// Messages per page in the list and in search results.
pub const PAGE_SIZE: usize = 50;

/// What the mail screen needs around the list: the caller's mailboxes, the chosen one (the first
/// when none is named) and its folder tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub mailboxes: Vec<MailboxView>,
    pub mailbox: Option<MailboxView>,
    pub folders: Vec<FolderView>,
    /// The folder shown when none is named: the Inbox, else the first folder.
    pub default_folder: Option<i64>,
}

#[server(endpoint = "mail/overview", output = super::codec::Json)]
pub async fn mail_overview(mailbox: Option<i64>) -> Result<Overview, ApiError> {
    let caller = super::access::caller().await?;
    let mail = caller.own_mail();
    let mailboxes = mail.mailboxes().await?;
    let chosen = ssr::choose_mailbox(&mailboxes, mailbox)?;
    let folders = match &chosen {
        Some(m) => ssr::ordered_folders(&mail.folder_tree(m).await?),
        None => Vec::new(),
    };
    Ok(Overview {
        default_folder: ssr::default_folder(&folders),
        mailboxes: mailboxes.iter().map(ssr::mailbox_view).collect(),
        mailbox: chosen.as_ref().map(ssr::mailbox_view),
        folders,
    })
}

/// One page of a folder's messages. Without a mailbox or folder, the defaults of
/// [`mail_overview`] apply, so the list and the tree can load side by side.
#[server(endpoint = "mail/messages", output = super::codec::Json)]
pub async fn list_messages(
    mailbox: Option<i64>,
    folder: Option<i64>,
    sort: String,
    after: Option<String>,
) -> Result<Option<MessageList>, ApiError> {
    let caller = super::access::caller().await?;
    let mail = caller.own_mail();
    let mailboxes = mail.mailboxes().await?;
    let Some(chosen) = ssr::choose_mailbox(&mailboxes, mailbox)? else {
        return Ok(None);
    };
    let folders = ssr::ordered_folders(&mail.folder_tree(&chosen).await?);
    let Some(folder) = ssr::chosen_folder(folders, folder)? else {
        return Ok(None);
    };
    // A tampered paging cursor is "not found" too.
    let page = mail
        .list_folder(&chosen, folder.id, &ssr::list_query(&sort, after, None))
        .await?;
    Ok(Some(ssr::message_list(chosen.id(), folder, page)))
}

#[server(endpoint = "mail/message", output = super::codec::Json)]
pub async fn get_message(item: i64) -> Result<MessageDetail, ApiError> {
    let caller = super::access::caller().await?;
    let item = caller.own_mail().item(item).await?;
    let raw = item.raw().await?;
    Ok(ssr::message_detail(
        item.into_detail(),
        mailview::render(&raw).ok(),
    ))
}

/// Searches every mailbox the caller owns, or only `within`. Hits say which mailbox they are in
/// when there is more than one.
#[server(endpoint = "mail/search", output = super::codec::Json)]
pub async fn search_mail(
    within: Option<i64>,
    query: String,
    page: usize,
    sort: String,
) -> Result<SearchPage, ApiError> {
    let caller = super::access::caller().await?;
    let mail = caller.own_mail();
    let mailboxes = mail.mailboxes().await?;
    if mailboxes.is_empty() {
        return Ok(SearchPage {
            problem: Some("There is no archived mailbox to search yet.".to_owned()),
            ..ssr::empty_search(query, page)
        });
    }
    // Another person's mailbox named in `within` is refused like a missing one.
    let searched = match within {
        Some(_) => ssr::choose_mailbox(&mailboxes, within)?
            .into_iter()
            .collect(),
        None => mailboxes.clone(),
    };
    let found = mail
        .search(&searched, &ssr::mail_query(&query, page, &sort))
        .await;
    let mut result = ssr::search_page(query, page, found)?;
    if mailboxes.len() > 1 {
        result.mailboxes = mailboxes.iter().map(ssr::mailbox_view).collect();
        result.within = within;
        if searched.len() > 1 {
            for hit in &mut result.hits {
                hit.mailbox_name = result
                    .mailboxes
                    .iter()
                    .find(|m| m.id == hit.mailbox_id)
                    .map(|m| m.display_name.clone());
            }
        }
    }
    Ok(result)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Turning archive types into view types.
    use std::collections::HashMap;

    use access::{AccessError, MailQuery, ReadableMailbox};
    use archive::{
        FolderKind, FolderNode, ItemDetail, ItemPage, ItemSummary, ListQuery, MailboxId, SortKey,
        Timestamp,
    };
    use search::FoundItems;

    use super::{
        AttachmentView, FolderView, MailboxView, MessageDetail, MessageList, MessageRow,
        SearchHitView, SearchPage, PAGE_SIZE,
    };
    use crate::api::error::ApiError;
    use crate::format::{full_date, human_size, short_date};

    pub fn mailbox_view(m: &ReadableMailbox) -> MailboxView {
        let m = m.mailbox();
        MailboxView {
            id: m.id,
            name: m.name.clone(),
            display_name: m.display_name.clone(),
        }
    }

    /// The named mailbox if the caller may see it, else a refusal; the first one when none is
    /// named; `None` when the caller has no mailbox at all.
    pub fn choose_mailbox(
        visible: &[ReadableMailbox],
        wanted: Option<MailboxId>,
    ) -> Result<Option<ReadableMailbox>, ApiError> {
        match wanted {
            Some(id) => visible
                .iter()
                .find(|m| m.id() == id)
                .cloned()
                .map(Some)
                .ok_or(ApiError::NotFound),
            None => Ok(visible.first().cloned()),
        }
    }

    /// The folder a list shows: the one named, else the default one; None when there is no
    /// folder at all; a folder not in the tree is "not found".
    pub fn chosen_folder(
        folders: Vec<FolderView>,
        wanted: Option<i64>,
    ) -> Result<Option<FolderView>, ApiError> {
        let Some(id) = wanted.or_else(|| default_folder(&folders)) else {
            return Ok(None);
        };
        folders
            .into_iter()
            .find(|f| f.id == id)
            .map(Some)
            .ok_or(ApiError::NotFound)
    }

    /// A page of a list, sorted as the list's `sort` says, now or as of an instant.
    pub fn list_query(sort: &str, after: Option<String>, as_of: Option<Timestamp>) -> ListQuery {
        let (sort, descending) = sort_key(sort);
        ListQuery {
            sort,
            descending,
            limit: PAGE_SIZE as u32,
            after,
            as_of,
        }
    }

    pub fn message_list(mailbox_id: MailboxId, folder: FolderView, page: ItemPage) -> MessageList {
        MessageList {
            mailbox_id,
            folder,
            rows: page.items.iter().map(row).collect(),
            next: page.next,
        }
    }

    /// A results page (`page` from 0) in the order the screen's `sort` names.
    pub fn mail_query(query: &str, page: usize, sort: &str) -> MailQuery {
        MailQuery {
            query: query.to_owned(),
            sort: match sort {
                "newest" => search::SearchSort::NewestFirst,
                "oldest" => search::SearchSort::OldestFirst,
                _ => search::SearchSort::Relevance,
            },
            offset: page.saturating_mul(PAGE_SIZE),
            limit: PAGE_SIZE,
        }
    }

    pub fn empty_search(query: String, page: usize) -> SearchPage {
        SearchPage {
            query,
            total: 0,
            page,
            page_size: PAGE_SIZE,
            hits: Vec::new(),
            problem: None,
            mailboxes: Vec::new(),
            within: None,
        }
    }

    /// The results of a search, or the problem with its query said on the results page (a
    /// mistyped query is not a failure).
    pub fn search_page(
        query: String,
        page: usize,
        found: Result<FoundItems, AccessError>,
    ) -> Result<SearchPage, ApiError> {
        let mut result = empty_search(query, page);
        match found {
            Ok(found) => {
                result.total = found.total;
                result.hits = found.items.into_iter().map(hit_view).collect();
            }
            Err(AccessError::Invalid { message, .. }) => result.problem = Some(message),
            Err(e) => return Err(e.into()),
        }
        Ok(result)
    }

    pub fn default_folder(folders: &[FolderView]) -> Option<i64> {
        folders
            .iter()
            .find(|f| f.kind == "inbox")
            .or_else(|| folders.first())
            .map(|f| f.id)
    }

    /// The well-known folders first, in the order mail clients show them.
    fn rank(kind: FolderKind) -> u8 {
        match kind {
            FolderKind::Inbox => 0,
            FolderKind::Sent => 1,
            FolderKind::Drafts => 2,
            FolderKind::Deleted => 3,
            FolderKind::Archive => 4,
            FolderKind::Junk => 5,
            FolderKind::Outbox => 6,
            _ => 10,
        }
    }

    /// The mail folders in display order: depth-first, well-known folders first among siblings,
    /// then by name. Calendar and contact folders are left out (end users see mail only).
    pub fn ordered_folders(tree: &[FolderNode]) -> Vec<FolderView> {
        let mail: Vec<&FolderNode> = tree
            .iter()
            .filter(|f| !matches!(f.kind, FolderKind::Calendar | FolderKind::Contacts))
            .collect();
        let ids: std::collections::HashSet<i64> = mail.iter().map(|f| f.id).collect();
        let mut children: HashMap<Option<i64>, Vec<&FolderNode>> = HashMap::new();
        for folder in &mail {
            // A folder whose parent is not shown (a root or a calendar's child) goes to the top.
            let parent = folder.parent_id.filter(|p| ids.contains(p));
            children.entry(parent).or_default().push(folder);
        }
        for list in children.values_mut() {
            list.sort_by(|a, b| {
                rank(a.kind)
                    .cmp(&rank(b.kind))
                    .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
            });
        }
        let mut out = Vec::with_capacity(mail.len());
        let mut stack: Vec<(&FolderNode, usize)> = children
            .get(&None)
            .map(|roots| roots.iter().rev().map(|f| (*f, 0)).collect())
            .unwrap_or_default();
        while let Some((folder, depth)) = stack.pop() {
            let kids = children.get(&Some(folder.id));
            out.push(FolderView {
                id: folder.id,
                parent_id: folder.parent_id.filter(|p| ids.contains(p)),
                name: folder.name.clone(),
                kind: folder.kind.as_str().to_owned(),
                depth,
                has_children: kids.is_some_and(|k| !k.is_empty()),
                total: folder.total,
                unread: folder.unread,
            });
            if let Some(kids) = kids {
                stack.extend(kids.iter().rev().map(|f| (*f, depth + 1)));
            }
        }
        out
    }

    /// `date`, `sender`, `subject`, `size`, with `-asc` for ascending; newest first by default.
    pub fn sort_key(sort: &str) -> (SortKey, bool) {
        let (name, ascending) = match sort.strip_suffix("-asc") {
            Some(name) => (name, true),
            None => (sort, false),
        };
        let key = match name {
            "sender" => SortKey::Sender,
            "subject" => SortKey::Subject,
            "size" => SortKey::Size,
            _ => SortKey::Date,
        };
        (key, !ascending)
    }

    /// What the reader says about a date that is not the message's own.
    fn date_note(source: Option<archive::DateSource>) -> Option<String> {
        use archive::DateSource;
        let note = match source? {
            DateSource::Header | DateSource::Source => return None,
            DateSource::HeaderWithoutZone => "the message gives no time zone: shown as UTC",
            DateSource::Received => {
                "no readable date in the message: when a mail server received it"
            }
            DateSource::MboxFromLine => {
                "no readable date in the message: the date of its mbox entry"
            }
            DateSource::FileTime => {
                "no readable date in the message: the time of the file it was imported from"
            }
            DateSource::Archived => "no date in the message: when it was archived",
        };
        Some(note.to_owned())
    }

    pub fn message_detail(
        detail: ItemDetail,
        view: Option<mailview::MessageView>,
    ) -> MessageDetail {
        MessageDetail {
            id: detail.id,
            mailbox_id: detail.mailbox_id,
            folder_id: detail.folder_id,
            subject: detail.subject,
            sender: detail.sender,
            sender_address: detail.sender_address,
            to: detail.to,
            cc: detail.cc,
            date_full: full_date(detail.date),
            date_note: date_note(detail.date_source),
            size: human_size(detail.size),
            has_html: view.as_ref().is_some_and(|v| v.html.is_some()),
            text: view.as_ref().and_then(|v| v.text.clone()),
            remote_images_blocked: view.as_ref().map_or(0, |v| v.remote_images_blocked),
            attachments: view
                .as_ref()
                .map(|v| {
                    v.attachments
                        .iter()
                        .map(|a| AttachmentView {
                            index: a.index,
                            name: a.name.clone(),
                            content_type: a.content_type.clone(),
                            size: human_size(i64::try_from(a.size).unwrap_or(i64::MAX)),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            unparsed: view.is_none() || !detail.parsed,
        }
    }

    pub fn hit_view(found: search::FoundItem) -> SearchHitView {
        let item = &found.item;
        SearchHitView {
            row: row(&ItemSummary {
                id: item.id,
                folder_id: item.folder_id.unwrap_or_default(),
                kind: item.kind,
                subject: item.subject.clone(),
                sender: item.sender.clone(),
                sender_address: item.sender_address.clone(),
                date: item.date,
                size: item.size,
                has_attachments: item.has_attachments,
                is_read: item.is_read,
            }),
            folder_id: item.folder_id,
            mailbox_id: item.mailbox_id,
            mailbox_name: None,
            folder_path: found
                .folder_path
                .map(|p| p.join(" / "))
                .unwrap_or_else(|| "(no longer in a folder)".to_owned()),
            snippet_html: found.snippet.map(|s| s.html),
        }
    }

    pub fn row(item: &ItemSummary) -> MessageRow {
        MessageRow {
            id: item.id,
            subject: if item.subject.trim().is_empty() {
                "(no subject)".to_owned()
            } else {
                item.subject.clone()
            },
            sender: [&item.sender, &item.sender_address]
                .into_iter()
                .find(|s| !s.trim().is_empty())
                .cloned()
                .unwrap_or_else(|| "(unknown sender)".to_owned()),
            sender_address: item.sender_address.clone(),
            date: short_date(item.date),
            date_full: full_date(item.date),
            size: human_size(item.size),
            has_attachments: item.has_attachments,
            is_read: item.is_read,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use archive::FolderNode;

        fn node(id: i64, parent: Option<i64>, name: &str, kind: FolderKind) -> FolderNode {
            FolderNode {
                id,
                source_id: id.to_string(),
                parent_id: parent,
                name: name.to_owned(),
                kind,
                path: vec![name.to_owned()],
                total: 0,
                unread: 0,
            }
        }

        #[test]
        fn well_known_folders_come_first_and_children_follow_parents() {
            let tree = vec![
                node(1, None, "Archive 2019", FolderKind::Other),
                node(2, None, "Inbox", FolderKind::Inbox),
                node(3, Some(2), "Projects", FolderKind::Other),
                node(4, Some(3), "Apollo", FolderKind::Other),
                node(5, None, "Deleted Items", FolderKind::Deleted),
                node(6, None, "Sent Items", FolderKind::Sent),
                node(7, None, "Calendar", FolderKind::Calendar),
                node(8, None, "Drafts", FolderKind::Drafts),
            ];
            let names: Vec<(String, usize)> = ordered_folders(&tree)
                .into_iter()
                .map(|f| (f.name, f.depth))
                .collect();
            assert_eq!(
                names,
                vec![
                    ("Inbox".to_owned(), 0),
                    ("Projects".to_owned(), 1),
                    ("Apollo".to_owned(), 2),
                    ("Sent Items".to_owned(), 0),
                    ("Drafts".to_owned(), 0),
                    ("Deleted Items".to_owned(), 0),
                    ("Archive 2019".to_owned(), 0),
                ]
            );
        }

        #[test]
        fn sort_keys() {
            assert_eq!(sort_key("date"), (SortKey::Date, true));
            assert_eq!(sort_key("sender-asc"), (SortKey::Sender, false));
            assert_eq!(sort_key("nonsense"), (SortKey::Date, true));
        }
    }
}
