use archive::{FolderId, MailboxId, Selection, Snapshot, Timestamp};
use jobs::{Job, JobFilter, OutcomeKind, RecordedOutcome};
use recovery::{ExportFile, ExportRequest, Exporter, RecoveryError, EXPORT_KIND};

use super::mail_ops::{mailbox_in_scope, ReadableMailbox};
use crate::{AccessError, AuditAction, Caller, Scope};

/// Exports of mailboxes in the scope of the caller's `export` grant: start one, follow it,
/// cancel it, read its report and download its file. A job of a mailbox outside the scope is
/// "not found". Starting, cancelling and every download are in the audit log, the download
/// with the digest of the bag's manifest.
pub struct ExportDesk<'a> {
    caller: &'a Caller,
    scope: Scope,
}

/// A finished export the caller may download, part by part.
pub struct ExportDownload {
    pub file: ExportFile,
    exporter: Exporter,
}

impl ExportDownload {
    /// One chunk of the file: a download streams them in order (`ExportFile::chunks`).
    pub async fn chunk(&self, part: usize, chunk: usize) -> Result<Vec<u8>, AccessError> {
        self.exporter
            .read_chunk(&self.file, part, chunk)
            .await
            .map_err(refusal)
    }
}

fn refusal(e: RecoveryError) -> AccessError {
    match e {
        RecoveryError::Invalid(message) => AccessError::invalid("selection", message),
        e @ RecoveryError::NoSpace { .. } => AccessError::invalid("space", e.to_string()),
        other => AccessError::Unavailable(other.to_string()),
    }
}

impl<'a> ExportDesk<'a> {
    pub(crate) fn new(caller: &'a Caller, scope: Scope) -> Self {
        ExportDesk { caller, scope }
    }

    fn exporter(&self) -> &Exporter {
        &self.caller.access.inner.exporter
    }

    async fn in_scope(&self, mailbox: MailboxId) -> Result<ReadableMailbox, AccessError> {
        mailbox_in_scope(self.exporter().archive(), &self.scope, mailbox).await
    }

    pub async fn mailbox(&self, id: MailboxId) -> Result<ReadableMailbox, AccessError> {
        self.in_scope(id).await
    }

    pub async fn snapshot(&self, id: i64) -> Result<(Snapshot, ReadableMailbox), AccessError> {
        let snapshot = self
            .exporter()
            .archive()
            .snapshot(id)
            .await?
            .ok_or(AccessError::NotFound)?;
        let mailbox = self.in_scope(snapshot.mailbox_id).await?;
        Ok((snapshot, mailbox))
    }

    pub async fn selection(&self, id: i64) -> Result<(Selection, ReadableMailbox), AccessError> {
        let selection = self
            .exporter()
            .archive()
            .selection(id)
            .await?
            .ok_or(AccessError::NotFound)?;
        let mailbox = self.in_scope(selection.mailbox_id).await?;
        Ok((selection, mailbox))
    }

    /// "Inbox/Projects": a folder of the mailbox as the instant shows it (now when None).
    pub async fn folder_path(
        &self,
        mailbox: &ReadableMailbox,
        folder: FolderId,
        at: Option<Timestamp>,
    ) -> Result<String, AccessError> {
        self.exporter()
            .archive()
            .folder_tree(mailbox.id(), at)
            .await?
            .into_iter()
            .find(|f| f.id == folder)
            .map(|f| f.path.join("/"))
            .ok_or(AccessError::NotFound)
    }

    /// Checks the request and queues it. A snapshot, selection or mailbox outside the scope is
    /// "not found"; what cannot be exported is refused with one sentence (field `selection`, or
    /// `space` when the disk cannot hold it).
    pub async fn start(&self, request: &ExportRequest) -> Result<Job, AccessError> {
        let mailbox_id = match request.mailbox_of(self.exporter().archive()).await {
            Ok(id) => id,
            Err(RecoveryError::Invalid(_)) => return Err(AccessError::NotFound),
            Err(e) => return Err(refusal(e)),
        };
        let mailbox = self.in_scope(mailbox_id).await?;
        let (job, plan) = self
            .exporter()
            .enqueue(request, &self.caller.user().username)
            .await
            .map_err(refusal)?;
        let (mail, events, contacts) = plan.counts();
        self.caller
            .record(
                AuditAction::ExportStarted,
                Some((mailbox.id(), &mailbox.mailbox().owner_address)),
                format!(
                    "job {}: {} ({mail} messages, {events} calendar items, {contacts} contacts)",
                    job.id, job.label
                ),
            )
            .await?;
        Ok(job)
    }

    /// Export jobs of mailboxes in the scope, newest first.
    pub async fn jobs(&self, limit: usize) -> Result<Vec<Job>, AccessError> {
        let mailboxes = match &self.scope {
            Scope::All => None,
            Scope::Owners(_) => Some(
                self.exporter()
                    .archive()
                    .list_mailboxes()
                    .await?
                    .into_iter()
                    .filter(|m| self.scope.covers(&m.owner_address))
                    .map(|m| m.id)
                    .collect(),
            ),
        };
        self.exporter()
            .jobs()
            .list(&JobFilter {
                mailboxes,
                kinds: vec![EXPORT_KIND.to_owned()],
                limit,
            })
            .await
            .map_err(AccessError::from)
    }

    /// One export job and its mailbox.
    pub async fn job(&self, id: i64) -> Result<(Job, ReadableMailbox), AccessError> {
        let job = self
            .exporter()
            .jobs()
            .get(id)
            .await?
            .filter(|j| j.kind == EXPORT_KIND)
            .ok_or(AccessError::NotFound)?;
        let mailbox = self
            .in_scope(job.mailbox_id.ok_or(AccessError::NotFound)?)
            .await?;
        Ok((job, mailbox))
    }

    /// Asks the job to stop; a finished job is left as it is.
    pub async fn cancel(&self, id: i64) -> Result<Job, AccessError> {
        let (job, mailbox) = self.job(id).await?;
        if job.state.is_finished() {
            return Ok(job);
        }
        let job = self
            .exporter()
            .jobs()
            .request_cancel(id)
            .await?
            .ok_or(AccessError::NotFound)?;
        self.caller
            .record(
                AuditAction::ExportCancelled,
                Some((mailbox.id(), &mailbox.mailbox().owner_address)),
                format!("job {}: {}", job.id, job.label),
            )
            .await?;
        Ok(job)
    }

    /// The report: outcomes after `after` (an outcome id), optionally of one kind.
    pub async fn report(
        &self,
        id: i64,
        kind: Option<OutcomeKind>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RecordedOutcome>, AccessError> {
        self.job(id).await?;
        self.exporter()
            .jobs()
            .outcomes(id, kind, after, limit)
            .await
            .map_err(AccessError::from)
    }

    /// The file of a finished export. Each call is a download in the audit log.
    pub async fn download(
        &self,
        id: i64,
        part: Option<usize>,
    ) -> Result<ExportDownload, AccessError> {
        let (job, mailbox) = self.job(id).await?;
        let file = ExportFile::of(&job).ok_or_else(|| {
            AccessError::invalid(
                "job",
                "This export has no file to download: it has not finished.",
            )
        })?;
        if part.is_some_and(|n| n >= file.parts.len()) {
            return Err(AccessError::NotFound);
        }
        let which = match part {
            Some(n) => format!(
                "part {} of {} ({})",
                n + 1,
                file.parts.len(),
                file.part_name(n)
            ),
            None => file.file_name.clone(),
        };
        self.caller
            .record(
                AuditAction::ExportDownloaded,
                Some((mailbox.id(), &mailbox.mailbox().owner_address)),
                format!(
                    "job {}: {which}, {} bytes, manifest-sha256 {}",
                    job.id, file.size, file.manifest_sha256
                ),
            )
            .await?;
        Ok(ExportDownload {
            file,
            exporter: self.exporter().clone(),
        })
    }
}
