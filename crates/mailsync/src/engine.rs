//! The sync engine: folder hierarchy first, then the items of each folder, incrementally from
//! the sync states saved in the target after every page.
//!
//! Crash safety comes from the order of writes: a page's changes are written to the target
//! before its new sync state is saved, and every write is idempotent on source ids. A crash
//! replays at most one page, and replayed creates find the item already present.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{FuturesOrdered, StreamExt};
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::context::{MailboxCtx, RetryPolicy, DEFAULT_IN_FLIGHT};
use crate::error::{SourceError, TargetError};
use crate::source::{FolderChange, FolderKind, ItemChange, ItemPage, MailboxSource, SourceFolder};
use crate::target::SyncTarget;

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

/// What one run did to one mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub mailbox: String,
    pub status: MailboxStatus,
    pub reason: Option<String>,
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
            folders_added: 0,
            folders_removed: 0,
            new_items: 0,
            moved_items: 0,
            deleted_items: 0,
            read_changes: 0,
            calendar_items: 0,
            contacts: 0,
            full_resyncs: 0,
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
            new = report.new_items,
            moved = report.moved_items,
            deleted = report.deleted_items,
            read_changes = report.read_changes,
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
}

impl Run<'_> {
    async fn run(&mut self, report: &mut RunReport) -> Result<(), EngineError> {
        self.source.open(self.ctx).await?;
        self.sync_folders(report).await?;
        let mut folders: Vec<SourceFolder> = self
            .target
            .live_folders()
            .await?
            .into_iter()
            .filter(|f| self.options.wants(f.kind))
            .collect();
        folders.sort_by(|a, b| a.id.cmp(&b.id));
        for folder in &folders {
            self.sync_folder_items(folder, report).await?;
        }
        Ok(())
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
                    report.full_resyncs += 1;
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
                            report.folders_added += 1;
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
        report.folders_removed += 1;
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
                    report.full_resyncs += 1;
                    resync = Some(HashSet::new());
                    state = None;
                    continue;
                }
                Err(SourceError::FolderNotFound(why)) => {
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
                            report.deleted_items += 1;
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
        let fetched = self.fetch_all(folder, &to_fetch).await?;

        for change in page.changes {
            match change {
                ItemChange::Upsert {
                    id,
                    is_read,
                    content,
                } => {
                    let data = match content {
                        Some(c) => Some(c),
                        None => match fetched.get(&id) {
                            Some(Ok(c)) => Some(c.clone()),
                            Some(Err(why)) => {
                                tracing::debug!(item = %id, %why, "item gone before it could be fetched");
                                None
                            }
                            None => None,
                        },
                    };
                    self.apply_upsert(folder, &id, is_read, data, report)
                        .await?;
                }
                ItemChange::ReadFlag { id, is_read } => {
                    if let Some(loc) = self.target.item_location(&id).await? {
                        if loc.folder_id.as_deref() == Some(folder.id.as_str())
                            && loc.is_read != is_read
                        {
                            self.target.set_read(&id, is_read).await?;
                            report.read_changes += 1;
                        }
                    }
                }
                ItemChange::Delete { id } => {
                    let here = self
                        .target
                        .item_location(&id)
                        .await?
                        .is_some_and(|l| l.folder_id.as_deref() == Some(folder.id.as_str()));
                    if here {
                        self.target.delete_item(&id).await?;
                        report.deleted_items += 1;
                        self.deleted_this_run.insert(id);
                    }
                }
            }
        }
        Ok(())
    }

    async fn apply_upsert(
        &mut self,
        folder: &SourceFolder,
        id: &str,
        is_read: Option<bool>,
        data: Option<Vec<u8>>,
        report: &mut RunReport,
    ) -> Result<(), EngineError> {
        let format = self.source.content_format(folder.kind);
        match folder.kind {
            FolderKind::Calendar | FolderKind::Contacts => {
                let Some(data) = data else { return Ok(()) };
                if folder.kind == FolderKind::Calendar {
                    self.target
                        .put_calendar_item(&folder.id, id, format, &data)
                        .await?;
                    report.calendar_items += 1;
                } else {
                    self.target
                        .put_contact(&folder.id, id, format, &data)
                        .await?;
                    report.contacts += 1;
                }
            }
            FolderKind::Mail => match self.target.item_location(id).await? {
                None => {
                    let Some(mime) = data else { return Ok(()) };
                    self.target
                        .put_message(&folder.id, id, &mime, is_read.unwrap_or(false))
                        .await?;
                    report.new_items += 1;
                }
                Some(loc) => {
                    if loc.folder_id.as_deref() != Some(folder.id.as_str()) {
                        // Same id elsewhere: a move (immutable ids), no download needed.
                        self.target.move_item(id, &folder.id).await?;
                        report.moved_items += 1;
                        if self.deleted_this_run.remove(id) {
                            report.deleted_items = report.deleted_items.saturating_sub(1);
                        }
                    }
                    if let Some(r) = is_read.filter(|r| *r != loc.is_read) {
                        self.target.set_read(id, r).await?;
                        report.read_changes += 1;
                    }
                }
            },
        }
        Ok(())
    }

    async fn fetch_all(
        &self,
        folder: &SourceFolder,
        ids: &[String],
    ) -> Result<HashMap<String, Result<Vec<u8>, String>>, EngineError> {
        let batch = self.source.fetch_batch_size().max(1);
        let concurrency = self
            .source
            .max_concurrent_fetches()
            .clamp(1, self.options.in_flight.max(1));
        // Futures pushed one by one (not a stream closure) keep this future Send for spawn.
        let mut in_flight = FuturesOrdered::new();
        let mut results = Vec::new();
        for chunk in ids.chunks(batch) {
            in_flight.push_back(self.source.fetch(self.ctx, folder, chunk));
            if in_flight.len() >= concurrency {
                if let Some(r) = in_flight.next().await {
                    results.push(r);
                }
            }
        }
        while let Some(r) = in_flight.next().await {
            results.push(r);
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
