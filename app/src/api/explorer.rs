//! The administrator's explorer: any mailbox in the caller's scope, now or as of an instant, its
//! snapshots, and what changed between two instants. Mail needs `browse_mail`; snapshots,
//! differences and selections need `snapshots`. The list, folder and reader views are the end
//! user's (`api::mail`), so the explorer shows a mailbox exactly as its owner knows it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::admin::Outcome;
use super::error::ApiError;
use super::mail::{MessageDetail, MessageList, Overview, SearchPage};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncLine {
    pub task: String,
    pub connection: String,
    /// `pending`, `healthy`, `attention`, `failed`.
    pub status: String,
    pub last_sync: Option<String>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplorerMailbox {
    pub id: i64,
    pub display_name: String,
    pub owner: String,
    pub items: i64,
    pub size: String,
    pub syncs: Vec<SyncLine>,
}

/// An instant as the archive knows it, said for a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstantView {
    /// RFC 3339, for links.
    pub at: String,
    /// For a `datetime-local` input (UTC).
    pub at_input: String,
    pub at_full: String,
    /// "As seen by the sync of …": how precise the view is.
    pub precision: String,
    pub before_first_sync: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplorerView {
    pub overview: Overview,
    pub owner: String,
    /// None: as the mailbox is now.
    pub instant: Option<InstantView>,
    pub can_snapshot: bool,
    pub can_browse_calendars: bool,
    pub can_export: bool,
    pub can_restore: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotView {
    pub id: i64,
    pub label: String,
    pub at: String,
    pub at_full: String,
    pub task: String,
    pub created_by: String,
    pub created_full: String,
    pub hold: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionView {
    pub id: i64,
    pub label: String,
    pub rule: String,
    pub items: i64,
    pub created_by: String,
    pub created_full: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskChoice {
    pub id: i64,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotsScreen {
    pub mailbox_id: i64,
    pub display_name: String,
    pub owner: String,
    pub snapshots: Vec<SnapshotView>,
    /// The sync tasks that sync this mailbox: a snapshot is made from one of them.
    pub tasks: Vec<TaskChoice>,
    pub selections: Vec<SelectionView>,
    pub can_browse_calendars: bool,
    pub can_export: bool,
    pub can_restore: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCount {
    pub kind: String,
    pub label: String,
    pub count: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRow {
    pub item_id: i64,
    pub kind: String,
    pub kind_label: String,
    pub subject: String,
    pub sender: String,
    pub date: String,
    pub from_folder: Option<String>,
    pub to_folder: Option<String>,
    /// "Between the syncs of … and …".
    pub observed: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderChangeRow {
    pub kind: String,
    pub text: String,
    pub observed: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderChoice {
    pub id: i64,
    pub path: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComparePage {
    pub mailbox_id: i64,
    pub display_name: String,
    pub owner: String,
    pub from: InstantView,
    pub to: InstantView,
    /// False when the later end is "now".
    pub to_is_instant: bool,
    pub counts: Vec<ChangeCount>,
    pub folder_changes: Vec<FolderChangeRow>,
    pub rows: Vec<ChangeRow>,
    pub matching: usize,
    pub page: usize,
    pub page_size: usize,
    pub folders: Vec<FolderChoice>,
    pub can_browse_calendars: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxChoice {
    pub id: i64,
    pub display_name: String,
    pub owner: String,
}

/// A search hit with the mailbox it is in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcrossHit {
    pub mailbox_id: i64,
    pub mailbox: String,
    pub hit: super::mail::SearchHitView,
}

/// A search across several mailboxes: the results, and every mailbox the caller may search
/// (for narrowing it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcrossPage {
    pub query: String,
    pub total: usize,
    pub page: usize,
    pub page_size: usize,
    pub problem: Option<String>,
    pub hits: Vec<AcrossHit>,
    /// How many mailboxes were searched.
    pub searched: usize,
    pub mailboxes: Vec<MailboxChoice>,
    /// The mailboxes asked for (empty: all of them).
    pub chosen: Vec<i64>,
    /// Whether a next page can be shown.
    pub more: bool,
}

/// Rows per page of a difference.
pub const CHANGES_PAGE: usize = 100;

#[server(endpoint = "explorer/mailboxes", output = super::codec::Json)]
pub async fn explorer_mailboxes() -> Result<Vec<ExplorerMailbox>, ApiError> {
    let caller = super::access::caller().await?;
    let entries = caller.browse_mail()?.directory().await?;
    Ok(entries.iter().map(ssr::mailbox_row).collect())
}

#[server(endpoint = "explorer/overview", output = super::codec::Json)]
pub async fn explorer_overview(mailbox: i64, at: Option<String>) -> Result<ExplorerView, ApiError> {
    let caller = super::access::caller().await?;
    let at = ssr::instant(at.as_deref())?;
    let browse = caller.browse_mail()?;
    let (mailbox, instant) = browse.open(mailbox, at).await?;
    let folders = super::mail::ssr::ordered_folders(&browse.folder_tree(&mailbox, at).await?);
    Ok(ExplorerView {
        owner: mailbox.mailbox().owner_address.clone(),
        overview: Overview {
            default_folder: super::mail::ssr::default_folder(&folders),
            mailboxes: vec![super::mail::ssr::mailbox_view(&mailbox)],
            mailbox: Some(super::mail::ssr::mailbox_view(&mailbox)),
            folders,
        },
        instant: instant.as_ref().map(ssr::instant_view),
        can_snapshot: caller.holds(access::Permission::Snapshots),
        can_browse_calendars: caller.holds(access::Permission::BrowseCalendars),
        can_export: caller.holds(access::Permission::Export),
        can_restore: caller.holds(access::Permission::Restore),
    })
}

#[server(endpoint = "explorer/messages", output = super::codec::Json)]
pub async fn explorer_messages(
    mailbox: i64,
    folder: Option<i64>,
    sort: String,
    after: Option<String>,
    at: Option<String>,
) -> Result<Option<MessageList>, ApiError> {
    let caller = super::access::caller().await?;
    let at = ssr::instant(at.as_deref())?;
    let browse = caller.browse_mail()?;
    let chosen = browse.mailbox(mailbox).await?;
    let folders = super::mail::ssr::ordered_folders(&browse.folder_tree(&chosen, at).await?);
    let Some(folder) = super::mail::ssr::chosen_folder(folders, folder)? else {
        return Ok(None);
    };
    let query = super::mail::ssr::list_query(&sort, after, at);
    let page = browse.list_folder(&chosen, folder.id, &query).await?;
    Ok(Some(super::mail::ssr::message_list(
        chosen.id(),
        folder,
        page,
    )))
}

#[server(endpoint = "explorer/message", output = super::codec::Json)]
pub async fn explorer_message(item: i64) -> Result<MessageDetail, ApiError> {
    let caller = super::access::caller().await?;
    let item = caller.browse_mail()?.item(item).await?;
    let raw = item.raw().await?;
    Ok(super::mail::ssr::message_detail(
        item.into_detail(),
        mailview::render(&raw).ok(),
    ))
}

#[server(endpoint = "explorer/search", output = super::codec::Json)]
pub async fn explorer_search(
    mailbox: i64,
    query: String,
    page: usize,
    sort: String,
) -> Result<SearchPage, ApiError> {
    let caller = super::access::caller().await?;
    let browse = caller.browse_mail()?;
    let chosen = browse.mailbox(mailbox).await?;
    let found = browse
        .search(&chosen, &super::mail::ssr::mail_query(&query, page, &sort))
        .await;
    super::mail::ssr::search_page(query, page, found)
}

/// `mailboxes`: comma-separated ids (empty: every mailbox in the scope). An empty query
/// searches nothing and only lists the mailboxes.
#[server(endpoint = "explorer/search_all", output = super::codec::Json)]
pub async fn search_all(
    query: String,
    #[server(default)] mailboxes: String,
    #[server(default)] page: usize,
    #[server(default)] sort: String,
) -> Result<AcrossPage, ApiError> {
    let caller = super::access::caller().await?;
    let browse = caller.browse_mail()?;
    let chosen = ssr::mailbox_ids(&mailboxes)?;
    let (across, problem) = if query.trim().is_empty() {
        (None, None)
    } else {
        let q = super::mail::ssr::mail_query(&query, page, &sort);
        match browse.search_across(&chosen, &q).await {
            Ok(across) => (Some(across), None),
            Err(access::AccessError::Invalid { message, .. }) => (None, Some(message)),
            Err(e) => return Err(e.into()),
        }
    };
    // Without results the page still offers every mailbox to narrow a search to.
    let in_scope = match &across {
        Some(a) => a.in_scope.clone(),
        None => browse.mailboxes().await?,
    };
    Ok(ssr::across_page(
        query, page, chosen, &in_scope, across, problem,
    ))
}

#[server(endpoint = "explorer/snapshots", output = super::codec::Json)]
pub async fn explorer_snapshots(mailbox: i64) -> Result<SnapshotsScreen, ApiError> {
    let caller = super::access::caller().await?;
    let snapshots = caller.snapshots()?;
    let chosen = snapshots.mailbox(mailbox).await?;
    let list = snapshots.list(&chosen).await?;
    let tasks = snapshots.tasks_of(&chosen).await?;
    let selections = snapshots.selections(&chosen).await?;
    Ok(SnapshotsScreen {
        mailbox_id: chosen.id(),
        display_name: chosen.mailbox().display_name.clone(),
        owner: chosen.mailbox().owner_address.clone(),
        snapshots: list.iter().map(ssr::snapshot_view).collect(),
        tasks: tasks
            .into_iter()
            .map(|(id, name)| TaskChoice { id, name })
            .collect(),
        selections: selections.iter().map(ssr::selection_view).collect(),
        can_browse_calendars: caller.holds(access::Permission::BrowseCalendars),
        can_export: caller.holds(access::Permission::Export),
        can_restore: caller.holds(access::Permission::Restore),
    })
}

/// `at` empty: now. `hold`: a checkbox (`on` when ticked).
#[server(endpoint = "explorer/create_snapshot", output = super::codec::Json)]
pub async fn create_snapshot(
    mailbox: i64,
    task: i64,
    at: String,
    label: String,
    #[server(default)] hold: Option<String>,
) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    let at = ssr::instant(Some(&at))?;
    let snapshots = caller.snapshots()?;
    let chosen = snapshots.mailbox(mailbox).await?;
    let made = snapshots
        .create(&chosen, task, at, &label, hold.is_some())
        .await?;
    Ok(Outcome::said(format!(
        "Snapshot “{}” of {} as of {} created{}.",
        made.label,
        chosen.mailbox().display_name,
        crate::format::full_date(made.taken_at),
        if made.hold { " and held" } else { "" }
    )))
}

#[server(endpoint = "explorer/snapshot_hold", output = super::codec::Json)]
pub async fn snapshot_hold(id: i64, hold: bool) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    let snapshot = caller.snapshots()?.set_hold(id, hold).await?;
    Ok(Outcome::said(if hold {
        format!(
            "“{}” is held: retention keeps what it shows.",
            snapshot.label
        )
    } else {
        format!("“{}” is no longer held.", snapshot.label)
    }))
}

#[server(endpoint = "explorer/delete_snapshot", output = super::codec::Json)]
pub async fn delete_snapshot(id: i64) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    caller.snapshots()?.delete(id).await?;
    Ok(Outcome::said(
        "Snapshot deleted. No archived mail went with it.",
    ))
}

/// `from`, `to`: RFC 3339 or `datetime-local`; `to` empty: now. `kinds`: comma-separated
/// change kinds (empty: all).
#[server(endpoint = "explorer/compare", output = super::codec::Json)]
pub async fn compare(
    mailbox: i64,
    from: String,
    #[server(default)] to: String,
    #[server(default)] kinds: String,
    #[server(default)] folder: Option<i64>,
    #[server(default)] page: usize,
) -> Result<ComparePage, ApiError> {
    let caller = super::access::caller().await?;
    let from = ssr::instant(Some(&from))?.ok_or_else(|| ApiError::Invalid {
        field: "from".into(),
        message: "Pick the earlier instant to compare.".into(),
    })?;
    let to = ssr::instant(Some(&to))?;
    let kinds = ssr::change_kinds(&kinds)?;
    let compared = caller
        .snapshots()?
        .compare(&access::Comparison {
            mailbox,
            from,
            to,
            kinds,
            folder,
            offset: page.saturating_mul(CHANGES_PAGE),
            limit: CHANGES_PAGE,
        })
        .await?;
    let mut shown = ssr::compare_page(&compared, to.is_some(), page);
    shown.can_browse_calendars = caller.holds(access::Permission::BrowseCalendars);
    Ok(shown)
}

#[server(endpoint = "explorer/select_deleted", output = super::codec::Json)]
pub async fn select_deleted(
    mailbox: i64,
    from: String,
    #[server(default)] to: String,
    #[server(default)] label: String,
) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    let from = ssr::instant(Some(&from))?.ok_or_else(|| ApiError::Invalid {
        field: "from".into(),
        message: "Pick the earlier instant.".into(),
    })?;
    let to = ssr::instant(Some(&to))?;
    let selection = caller
        .snapshots()?
        .select_deleted(mailbox, from, to, &label)
        .await?;
    Ok(Outcome::said(format!(
        "Selection “{}” saved with {} item{}: export and restore can take it.",
        selection.label,
        selection.item_count,
        if selection.item_count == 1 { "" } else { "s" }
    )))
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Turning access and archive types into the explorer's view types.
    use access::{Compared, KnownInstant, MailboxEntry};
    use archive::{FolderChangeKind, ItemChangeKind, Selection, Snapshot, Timestamp};

    use super::*;
    use crate::format::{full_date, human_size, short_date};

    /// An instant from a form or a link; empty is None ("now").
    pub fn instant(text: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
        match text.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(t) => Timestamp::parse_instant(t).map(Some).ok_or_else(|| ApiError::Invalid {
                field: "at".into(),
                message: format!(
                    "“{t}” is not a date and time: use the picker, or write it like 2026-03-01T14:00."
                ),
            }),
        }
    }

    pub fn across_page(
        query: String,
        page: usize,
        chosen: Vec<i64>,
        in_scope: &[access::ReadableMailbox],
        across: Option<access::SearchAcross>,
        problem: Option<String>,
    ) -> AcrossPage {
        let mailboxes = in_scope
            .iter()
            .map(|m| MailboxChoice {
                id: m.id(),
                display_name: m.mailbox().display_name.clone(),
                owner: m.mailbox().owner_address.clone(),
            })
            .collect();
        let (searched, total, hits) = match across {
            None => (0, 0, Vec::new()),
            Some(a) => {
                let hits = a
                    .found
                    .items
                    .into_iter()
                    .map(|f| {
                        let mailbox_id = f.item.mailbox_id;
                        AcrossHit {
                            mailbox_id,
                            mailbox: a
                                .searched
                                .iter()
                                .find(|m| m.id() == mailbox_id)
                                .map(|m| m.mailbox().display_name.clone())
                                .unwrap_or_default(),
                            hit: super::super::mail::ssr::hit_view(f),
                        }
                    })
                    .collect();
                (a.searched.len(), a.found.total, hits)
            }
        };
        AcrossPage {
            query,
            total,
            page,
            page_size: super::super::mail::PAGE_SIZE,
            problem,
            hits,
            searched,
            mailboxes,
            chosen,
            more: (page + 1) * super::super::mail::PAGE_SIZE < total.min(search::MAX_OFFSET),
        }
    }

    pub fn mailbox_ids(text: &str) -> Result<Vec<i64>, ApiError> {
        text.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse().map_err(|_| ApiError::Invalid {
                    field: "mailboxes".into(),
                    message: format!("“{t}” is not a mailbox."),
                })
            })
            .collect()
    }

    pub fn change_kinds(text: &str) -> Result<Vec<ItemChangeKind>, ApiError> {
        text.split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| {
                ItemChangeKind::parse(k).ok_or_else(|| ApiError::Invalid {
                    field: "kinds".into(),
                    message: format!("“{k}” is not a kind of change."),
                })
            })
            .collect()
    }

    fn input_value(at: Timestamp) -> String {
        let text = at.to_rfc3339();
        text.get(..16).unwrap_or(&text).to_owned()
    }

    pub fn instant_view(i: &KnownInstant) -> InstantView {
        let precision = if i.before_first_sync {
            "The archive knew nothing of this mailbox yet at that instant: its first sync came later, so there is nothing to show.".to_owned()
        } else {
            match (&i.seen_by, &i.next_sync) {
                (Some(run), Some(next)) => format!(
                    "As seen by the sync of {}; the next sync was at {}. Changes in between are not known.",
                    full_date(run.started_at),
                    full_date(next.started_at)
                ),
                (Some(run), None) => format!(
                    "As seen by the sync of {}, the latest one.",
                    full_date(run.started_at)
                ),
                _ => "As archived (this mailbox was imported, not synced).".to_owned(),
            }
        };
        InstantView {
            at: i.at.to_rfc3339(),
            at_input: input_value(i.at),
            at_full: full_date(i.at),
            precision,
            before_first_sync: i.before_first_sync,
        }
    }

    pub fn mailbox_row(e: &MailboxEntry) -> ExplorerMailbox {
        let m = e.mailbox.mailbox();
        ExplorerMailbox {
            id: m.id,
            display_name: m.display_name.clone(),
            owner: m.owner_address.clone(),
            items: e.items,
            size: human_size(e.bytes),
            syncs: e
                .syncs
                .iter()
                .map(|s| SyncLine {
                    task: s.task_name.clone(),
                    connection: s.connection_name.clone(),
                    status: s.state.status.as_str().to_owned(),
                    last_sync: s.state.last_finished_at.map(full_date),
                    reason: s.state.reason.clone(),
                })
                .collect(),
        }
    }

    pub fn snapshot_view(s: &Snapshot) -> SnapshotView {
        SnapshotView {
            id: s.id,
            label: s.label.clone(),
            at: s.taken_at.to_rfc3339(),
            at_full: full_date(s.taken_at),
            task: s.task_name.clone(),
            created_by: s.created_by.clone(),
            created_full: full_date(s.created_at),
            hold: s.hold,
        }
    }

    pub fn selection_view(s: &Selection) -> SelectionView {
        SelectionView {
            id: s.id,
            label: s.label.clone(),
            rule: s.rule.clone(),
            items: s.item_count,
            created_by: s.created_by.clone(),
            created_full: full_date(s.created_at),
        }
    }

    fn kind_label(kind: ItemChangeKind) -> &'static str {
        match kind {
            ItemChangeKind::Added => "Added",
            ItemChangeKind::Deleted => "Deleted",
            ItemChangeKind::Moved => "Moved",
            ItemChangeKind::ReadChanged => "Read state",
        }
    }

    fn observed(compared: &Compared, at: Timestamp) -> String {
        match compared.observed_between(at) {
            (Some(before), Some(run)) => format!(
                "between the syncs of {} and {}",
                full_date(before.started_at),
                full_date(run.started_at)
            ),
            (None, Some(run)) => format!("by the first sync, {}", full_date(run.started_at)),
            _ => format!("archived {}", full_date(at)),
        }
    }

    pub fn compare_page(compared: &Compared, to_is_instant: bool, page: usize) -> ComparePage {
        let p = &compared.page;
        let mailbox = &compared.mailbox;
        let paths = &compared.folder_paths;
        let path = |f: Option<i64>| {
            f.map(|f| {
                paths
                    .get(&f)
                    .cloned()
                    .unwrap_or_else(|| "(a folder)".into())
            })
        };
        let rows = p
            .rows
            .iter()
            .map(|(c, d)| ChangeRow {
                item_id: d.id,
                kind: c.kind.as_str().to_owned(),
                kind_label: kind_label(c.kind).to_owned(),
                subject: if d.subject.trim().is_empty() {
                    "(no subject)".to_owned()
                } else {
                    d.subject.clone()
                },
                sender: d.sender.clone(),
                date: short_date(d.date),
                from_folder: path(c.from_folder),
                to_folder: path(c.to_folder),
                observed: match (c.kind, c.is_read) {
                    (ItemChangeKind::ReadChanged, Some(true)) => {
                        format!("Read, {}", observed(compared, c.at))
                    }
                    (ItemChangeKind::ReadChanged, _) => {
                        format!("Marked unread, {}", observed(compared, c.at))
                    }
                    _ => capitalise(&observed(compared, c.at)),
                },
            })
            .collect();
        let folder_changes = p
            .folders
            .iter()
            .map(|f| {
                let old = f.old_name.clone().unwrap_or_default();
                let new = f.new_name.clone().unwrap_or_default();
                let text = match f.kind {
                    FolderChangeKind::Created => format!("“{new}” created"),
                    FolderChangeKind::Deleted => format!("“{old}” deleted"),
                    FolderChangeKind::Renamed => format!("“{old}” renamed to “{new}”"),
                    FolderChangeKind::Moved => format!(
                        "“{new}” moved from {} to {}",
                        path(f.old_parent).unwrap_or_else(|| "the top".into()),
                        path(f.new_parent).unwrap_or_else(|| "the top".into())
                    ),
                };
                FolderChangeRow {
                    kind: f.kind.as_str().to_owned(),
                    text,
                    observed: capitalise(&observed(compared, f.at)),
                }
            })
            .collect();
        let mut folders: Vec<FolderChoice> = paths
            .iter()
            .map(|(id, path)| FolderChoice {
                id: *id,
                path: path.clone(),
            })
            .collect();
        folders.sort_by_key(|f| f.path.to_lowercase());
        ComparePage {
            mailbox_id: mailbox.id(),
            display_name: mailbox.mailbox().display_name.clone(),
            owner: mailbox.mailbox().owner_address.clone(),
            from: instant_view(&compared.from),
            to: instant_view(&compared.to),
            to_is_instant,
            counts: p
                .counts
                .iter()
                .map(|(k, n)| ChangeCount {
                    kind: k.as_str().to_owned(),
                    label: kind_label(*k).to_owned(),
                    count: *n,
                })
                .collect(),
            folder_changes,
            rows,
            matching: p.matching,
            page,
            page_size: CHANGES_PAGE,
            folders,
            can_browse_calendars: false,
        }
    }

    fn capitalise(text: &str) -> String {
        let mut chars = text.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        }
    }
}
