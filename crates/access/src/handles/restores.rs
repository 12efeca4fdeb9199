//! Restores within the scope of the caller's `restore` grant: the source mailbox and the
//! mailbox written into must both be in the scope. Starting one (dry run or real) and
//! cancelling it are in the audit log; a restore into a mailbox other than the source's says
//! so in its entry.

use jobs::{Job, OutcomeKind, RecordedOutcome, Tally};
use mailsync::restore::WriteAccess;
use recovery::{RecoveryError, RestoreRequest, RestoreTarget, Restorer, RESTORE_KIND};
use serde::{Deserialize, Serialize};

use super::job_desk::{item_sources_via_scoped_jobs, ScopedJobs};
use super::mail_ops::ReadableMailbox;
use crate::{AccessError, AuditAction, Caller, Scope};

pub struct RestoreDesk<'a> {
    caller: &'a Caller,
    scope: Scope,
}

/// A mailbox a restore can write into: an address a sync task reaches through a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreTargetChoice {
    pub connection_id: i64,
    pub connection_name: String,
    pub protocol: String,
    pub address: String,
}

fn refusal(e: RecoveryError) -> AccessError {
    crate::recovery_refusal("restore", e)
}

item_sources_via_scoped_jobs!(RestoreDesk);

impl<'a> RestoreDesk<'a> {
    pub(crate) fn new(caller: &'a Caller, scope: Scope) -> Self {
        RestoreDesk { caller, scope }
    }

    fn restorer(&self) -> &Restorer {
        &self.caller.access.inner.restorer
    }

    fn scoped(&self) -> ScopedJobs<'_> {
        ScopedJobs {
            caller: self.caller,
            scope: &self.scope,
            kind: RESTORE_KIND,
        }
    }

    /// The mailboxes the caller may restore into, the source mailbox's own address first.
    pub async fn targets(
        &self,
        source: &ReadableMailbox,
    ) -> Result<Vec<RestoreTargetChoice>, AccessError> {
        let store = self.caller.access.inner.sync.store();
        let connections = store.list_connections().await?;
        let mut out: Vec<RestoreTargetChoice> = Vec::new();
        for t in store.tasks_with_mailboxes().await? {
            let Some(connection) = connections.iter().find(|c| c.id == t.task.connection_id) else {
                continue;
            };
            for m in t.mailboxes {
                let seen = out
                    .iter()
                    .any(|c| c.connection_id == connection.id && c.address == m.address);
                if seen || !self.scope.covers(&m.address) {
                    continue;
                }
                out.push(RestoreTargetChoice {
                    connection_id: connection.id,
                    connection_name: connection.name.clone(),
                    protocol: connection.kind.as_str().to_owned(),
                    address: m.address,
                });
            }
        }
        let own = source.mailbox().owner_address.to_lowercase();
        out.sort_by_key(|c| (c.address.to_lowercase() != own, c.address.to_lowercase()));
        Ok(out)
    }

    /// A mailbox outside the scope is "not found", as its archived content is.
    fn target_in_scope(&self, target: &RestoreTarget) -> Result<(), AccessError> {
        if self.scope.covers(&target.address) {
            Ok(())
        } else {
            Err(AccessError::NotFound)
        }
    }

    /// What the connection may write into the target: asked before a restore can start.
    pub async fn write_access(&self, target: &RestoreTarget) -> Result<WriteAccess, AccessError> {
        self.target_in_scope(target)?;
        self.restorer().write_access(target).await.map_err(refusal)
    }

    /// Checks the request and queues it: a real run only after its finished dry run.
    pub async fn start(&self, request: &RestoreRequest) -> Result<Job, AccessError> {
        let mailbox_id = match request.source.mailbox_of(self.restorer().archive()).await {
            Ok(id) => id,
            Err(RecoveryError::Invalid(_)) => return Err(AccessError::NotFound),
            Err(e) => return Err(refusal(e)),
        };
        let mailbox = self.scoped().in_scope(mailbox_id).await?;
        self.target_in_scope(&request.target)?;
        let (job, plan) = self
            .restorer()
            .enqueue(request, &self.caller.user().username)
            .await
            .map_err(refusal)?;
        let (mail, events, contacts) = plan.counts();
        let owner = &mailbox.mailbox().owner_address;
        let elsewhere = if request.target.address.eq_ignore_ascii_case(owner) {
            String::new()
        } else {
            format!(
                "; into another person's mailbox: {} (the source belongs to {owner})",
                request.target.address
            )
        };
        self.caller
            .record(
                AuditAction::RestoreStarted,
                Some((mailbox.id(), owner)),
                format!(
                    "job {}: {} ({mail} messages, {events} calendar items, {contacts} contacts){elsewhere}",
                    job.id, job.label
                ),
            )
            .await?;
        Ok(job)
    }

    /// Starts the restore a finished dry run showed: the same request, now written.
    pub async fn confirm(&self, dry_run: i64) -> Result<Job, AccessError> {
        let (job, _) = self.scoped().job(dry_run).await?;
        let request: RestoreRequest = serde_json::from_str(&job.params)
            .map_err(|e| AccessError::Unavailable(format!("job {dry_run}: {e}")))?;
        if !request.dry_run {
            return Err(AccessError::invalid(
                "restore",
                "That job is a restore, not a dry run; start a dry run first.",
            ));
        }
        self.start(&RestoreRequest {
            dry_run: false,
            after_dry_run: Some(dry_run),
            ..request
        })
        .await
    }

    /// Restore jobs of mailboxes in the scope, newest first.
    pub async fn jobs(&self, limit: usize) -> Result<Vec<Job>, AccessError> {
        self.scoped().list(limit).await
    }

    pub async fn job(&self, id: i64) -> Result<(Job, ReadableMailbox), AccessError> {
        self.scoped().job(id).await
    }

    pub async fn cancel(&self, id: i64) -> Result<Job, AccessError> {
        self.scoped()
            .cancel(id, AuditAction::RestoreCancelled)
            .await
    }

    pub async fn report(
        &self,
        id: i64,
        kind: Option<OutcomeKind>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RecordedOutcome>, AccessError> {
        self.scoped().report(id, kind, after, limit).await
    }

    /// Per target folder: created (or would be), skipped and why, failed.
    pub async fn tally(&self, id: i64) -> Result<Vec<Tally>, AccessError> {
        self.scoped().tally(id).await
    }
}
