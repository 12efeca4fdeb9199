//! The sync engine: folder hierarchy first, then the items of each folder, incrementally from
//! the sync states saved in the target after every page.
//!
//! Crash safety comes from the order of writes: a page's changes are written to the target
//! before its new sync state is saved, and every write is idempotent on source ids. A crash
//! replays at most one page, and replayed creates find the item already present.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::context::{MailboxCtx, RetryPolicy, DEFAULT_IN_FLIGHT};
use crate::error::{SourceError, TargetError};
use crate::source::{
    FetchError, FolderChange, FolderKind, ItemChange, ItemContent, ItemPage, MailboxSource,
    SourceFolder,
};
use crate::target::{FailedItem, ItemLocation, NewMessage, SyncTarget};

#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub mail: bool,
    pub calendar: bool,
    pub contacts: bool,
    /// Requests in flight per mailbox.
    pub in_flight: usize,
    /// Mailboxes synced at the same time by [`sync_mailboxes`].
    pub parallel_mailboxes: usize,
    pub retry: RetryPolicy,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            mail: true,
            calendar: true,
            contacts: true,
            in_flight: DEFAULT_IN_FLIGHT,
            parallel_mailboxes: 16,
            retry: RetryPolicy::default(),
        }
    }
}

impl SyncOptions {
    fn wants(&self, kind: FolderKind) -> bool {
        match kind {
            FolderKind::Mail => self.mail,
            FolderKind::Calendar => self.calendar,
            FolderKind::Contacts => self.contacts,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MailboxStatus {
    Healthy,
    /// Needs an administrator: access denied, mailbox missing, credentials refused.
    Attention,
    /// The run broke off (network, throttling beyond limits, storage); the next run resumes.
    Failed,
}

/// What a run changed in the archive: the one record of counts, kept in the run history too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    pub folders_added: u64,
    pub folders_removed: u64,
    /// Messages written for the first time.
    pub new_items: u64,
    pub moved_items: u64,
    pub deleted_items: u64,
    pub read_changes: u64,
    /// Calendar items and contacts written (new or updated).
    pub calendar_items: u64,
    pub contacts: u64,
    /// Folder trees or folders re-read from scratch because a sync state was refused.
    pub full_resyncs: u64,
    /// Items listed by the server that are not archived yet at the end of the run (kept on the
    /// mailbox's failed list and asked for again on the next run).
    #[serde(default)]
    pub failed_items: u64,
    /// Items of the failed list that this run did archive.
    #[serde(default)]
    pub recovered_items: u64,
}

/// What one run did to one mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub mailbox: String,
    pub status: MailboxStatus,
    pub reason: Option<String>,
    pub counts: RunCounts,
    pub requests: u64,
    pub throttled: u64,
    pub duration: Duration,
}

impl RunReport {
    /// A healthy report with nothing done yet.
    pub fn new(mailbox: &str) -> RunReport {
        RunReport {
            mailbox: mailbox.to_string(),
            status: MailboxStatus::Healthy,
            reason: None,
            counts: RunCounts::default(),
            requests: 0,
            throttled: 0,
            duration: Duration::ZERO,
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum EngineError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Target(#[from] TargetError),
}

/// Syncs one mailbox into its target and reports the outcome; never panics on server input.
pub async fn sync_mailbox(
    source: &dyn MailboxSource,
    target: &dyn SyncTarget,
    mailbox: &str,
    options: &SyncOptions,
) -> RunReport {
    let started = Instant::now();
    let ctx = MailboxCtx::new(mailbox, options.in_flight, options.retry.clone());
    let mut report = RunReport::new(mailbox);
    let result = Run {
        source,
        target,
        ctx: &ctx,
        options,
        deleted_this_run: HashSet::new(),
        failed_ids: HashSet::new(),
        pending: Pending::default(),
    }
    .run(&mut report)
    .await;
    report.requests = ctx.requests();
    report.throttled = ctx.throttled();
    report.duration = started.elapsed();
    if let Err(e) = result {
        report.status = match &e {
            EngineError::Source(
                SourceError::AccessDenied(_)
                | SourceError::MailboxNotFound(_)
                | SourceError::Auth(_),
            ) => MailboxStatus::Attention,
            _ => MailboxStatus::Failed,
        };
        report.reason = Some(e.to_string());
        tracing::warn!(mailbox, status = ?report.status, error = %e, "mailbox sync did not complete");
    } else {
        tracing::info!(
            mailbox,
            protocol = source.protocol(),
            new = report.counts.new_items,
            moved = report.counts.moved_items,
            deleted = report.counts.deleted_items,
            read_changes = report.counts.read_changes,
            requests = report.requests,
            throttled = report.throttled,
            ms = report.duration.as_millis() as u64,
            "mailbox synced"
        );
    }
    report
}

/// One mailbox to sync and where its content goes.
#[derive(Clone)]
pub struct MailboxJob {
    pub mailbox: String,
    pub target: Arc<dyn SyncTarget>,
}

/// Syncs many mailboxes in parallel (at most `options.parallel_mailboxes` at once). One
/// mailbox's failure does not stop the others. Reports come back in job order.
pub async fn sync_mailboxes(
    source: Arc<dyn MailboxSource>,
    jobs: Vec<MailboxJob>,
    options: &SyncOptions,
) -> Vec<RunReport> {
    let gate = Arc::new(Semaphore::new(options.parallel_mailboxes.max(1)));
    let mut handles = Vec::with_capacity(jobs.len());
    for job in jobs {
        let source = source.clone();
        let gate = gate.clone();
        let options = options.clone();
        let mailbox = job.mailbox.clone();
        let handle = tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            sync_mailbox(source.as_ref(), job.target.as_ref(), &job.mailbox, &options).await
        });
        handles.push((mailbox, handle));
    }
    let mut reports = Vec::with_capacity(handles.len());
    for (mailbox, handle) in handles {
        reports.push(handle.await.unwrap_or_else(|e| {
            let mut r = RunReport::new(&mailbox);
            r.status = MailboxStatus::Failed;
            r.reason = Some(format!("sync task ended abnormally: {e}"));
            r
        }));
    }
    reports
}

struct Run<'a> {
    source: &'a dyn MailboxSource,
    target: &'a dyn SyncTarget,
    ctx: &'a MailboxCtx,
    options: &'a SyncOptions,
    /// Deleted earlier in this run: if one shows up in another folder it was a move.
    deleted_this_run: HashSet<String>,
    /// Items on the mailbox's failed list, so a delete of one also takes it off the list.
    failed_ids: HashSet<String>,
    /// New messages not yet handed to the target (see [`Run::flush`]).
    pending: Pending,
}

/// A run of consecutive new messages of one folder. They go to the target in one call, so the
/// archive stores a page's new mail in one transaction instead of one per message. Any other
/// write flushes them first, so every write still lands in the order the server reported it,
/// and all of them before the page's sync state.
#[derive(Default)]
struct Pending {
    folder: String,
    messages: Vec<NewMessage>,
    /// Failed-list entries that these messages recover: cleared only once they are stored.
    recovered: Vec<String>,
}

/// What `apply_upsert` did with an item's content.
#[derive(PartialEq, Eq)]
enum Applied {
    /// Written, or nothing to write.
    Done,
    /// A new message waiting in [`Pending`].
    Queued,
}

/// What became of one item whose content the engine asked for.
enum Outcome {
    Content(ItemContent),
    /// The server said twice that the item does not exist.
    Gone,
    /// Not archived in this run; the reason goes on the failed list.
    Failed(String),
}

impl Run<'_> {
    async fn run(&mut self, report: &mut RunReport) -> Result<(), EngineError> {
        self.source.open(self.ctx).await?;
        match self.source.owner_name(self.ctx).await {
            Ok(Some(name)) if !name.trim().is_empty() => {
                self.target.set_owner_name(name.trim()).await?;
            }
            Ok(_) => {}
            // The name is a courtesy: the mail still syncs without it.
            Err(e) => {
                tracing::info!(mailbox = %self.ctx.address, error = %e, "owner's display name not available");
            }
        }
        self.sync_folders(report).await?;
        let all_live = self.target.live_folders().await?;
        let live: HashSet<String> = all_live.iter().map(|f| f.id.clone()).collect();
        let mut folders: Vec<SourceFolder> = all_live
            .into_iter()
            .filter(|f| self.options.wants(f.kind))
            .collect();
        folders.sort_by(|a, b| a.id.cmp(&b.id));

        // Items that earlier runs could not archive: asked for again first, folder by folder.
        // Those of folders that are gone went with their folder.
        let failed = self.target.failed_items().await?;
        let mut failed_by_folder: HashMap<String, Vec<FailedItem>> = HashMap::new();
        for f in failed {
            if live.contains(&f.folder_id) {
                self.failed_ids.insert(f.item_id.clone());
                failed_by_folder
                    .entry(f.folder_id.clone())
                    .or_default()
                    .push(f);
            } else {
                self.target.clear_failed_item(&f.item_id).await?;
            }
        }

        for folder in &folders {
            if let Some(items) = failed_by_folder.remove(&folder.id) {
                self.retry_failed(folder, items, report).await?;
            }
            self.sync_folder_items(folder, report).await?;
        }

        let failed = self.target.failed_items().await?;
        report.counts.failed_items = failed.len() as u64;
        if let Some(first) = failed.first() {
            report.status = MailboxStatus::Attention;
            report.reason = Some(format!(
                "{} {} could not be archived: {}",
                failed.len(),
                if failed.len() == 1 { "item" } else { "items" },
                first.reason
            ));
            tracing::warn!(mailbox = %self.ctx.address, failed = failed.len(), reason = %first.reason, "items could not be archived; they are retried on the next run");
        }
        Ok(())
    }

    /// Asks again for the items of a folder that earlier runs could not archive.
    async fn retry_failed(
        &mut self,
        folder: &SourceFolder,
        items: Vec<FailedItem>,
        report: &mut RunReport,
    ) -> Result<(), EngineError> {
        let ids: Vec<String> = items.iter().map(|i| i.item_id.clone()).collect();
        let mut outcomes = self.fetch_all(folder, &ids).await?;
        for item in items {
            match outcomes.remove(&item.item_id) {
                Some(Outcome::Content(data)) => {
                    let applied = self
                        .apply_upsert(
                            folder,
                            &item.item_id,
                            Some(item.is_read),
                            item.search_key.as_deref(),
                            Some(data),
                            report,
                        )
                        .await?;
                    self.recovered(item.item_id.clone(), applied).await?;
                    report.counts.recovered_items += 1;
                }
                Some(Outcome::Gone) => self.forget_failed(&item.item_id).await?,
                Some(Outcome::Failed(reason)) => {
                    self.target
                        .record_failed_item(&FailedItem { reason, ..item })
                        .await?;
                }
                None => {}
            }
        }
        self.flush().await
    }

    async fn forget_failed(&mut self, id: &str) -> Result<(), EngineError> {
        if self.failed_ids.remove(id) {
            self.target.clear_failed_item(id).await?;
        }
        Ok(())
    }

    /// A failed item's content arrived: it leaves the failed list once it is stored.
    async fn recovered(&mut self, id: String, applied: Applied) -> Result<(), EngineError> {
        match applied {
            Applied::Queued => {
                self.pending.recovered.push(id);
                Ok(())
            }
            Applied::Done => self.forget_failed(&id).await,
        }
    }

    /// Hands the pending new messages to the target, then clears the failed-list entries they
    /// recover. Called before any other write and at the end of every page.
    async fn flush(&mut self) -> Result<(), EngineError> {
        let pending = std::mem::take(&mut self.pending);
        if !pending.messages.is_empty() {
            self.target
                .put_messages(&pending.folder, pending.messages)
                .await?;
        }
        for id in pending.recovered {
            self.forget_failed(&id).await?;
        }
        Ok(())
    }

    fn queue_message(&mut self, folder: &str, message: NewMessage) {
        self.pending.folder = folder.to_owned();
        self.pending.messages.push(message);
    }

    fn folders_key(&self) -> String {
        format!("{}/folders", self.source.protocol())
    }

    fn items_key(&self, folder_id: &str) -> String {
        format!("{}/items/{folder_id}", self.source.protocol())
    }

    /// Where the ids of the folders that are not archived are kept, next to the folder state.
    fn skipped_key(&self) -> String {
        format!("{}/folders-skipped", self.source.protocol())
    }

    async fn sync_folders(&mut self, report: &mut RunReport) -> Result<(), EngineError> {
        let key = self.folders_key();
        let skipped_key = self.skipped_key();
        let mut state = self.target.load_sync_state(&key).await?;
        // Hidden and system folders and everything below them. Kept across runs: a subfolder
        // created later under a hidden folder arrives with nothing but its parent's id.
        let mut skipped: HashSet<String> = match &state {
            Some(_) => self
                .target
                .load_sync_state(&skipped_key)
                .await?
                .map(|s| s.lines().map(str::to_string).collect())
                .unwrap_or_default(),
            None => HashSet::new(),
        };
        let mut skipped_dirty = false;
        // During a full resync: the folders the server still has; the rest get closed at the end.
        let mut resync: Option<HashSet<String>> = None;
        loop {
            let page = match self.source.sync_folders(self.ctx, state.as_deref()).await {
                Ok(p) => p,
                Err(SourceError::InvalidSyncState) if resync.is_none() && state.is_some() => {
                    tracing::info!(mailbox = %self.ctx.address, "folder sync state refused: full folder resync");
                    report.counts.full_resyncs += 1;
                    resync = Some(HashSet::new());
                    state = None;
                    if !skipped.is_empty() {
                        skipped.clear();
                        skipped_dirty = true;
                    }
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            // Live folder -> its parent, kept current through the page.
            let mut live: HashMap<String, Option<String>> = self
                .target
                .live_folders()
                .await?
                .into_iter()
                .map(|f| (f.id, f.parent_id))
                .collect();
            for change in page.changes {
                match change {
                    FolderChange::Upsert(f) => {
                        if f.parent_id.as_ref().is_some_and(|p| skipped.contains(p)) {
                            self.skip_folder(&f.id, &mut skipped, &mut live, report)
                                .await?;
                            skipped_dirty = true;
                            continue;
                        }
                        // Shown again after being hidden. Its subfolders come back when they
                        // next change, or with the next full resync.
                        skipped_dirty |= skipped.remove(&f.id);
                        if let Some(seen) = resync.as_mut() {
                            seen.insert(f.id.clone());
                        }
                        if self
                            .target
                            .upsert_folder(
                                &f.id,
                                f.parent_id.as_deref(),
                                &f.display_name,
                                f.kind,
                                f.well_known,
                            )
                            .await?
                        {
                            report.counts.folders_added += 1;
                        }
                        live.insert(f.id, f.parent_id);
                    }
                    FolderChange::Delete { id } => {
                        skipped_dirty |= skipped.remove(&id);
                        if live.remove(&id).is_some() {
                            self.close_folder(&id, report).await?;
                        }
                    }
                    FolderChange::Skip { id } => {
                        self.skip_folder(&id, &mut skipped, &mut live, report)
                            .await?;
                        skipped_dirty = true;
                    }
                }
            }
            if !page.more {
                if let Some(seen) = resync.take() {
                    for f in self.target.live_folders().await? {
                        if !seen.contains(&f.id) {
                            self.close_folder(&f.id, report).await?;
                        }
                    }
                }
                if skipped_dirty {
                    self.save_skipped(&skipped_key, &skipped).await?;
                }
                self.target.save_sync_state(&key, &page.state).await?;
                return Ok(());
            }
            // A resync saves only at its end: a crash in the middle restarts it, rather than
            // resuming without the list of folders seen so far.
            if resync.is_none() {
                if skipped_dirty {
                    self.save_skipped(&skipped_key, &skipped).await?;
                    skipped_dirty = false;
                }
                self.target.save_sync_state(&key, &page.state).await?;
            }
            state = Some(page.state);
        }
    }

    /// Marks a folder as not archived, with every archived folder below it: it may have been
    /// archived before it became hidden, or before its hidden parent showed up in a later page.
    async fn skip_folder(
        &mut self,
        id: &str,
        skipped: &mut HashSet<String>,
        live: &mut HashMap<String, Option<String>>,
        report: &mut RunReport,
    ) -> Result<(), EngineError> {
        let mut doomed = vec![id.to_string()];
        let mut i = 0;
        while let Some(cur) = doomed.get(i).cloned() {
            let children: Vec<String> = live
                .iter()
                .filter(|(c, p)| p.as_deref() == Some(cur.as_str()) && !doomed.contains(c))
                .map(|(c, _)| c.clone())
                .collect();
            doomed.extend(children);
            i += 1;
        }
        for d in doomed {
            if live.remove(&d).is_some() {
                self.close_folder(&d, report).await?;
            }
            skipped.insert(d);
        }
        Ok(())
    }

    async fn save_skipped(&self, key: &str, skipped: &HashSet<String>) -> Result<(), EngineError> {
        let mut ids: Vec<&str> = skipped.iter().map(String::as_str).collect();
        ids.sort_unstable();
        self.target.save_sync_state(key, &ids.join("\n")).await?;
        Ok(())
    }

    async fn close_folder(&mut self, id: &str, report: &mut RunReport) -> Result<(), EngineError> {
        self.target.close_folder(id).await?;
        self.target.delete_sync_state(&self.items_key(id)).await?;
        report.counts.folders_removed += 1;
        Ok(())
    }

    async fn sync_folder_items(
        &mut self,
        folder: &SourceFolder,
        report: &mut RunReport,
    ) -> Result<(), EngineError> {
        let key = self.items_key(&folder.id);
        let mut state = self.target.load_sync_state(&key).await?;
        let mut resync: Option<HashSet<String>> = None;
        loop {
            let page = match self
                .source
                .sync_items(self.ctx, folder, state.as_deref())
                .await
            {
                Ok(p) => p,
                Err(SourceError::InvalidSyncState) if resync.is_none() && state.is_some() => {
                    tracing::info!(mailbox = %self.ctx.address, folder = %folder.id, "item sync state refused: full resync of the folder");
                    report.counts.full_resyncs += 1;
                    resync = Some(HashSet::new());
                    state = None;
                    continue;
                }
                // Graph answers a removed folder's delta with ErrorItemNotFound as well.
                Err(SourceError::FolderNotFound(why) | SourceError::ItemNotFound(why)) => {
                    // Removed since the hierarchy sync; the next hierarchy sync closes it.
                    tracing::info!(mailbox = %self.ctx.address, folder = %folder.id, %why, "folder vanished during sync");
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            };
            let more = page.more;
            let new_state = page.state.clone();
            self.apply_items(folder, page, resync.as_mut(), report)
                .await?;
            if !more {
                if let Some(seen) = resync.take() {
                    for id in self.target.folder_item_ids(&folder.id).await? {
                        if !seen.contains(&id) {
                            self.target.delete_item(&id).await?;
                            report.counts.deleted_items += 1;
                        }
                    }
                }
                self.target.save_sync_state(&key, &new_state).await?;
                return Ok(());
            }
            if resync.is_none() {
                self.target.save_sync_state(&key, &new_state).await?;
            }
            state = Some(new_state);
        }
    }

    /// Fetches what the page needs (concurrently, in batches) and applies it in page order.
    /// Every listed item ends archived, gone, or on the failed list, so saving the page's sync
    /// state afterwards never skips an item for good.
    async fn apply_items(
        &mut self,
        folder: &SourceFolder,
        page: ItemPage,
        mut seen: Option<&mut HashSet<String>>,
        report: &mut RunReport,
    ) -> Result<(), EngineError> {
        let mut to_fetch: Vec<String> = Vec::new();
        let mut queued: HashSet<&str> = HashSet::new();
        for change in &page.changes {
            let (ItemChange::Upsert { id, .. } | ItemChange::ReadFlag { id, .. }) = change else {
                continue;
            };
            if let Some(seen) = seen.as_deref_mut() {
                seen.insert(id.clone());
            }
            let ItemChange::Upsert { content: None, .. } = change else {
                continue;
            };
            // Messages never change content: only unknown ones are downloaded. Calendar items
            // and contacts do change, so an update is fetched again.
            let needed =
                folder.kind != FolderKind::Mail || self.target.item_location(id).await?.is_none();
            if needed && queued.insert(id.as_str()) {
                to_fetch.push(id.clone());
            }
        }
        let mut fetched = self.fetch_all(folder, &to_fetch).await?;

        for change in page.changes {
            match change {
                ItemChange::Upsert {
                    id,
                    is_read,
                    content,
                    search_key,
                } => {
                    let data = match content {
                        Some(c) => Some(c),
                        None => match fetched.remove(&id) {
                            Some(Outcome::Content(c)) => Some(c),
                            Some(Outcome::Gone) => {
                                tracing::debug!(item = %id, "item gone before it could be fetched");
                                self.forget_failed(&id).await?;
                                continue;
                            }
                            Some(Outcome::Failed(reason)) => {
                                tracing::info!(mailbox = %self.ctx.address, item = %id, %reason, "item not archived in this run; kept for the next");
                                self.target
                                    .record_failed_item(&FailedItem {
                                        folder_id: folder.id.clone(),
                                        item_id: id.clone(),
                                        is_read: is_read.unwrap_or(false),
                                        search_key,
                                        reason,
                                        attempts: 1,
                                    })
                                    .await?;
                                self.failed_ids.insert(id);
                                continue;
                            }
                            None => None,
                        },
                    };
                    let had_failed = data.is_some() && self.failed_ids.contains(&id);
                    let applied = self
                        .apply_upsert(folder, &id, is_read, search_key.as_deref(), data, report)
                        .await?;
                    if had_failed {
                        self.recovered(id, applied).await?;
                        report.counts.recovered_items += 1;
                    }
                }
                ItemChange::ReadFlag { id, is_read } => {
                    self.flush().await?;
                    if let Some(loc) = self.target.item_location(&id).await? {
                        if loc.folder_id.as_deref() == Some(folder.id.as_str())
                            && loc.is_read != is_read
                        {
                            self.target.set_read(&id, is_read).await?;
                            report.counts.read_changes += 1;
                        }
                    }
                }
                ItemChange::Delete { id } => {
                    self.flush().await?;
                    // Deleted or moved away before it could be archived: nothing to retry.
                    self.forget_failed(&id).await?;
                    let here = self
                        .target
                        .item_location(&id)
                        .await?
                        .is_some_and(|l| l.folder_id.as_deref() == Some(folder.id.as_str()));
                    if here {
                        self.target.delete_item(&id).await?;
                        report.counts.deleted_items += 1;
                        self.deleted_this_run.insert(id);
                    }
                }
            }
        }
        self.flush().await
    }

    async fn apply_upsert(
        &mut self,
        folder: &SourceFolder,
        id: &str,
        is_read: Option<bool>,
        search_key: Option<&str>,
        data: Option<ItemContent>,
        report: &mut RunReport,
    ) -> Result<Applied, EngineError> {
        let format = self.source.content_format(folder.kind);
        match folder.kind {
            FolderKind::Calendar | FolderKind::Contacts => {
                let Some(data) = data else {
                    return Ok(Applied::Done);
                };
                self.flush().await?;
                if folder.kind == FolderKind::Calendar {
                    self.target
                        .put_calendar_item(&folder.id, id, format, &data)
                        .await?;
                    report.counts.calendar_items += 1;
                } else {
                    self.target
                        .put_contact(&folder.id, id, format, &data)
                        .await?;
                    report.counts.contacts += 1;
                }
            }
            // Listed twice in one page: the first is already on its way.
            FolderKind::Mail if self.pending.messages.iter().any(|m| m.id == id) => {}
            FolderKind::Mail => match self.target.item_location(id).await? {
                None => {
                    let Some(ItemContent { data: mime, .. }) = data else {
                        return Ok(Applied::Done);
                    };
                    if let Some(old) = self.moved_from(folder, search_key, &mime).await? {
                        self.flush().await?;
                        self.target.move_item(&old, &folder.id, Some(id)).await?;
                        self.count_move(&old, report);
                        if let Some(r) = is_read {
                            self.target.set_read(id, r).await?;
                        }
                        return Ok(Applied::Done);
                    }
                    self.queue_message(
                        &folder.id,
                        NewMessage {
                            id: id.to_owned(),
                            mime,
                            is_read: is_read.unwrap_or(false),
                            search_key: search_key.map(str::to_owned),
                        },
                    );
                    report.counts.new_items += 1;
                    return Ok(Applied::Queued);
                }
                Some(loc) => {
                    self.flush().await?;
                    if loc.folder_id.as_deref() != Some(folder.id.as_str()) {
                        // Same id elsewhere: a move (immutable ids), no download needed.
                        self.target.move_item(id, &folder.id, None).await?;
                        self.count_move(id, report);
                    }
                    if let Some(r) = is_read.filter(|r| *r != loc.is_read) {
                        self.target.set_read(id, r).await?;
                        report.counts.read_changes += 1;
                    }
                }
            },
        }
        Ok(Applied::Done)
    }

    fn count_move(&mut self, old_id: &str, report: &mut RunReport) {
        report.counts.moved_items += 1;
        // Its delete was counted earlier in this run; it was the first half of this move.
        if self.deleted_this_run.remove(old_id) {
            report.counts.deleted_items = report.counts.deleted_items.saturating_sub(1);
        }
    }

    /// When ids change on a move (EWS), a "new" message may be an archived one that moved:
    /// the same message under another id (same PidTagSearchKey, or else the same content),
    /// either already deleted (the delete came first) or still live in another folder while
    /// the server no longer knows its old id (the create came first). A twin whose old id
    /// still exists is a copy and stays a copy.
    async fn moved_from(
        &mut self,
        folder: &SourceFolder,
        search_key: Option<&str>,
        mime: &[u8],
    ) -> Result<Option<String>, EngineError> {
        if !self.source.ids_change_on_move() {
            return Ok(None);
        }
        let twins = self.target.twins(search_key, mime).await?;
        if twins.is_empty() {
            return Ok(None);
        }
        let mut live_elsewhere = Vec::new();
        for twin in twins {
            match self.target.item_location(&twin).await? {
                Some(ItemLocation {
                    folder_id: None, ..
                }) => return Ok(Some(twin)),
                Some(ItemLocation {
                    folder_id: Some(f), ..
                }) if f != folder.id => live_elsewhere.push(twin),
                _ => {}
            }
        }
        if live_elsewhere.is_empty() {
            return Ok(None);
        }
        let exist = self.source.exist(self.ctx, &live_elsewhere).await?;
        Ok(live_elsewhere
            .into_iter()
            .zip(exist)
            .find(|(_, exists)| !exists)
            .map(|(id, _)| id))
    }

    /// Fetches the content of `ids`, asking again for what the server could not give yet:
    /// throttled and server-failed items after a pause (the whole mailbox pauses on
    /// throttling), "not found" once more to be sure. Whatever remains is `Failed`.
    async fn fetch_all(
        &self,
        folder: &SourceFolder,
        ids: &[String],
    ) -> Result<HashMap<String, Outcome>, EngineError> {
        let mut outcomes = HashMap::with_capacity(ids.len());
        let mut pending: Vec<String> = ids.to_vec();
        let mut not_found_once: HashSet<String> = HashSet::new();
        let mut round = 0u32;
        while !pending.is_empty() {
            round += 1;
            let mut answers = self.fetch_round(folder, &pending).await?;
            let mut again = Vec::new();
            let mut reasons: HashMap<String, String> = HashMap::new();
            let mut wait = Duration::ZERO;
            let mut throttled = false;
            for id in pending {
                match answers.remove(&id) {
                    Some(Ok(content)) => {
                        outcomes.insert(id, Outcome::Content(content));
                    }
                    Some(Err(FetchError::NotFound(reason))) => {
                        if not_found_once.insert(id.clone()) {
                            reasons.insert(id.clone(), reason);
                            again.push(id);
                        } else {
                            outcomes.insert(id, Outcome::Gone);
                        }
                    }
                    Some(Err(FetchError::Retryable {
                        reason,
                        wait: w,
                        throttled: t,
                    })) => {
                        wait = wait.max(w.unwrap_or_default());
                        throttled |= t;
                        reasons.insert(id.clone(), reason);
                        again.push(id);
                    }
                    Some(Err(FetchError::Permanent(reason))) => {
                        outcomes.insert(id, Outcome::Failed(reason));
                    }
                    None => {
                        reasons.insert(id.clone(), "the server did not answer for it".into());
                        again.push(id);
                    }
                }
            }
            if again.is_empty() {
                break;
            }
            if round >= self.options.retry.max_attempts.max(2) {
                for id in again {
                    let reason = reasons.remove(&id).unwrap_or_else(|| "no answer".into());
                    outcomes.insert(
                        id,
                        Outcome::Failed(format!("{reason} (after {round} attempts)")),
                    );
                }
                break;
            }
            let pause = wait.max(self.options.retry.backoff(round - 1));
            if throttled {
                self.ctx.pause(pause);
            } else {
                tokio::time::sleep(pause.min(self.options.retry.max_server_wait)).await;
            }
            pending = again;
        }
        Ok(outcomes)
    }

    /// One pass over `ids`: batches in flight at once, up to the source's and the mailbox's
    /// limits.
    async fn fetch_round(
        &self,
        folder: &SourceFolder,
        ids: &[String],
    ) -> Result<HashMap<String, Result<ItemContent, FetchError>>, EngineError> {
        let batch = self.source.fetch_batch_size().max(1);
        let concurrency = self
            .source
            .max_concurrent_fetches()
            .clamp(1, self.options.in_flight.max(1));
        // Futures pushed one by one (not a stream closure) keep this future Send for spawn.
        // Unordered: a slow or throttled batch does not hold back the slots of the others.
        let mut in_flight = FuturesUnordered::new();
        let mut chunks = ids.chunks(batch);
        let mut results = Vec::new();
        loop {
            while in_flight.len() < concurrency {
                let Some(chunk) = chunks.next() else { break };
                in_flight.push(self.source.fetch(self.ctx, folder, chunk));
            }
            match in_flight.next().await {
                Some(r) => results.push(r),
                None => break,
            }
        }
        let mut out = HashMap::with_capacity(ids.len());
        for r in results {
            for f in r? {
                out.insert(f.id, f.content);
            }
        }
        Ok(out)
    }
}
