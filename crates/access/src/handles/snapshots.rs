use std::collections::HashMap;

use archive::{
    DifferenceFilter, DifferencePage, ItemChangeKind, ItemKind, MailboxId, NewSnapshot,
    SelectedItem, Selection, Snapshot, Timestamp,
};

use syncer::RunRecord;

use super::mail_ops::{known_instant, KnownInstant, ReadableMailbox};
use crate::{AccessError, AuditAction, Caller, Permission, Scope};

/// Snapshots of mailboxes in the scope of the caller's `snapshots` grant, what changed between
/// two instants, and the selections made from a difference. A snapshot or mailbox outside the
/// scope is "not found". Creating, holding and deleting a snapshot, comparing and selecting are
/// in the audit log.
pub struct SnapshotsAdmin<'a> {
    caller: &'a Caller,
    scope: Scope,
}

/// What to compare: two instants of one mailbox (a snapshot's instant, or now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub mailbox: MailboxId,
    pub from: Timestamp,
    /// None: now.
    pub to: Option<Timestamp>,
    pub kinds: Vec<ItemChangeKind>,
    pub folder: Option<i64>,
    pub offset: usize,
    pub limit: usize,
}

/// A page of a difference with how precise each end is, and the syncs in between.
#[derive(Debug, Clone)]
pub struct Compared {
    pub mailbox: ReadableMailbox,
    pub page: DifferencePage,
    /// Every folder's path ("Inbox/Projects") as the later instant shows it, or as the earlier
    /// one did for a folder gone by then: what the rows name.
    pub folder_paths: HashMap<i64, String>,
    pub from: KnownInstant,
    pub to: KnownInstant,
    /// The syncs from the one the earlier instant shows up to the later instant, oldest first.
    pub runs: Vec<RunRecord>,
}

impl Compared {
    /// Between which two syncs a change written at `at` was observed: the sync before (None
    /// when it was the first) and the sync that saw it (None when no sync wrote it: an import).
    pub fn observed_between(&self, at: Timestamp) -> (Option<&RunRecord>, Option<&RunRecord>) {
        match self.runs.iter().rposition(|r| r.started_at <= at) {
            Some(n) => (n.checked_sub(1).map(|p| &self.runs[p]), Some(&self.runs[n])),
            None => (None, None),
        }
    }
}

impl<'a> SnapshotsAdmin<'a> {
    pub(crate) fn new(caller: &'a Caller, scope: Scope) -> Self {
        SnapshotsAdmin { caller, scope }
    }

    fn archive(&self) -> &archive::Archive {
        &self.caller.access.inner.archive
    }

    pub async fn mailbox(&self, id: MailboxId) -> Result<ReadableMailbox, AccessError> {
        super::mail_ops::mailbox_in_scope(self.archive(), &self.scope, id).await
    }

    /// The sync tasks that sync this mailbox (a snapshot is made from one), by name.
    pub async fn tasks_of(
        &self,
        mailbox: &ReadableMailbox,
    ) -> Result<Vec<(i64, String)>, AccessError> {
        let mut out: Vec<(i64, String)> = self
            .caller
            .access
            .inner
            .sync
            .store()
            .tasks_with_mailboxes()
            .await?
            .into_iter()
            .filter(|t| {
                t.mailboxes
                    .iter()
                    .any(|m| m.archive_mailbox_id == Some(mailbox.id()))
            })
            .map(|t| (t.task.id, t.task.name))
            .collect();
        out.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(out)
    }

    async fn folder_paths(
        &self,
        mailbox: &ReadableMailbox,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<HashMap<i64, String>, AccessError> {
        let mut paths = HashMap::new();
        for at in [from, to] {
            for node in self.archive().folder_tree(mailbox.id(), Some(at)).await? {
                paths.insert(node.id, node.path.join("/"));
            }
        }
        Ok(paths)
    }

    pub async fn list(&self, mailbox: &ReadableMailbox) -> Result<Vec<Snapshot>, AccessError> {
        Ok(self.archive().snapshots(mailbox.id()).await?)
    }

    /// A snapshot of a mailbox in the scope.
    pub async fn get(&self, id: i64) -> Result<(Snapshot, ReadableMailbox), AccessError> {
        let snapshot = self
            .archive()
            .snapshot(id)
            .await?
            .ok_or(AccessError::NotFound)?;
        let mailbox = self.mailbox(snapshot.mailbox_id).await?;
        Ok((snapshot, mailbox))
    }

    /// Names an instant of a mailbox (now when `at` is None), made from a sync task that syncs
    /// it. Refused: a task that does not sync this mailbox, a future instant, an instant before
    /// the archive saw the mailbox, an empty label.
    pub async fn create(
        &self,
        mailbox: &ReadableMailbox,
        task_id: i64,
        at: Option<Timestamp>,
        label: &str,
        hold: bool,
    ) -> Result<Snapshot, AccessError> {
        let store = self.caller.access.inner.sync.store();
        let task = store.task(task_id).await?.ok_or_else(|| {
            AccessError::invalid("task", "Choose the sync task the snapshot is made from.")
        })?;
        let syncs_it = store
            .task_mailboxes(task_id)
            .await?
            .iter()
            .any(|m| m.archive_mailbox_id == Some(mailbox.id()));
        if !syncs_it {
            return Err(AccessError::invalid(
                "task",
                format!(
                    "The sync task “{}” does not sync this mailbox: choose one that does.",
                    task.name
                ),
            ));
        }
        let at = at.unwrap_or_else(Timestamp::now);
        let instant = known_instant(&self.caller.access, mailbox, at).await?;
        if instant.before_first_sync {
            return Err(AccessError::invalid(
                "at",
                "Nothing of this mailbox was archived yet at that instant: pick a later one.",
            ));
        }
        let label = label.trim();
        if label.is_empty() || label.chars().count() > 200 {
            return Err(AccessError::invalid(
                "label",
                "Give the snapshot a name of 1 to 200 characters, for example “Before the migration”.",
            ));
        }
        let snapshot = self
            .archive()
            .create_snapshot(&NewSnapshot {
                mailbox_id: mailbox.id(),
                taken_at: at,
                label: label.to_owned(),
                task_id,
                task_name: task.name.clone(),
                created_by: self.caller.user().username.clone(),
                hold,
            })
            .await?;
        self.caller
            .record(
                AuditAction::SnapshotCreated,
                Some((mailbox.id(), &mailbox.mailbox().owner_address)),
                format!(
                    "“{}” as of {} from task {}{}",
                    snapshot.label,
                    at.to_rfc3339(),
                    task.name,
                    if hold { ", held" } else { "" }
                ),
            )
            .await?;
        Ok(snapshot)
    }

    pub async fn set_hold(&self, id: i64, hold: bool) -> Result<Snapshot, AccessError> {
        let (snapshot, mailbox) = self.get(id).await?;
        self.archive().set_snapshot_hold(id, hold).await?;
        self.caller
            .record(
                AuditAction::SnapshotChanged,
                Some((mailbox.id(), &mailbox.mailbox().owner_address)),
                format!(
                    "“{}”: hold {}",
                    snapshot.label,
                    if hold { "on" } else { "off" }
                ),
            )
            .await?;
        Ok(Snapshot { hold, ..snapshot })
    }

    pub async fn delete(&self, id: i64) -> Result<(), AccessError> {
        let (snapshot, mailbox) = self.get(id).await?;
        if snapshot.hold {
            return Err(AccessError::invalid(
                "hold",
                "This snapshot is held: release the hold first, then delete it.",
            ));
        }
        self.archive().delete_snapshot(id).await?;
        self.caller
            .record(
                AuditAction::SnapshotDeleted,
                Some((mailbox.id(), &mailbox.mailbox().owner_address)),
                format!(
                    "“{}” as of {}",
                    snapshot.label,
                    snapshot.taken_at.to_rfc3339()
                ),
            )
            .await
    }

    /// What changed between two instants of a mailbox in the scope. Calendar items and
    /// contacts are in it only with the `browse_calendars` permission as well.
    pub async fn compare(&self, what: &Comparison) -> Result<Compared, AccessError> {
        let mailbox = self.mailbox(what.mailbox).await?;
        let to_at = what.to.unwrap_or_else(Timestamp::now);
        let from = known_instant(&self.caller.access, &mailbox, what.from).await?;
        let to = known_instant(&self.caller.access, &mailbox, to_at).await?;
        let filter = DifferenceFilter {
            kinds: what.kinds.clone(),
            folder: what.folder,
            item_kinds: self.visible_kinds(),
            offset: what.offset,
            limit: what.limit,
        };
        let page = self
            .archive()
            .difference_page(mailbox.id(), what.from, to_at, &filter)
            .await?;
        self.caller
            .record(
                AuditAction::MailboxCompared,
                Some((mailbox.id(), &mailbox.mailbox().owner_address)),
                format!(
                    "{} with {}: {} changes",
                    page.from.to_rfc3339(),
                    page.to.to_rfc3339(),
                    page.counts.iter().map(|(_, n)| n).sum::<usize>()
                ),
            )
            .await?;
        // From the sync before the one the earlier instant shows, so that a change written by
        // that first sync still names the sync before it.
        let start = from.seen_by.as_ref().map_or(page.from, |r| r.started_at);
        let store = self.caller.access.inner.sync.store();
        let mut runs = store
            .runs_of_archive_mailbox(mailbox.id(), start, page.to)
            .await?;
        if let (Some(first), Some(earlier)) = (
            runs.first().cloned(),
            store
                .runs_around(mailbox.id(), Timestamp(start.0 - 1))
                .await?
                .0,
        ) {
            if earlier.id != first.id {
                runs.insert(0, earlier);
            }
        }
        let folder_paths = self.folder_paths(&mailbox, page.from, page.to).await?;
        Ok(Compared {
            mailbox,
            page,
            folder_paths,
            from,
            to,
            runs,
        })
    }

    fn visible_kinds(&self) -> Vec<ItemKind> {
        if self.caller.holds(Permission::BrowseCalendars) {
            vec![ItemKind::Message, ItemKind::Calendar, ItemKind::Contact]
        } else {
            vec![ItemKind::Message]
        }
    }

    /// Stores "everything deleted between `from` and `to`" (to: now when None) as a named
    /// selection that export and restore take. Each item keeps the folder it was deleted from.
    pub async fn select_deleted(
        &self,
        mailbox_id: MailboxId,
        from: Timestamp,
        to: Option<Timestamp>,
        label: &str,
    ) -> Result<Selection, AccessError> {
        let mailbox = self.mailbox(mailbox_id).await?;
        let to = to.unwrap_or_else(Timestamp::now);
        known_instant(&self.caller.access, &mailbox, from).await?;
        known_instant(&self.caller.access, &mailbox, to).await?;
        let diff = self.archive().difference(mailbox.id(), from, to).await?;
        let kinds = self.visible_kinds();
        let ids: Vec<i64> = diff
            .items
            .iter()
            .filter(|c| c.kind == ItemChangeKind::Deleted)
            .map(|c| c.item_id)
            .collect();
        let allowed: std::collections::HashSet<i64> = self
            .archive()
            .items(&ids)
            .await?
            .into_iter()
            .filter(|d| kinds.contains(&d.kind))
            .map(|d| d.id)
            .collect();
        let items: Vec<SelectedItem> = diff
            .items
            .iter()
            .filter(|c| c.kind == ItemChangeKind::Deleted && allowed.contains(&c.item_id))
            .map(|c| SelectedItem {
                item_id: c.item_id,
                folder_id: c.from_folder,
            })
            .collect();
        if items.is_empty() {
            return Err(AccessError::invalid(
                "selection",
                "Nothing was deleted between those two instants, so there is nothing to select.",
            ));
        }
        // To the minute, as people name things; the rule keeps the exact instants.
        let minute = |t: Timestamp| {
            let text = t.to_rfc3339();
            format!("{} UTC", text.get(..16).unwrap_or(&text).replace('T', " "))
        };
        let label = match label.trim() {
            "" => format!(
                "Deleted between {} and {}",
                minute(diff.from),
                minute(diff.to)
            ),
            l => l.chars().take(200).collect(),
        };
        let rule = format!(
            "deleted between {} and {}",
            diff.from.to_rfc3339(),
            diff.to.to_rfc3339()
        );
        let selection = self
            .archive()
            .create_selection(
                mailbox.id(),
                &label,
                &rule,
                &self.caller.user().username,
                &items,
            )
            .await?;
        self.caller
            .record(
                AuditAction::SelectionCreated,
                Some((mailbox.id(), &mailbox.mailbox().owner_address)),
                format!(
                    "“{}”: {} items, {rule}",
                    selection.label, selection.item_count
                ),
            )
            .await?;
        Ok(selection)
    }

    pub async fn selections(
        &self,
        mailbox: &ReadableMailbox,
    ) -> Result<Vec<Selection>, AccessError> {
        Ok(self.archive().selections(mailbox.id()).await?)
    }
}
