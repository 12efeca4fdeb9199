//! Restore: archived items written back into a mailbox through its server connection (EWS or
//! Graph), into the folders they were in (missing ones recreated) or below a new folder.
//!
//! Nothing is created twice. Every item we create carries a stamp naming its archive identity;
//! before writing into a folder the restore lists what the folder holds (our stamps, and the
//! Internet-Message-Ids as a fallback for mail that never left it) and skips what is there.
//! Outcomes are recorded per item, in the job's report, after each batch: a worker that dies
//! leaves a report that says what was done, and the next worker skips those items; an item
//! created just before the crash but not yet recorded is found by its stamp.
//!
//! A dry run is the same pipeline with nothing written: per target folder what would be
//! created, skipped and why, or fail. A real run is accepted only after a dry run of the same
//! request has finished.

use std::collections::HashMap;
use std::sync::Arc;

use archive::{Archive, ItemDetail, ItemId, ItemKind, Mailbox, MailboxId};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use jobs::{Job, JobState, Jobs, Lease, NewJob, Outcome, OutcomeKind};
use mailsync::restore::{
    check_folder_name, AlreadyThere, FolderContents, Identity, MailboxWriter, RestoreItem,
    TargetFolder, WriteAccess,
};
use mailsync::{FolderKind, MailboxCtx, RetryPolicy, SourceError};
use serde::{Deserialize, Serialize};
use syncer::SyncStore;

use crate::error::RecoveryError;
use crate::plan::{item_content, item_record, ItemSource, Plan, PlannedItem};

/// The `kind` of restore jobs in the queue.
pub const RESTORE_KIND: &str = "restore";

/// Items read, written and recorded at a time: progress moves and a cancel is seen after each.
const BATCH: usize = 25;

/// Where restored items go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "into", rename_all = "snake_case")]
pub enum Placement {
    /// The folders they were in; folders that are missing are created.
    Original,
    /// A new folder at the top of the mailbox ("Recovered 2026-12-03") with the original tree
    /// below it; for calendar items and contacts a calendar or contacts folder of that name.
    NewFolder { name: String },
}

/// The mailbox written into: an address on the server of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreTarget {
    pub connection_id: i64,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreRequest {
    pub source: ItemSource,
    /// Which kinds of item to take; at least one.
    pub kinds: Vec<ItemKind>,
    pub target: RestoreTarget,
    pub placement: Placement,
    pub dry_run: bool,
    /// For a real run: the finished dry run of this same request it follows.
    #[serde(default)]
    pub after_dry_run: Option<i64>,
}

/// What a finished restore's job result holds, beside the per-item report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreSummary {
    pub dry_run: bool,
    pub target_address: String,
    /// Folders created (or, in a dry run, that would be), as paths.
    pub folders_created: Vec<String>,
    pub created: u64,
    /// Items that were there already with another read state, set to the archived one.
    #[serde(default)]
    pub merged: u64,
    pub skipped: u64,
    pub failed: u64,
}

impl RestoreSummary {
    pub fn of(job: &Job) -> Option<RestoreSummary> {
        if job.kind != RESTORE_KIND {
            return None;
        }
        serde_json::from_str(job.result.as_deref()?).ok()
    }
}

fn read_word(is_read: bool) -> &'static str {
    if is_read {
        "read"
    } else {
        "unread"
    }
}

fn invalid(message: impl Into<String>) -> RecoveryError {
    RecoveryError::Invalid(message.into())
}

impl RestoreRequest {
    /// The request as its dry run had it: what a real run is compared with.
    fn as_dry_run(&self) -> RestoreRequest {
        RestoreRequest {
            dry_run: true,
            after_dry_run: None,
            ..self.clone()
        }
    }

    /// Refuses, with one sentence, a request that cannot be right whatever the archive holds.
    pub fn check(&self) -> Result<(), RecoveryError> {
        if self.target.address.trim().is_empty() || !self.target.address.contains('@') {
            return Err(invalid(
                "Name the mailbox to restore into by its e-mail address.",
            ));
        }
        if let Placement::NewFolder { name } = &self.placement {
            check_folder_name(name).map_err(invalid)?;
        }
        Ok(())
    }

    pub fn describe(&self, mailbox: &Mailbox) -> String {
        let into = match &self.placement {
            Placement::Original => "into the original folders".to_owned(),
            Placement::NewFolder { name } => format!("into \u{201c}{}\u{201d}", name.trim()),
        };
        let run = if self.dry_run { "Dry run: " } else { "" };
        format!(
            "{run}{} of {} to {}, {into}",
            self.source.describe(),
            mailbox.name,
            self.target.address
        )
    }

    pub async fn plan(&self, archive: &Archive) -> Result<Plan, RecoveryError> {
        self.source.plan(&self.kinds, archive, "restore").await
    }
}

/// The folder kind on the server for an archived item kind.
fn folder_kind(kind: ItemKind) -> FolderKind {
    match kind {
        ItemKind::Message => FolderKind::Mail,
        ItemKind::Calendar => FolderKind::Calendar,
        ItemKind::Contact => FolderKind::Contacts,
    }
}

/// The path below the kind's top folder (the mail root, the default calendar or contacts)
/// that an item filed under `folder` goes to.
fn target_path(kind: ItemKind, folder: &[String], placement: &Placement) -> Vec<String> {
    let below: Vec<String> = match kind {
        ItemKind::Message => folder.to_vec(),
        // The archive's calendar and contacts folders are the mailbox's default ones.
        ItemKind::Calendar | ItemKind::Contact => folder.iter().skip(1).cloned().collect(),
    };
    match placement {
        Placement::Original => below,
        Placement::NewFolder { name } => std::iter::once(name.trim().to_owned())
            .chain(below)
            .collect(),
    }
}

/// The target folder as the report shows it.
fn shown_path(kind: ItemKind, folder: &[String], path: &[String]) -> String {
    match kind {
        ItemKind::Message => path.join("/"),
        ItemKind::Calendar | ItemKind::Contact => {
            let top = folder.first().map_or("Calendar", String::as_str);
            std::iter::once(top)
                .chain(path.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join("/")
        }
    }
}

/// Errors after which no further item can succeed: the job ends and says why.
fn ends_the_job(e: &SourceError) -> bool {
    matches!(
        e,
        SourceError::AccessDenied(_)
            | SourceError::MailboxNotFound(_)
            | SourceError::Auth(_)
            | SourceError::Throttled { .. }
            | SourceError::Transport(_)
    )
}

fn stopped(e: &SourceError, address: &str) -> RecoveryError {
    let why = match e {
        SourceError::AccessDenied(_) => format!(
            "the connection may not write into {address} any more ({e}); grant the access and \
             run the restore again"
        ),
        SourceError::MailboxNotFound(_) => format!("the server has no mailbox {address} ({e})"),
        SourceError::Throttled { retry_after, .. } => format!(
            "the server kept throttling the restore (last asked to wait {}s); run it again later",
            retry_after.map_or(0, |d| d.as_secs())
        ),
        _ => e.to_string(),
    };
    invalid(format!(
        "The restore stopped: {why}. What it restored so far is in the report and will be \
         skipped when it is run again."
    ))
}

/// The stamp of an archived item: stable across runs, unique across mailboxes.
fn stamp_of(mailbox: MailboxId, item: ItemId) -> String {
    format!("sr-{mailbox}-{item}")
}

fn date_of(t: archive::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(t.0)
}

/// Starts, runs and reports restore jobs.
#[derive(Clone)]
pub struct Restorer {
    archive: Archive,
    jobs: Jobs,
    sync: SyncStore,
}

/// The items that go into one target folder.
struct TargetGroup<'p> {
    kind: ItemKind,
    path: Vec<String>,
    items: Vec<&'p PlannedItem>,
}

/// One group per target folder, in the plan's order (mail, calendars, contacts).
fn by_target<'p>(plan: &'p Plan, placement: &Placement) -> Vec<TargetGroup<'p>> {
    let mut groups: Vec<TargetGroup<'p>> = Vec::new();
    let mut index: HashMap<(ItemKind, Vec<String>), usize> = HashMap::new();
    for planned in &plan.items {
        let path = target_path(planned.kind, &planned.folder, placement);
        let n = *index
            .entry((planned.kind, path.clone()))
            .or_insert_with(|| {
                groups.push(TargetGroup {
                    kind: planned.kind,
                    path,
                    items: Vec::new(),
                });
                groups.len() - 1
            });
        groups[n].items.push(planned);
    }
    groups
}

/// Folders found or created in this run, by kind and path (lower-cased).
type FolderCache = HashMap<(FolderKind, Vec<String>), TargetFolder>;

impl Restorer {
    pub fn new(archive: Archive, jobs: Jobs, sync: SyncStore) -> Self {
        Restorer {
            archive,
            jobs,
            sync,
        }
    }

    pub fn archive(&self) -> &Archive {
        &self.archive
    }

    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    async fn writer(
        &self,
        target: &RestoreTarget,
    ) -> Result<Arc<dyn MailboxWriter>, RecoveryError> {
        self.sync
            .writer_for(target.connection_id)
            .await
            .map_err(|e| invalid(format!("The connection cannot be used: {e}.")))
    }

    /// What the connection may write into the target mailbox: asked before a restore starts,
    /// and shown beside the connection test.
    pub async fn write_access(&self, target: &RestoreTarget) -> Result<WriteAccess, RecoveryError> {
        let writer = self.writer(target).await?;
        let mb = MailboxCtx::new(&target.address, 2, RetryPolicy::default());
        writer
            .write_access(&mb)
            .await
            .map_err(|e| invalid(format!("The target mailbox cannot be checked: {e}.")))
    }

    /// Checks a request (what it takes, that the connection may write what it takes, that a
    /// real run follows its dry run) and queues it for a worker.
    pub async fn enqueue(
        &self,
        request: &RestoreRequest,
        owner: &str,
    ) -> Result<(Job, Plan), RecoveryError> {
        request.check()?;
        let plan = request.plan(&self.archive).await?;
        if !request.dry_run {
            self.check_dry_run(request).await?;
        }
        let access = self.write_access(&request.target).await?;
        let kinds: Vec<FolderKind> = request.kinds.iter().map(|k| folder_kind(*k)).collect();
        if !kinds.iter().any(|k| access.allows(*k)) {
            return Err(invalid(format!(
                "The connection may not write into {}. {}",
                request.target.address,
                access.missing.join(" ")
            )));
        }
        let job = self
            .jobs
            .enqueue(NewJob {
                kind: RESTORE_KIND.to_owned(),
                label: request.describe(&plan.mailbox),
                mailbox_id: Some(plan.mailbox.id),
                params: serde_json::to_string(request)?,
                owner: owner.to_owned(),
            })
            .await?;
        Ok((job, plan))
    }

    async fn check_dry_run(&self, request: &RestoreRequest) -> Result<(), RecoveryError> {
        let refuse = || {
            invalid(
                "Run a dry run of this restore first; the restore itself can start once it has \
                 finished and its report has been seen.",
            )
        };
        let id = request.after_dry_run.ok_or_else(refuse)?;
        let job = self.jobs.get(id).await?.ok_or_else(refuse)?;
        let same = job.kind == RESTORE_KIND
            && job.state == JobState::Done
            && serde_json::from_str::<RestoreRequest>(&job.params)
                .is_ok_and(|r| r == request.as_dry_run());
        if same {
            Ok(())
        } else {
            Err(refuse())
        }
    }

    /// Runs a claimed restore job to its end and returns it as it ended. An error means the job
    /// could not be ended here (its lease passed to another worker, or the database is gone).
    pub async fn run(&self, job: &Job, lease: &Lease) -> Result<Job, RecoveryError> {
        let outcome = self.restore(job, lease).await;
        crate::job_end::end_job(&self.jobs, job, lease, outcome).await
    }

    /// Walks `path` below the kind's top folder; creates what is missing unless `dry_run`.
    /// Returns the folder (None in a dry run when it does not exist yet) and the paths of the
    /// folders created or to be created.
    async fn resolve(
        &self,
        writer: &dyn MailboxWriter,
        mb: &MailboxCtx,
        kind: FolderKind,
        path: &[String],
        dry_run: bool,
        cache: &mut FolderCache,
    ) -> Result<(Option<TargetFolder>, Vec<Vec<String>>), SourceError> {
        let key = |n: usize| {
            (
                kind,
                path[..n].iter().map(|p| p.trim().to_lowercase()).collect(),
            )
        };
        // Start from the longest part of the path found before.
        let mut known = path.len();
        let mut at = loop {
            if let Some(f) = cache.get(&key(known)) {
                break f.clone();
            }
            if known == 0 {
                let top = writer.top_folder(mb, kind).await?;
                cache.insert(key(0), top.clone());
                break top;
            }
            known -= 1;
        };
        for i in known..path.len() {
            match writer.child_folder(mb, &at, &path[i]).await? {
                Some(f) => {
                    cache.insert(key(i + 1), f.clone());
                    at = f;
                }
                None => {
                    let missing: Vec<Vec<String>> =
                        (i + 1..=path.len()).map(|n| path[..n].to_vec()).collect();
                    if dry_run {
                        return Ok((None, missing));
                    }
                    let made = writer.create_folders(mb, &at, &path[i..]).await?;
                    cache.insert(key(path.len()), made.clone());
                    return Ok((Some(made), missing));
                }
            }
        }
        Ok((Some(at), Vec::new()))
    }

    /// Restores the plan; None when a cancel was asked for.
    async fn restore(
        &self,
        job: &Job,
        lease: &Lease,
    ) -> Result<Option<RestoreSummary>, RecoveryError> {
        let request: RestoreRequest = serde_json::from_str(&job.params)?;
        let plan = request.plan(&self.archive).await?;
        let total = i64::try_from(plan.len()).unwrap_or(i64::MAX);
        if self.jobs.heartbeat(lease, total, 0).await?.cancel_requested {
            return Ok(None);
        }
        let address = request.target.address.clone();
        let writer = self.writer(&request.target).await?;
        let mb = MailboxCtx::new(
            &address,
            mailsync::context::DEFAULT_IN_FLIGHT,
            RetryPolicy::default(),
        );
        let access = writer
            .write_access(&mb)
            .await
            .map_err(|e| stopped(&e, &address))?;
        // A resumed job goes on after the items its report already has.
        let done = self.jobs.done_keys(job.id).await?;
        let mut summary = RestoreSummary {
            dry_run: request.dry_run,
            target_address: address.clone(),
            ..RestoreSummary::default()
        };

        let mut cache = FolderCache::new();
        let mut bytes = 0i64;
        for TargetGroup { kind, path, items } in &by_target(&plan, &request.placement) {
            let todo: Vec<&PlannedItem> = items
                .iter()
                .copied()
                .filter(|p| !done.contains(&p.item.to_string()))
                .collect();
            if todo.is_empty() {
                continue;
            }
            let shown = shown_path(*kind, &todo[0].folder, path);
            let fkind = folder_kind(*kind);
            let group_failure = if access.allows(fkind) {
                None
            } else {
                Some(access.missing.join(" "))
            };
            let (folder, mut contents) = match group_failure {
                Some(why) => {
                    self.fail_all(lease, &todo, &shown, &why).await?;
                    summary.failed += todo.len() as u64;
                    continue;
                }
                None => {
                    match self
                        .resolve(
                            writer.as_ref(),
                            &mb,
                            fkind,
                            path,
                            request.dry_run,
                            &mut cache,
                        )
                        .await
                    {
                        Ok((folder, created)) => {
                            for c in created {
                                let p = shown_path(*kind, &todo[0].folder, &c);
                                if !summary.folders_created.contains(&p) {
                                    summary.folders_created.push(p);
                                }
                            }
                            let contents = match &folder {
                                Some(f) => writer.contents(&mb, f).await,
                                None => Ok(FolderContents::default()),
                            };
                            match contents {
                                Ok(c) => (folder, c),
                                Err(e) if ends_the_job(&e) => return Err(stopped(&e, &address)),
                                Err(e) => {
                                    let why = format!("the folder {shown} cannot be read: {e}");
                                    self.fail_all(lease, &todo, &shown, &why).await?;
                                    summary.failed += todo.len() as u64;
                                    continue;
                                }
                            }
                        }
                        Err(e) if ends_the_job(&e) => return Err(stopped(&e, &address)),
                        Err(e) => {
                            let why = format!("the folder {shown} cannot be created: {e}");
                            self.fail_all(lease, &todo, &shown, &why).await?;
                            summary.failed += todo.len() as u64;
                            continue;
                        }
                    }
                }
            };

            for batch in todo.chunks(BATCH) {
                let ids: Vec<ItemId> = batch.iter().map(|p| p.item).collect();
                let details: HashMap<ItemId, ItemDetail> = self
                    .archive
                    .items(&ids)
                    .await?
                    .into_iter()
                    .map(|d| (d.id, d))
                    .collect();
                let mut outcomes = Vec::with_capacity(batch.len());
                // Decided in order (so two copies of one message in a batch are one create),
                // then created a few at a time, as many as the mailbox's requests in flight.
                type Record = Option<Result<pim::Record, String>>;
                let mut to_create: Vec<(usize, String, String, Record)> = Vec::new();
                let mut to_merge: Vec<(String, String, String, bool)> = Vec::new();
                for (index, planned) in batch.iter().enumerate() {
                    let key = planned.item.to_string();
                    let Some(detail) = details.get(&planned.item) else {
                        outcomes.push(outcome(
                            &key,
                            OutcomeKind::Failed,
                            &planned.folder.join("/"),
                            &shown,
                            "the item is no longer in the archive",
                        ));
                        continue;
                    };
                    let source_path = format!("{}/{}", planned.folder.join("/"), title(detail));
                    let stamp = stamp_of(plan.mailbox.id, planned.item);
                    let message_id = (detail.kind == ItemKind::Message)
                        .then(|| detail.message_id.clone())
                        .flatten();
                    // A calendar item that never left the calendar is known by its UID.
                    // Read once here: the UID for skip-existing, the whole record for creating.
                    let record = match detail.kind {
                        ItemKind::Message => None,
                        ItemKind::Calendar | ItemKind::Contact => {
                            Some(item_record(&self.archive, detail).await)
                        }
                    };
                    let identity = Identity {
                        message_id,
                        uid: match &record {
                            Some(Ok(pim::Record::Event(e))) => Some(e.uid.clone()),
                            _ => None,
                        },
                        person: match &record {
                            Some(Ok(pim::Record::Contact(c))) => mailsync::restore::person_keys(
                                &c.shown_name(),
                                c.emails.iter().map(|e| e.address.as_str()),
                            ),
                            _ => Vec::new(),
                        },
                    };
                    if let Some(there) = contents.find(&stamp, &identity) {
                        // There with another read state: brought back to the archived one.
                        let merge = detail.kind == ItemKind::Message
                            && !there.id.is_empty()
                            && contents.read_differs(&there.id, planned.is_read);
                        if merge && (request.dry_run || folder.is_none()) {
                            outcomes.push(outcome(
                                &key,
                                OutcomeKind::Merged,
                                &source_path,
                                &shown,
                                &format!(
                                    "would be marked {}, as archived",
                                    read_word(planned.is_read)
                                ),
                            ));
                            continue;
                        }
                        if merge {
                            to_merge.push((key, source_path, there.id, planned.is_read));
                            continue;
                        }
                        let why = match there.why {
                            AlreadyThere::Restored => "already restored into this folder",
                            AlreadyThere::SameMessageId => {
                                "a message with the same Internet-Message-Id is already in this folder"
                            }
                            AlreadyThere::SameUid => {
                                "a calendar item with the same UID is already in this calendar"
                            }
                            AlreadyThere::SameContact => {
                                "a contact with the same name and e-mail address is already in this folder"
                            }
                        };
                        outcomes.push(outcome(
                            &key,
                            OutcomeKind::Skipped,
                            &source_path,
                            &shown,
                            why,
                        ));
                        continue;
                    }
                    contents.add(&stamp, &identity, "");
                    if request.dry_run || folder.is_none() {
                        // A dry run: everything that is not there would be created.
                        outcomes.push(outcome(
                            &key,
                            OutcomeKind::Created,
                            &source_path,
                            &shown,
                            "would be created",
                        ));
                        continue;
                    }
                    to_create.push((index, key, source_path, record));
                }
                let mut fatal = None;
                if let Some(folder) = folder.as_ref().filter(|_| !request.dry_run) {
                    let (writer, mb, details) = (&writer, &mb, &details);
                    let created: Vec<_> = futures::stream::iter(to_create)
                        .map(|(index, key, source_path, record)| {
                            let planned: &PlannedItem = batch[index];
                            async move {
                                let detail = &details[&planned.item];
                                let stamp = stamp_of(plan.mailbox.id, planned.item);
                                let done = match self
                                    .restore_item(detail, planned, stamp, record)
                                    .await
                                {
                                    Ok(item) => writer.create(mb, folder, &item).await.map_err(Err),
                                    Err(why) => Err(Ok(why)),
                                };
                                (detail.size, key, source_path, done)
                            }
                        })
                        .buffer_unordered(mailsync::context::DEFAULT_IN_FLIGHT)
                        .collect()
                        .await;
                    for (size, key, source_path, done) in created {
                        match done {
                            Ok(_) => {
                                bytes += size;
                                outcomes.push(outcome(
                                    &key,
                                    OutcomeKind::Created,
                                    &source_path,
                                    &shown,
                                    "",
                                ));
                            }
                            // The item's own content could not be read.
                            Err(Ok(why)) => outcomes.push(outcome(
                                &key,
                                OutcomeKind::Failed,
                                &source_path,
                                &shown,
                                &why,
                            )),
                            // Not recorded: the next run looks for its stamp and decides again.
                            Err(Err(e)) if ends_the_job(&e) => fatal = Some(e),
                            Err(Err(e)) => outcomes.push(outcome(
                                &key,
                                OutcomeKind::Failed,
                                &source_path,
                                &shown,
                                &e.to_string(),
                            )),
                        }
                    }
                }
                for (key, source_path, id, is_read) in to_merge {
                    if fatal.is_some() {
                        // Not recorded: the next run finds the read state and decides again.
                        break;
                    }
                    match writer.set_read(&mb, &id, is_read).await {
                        Ok(()) => outcomes.push(outcome(
                            &key,
                            OutcomeKind::Merged,
                            &source_path,
                            &shown,
                            &format!("marked {}, as archived", read_word(is_read)),
                        )),
                        Err(e) if ends_the_job(&e) => fatal = Some(e),
                        Err(e) => outcomes.push(outcome(
                            &key,
                            OutcomeKind::Failed,
                            &source_path,
                            &shown,
                            &format!("its read state could not be set: {e}"),
                        )),
                    }
                }
                for o in &outcomes {
                    match o.kind {
                        OutcomeKind::Created => summary.created += 1,
                        OutcomeKind::Merged => summary.merged += 1,
                        OutcomeKind::Skipped => summary.skipped += 1,
                        OutcomeKind::Failed => summary.failed += 1,
                    }
                }
                self.jobs.record(lease, &outcomes).await?;
                if let Some(e) = fatal {
                    return Err(stopped(&e, &address));
                }
                if self
                    .jobs
                    .heartbeat(lease, total, bytes)
                    .await?
                    .cancel_requested
                {
                    return Ok(None);
                }
            }
        }
        // A resumed job's summary counts the whole report, not only this worker's part.
        if !done.is_empty() {
            if let Some(j) = self.jobs.get(job.id).await? {
                summary.skipped = j.skipped as u64;
                summary.failed = j.failed as u64;
                let merged: i64 = self
                    .jobs
                    .tally(job.id)
                    .await?
                    .iter()
                    .filter(|t| t.kind == OutcomeKind::Merged)
                    .map(|t| t.count)
                    .sum();
                summary.merged = merged.max(0) as u64;
                summary.created = (j.processed - j.skipped - j.failed - merged).max(0) as u64;
            }
        }
        Ok(Some(summary))
    }

    async fn restore_item(
        &self,
        detail: &ItemDetail,
        planned: &PlannedItem,
        stamp: String,
        record: Option<Result<pim::Record, String>>,
    ) -> Result<RestoreItem, String> {
        let content = item_content(&self.archive, detail).await?;
        let record = record.transpose()?;
        Ok(RestoreItem {
            stamp,
            kind: folder_kind(detail.kind),
            content,
            record,
            is_read: planned.is_read,
            message_id: detail.message_id.clone(),
            received_at: date_of(detail.date),
            sent_at: date_of(detail.date),
        })
    }

    async fn fail_all(
        &self,
        lease: &Lease,
        items: &[&PlannedItem],
        shown: &str,
        why: &str,
    ) -> Result<(), RecoveryError> {
        let outcomes: Vec<Outcome> = items
            .iter()
            .map(|p| {
                outcome(
                    &p.item.to_string(),
                    OutcomeKind::Failed,
                    &p.folder.join("/"),
                    shown,
                    why,
                )
            })
            .collect();
        for chunk in outcomes.chunks(500) {
            self.jobs.record(lease, chunk).await?;
        }
        Ok(())
    }
}

fn title(detail: &ItemDetail) -> String {
    let s = detail.subject.trim();
    if s.is_empty() {
        "(no subject)".to_owned()
    } else {
        s.to_owned()
    }
}

fn outcome(key: &str, kind: OutcomeKind, source: &str, target: &str, detail: &str) -> Outcome {
    Outcome {
        key: key.to_owned(),
        kind,
        source_path: source.to_owned(),
        target_path: target.to_owned(),
        detail: detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn items_go_to_their_folders_or_below_the_new_one() {
        let new = Placement::NewFolder {
            name: " Recovered 2026-12-03 ".into(),
        };
        assert_eq!(
            target_path(
                ItemKind::Message,
                &path(&["Inbox", "Projects"]),
                &Placement::Original
            ),
            path(&["Inbox", "Projects"])
        );
        assert_eq!(
            target_path(ItemKind::Message, &path(&["Inbox"]), &new),
            path(&["Recovered 2026-12-03", "Inbox"])
        );
        // The archive's calendar folder is the mailbox's default calendar.
        assert!(target_path(
            ItemKind::Calendar,
            &path(&["Calendar"]),
            &Placement::Original
        )
        .is_empty());
        assert_eq!(
            target_path(ItemKind::Contact, &path(&["Contacts", "Suppliers"]), &new),
            path(&["Recovered 2026-12-03", "Suppliers"])
        );
        assert_eq!(
            shown_path(
                ItemKind::Calendar,
                &path(&["Calendar"]),
                &path(&["Recovered 2026-12-03"])
            ),
            "Calendar/Recovered 2026-12-03"
        );
    }

    #[test]
    fn a_request_with_a_bad_folder_name_or_address_is_refused() {
        let mut r = RestoreRequest {
            source: ItemSource::Items {
                mailbox: 1,
                items: vec![1],
            },
            kinds: vec![ItemKind::Message],
            target: RestoreTarget {
                connection_id: 1,
                address: "alice@example.com".into(),
            },
            placement: Placement::NewFolder {
                name: "Recovered/2026".into(),
            },
            dry_run: true,
            after_dry_run: None,
        };
        let e = r.check().unwrap_err().to_string();
        assert!(e.contains("slash"), "{e}");
        r.placement = Placement::NewFolder {
            name: "x".repeat(256),
        };
        assert!(r.check().unwrap_err().to_string().contains("255"));
        r.placement = Placement::Original;
        r.target.address = "alice".into();
        assert!(r
            .check()
            .unwrap_err()
            .to_string()
            .contains("e-mail address"));
        r.target.address = "alice@example.com".into();
        assert!(r.check().is_ok());
    }
}
