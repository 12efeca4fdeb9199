//! The job worker: claims a job, runs it with its kind's runner, and goes on with the next.
//! Several workers (threads or nodes) share one queue; each job is held by one at a time.

use std::time::Duration;

use jobs::{Job, JobState, Jobs};

use std::sync::Arc;

use crate::export::{Exporter, EXPORT_KIND};
use crate::import::{Importer, IMPORT_KIND};
use crate::purge::{Purger, PURGE_KIND};
use crate::restore::{Restorer, RESTORE_KIND};
use crate::RecoveryError;

/// How long a claim lasts without a heartbeat. Runners beat after every batch, far more often.
pub const LEASE: Duration = Duration::from_secs(60);

/// How long an idle worker waits before asking the queue again.
const IDLE: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Worker {
    name: String,
    exporter: Exporter,
    restorer: Option<Restorer>,
    purger: Option<Purger>,
    importer: Option<Importer>,
    ended: Option<Arc<dyn JobEnded>>,
    lease: Duration,
}

/// Told of every job a worker ended, whatever its kind: the server writes the audit entry of a
/// finished purge through it (this crate does not know the audit log).
#[async_trait::async_trait]
pub trait JobEnded: Send + Sync {
    async fn ended(&self, job: &Job);
}

impl Worker {
    /// `name` tells workers apart in leases and logs (the node and a number).
    pub fn new(name: impl Into<String>, exporter: Exporter) -> Self {
        Worker {
            name: name.into(),
            exporter,
            restorer: None,
            purger: None,
            importer: None,
            ended: None,
            lease: LEASE,
        }
    }

    /// Lets the worker run restore jobs too (they need the sync connections).
    pub fn with_restorer(mut self, restorer: Restorer) -> Self {
        self.restorer = Some(restorer);
        self
    }

    /// Lets the worker run retention purges too.
    pub fn with_purger(mut self, purger: Purger) -> Self {
        self.purger = Some(purger);
        self
    }

    /// Lets the worker run imports of the import folder's files too.
    pub fn with_importer(mut self, importer: Importer) -> Self {
        self.importer = Some(importer);
        self
    }

    /// Tells `ended` of each job this worker ends.
    pub fn on_end(mut self, ended: Arc<dyn JobEnded>) -> Self {
        self.ended = Some(ended);
        self
    }

    /// A shorter lease, for tests that let a worker die and another take over.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    fn jobs(&self) -> &Jobs {
        self.exporter.jobs()
    }

    /// Claims and runs one job; None when the queue had nothing to do.
    pub async fn run_once(&self) -> Result<Option<Job>, RecoveryError> {
        let Some((job, lease)) = self.jobs().claim(&self.name, self.lease).await? else {
            return Ok(None);
        };
        self.run_claimed(job, lease).await.map(Some)
    }

    /// Runs one named job if no other worker holds it; None when one does.
    pub async fn run_this(&self, id: i64) -> Result<Option<Job>, RecoveryError> {
        let Some((job, lease)) = self.jobs().claim_this(id, &self.name, self.lease).await? else {
            return Ok(None);
        };
        self.run_claimed(job, lease).await.map(Some)
    }

    async fn run_claimed(&self, job: Job, lease: jobs::Lease) -> Result<Job, RecoveryError> {
        tracing::info!(job = job.id, kind = %job.kind, worker = %self.name, "job claimed");
        let ended = match job.kind.as_str() {
            EXPORT_KIND => self.exporter.run(&job, &lease).await?,
            RESTORE_KIND => match &self.restorer {
                Some(r) => r.run(&job, &lease).await?,
                None => unreachable_job(self.jobs(), &lease, &job.kind).await?,
            },
            PURGE_KIND => match &self.purger {
                Some(p) => p.run(&job, &lease).await?,
                None => unreachable_job(self.jobs(), &lease, &job.kind).await?,
            },
            IMPORT_KIND => match &self.importer {
                Some(i) => i.run(&job, &lease).await?,
                None => unreachable_job(self.jobs(), &lease, &job.kind).await?,
            },
            other => unreachable_job(self.jobs(), &lease, other).await?,
        };
        tracing::info!(job = ended.id, state = ended.state.as_str(), "job ended");
        if let Some(hook) = &self.ended {
            hook.ended(&ended).await;
        }
        Ok(ended)
    }

    /// Runs jobs until `stop` turns true. A failure to reach the queue is logged and retried.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let idle = match self.run_once().await {
                Ok(Some(_)) => false,
                Ok(None) => true,
                Err(e) => {
                    tracing::warn!(worker = %self.name, error = %e, "job worker");
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = tokio::time::sleep(IDLE) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

/// Ends a job no runner of this worker knows.
async fn unreachable_job(
    jobs: &Jobs,
    lease: &jobs::Lease,
    kind: &str,
) -> Result<Job, RecoveryError> {
    let why = format!("this version of Sync & Recover cannot run `{kind}` jobs");
    Ok(jobs
        .finish(lease, JobState::Failed, Some(&why), None)
        .await?)
}
