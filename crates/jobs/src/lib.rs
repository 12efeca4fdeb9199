//! Background jobs: one queue for every long operation (export, restore; later import and purge).
//!
//! ```text
//! enqueue ─► queued ─claim─► running ──finish──► done | failed | cancelled
//!                              │  ▲
//!              lease lapsed ───┘  └── heartbeat renews the lease, reports progress,
//!              (another worker        and answers whether a cancel was asked for
//!               claims it)
//! ```
//!
//! A worker holds a job through a [`Lease`]. Every write a worker makes (progress, outcomes, the
//! end) is fenced by it: once the lease has passed to another worker, the old one's writes are
//! refused with [`JobError::LeaseLost`] and it must stop. Outcomes are recorded once per item
//! key, so the outcome table is both the report and the resume point: a resumed job asks
//! [`Jobs::done_keys`] and skips those.
//!
//! What a kind does is not known here: `params` and `result` are the runner's JSON.

#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::collections::HashSet;
use std::time::Duration;

use database::{Backend, Database};
use domain::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("metadata database: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("job {0} does not exist")]
    UnknownJob(i64),
    #[error("job {0} is no longer held by this worker (its lease passed to another)")]
    LeaseLost(i64),
    #[error("stored job is inconsistent: {0}")]
    Inconsistent(String),
}

pub type Result<T, E = JobError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            JobState::Queued,
            JobState::Running,
            JobState::Done,
            JobState::Failed,
            JobState::Cancelled,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }

    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed | JobState::Cancelled
        )
    }
}

/// What happened to one item of a job, in the words of a restore report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// Written: a new item in the target mailbox, or an entry in an export file.
    Created,
    /// Folded into something already there.
    Merged,
    /// Left alone on purpose (already present, not exportable in this format...).
    Skipped,
    Failed,
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Created => "created",
            OutcomeKind::Merged => "merged",
            OutcomeKind::Skipped => "skipped",
            OutcomeKind::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            OutcomeKind::Created,
            OutcomeKind::Merged,
            OutcomeKind::Skipped,
            OutcomeKind::Failed,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub label: String,
    /// The mailbox the job reads, when it is about one: what scope checks look at.
    pub mailbox_id: Option<i64>,
    pub params: String,
    pub state: JobState,
    pub total: i64,
    pub processed: i64,
    pub failed: i64,
    pub skipped: i64,
    pub bytes: i64,
    pub owner: String,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub heartbeat_at: Option<Timestamp>,
    pub lease_owner: Option<String>,
    pub attempts: i64,
    pub cancel_requested: bool,
    pub error: Option<String>,
    pub result: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: String,
    pub label: String,
    pub mailbox_id: Option<i64>,
    pub params: String,
    pub owner: String,
}

/// A worker's hold on a running job. Every write through it is refused once the job was claimed
/// by someone else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job_id: i64,
    pub worker: String,
    pub period: Duration,
}

/// One item's outcome, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub key: String,
    pub kind: OutcomeKind,
    pub source_path: String,
    pub target_path: String,
    pub detail: String,
}

/// How many outcomes of one kind (and, for skipped and failed ones, one reason) a target
/// folder has in a job's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub target_path: String,
    pub kind: OutcomeKind,
    pub reason: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedOutcome {
    pub id: i64,
    pub at: Timestamp,
    pub outcome: Outcome,
}

/// What a heartbeat learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Beat {
    pub cancel_requested: bool,
}

/// Which jobs a listing shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Only jobs about these mailboxes (None: any, including jobs about none).
    pub mailboxes: Option<Vec<i64>>,
    /// Only these kinds (empty: any).
    pub kinds: Vec<String>,
    pub limit: usize,
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

fn job_from_row(row: &AnyRow) -> Result<Job> {
    let state: String = row.try_get("state")?;
    let opt_ts = |name: &str| -> Result<Option<Timestamp>> {
        Ok(row.try_get::<Option<i64>, _>(name)?.map(Timestamp))
    };
    Ok(Job {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        label: row.try_get("label")?,
        mailbox_id: row.try_get("mailbox_id")?,
        params: row.try_get("params")?,
        state: JobState::parse(&state)
            .ok_or_else(|| JobError::Inconsistent(format!("unknown job state `{state}`")))?,
        total: row.try_get("total")?,
        processed: row.try_get("processed")?,
        failed: row.try_get("failed")?,
        skipped: row.try_get("skipped")?,
        bytes: row.try_get("bytes")?,
        owner: row.try_get("owner")?,
        created_at: Timestamp(row.try_get("created_at")?),
        started_at: opt_ts("started_at")?,
        finished_at: opt_ts("finished_at")?,
        heartbeat_at: opt_ts("heartbeat_at")?,
        lease_owner: row.try_get("lease_owner")?,
        attempts: row.try_get("attempts")?,
        cancel_requested: row.try_get::<i64, _>("cancel_requested")? != 0,
        error: row.try_get("error")?,
        result: row.try_get("result")?,
    })
}

/// The job a claim's UPDATE returned, and the lease it now holds.
fn claimed(row: Option<AnyRow>, worker: &str, period: Duration) -> Result<Option<(Job, Lease)>> {
    let Some(row) = row else {
        return Ok(None);
    };
    let job = job_from_row(&row)?;
    let lease = Lease {
        job_id: job.id,
        worker: worker.to_owned(),
        period,
    };
    Ok(Some((job, lease)))
}

/// The job queue on the metadata database.
#[derive(Debug, Clone)]
pub struct Jobs {
    db: Database,
}

impl Jobs {
    pub fn new(db: Database) -> Self {
        Jobs { db }
    }

    pub async fn enqueue(&self, new: NewJob) -> Result<Job> {
        let row = sqlx::query(
            "INSERT INTO jobs (kind, label, mailbox_id, params, state, owner, created_at) \
             VALUES ($1, $2, $3, $4, 'queued', $5, $6) RETURNING *",
        )
        .bind(&new.kind)
        .bind(&new.label)
        .bind(new.mailbox_id)
        .bind(&new.params)
        .bind(&new.owner)
        .bind(Timestamp::now().0)
        .fetch_one(&self.db.pool)
        .await?;
        job_from_row(&row)
    }

    pub async fn get(&self, id: i64) -> Result<Option<Job>> {
        let row = sqlx::query("SELECT * FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Newest first.
    pub async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        let mut sql = String::from("SELECT * FROM jobs WHERE 1 = 1");
        let mut n = 0;
        if let Some(mailboxes) = &filter.mailboxes {
            if mailboxes.is_empty() {
                return Ok(Vec::new());
            }
            let marks: Vec<String> = mailboxes
                .iter()
                .map(|_| {
                    n += 1;
                    format!("${n}")
                })
                .collect();
            sql.push_str(&format!(" AND mailbox_id IN ({})", marks.join(", ")));
        }
        if !filter.kinds.is_empty() {
            let marks: Vec<String> = filter
                .kinds
                .iter()
                .map(|_| {
                    n += 1;
                    format!("${n}")
                })
                .collect();
            sql.push_str(&format!(" AND kind IN ({})", marks.join(", ")));
        }
        sql.push_str(&format!(
            " ORDER BY id DESC LIMIT {}",
            filter.limit.clamp(1, 1000)
        ));
        let mut query = sqlx::query(&sql);
        for mailbox in filter.mailboxes.iter().flatten() {
            query = query.bind(*mailbox);
        }
        for kind in &filter.kinds {
            query = query.bind(kind);
        }
        let rows = query.fetch_all(&self.db.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Takes the oldest job that is queued, or running under a lease that lapsed (its worker
    /// died), in one statement: two workers never take the same job.
    pub async fn claim(&self, worker: &str, period: Duration) -> Result<Option<(Job, Lease)>> {
        let now = Timestamp::now().0;
        // PostgreSQL: claimers skip a row another claimer has locked instead of waiting for it.
        // SQLite: one writer at a time makes the single UPDATE atomic.
        let lock = match self.db.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, heartbeat_at = $3, \
             attempts = attempts + 1, started_at = COALESCE(started_at, $3) \
             WHERE id = (SELECT id FROM jobs WHERE state = 'queued' OR (state = 'running' AND lease_until < $3) \
             ORDER BY id LIMIT 1{lock}) RETURNING *"
        );
        let row = sqlx::query(&sql)
            .bind(worker)
            .bind(now.saturating_add(micros(period)))
            .bind(now)
            .fetch_optional(&self.db.pool)
            .await?;
        claimed(row, worker, period)
    }

    /// Takes one named job if it is queued or its lease lapsed: the command line runs the job it
    /// started itself rather than whatever is oldest in the queue.
    pub async fn claim_this(
        &self,
        id: i64,
        worker: &str,
        period: Duration,
    ) -> Result<Option<(Job, Lease)>> {
        let now = Timestamp::now().0;
        let row = sqlx::query(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, heartbeat_at = $3, \
             attempts = attempts + 1, started_at = COALESCE(started_at, $3) \
             WHERE id = $4 AND (state = 'queued' OR (state = 'running' AND lease_until < $3)) RETURNING *",
        )
        .bind(worker)
        .bind(now.saturating_add(micros(period)))
        .bind(now)
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?;
        claimed(row, worker, period)
    }

    /// Renews the lease and reports progress. `total` and `bytes` are what the runner knows now.
    pub async fn heartbeat(&self, lease: &Lease, total: i64, bytes: i64) -> Result<Beat> {
        let now = Timestamp::now().0;
        let row = sqlx::query(
            "UPDATE jobs SET lease_until = $3, heartbeat_at = $4, total = $5, bytes = $6 \
             WHERE id = $1 AND lease_owner = $2 AND state = 'running' RETURNING cancel_requested",
        )
        .bind(lease.job_id)
        .bind(&lease.worker)
        .bind(now.saturating_add(micros(lease.period)))
        .bind(now)
        .bind(total)
        .bind(bytes)
        .fetch_optional(&self.db.pool)
        .await?;
        let row = row.ok_or(JobError::LeaseLost(lease.job_id))?;
        Ok(Beat {
            cancel_requested: row.try_get::<i64, _>("cancel_requested")? != 0,
        })
    }

    /// Records outcomes in one transaction and counts them. An item key that already has an
    /// outcome keeps its first one (a resumed job that repeats an item is not counted twice).
    /// Returns how many were new.
    pub async fn record(&self, lease: &Lease, outcomes: &[Outcome]) -> Result<usize> {
        if outcomes.is_empty() {
            return Ok(0);
        }
        let now = Timestamp::now().0;
        let mut tx = self.db.pool.begin().await?;
        let (mut new, mut failed, mut skipped) = (0i64, 0i64, 0i64);
        for outcome in outcomes {
            let inserted = sqlx::query(
                "INSERT INTO job_outcomes (job_id, item_key, outcome, source_path, target_path, detail, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (job_id, item_key) DO NOTHING",
            )
            .bind(lease.job_id)
            .bind(&outcome.key)
            .bind(outcome.kind.as_str())
            .bind(&outcome.source_path)
            .bind(&outcome.target_path)
            .bind(&outcome.detail)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                new += 1;
                match outcome.kind {
                    OutcomeKind::Failed => failed += 1,
                    OutcomeKind::Skipped => skipped += 1,
                    OutcomeKind::Created | OutcomeKind::Merged => {}
                }
            }
        }
        let fenced = sqlx::query(
            "UPDATE jobs SET processed = processed + $3, failed = failed + $4, skipped = skipped + $5 \
             WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        )
        .bind(lease.job_id)
        .bind(&lease.worker)
        .bind(new)
        .bind(failed)
        .bind(skipped)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if fenced != 1 {
            tx.rollback().await?;
            return Err(JobError::LeaseLost(lease.job_id));
        }
        tx.commit().await?;
        Ok(usize::try_from(new).unwrap_or(0))
    }

    /// Item keys that already have an outcome: what a resumed job skips.
    pub async fn done_keys(&self, job_id: i64) -> Result<HashSet<String>> {
        let rows = sqlx::query("SELECT item_key FROM job_outcomes WHERE job_id = $1")
            .bind(job_id)
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter()
            .map(|row| Ok(row.try_get::<String, _>("item_key")?))
            .collect()
    }

    /// Forgets every outcome and counter, for a runner that starts its output again from the
    /// beginning (an export file cannot be appended to after a crash).
    pub async fn restart(&self, lease: &Lease) -> Result<()> {
        let mut tx = self.db.pool.begin().await?;
        let fenced = sqlx::query(
            "UPDATE jobs SET processed = 0, failed = 0, skipped = 0, bytes = 0, result = NULL \
             WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        )
        .bind(lease.job_id)
        .bind(&lease.worker)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if fenced != 1 {
            tx.rollback().await?;
            return Err(JobError::LeaseLost(lease.job_id));
        }
        sqlx::query("DELETE FROM job_outcomes WHERE job_id = $1")
            .bind(lease.job_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The report, in the order items were done: up to `limit` outcomes after `after` (an
    /// outcome id; 0 for the start), optionally of one kind.
    pub async fn outcomes(
        &self,
        job_id: i64,
        kind: Option<OutcomeKind>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RecordedOutcome>> {
        let kind_clause = if kind.is_some() {
            " AND outcome = $4"
        } else {
            ""
        };
        let sql = format!(
            "SELECT * FROM job_outcomes WHERE job_id = $1 AND id > $2{kind_clause} ORDER BY id LIMIT $3"
        );
        let mut query = sqlx::query(&sql)
            .bind(job_id)
            .bind(after)
            .bind(i64::try_from(limit.clamp(1, 10_000)).unwrap_or(10_000));
        if let Some(kind) = kind {
            query = query.bind(kind.as_str());
        }
        let rows = query.fetch_all(&self.db.pool).await?;
        rows.iter()
            .map(|row| {
                let outcome: String = row.try_get("outcome")?;
                Ok(RecordedOutcome {
                    id: row.try_get("id")?,
                    at: Timestamp(row.try_get("at")?),
                    outcome: Outcome {
                        key: row.try_get("item_key")?,
                        kind: OutcomeKind::parse(&outcome).ok_or_else(|| {
                            JobError::Inconsistent(format!("unknown outcome `{outcome}`"))
                        })?,
                        source_path: row.try_get("source_path")?,
                        target_path: row.try_get("target_path")?,
                        detail: row.try_get("detail")?,
                    },
                })
            })
            .collect()
    }

    /// The report counted per target folder and outcome, skipped ones per reason: what a dry
    /// run shows before the real run, and the summary of any job.
    pub async fn tally(&self, job_id: i64) -> Result<Vec<Tally>> {
        let rows = sqlx::query(
            "SELECT target_path, outcome, \
             CASE WHEN outcome IN ('skipped', 'failed') THEN detail ELSE '' END AS reason, \
             COUNT(*) AS n FROM job_outcomes WHERE job_id = $1 \
             GROUP BY target_path, outcome, reason ORDER BY target_path, outcome, reason",
        )
        .bind(job_id)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let outcome: String = row.try_get("outcome")?;
                Ok(Tally {
                    target_path: row.try_get("target_path")?,
                    kind: OutcomeKind::parse(&outcome).ok_or_else(|| {
                        JobError::Inconsistent(format!("unknown outcome `{outcome}`"))
                    })?,
                    reason: row.try_get("reason")?,
                    count: row.try_get("n")?,
                })
            })
            .collect()
    }

    /// Ends the job and releases the lease. `result` is the runner's JSON (for an export: its
    /// files and manifest digest).
    pub async fn finish(
        &self,
        lease: &Lease,
        state: JobState,
        error: Option<&str>,
        result: Option<&str>,
    ) -> Result<Job> {
        let row = sqlx::query(
            "UPDATE jobs SET state = $3, error = $4, result = COALESCE($5, result), finished_at = $6, \
             lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND lease_owner = $2 AND state = 'running' RETURNING *",
        )
        .bind(lease.job_id)
        .bind(&lease.worker)
        .bind(state.as_str())
        .bind(error)
        .bind(result)
        .bind(Timestamp::now().0)
        .fetch_optional(&self.db.pool)
        .await?;
        let row = row.ok_or(JobError::LeaseLost(lease.job_id))?;
        job_from_row(&row)
    }

    /// Asks a job to stop. A queued job is cancelled at once; a running one at its worker's next
    /// heartbeat. Returns the job as it is now, or None when it does not exist.
    pub async fn request_cancel(&self, id: i64) -> Result<Option<Job>> {
        let now = Timestamp::now().0;
        sqlx::query(
            "UPDATE jobs SET state = 'cancelled', finished_at = $2, cancel_requested = 1 \
             WHERE id = $1 AND state = 'queued'",
        )
        .bind(id)
        .bind(now)
        .execute(&self.db.pool)
        .await?;
        sqlx::query("UPDATE jobs SET cancel_requested = 1 WHERE id = $1 AND state = 'running'")
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        self.get(id).await
    }
}
