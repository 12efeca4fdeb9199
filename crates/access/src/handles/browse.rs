use std::collections::HashMap;

use archive::{FolderId, FolderNode, ItemKind, ItemPage, ListQuery, MailboxId, Timestamp};
use search::FoundItems;
use syncer::TaskMailboxView;

use super::mail_ops::{KnownInstant, MailQuery, ReadableItem, ReadableMailbox};
use crate::{AccessError, AuditAction, Caller, Permission, Scope};

/// A line of the explorer's mailbox list: the mailbox, what the archive holds of it, and the
/// sync tasks that write to it.
#[derive(Debug, Clone)]
pub struct MailboxEntry {
    pub mailbox: ReadableMailbox,
    pub items: i64,
    pub bytes: i64,
    pub syncs: Vec<MailboxSync>,
}

#[derive(Debug, Clone)]
pub struct MailboxSync {
    pub task_id: i64,
    pub task_name: String,
    pub connection_name: String,
    pub state: TaskMailboxView,
}

/// A search across mailboxes: what was found, in which mailboxes, out of which.
#[derive(Debug, Clone)]
pub struct SearchAcross {
    /// Every mailbox of the scope, by display name.
    pub in_scope: Vec<ReadableMailbox>,
    pub searched: Vec<ReadableMailbox>,
    pub found: FoundItems,
}

/// Any mailbox's mail within the scope of the caller's `browse_mail` grant (with
/// `browse_calendars`, their calendar items and contacts too). Outside the scope a mailbox is
/// "not found". Every item opened and every search is in the audit log, and so in the owner's
/// access log.
pub struct MailBrowser<'a> {
    caller: &'a Caller,
    scope: Scope,
}

impl<'a> MailBrowser<'a> {
    pub(crate) fn new(caller: &'a Caller, scope: Scope) -> Self {
        MailBrowser { caller, scope }
    }

    fn archive(&self) -> &archive::Archive {
        &self.caller.access.inner.archive
    }

    /// Every archived mailbox in the scope, by display name.
    pub async fn mailboxes(&self) -> Result<Vec<ReadableMailbox>, AccessError> {
        let mut all = self.archive().list_mailboxes().await?;
        all.retain(|m| self.scope.covers(&m.owner_address));
        all.sort_by(|a, b| a.display_name.cmp(&b.display_name).then(a.id.cmp(&b.id)));
        Ok(all.into_iter().map(ReadableMailbox).collect())
    }

    pub async fn mailbox(&self, id: MailboxId) -> Result<ReadableMailbox, AccessError> {
        super::mail_ops::mailbox_in_scope(self.archive(), &self.scope, id).await
    }

    /// Every mailbox in the scope with its counts and syncs, by display name.
    pub async fn directory(&self) -> Result<Vec<MailboxEntry>, AccessError> {
        let mailboxes = self.mailboxes().await?;
        let totals = self.archive().mailbox_totals().await?;
        let store = self.caller.access.inner.sync.store();
        let tasks: HashMap<i64, syncer::TaskView> = store
            .list_tasks()
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
        let mut syncs: HashMap<MailboxId, Vec<MailboxSync>> = HashMap::new();
        for state in store.task_mailboxes_by_archive().await? {
            let (Some(archive_id), Some(task)) =
                (state.archive_mailbox_id, tasks.get(&state.task_id))
            else {
                continue;
            };
            syncs.entry(archive_id).or_default().push(MailboxSync {
                task_id: task.id,
                task_name: task.name.clone(),
                connection_name: task.connection_name.clone(),
                state,
            });
        }
        Ok(mailboxes
            .into_iter()
            .map(|mailbox| {
                let (items, bytes) = totals.get(&mailbox.id()).copied().unwrap_or((0, 0));
                MailboxEntry {
                    syncs: syncs.remove(&mailbox.id()).unwrap_or_default(),
                    mailbox,
                    items,
                    bytes,
                }
            })
            .collect())
    }

    /// Opens a mailbox of the scope, now or as of an instant (a future one is refused), and
    /// says so in the audit log.
    pub async fn open(
        &self,
        id: MailboxId,
        at: Option<Timestamp>,
    ) -> Result<(ReadableMailbox, Option<KnownInstant>), AccessError> {
        let mailbox = self.mailbox(id).await?;
        let instant = super::mail_ops::opened_at(&self.caller.access, &mailbox, at).await?;
        self.caller
            .record(
                AuditAction::MailboxOpened,
                Some((mailbox.id(), &mailbox.mailbox().owner_address)),
                match &instant {
                    Some(i) => format!("as of {}", i.at.to_rfc3339()),
                    None => "as it is now".to_owned(),
                },
            )
            .await?;
        Ok((mailbox, instant))
    }

    /// The folder tree now (`None`) or as of an instant.
    pub async fn folder_tree(
        &self,
        mailbox: &ReadableMailbox,
        at: Option<Timestamp>,
    ) -> Result<Vec<FolderNode>, AccessError> {
        super::mail_ops::folder_tree(self.archive(), mailbox, at).await
    }

    pub async fn list_folder(
        &self,
        mailbox: &ReadableMailbox,
        folder: FolderId,
        query: &ListQuery,
    ) -> Result<ItemPage, AccessError> {
        super::mail_ops::list_folder(self.archive(), mailbox, folder, query).await
    }

    /// Opens an item of a mailbox in scope: a message, or a calendar item or contact with the
    /// `browse_calendars` permission as well. Logged as opened.
    pub async fn item(&self, id: i64) -> Result<ReadableItem, AccessError> {
        self.item_as(id, AuditAction::ItemOpened).await
    }

    /// The same item for a download of it (or of one of its attachments), logged as such.
    pub async fn download(&self, id: i64) -> Result<ReadableItem, AccessError> {
        self.item_as(id, AuditAction::ItemDownloaded).await
    }

    async fn item_as(&self, id: i64, action: AuditAction) -> Result<ReadableItem, AccessError> {
        let detail = self
            .archive()
            .item(id)
            .await?
            .ok_or(AccessError::NotFound)?;
        if detail.kind != ItemKind::Message && !self.caller.holds(Permission::BrowseCalendars) {
            return Err(AccessError::NotFound);
        }
        let mailbox = self.mailbox(detail.mailbox_id).await?;
        self.caller
            .record(
                action,
                Some((mailbox.id(), &mailbox.mailbox().owner_address)),
                format!("{} “{}”", detail.kind.as_str(), detail.subject),
            )
            .await?;
        Ok(ReadableItem::new(detail, self.archive().clone()))
    }

    /// Searches a mailbox in scope; the query text is in the audit log.
    pub async fn search(
        &self,
        mailbox: &ReadableMailbox,
        query: &MailQuery,
    ) -> Result<FoundItems, AccessError> {
        let found =
            super::mail_ops::search(&self.caller.access, std::slice::from_ref(mailbox), query)
                .await?;
        self.caller
            .record(
                AuditAction::MailSearched,
                Some((mailbox.id(), &mailbox.mailbox().owner_address)),
                format!(
                    "“{}” ({} found; scope: {})",
                    query.query,
                    found.total,
                    self.scope.describe()
                ),
            )
            .await?;
        Ok(found)
    }

    /// Searches several mailboxes of the scope at once (`mailboxes` empty: every one in it). A
    /// mailbox named outside the scope is "not found". The audit log gets the search itself,
    /// and each mailbox whose mail is on the page of results gets an entry of its own, so its
    /// owner's access log shows it.
    pub async fn search_across(
        &self,
        mailboxes: &[MailboxId],
        query: &MailQuery,
    ) -> Result<SearchAcross, AccessError> {
        let in_scope = self.mailboxes().await?;
        let chosen: Vec<ReadableMailbox> = if mailboxes.is_empty() {
            in_scope.clone()
        } else {
            mailboxes
                .iter()
                .map(|id| {
                    in_scope
                        .iter()
                        .find(|m| m.id() == *id)
                        .cloned()
                        .ok_or(AccessError::NotFound)
                })
                .collect::<Result<_, _>>()?
        };
        // No mailbox in the scope searches nothing (an empty list never means "all").
        let found = super::mail_ops::search(&self.caller.access, &chosen, query).await?;
        self.caller
            .record(
                AuditAction::MailSearched,
                None,
                format!(
                    "“{}” across {} mailbox{} ({} found; scope: {})",
                    query.query,
                    chosen.len(),
                    if chosen.len() == 1 { "" } else { "es" },
                    found.total,
                    self.scope.describe()
                ),
            )
            .await?;
        let mut shown: Vec<MailboxId> = found.items.iter().map(|f| f.item.mailbox_id).collect();
        shown.sort_unstable();
        shown.dedup();
        for m in chosen.iter().filter(|m| shown.contains(&m.id())) {
            self.caller
                .record(
                    AuditAction::MailSearched,
                    Some((m.id(), &m.mailbox().owner_address)),
                    format!("“{}” (found across several mailboxes)", query.query),
                )
                .await?;
        }
        Ok(SearchAcross {
            in_scope,
            searched: chosen,
            found,
        })
    }
}
