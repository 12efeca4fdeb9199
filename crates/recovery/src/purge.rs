//! Retention's purge, as a job: every mailbox past its keep times loses those items, then the
//! blobs no record points at any more are deleted.
//!
//! ```text
//! for each mailbox with a keep time:
//!     take it from the sync workers ── a sync runs now? ──► skipped, said in the report
//!     purge_step (500 items per write) until nothing is past its time; a held snapshot's items stay
//!     forget their move keys, give the mailbox back
//! collect_orphans: blobs whose last record went
//! ```
//!
//! A dry run ([`Purger::preview`]) counts and lists what would go, without a job.

use std::time::Duration;

use archive::{Archive, KindRules, Mailbox, MailboxId, PurgeCandidate, PurgeCount, Timestamp};
use domain::counted;
use jobs::{Job, Jobs, Lease, NewJob, Outcome, OutcomeKind};
use serde::{Deserialize, Serialize};
use syncer::SyncStore;

use crate::RecoveryError;

pub const PURGE_KIND: &str = "purge";

/// Items removed per write transaction: short enough that syncs waiting for the write lock
/// are not held up for long.
const STEP: u32 = 500;

/// What a purge takes: every mailbox, or these.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeRequest {
    pub mailboxes: Option<Vec<MailboxId>>,
}

/// One mailbox in a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxPreview {
    pub mailbox: Mailbox,
    pub rules: KindRules,
    pub count: PurgeCount,
    /// The first items that would go, oldest archived first.
    pub sample: Vec<PurgeCandidate>,
}

/// What a finished purge did, as the job's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeSummary {
    pub removed: PurgeCount,
    pub blobs_deleted: u64,
    pub mailboxes_purged: u64,
    /// Mailboxes left alone because a sync of them was running: the next purge takes them.
    pub mailboxes_busy: Vec<String>,
}

impl PurgeSummary {
    /// The summary a finished purge job keeps as its result.
    pub fn of(job: &Job) -> Option<PurgeSummary> {
        serde_json::from_str(job.result.as_deref()?).ok()
    }

    /// "12 messages, 3 calendar items, 0 contacts removed (48213 bytes); 4 blobs deleted;
    /// 2 items kept by held snapshots".
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{} removed ({}); {} deleted; {} kept by held snapshots",
            self.removed.kinds_phrase(),
            counted(self.removed.bytes, "byte", "bytes"),
            counted(self.blobs_deleted, "blob", "blobs"),
            counted(self.removed.held, "item", "items"),
        );
        if !self.mailboxes_busy.is_empty() {
            text.push_str(&format!(
                "; skipped while syncing: {}",
                self.mailboxes_busy.join(", ")
            ));
        }
        text
    }
}

#[derive(Clone)]
pub struct Purger {
    archive: Archive,
    jobs: Jobs,
    sync: SyncStore,
    /// How long a purge holds a mailbox away from the sync workers without renewing.
    hold: Duration,
}

impl Purger {
    pub fn new(archive: Archive, jobs: Jobs, sync: SyncStore) -> Self {
        Purger {
            archive,
            jobs,
            sync,
            hold: Duration::from_secs(120),
        }
    }

    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    async fn mailboxes(&self, request: &PurgeRequest) -> Result<Vec<Mailbox>, RecoveryError> {
        let all = self.archive.list_mailboxes().await?;
        Ok(match &request.mailboxes {
            None => all,
            Some(ids) => all.into_iter().filter(|m| ids.contains(&m.id)).collect(),
        })
    }

    /// What a purge now would remove, per mailbox that has anything to remove or hold back.
    pub async fn preview(
        &self,
        request: &PurgeRequest,
        sample: u32,
    ) -> Result<Vec<MailboxPreview>, RecoveryError> {
        let policy = self.archive.retention_policy().await?;
        let now = Timestamp::now();
        let mut out = Vec::new();
        for mailbox in self.mailboxes(request).await? {
            let rules = policy.for_mailbox(mailbox.id);
            if rules == KindRules::FOREVER {
                continue;
            }
            let (count, listed) = self
                .archive
                .purge_preview(mailbox.id, &rules, now, sample)
                .await?;
            if count.items() > 0 || count.held > 0 {
                out.push(MailboxPreview {
                    mailbox,
                    rules,
                    count,
                    sample: listed,
                });
            }
        }
        Ok(out)
    }

    pub async fn enqueue(&self, request: &PurgeRequest, owner: &str) -> Result<Job, RecoveryError> {
        let label = match &request.mailboxes {
            None => "Retention purge of every mailbox".to_owned(),
            Some(ids) if ids.len() == 1 => {
                let name = match self.archive.mailbox(ids[0]).await? {
                    Some(m) => m.name,
                    None => {
                        return Err(RecoveryError::Invalid(format!(
                            "mailbox {} does not exist",
                            ids[0]
                        )))
                    }
                };
                format!("Retention purge of {name}")
            }
            Some(ids) => format!("Retention purge of {} mailboxes", ids.len()),
        };
        Ok(self
            .jobs
            .enqueue(NewJob {
                kind: PURGE_KIND.to_owned(),
                label,
                mailbox_id: match &request.mailboxes {
                    Some(ids) if ids.len() == 1 => Some(ids[0]),
                    _ => None,
                },
                params: serde_json::to_string(request)?,
                owner: owner.to_owned(),
            })
            .await?)
    }

    /// Runs a claimed purge job to its end and returns it as it ended.
    pub async fn run(&self, job: &Job, lease: &Lease) -> Result<Job, RecoveryError> {
        let outcome = self.purge(job, lease).await;
        crate::job_end::end_job(&self.jobs, job, lease, outcome).await
    }

    async fn purge(&self, job: &Job, lease: &Lease) -> Result<Option<PurgeSummary>, RecoveryError> {
        let request: PurgeRequest = serde_json::from_str(&job.params)?;
        let policy = self.archive.retention_policy().await?;
        let mailboxes = self.mailboxes(&request).await?;
        let total = i64::try_from(mailboxes.len()).unwrap_or(i64::MAX);
        let holder = format!("purge:{}", job.id);
        let mut summary = PurgeSummary::default();
        for mailbox in mailboxes {
            if self.jobs.heartbeat(lease, total, 0).await?.cancel_requested {
                return Ok(None);
            }
            let rules = policy.for_mailbox(mailbox.id);
            if rules == KindRules::FOREVER {
                self.report(lease, &mailbox, OutcomeKind::Skipped, "kept for ever")
                    .await?;
                continue;
            }
            let until = Timestamp(Timestamp::now().0 + micros(self.hold));
            if !self.sync.hold_mailbox(mailbox.id, &holder, until).await? {
                summary.mailboxes_busy.push(mailbox.name.clone());
                self.report(
                    lease,
                    &mailbox,
                    OutcomeKind::Skipped,
                    "a sync of this mailbox was running; the next purge takes it",
                )
                .await?;
                continue;
            }
            let purged = self
                .purge_mailbox(&mailbox, &rules, lease, &holder, total)
                .await;
            self.sync.release_mailbox(mailbox.id, &holder).await?;
            let Some(count) = purged? else {
                return Ok(None);
            };
            let detail = format!(
                "{} removed; {} kept by held snapshots",
                count.kinds_phrase(),
                counted(count.held, "item", "items")
            );
            summary.removed.absorb(&count);
            summary.mailboxes_purged += 1;
            self.report(lease, &mailbox, OutcomeKind::Created, &detail)
                .await?;
        }
        summary.blobs_deleted = self.archive.collect_orphans().await?;
        Ok(Some(summary))
    }

    /// Removes what is past its time in one mailbox that this purge holds; None when a cancel
    /// was asked for (what was removed until then stays removed).
    async fn purge_mailbox(
        &self,
        mailbox: &Mailbox,
        rules: &KindRules,
        lease: &Lease,
        holder: &str,
        total: i64,
    ) -> Result<Option<PurgeCount>, RecoveryError> {
        let now = Timestamp::now();
        // Counted before: what stays only because a held snapshot shows it.
        let (before, _) = self
            .archive
            .purge_preview(mailbox.id, rules, now, 0)
            .await?;
        let mut count = PurgeCount {
            held: before.held,
            ..PurgeCount::default()
        };
        loop {
            let step = self
                .archive
                .purge_step(mailbox.id, rules, now, STEP)
                .await?;
            if step.count.items() == 0 {
                return Ok(Some(count));
            }
            self.sync
                .forget_item_keys(mailbox.id, &step.source_ids)
                .await?;
            count.absorb(&step.count);
            let until = Timestamp(Timestamp::now().0 + micros(self.hold));
            self.sync.hold_mailbox(mailbox.id, holder, until).await?;
            if self.jobs.heartbeat(lease, total, 0).await?.cancel_requested {
                return Ok(None);
            }
        }
    }

    async fn report(
        &self,
        lease: &Lease,
        mailbox: &Mailbox,
        kind: OutcomeKind,
        detail: &str,
    ) -> Result<(), RecoveryError> {
        self.jobs
            .record(
                lease,
                &[Outcome {
                    key: format!("mailbox:{}", mailbox.id),
                    kind,
                    source_path: mailbox.name.clone(),
                    target_path: String::new(),
                    detail: detail.to_owned(),
                }],
            )
            .await?;
        Ok(())
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}
