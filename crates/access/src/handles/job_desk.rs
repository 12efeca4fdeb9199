//! What the export and restore desks share: the jobs of one kind on mailboxes in the caller's
//! scope. A job of a mailbox outside the scope is "not found".

use archive::{Archive, FolderId, MailboxId, Selection, Snapshot, Timestamp};
use jobs::{Job, JobFilter, Jobs, OutcomeKind, RecordedOutcome, Tally};

use super::mail_ops::{mailbox_in_scope, ReadableMailbox};
use crate::{AccessError, AuditAction, Caller, Scope};

/// Where a job's items come from, as the export and restore forms name them: a mailbox, a
/// folder of it at an instant, a snapshot, a selection, each only within the desk's scope.
#[allow(async_fn_in_trait)]
pub trait ItemSources {
    async fn mailbox(&self, id: MailboxId) -> Result<ReadableMailbox, AccessError>;
    async fn snapshot(&self, id: i64) -> Result<(Snapshot, ReadableMailbox), AccessError>;
    async fn selection(&self, id: i64) -> Result<(Selection, ReadableMailbox), AccessError>;
    /// "Inbox/Projects": a folder of the mailbox as the instant shows it (now when None).
    async fn folder_path(
        &self,
        mailbox: &ReadableMailbox,
        folder: FolderId,
        at: Option<Timestamp>,
    ) -> Result<String, AccessError>;
}

pub(crate) struct ScopedJobs<'a> {
    pub caller: &'a Caller,
    pub scope: &'a Scope,
    pub kind: &'static str,
}

impl ScopedJobs<'_> {
    fn jobs(&self) -> &Jobs {
        self.caller.access.inner.exporter.jobs()
    }

    fn archive(&self) -> &Archive {
        &self.caller.access.inner.archive
    }

    pub async fn in_scope(&self, mailbox: MailboxId) -> Result<ReadableMailbox, AccessError> {
        mailbox_in_scope(self.archive(), self.scope, mailbox).await
    }

    pub async fn snapshot(&self, id: i64) -> Result<(Snapshot, ReadableMailbox), AccessError> {
        let snapshot = self
            .archive()
            .snapshot(id)
            .await?
            .ok_or(AccessError::NotFound)?;
        let mailbox = self.in_scope(snapshot.mailbox_id).await?;
        Ok((snapshot, mailbox))
    }

    pub async fn selection(&self, id: i64) -> Result<(Selection, ReadableMailbox), AccessError> {
        let selection = self
            .archive()
            .selection(id)
            .await?
            .ok_or(AccessError::NotFound)?;
        let mailbox = self.in_scope(selection.mailbox_id).await?;
        Ok((selection, mailbox))
    }

    pub async fn folder_path(
        &self,
        mailbox: &ReadableMailbox,
        folder: FolderId,
        at: Option<Timestamp>,
    ) -> Result<String, AccessError> {
        self.archive()
            .folder_tree(mailbox.id(), at)
            .await?
            .into_iter()
            .find(|f| f.id == folder)
            .map(|f| f.path.join("/"))
            .ok_or(AccessError::NotFound)
    }

    /// Jobs of this kind on mailboxes in the scope, newest first.
    pub async fn list(&self, limit: usize) -> Result<Vec<Job>, AccessError> {
        let mailboxes = match self.scope {
            Scope::All => None,
            Scope::Owners(_) => Some(
                self.archive()
                    .list_mailboxes()
                    .await?
                    .into_iter()
                    .filter(|m| self.scope.covers(&m.owner_address))
                    .map(|m| m.id)
                    .collect(),
            ),
        };
        self.jobs()
            .list(&JobFilter {
                mailboxes,
                kinds: vec![self.kind.to_owned()],
                limit,
            })
            .await
            .map_err(AccessError::from)
    }

    /// One job and its mailbox.
    pub async fn job(&self, id: i64) -> Result<(Job, ReadableMailbox), AccessError> {
        let job = self
            .jobs()
            .get(id)
            .await?
            .filter(|j| j.kind == self.kind)
            .ok_or(AccessError::NotFound)?;
        let mailbox = self
            .in_scope(job.mailbox_id.ok_or(AccessError::NotFound)?)
            .await?;
        Ok((job, mailbox))
    }

    /// Asks the job to stop, in the audit log as `action`; a finished job is left as it is.
    pub async fn cancel(&self, id: i64, action: AuditAction) -> Result<Job, AccessError> {
        let (job, mailbox) = self.job(id).await?;
        if job.state.is_finished() {
            return Ok(job);
        }
        let job = self
            .jobs()
            .request_cancel(id)
            .await?
            .ok_or(AccessError::NotFound)?;
        self.caller
            .record(
                action,
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
        self.jobs()
            .outcomes(id, kind, after, limit)
            .await
            .map_err(AccessError::from)
    }

    /// The report counted per target folder and outcome.
    pub async fn tally(&self, id: i64) -> Result<Vec<Tally>, AccessError> {
        self.job(id).await?;
        self.jobs().tally(id).await.map_err(AccessError::from)
    }
}

/// The same item sources for every desk that holds a [`ScopedJobs`].
macro_rules! item_sources_via_scoped_jobs {
    ($desk:ident) => {
        impl super::job_desk::ItemSources for $desk<'_> {
            async fn mailbox(
                &self,
                id: archive::MailboxId,
            ) -> Result<super::mail_ops::ReadableMailbox, crate::AccessError> {
                self.scoped().in_scope(id).await
            }
            async fn snapshot(
                &self,
                id: i64,
            ) -> Result<(archive::Snapshot, super::mail_ops::ReadableMailbox), crate::AccessError>
            {
                self.scoped().snapshot(id).await
            }
            async fn selection(
                &self,
                id: i64,
            ) -> Result<(archive::Selection, super::mail_ops::ReadableMailbox), crate::AccessError>
            {
                self.scoped().selection(id).await
            }
            async fn folder_path(
                &self,
                mailbox: &super::mail_ops::ReadableMailbox,
                folder: archive::FolderId,
                at: Option<archive::Timestamp>,
            ) -> Result<String, crate::AccessError> {
                self.scoped().folder_path(mailbox, folder, at).await
            }
        }
    };
}
pub(crate) use item_sources_via_scoped_jobs;
