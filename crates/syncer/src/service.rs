//! The sync worker: claims due mailboxes with a lease, runs them through the engine into the
//! archive, records status and history and schedules each mailbox's next run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use archive::{Archive, Timestamp};
use mailsync::{MailboxSource, MailboxStatus, RetryPolicy, RunReport, SyncOptions};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;

use crate::error::{Result, SyncerError};
use crate::schedule::next_run;
use crate::store::{Claim, SyncStore};
use crate::target::ArchiveTarget;
use crate::types::*;

#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// How long a claim holds without renewal; renewed every third of it while the run goes on,
    /// so only a dead worker's mailboxes wait this long before another worker takes them.
    pub lease: Duration,
    /// How often the loop of [`SyncService::spawn`] looks for due mailboxes.
    pub tick: Duration,
    /// Mailboxes run at once by this worker.
    pub parallel_mailboxes: usize,
    /// Requests in flight per mailbox.
    pub in_flight: usize,
    pub retry: RetryPolicy,
    /// This worker's name in claims; unique per process when None.
    pub node: Option<String>,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            lease: Duration::from_secs(600),
            tick: Duration::from_secs(10),
            parallel_mailboxes: 16,
            in_flight: mailsync::context::DEFAULT_IN_FLIGHT,
            retry: RetryPolicy::default(),
            node: None,
        }
    }
}

/// A connector and the `updated_at` of the connection it was built from.
type CachedSource = (Timestamp, Arc<dyn MailboxSource>);

struct Inner {
    store: SyncStore,
    archive: Archive,
    options: ServiceOptions,
    node: String,
    wake: Notify,
    /// Connectors by connection, rebuilt when the connection changes: a Graph connector keeps
    /// its token between runs.
    sources: tokio::sync::Mutex<HashMap<i64, CachedSource>>,
    slots: Arc<Semaphore>,
}

/// The sync worker. Cheap to clone; clones share one worker.
#[derive(Clone)]
pub struct SyncService {
    inner: Arc<Inner>,
}

static NODE_SEQ: AtomicU64 = AtomicU64::new(0);

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl SyncService {
    /// `store` and `archive` must share one database (the archive's mailboxes and the sync
    /// tables live side by side).
    pub fn new(store: SyncStore, archive: Archive, options: ServiceOptions) -> SyncService {
        let node = options.node.clone().unwrap_or_else(|| {
            format!(
                "worker-{}-{}-{}",
                std::process::id(),
                Timestamp::now().0,
                NODE_SEQ.fetch_add(1, Ordering::Relaxed)
            )
        });
        let slots = Arc::new(Semaphore::new(options.parallel_mailboxes.max(1)));
        SyncService {
            inner: Arc::new(Inner {
                store,
                archive,
                options,
                node,
                wake: Notify::new(),
                sources: tokio::sync::Mutex::new(HashMap::new()),
                slots,
            }),
        }
    }

    pub fn store(&self) -> &SyncStore {
        &self.inner.store
    }

    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// Wakes the loop of [`SyncService::spawn`] now instead of at its next tick.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Makes the mailbox due now and wakes the worker; returns at once.
    pub async fn run_mailbox_now(&self, task: i64, address: &str) -> Result<()> {
        self.inner.store.request_run(task, address).await?;
        self.wake();
        Ok(())
    }

    /// Makes every mailbox of the task due now and wakes the worker. Returns how many.
    pub async fn run_task_now(&self, task: i64) -> Result<u64> {
        let n = self.inner.store.request_task_run(task).await?;
        self.wake();
        Ok(n)
    }

    /// Runs due mailboxes (up to the free parallel slots) and waits for them: one tick of the
    /// loop, and what tests and a `sync now` command call. `now` decides what is due.
    pub async fn run_due(&self, now: Timestamp) -> Result<Vec<RunRecord>> {
        let handles = self.start_due(now).await?;
        let mut out = Vec::new();
        for h in handles {
            match h.await {
                Ok(Some(r)) => out.push(r),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "mailbox run ended abnormally"),
            }
        }
        Ok(out)
    }

    /// Runs one mailbox at once, whatever its schedule, and waits for the outcome. None when
    /// another worker is running it right now; [`SyncerError::NotRecorded`] when the run ended
    /// but its outcome could not be stored.
    pub async fn sync_mailbox_now(&self, task: i64, address: &str) -> Result<Option<RunRecord>> {
        let view = self
            .inner
            .store
            .task_mailbox(task, address)
            .await?
            .ok_or_else(|| SyncerError::UnknownTaskMailbox {
                task,
                address: address.to_string(),
            })?;
        let now = Timestamp::now();
        let lease = Timestamp(now.0.saturating_add(micros(self.inner.options.lease)));
        let Some(claim) = self
            .inner
            .store
            .claim(view.id, now, lease, &self.inner.node, false)
            .await?
        else {
            return Ok(None);
        };
        self.run_claim(claim, now).await.map(Some)
    }

    async fn start_due(&self, now: Timestamp) -> Result<Vec<JoinHandle<Option<RunRecord>>>> {
        let free = self.inner.slots.available_permits();
        let lease = Timestamp(now.0.saturating_add(micros(self.inner.options.lease)));
        let claims = self
            .inner
            .store
            .claim_due(now, lease, &self.inner.node, free)
            .await?;
        let mut handles = Vec::with_capacity(claims.len());
        for claim in claims {
            let permit = self.inner.slots.clone().acquire_owned().await;
            let svc = self.clone();
            handles.push(tokio::spawn(async move {
                let _permit = permit;
                // The worker's loop logs it; the lease lapsing runs the mailbox again.
                svc.run_claim(claim, now).await.ok()
            }));
        }
        Ok(handles)
    }

    async fn source(&self, connection: i64) -> Result<Arc<dyn MailboxSource>> {
        let view = self
            .inner
            .store
            .connection(connection)
            .await?
            .ok_or(SyncerError::UnknownConnection(connection))?;
        let mut cache = self.inner.sources.lock().await;
        if let Some((stamp, s)) = cache.get(&connection) {
            if *stamp == view.updated_at {
                return Ok(s.clone());
            }
        }
        let source = self.inner.store.source_for(connection).await?;
        cache.insert(connection, (view.updated_at, source.clone()));
        Ok(source)
    }

    /// Runs a claimed mailbox, renewing the lease meanwhile, and records the outcome. Errors
    /// setting the run up are recorded as the run's outcome too, so the UI shows them.
    async fn run_claim(&self, claim: Claim, now: Timestamp) -> Result<RunRecord> {
        let started = Timestamp::now();
        let report = match self.execute(&claim).await {
            Ok(r) => r,
            Err(e) => {
                let status = match e {
                    SyncerError::SecretUnreadable
                    | SyncerError::NoSecret(_)
                    | SyncerError::UnknownConnection(_)
                    | SyncerError::Source(_) => MailboxStatus::Attention,
                    _ => MailboxStatus::Failed,
                };
                let mut r = RunReport::new(&claim.address);
                r.status = status;
                r.reason = Some(e.to_string());
                r
            }
        };
        let finished = Timestamp::now();
        let after = Timestamp(finished.0.max(now.0));
        let next = next_run(claim.task_id, &claim.address, claim.runs_per_day, after);
        let recorded = self
            .inner
            .store
            .record_run(
                &claim,
                &self.inner.node,
                started,
                finished,
                report.status.into(),
                &report.counts,
                report.requests,
                report.throttled,
                report.reason.as_deref(),
                next,
            )
            .await;
        recorded.map_err(|e| {
            tracing::error!(mailbox = %claim.address, task = claim.task_id, error = %e,
                run = report.reason.as_deref().unwrap_or("ended"), "run outcome not recorded");
            SyncerError::NotRecorded {
                error: Box::new(e),
                reason: report.reason.clone(),
            }
        })
    }

    async fn execute(&self, claim: &Claim) -> Result<RunReport> {
        let source = self.source(claim.connection_id).await?;
        let target = ArchiveTarget::open(
            self.inner.archive.clone(),
            self.inner.store.database().clone(),
            &claim.address,
            None,
        )
        .await?;
        self.inner
            .store
            .link_archive_mailbox(claim.task_mailbox_id, target.mailbox().id)
            .await?;
        let options = SyncOptions {
            mail: claim.what.mail,
            calendar: claim.what.calendar,
            contacts: claim.what.contacts,
            in_flight: self.inner.options.in_flight,
            parallel_mailboxes: 1,
            retry: self.inner.options.retry.clone(),
        };
        let run = mailsync::sync_mailbox(source.as_ref(), &target, &claim.address, &options);
        // The lease is renewed by a task of its own, beside the run. The run holds write
        // transactions across awaits; a renewal awaited while the run sat unpolled would wait
        // for that transaction's lock (SQLite has one writer) until the busy timeout, stalling
        // the run while its lease lapsed. A renewal under way finishes before the run's outcome
        // is written, and the renewals stop when the run ends (or is dropped).
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let svc = self.clone();
        let (address, ids) = (claim.address.clone(), [claim.task_mailbox_id]);
        let renewals = tokio::spawn(async move {
            let lease = svc.inner.options.lease;
            let mut beat = tokio::time::interval((lease / 3).max(Duration::from_millis(10)));
            beat.tick().await;
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    _ = beat.tick() => {}
                }
                let until = Timestamp(Timestamp::now().0.saturating_add(micros(lease)));
                if let Err(e) = svc
                    .inner
                    .store
                    .renew_leases(&ids, &svc.inner.node, until)
                    .await
                {
                    tracing::warn!(mailbox = %address, error = %e, "lease not renewed");
                }
            }
        });
        let report = run.await;
        let _ = stop.send(());
        let _ = renewals.await;
        Ok(report)
    }

    /// Starts the background loop: every `tick`, or at once when woken by a run-now request,
    /// it starts the due mailboxes (up to `parallel_mailboxes` running at a time) without
    /// waiting for earlier runs to finish. Stop it with [`SyncWorker::stop`].
    pub fn spawn(&self) -> SyncWorker {
        let svc = self.clone();
        let stop = Arc::new(Notify::new());
        let stopped = stop.clone();
        let handle = tokio::spawn(async move {
            loop {
                if let Err(e) = svc.start_due(Timestamp::now()).await {
                    tracing::warn!(error = %e, "looking for due mailboxes failed");
                }
                tokio::select! {
                    _ = stopped.notified() => break,
                    _ = svc.inner.wake.notified() => {}
                    _ = tokio::time::sleep(svc.inner.options.tick) => {}
                }
            }
        });
        SyncWorker { stop, handle }
    }
}

/// The running loop of [`SyncService::spawn`].
pub struct SyncWorker {
    stop: Arc<Notify>,
    handle: JoinHandle<()>,
}

impl SyncWorker {
    /// Stops looking for new work and waits for the loop to end. Runs already started finish
    /// on their own (their leases keep other workers off them until then).
    pub async fn stop(self) {
        self.stop.notify_one();
        let _ = self.handle.await;
    }
}
