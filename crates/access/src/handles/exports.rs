use jobs::{Job, OutcomeKind, RecordedOutcome};
use recovery::{ExportFile, ExportRequest, Exporter, RecoveryError, EXPORT_KIND};

use super::job_desk::{item_sources_via_scoped_jobs, ScopedJobs};
use super::mail_ops::ReadableMailbox;
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
    /// One chunk of the file, as it is read: a download streams them in order
    /// (`ExportFile::chunks`).
    pub async fn chunk(
        &self,
        part: usize,
        chunk: usize,
    ) -> Result<archive::ByteStream, AccessError> {
        self.exporter
            .read_chunk(&self.file, part, chunk)
            .await
            .map_err(refusal)
    }
}

fn refusal(e: RecoveryError) -> AccessError {
    crate::recovery_refusal("selection", e)
}

item_sources_via_scoped_jobs!(ExportDesk);

impl<'a> ExportDesk<'a> {
    pub(crate) fn new(caller: &'a Caller, scope: Scope) -> Self {
        ExportDesk { caller, scope }
    }

    fn exporter(&self) -> &Exporter {
        &self.caller.access.inner.exporter
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
        let mailbox = self.scoped().in_scope(mailbox_id).await?;
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

    fn scoped(&self) -> ScopedJobs<'_> {
        ScopedJobs {
            caller: self.caller,
            scope: &self.scope,
            kind: EXPORT_KIND,
        }
    }

    /// Export jobs of mailboxes in the scope, newest first.
    pub async fn jobs(&self, limit: usize) -> Result<Vec<Job>, AccessError> {
        self.scoped().list(limit).await
    }

    /// One export job and its mailbox.
    pub async fn job(&self, id: i64) -> Result<(Job, ReadableMailbox), AccessError> {
        self.scoped().job(id).await
    }

    /// Asks the job to stop; a finished job is left as it is.
    pub async fn cancel(&self, id: i64) -> Result<Job, AccessError> {
        self.scoped().cancel(id, AuditAction::ExportCancelled).await
    }

    /// The report: outcomes after `after` (an outcome id), optionally of one kind.
    pub async fn report(
        &self,
        id: i64,
        kind: Option<OutcomeKind>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RecordedOutcome>, AccessError> {
        self.scoped().report(id, kind, after, limit).await
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
