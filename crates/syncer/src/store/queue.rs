//! The workers' side: claiming due mailboxes under a lease, renewing it, recording the run.

use super::*;

impl SyncStore {
    /// Claims up to `limit` due mailboxes of enabled tasks for `node` until `lease_until`.
    /// The conditional UPDATE is the lock: of two workers racing for a row, one changes it.
    pub(crate) async fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        node: &str,
        limit: usize,
    ) -> Result<Vec<Claim>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // NULL next_run_at marks a claimed run; once its lease lapsed (the worker died) it is
        // due again, so a crashed run resumes.
        let rows = sqlx::query(
            "SELECT m.id FROM sync_task_mailboxes m JOIN sync_tasks t ON t.id = m.task_id \
             WHERE t.enabled = 1 AND (m.claimed_until IS NULL OR m.claimed_until <= $1) \
             AND (m.next_run_at IS NULL OR m.next_run_at <= $2) \
             ORDER BY COALESCE(m.next_run_at, 0), m.id LIMIT $3",
        )
        .bind(now.0)
        .bind(now.0)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.db.pool)
        .await?;
        let mut claims = Vec::new();
        for row in rows {
            let id: i64 = row.try_get("id")?;
            if let Some(c) = self.claim(id, now, lease_until, node, true).await? {
                claims.push(c);
            }
        }
        Ok(claims)
    }

    /// Claims one mailbox; `only_if_due` false claims it whatever its schedule (run now).
    pub(crate) async fn claim(
        &self,
        task_mailbox_id: i64,
        now: Timestamp,
        lease_until: Timestamp,
        node: &str,
        only_if_due: bool,
    ) -> Result<Option<Claim>> {
        let due = if only_if_due {
            " AND (next_run_at IS NULL OR next_run_at <= $5)"
        } else {
            " AND $5 = $5"
        };
        let sql = format!(
            "UPDATE sync_task_mailboxes SET claimed_until = $1, claimed_by = $2, next_run_at = NULL \
             WHERE id = $3 AND (claimed_until IS NULL OR claimed_until <= $4){due}"
        );
        let done = sqlx::query(&sql)
            .bind(lease_until.0)
            .bind(node)
            .bind(task_mailbox_id)
            .bind(now.0)
            .bind(now.0)
            .execute(&self.db.pool)
            .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT m.id, m.task_id, m.address, t.connection_id, t.sync_mail, t.sync_calendar, \
             t.sync_contacts, t.runs_per_day FROM sync_task_mailboxes m JOIN sync_tasks t ON t.id = m.task_id \
             WHERE m.id = $1",
        )
        .bind(task_mailbox_id)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Claim {
            task_mailbox_id,
            task_id: row.try_get("task_id")?,
            address: text(&row, "address")?,
            connection_id: row.try_get("connection_id")?,
            what: SyncWhat {
                mail: flag(&row, "sync_mail")?,
                calendar: flag(&row, "sync_calendar")?,
                contacts: flag(&row, "sync_contacts")?,
            },
            runs_per_day: u32::try_from(row.try_get::<i64, _>("runs_per_day")?).unwrap_or(1),
        }))
    }

    /// Records which archive mailbox a task mailbox's runs write to.
    pub(crate) async fn link_archive_mailbox(
        &self,
        task_mailbox_id: i64,
        archive_mailbox_id: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE sync_task_mailboxes SET archive_mailbox_id = $1 WHERE id = $2 \
             AND (archive_mailbox_id IS NULL OR archive_mailbox_id <> $1)",
        )
        .bind(archive_mailbox_id)
        .bind(task_mailbox_id)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn renew_leases(
        &self,
        ids: &[i64],
        node: &str,
        lease_until: Timestamp,
    ) -> Result<()> {
        for id in ids {
            sqlx::query(
                "UPDATE sync_task_mailboxes SET claimed_until = $1 WHERE id = $2 AND claimed_by = $3",
            )
            .bind(lease_until.0)
            .bind(id)
            .bind(node)
            .execute(&self.db.pool)
            .await?;
        }
        Ok(())
    }

    /// Writes the run to the history and the mailbox's status, schedules its next run (unless a
    /// run was requested meanwhile) and releases the lease.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record_run(
        &self,
        claim: &Claim,
        node: &str,
        started: Timestamp,
        finished: Timestamp,
        status: MailboxSyncStatus,
        counts: &RunCounts,
        requests: u64,
        throttled: u64,
        error: Option<&str>,
        next: Timestamp,
    ) -> Result<RunRecord> {
        let counts_json = serde_json::to_string(counts).unwrap_or_else(|_| "{}".into());
        let mut tx = self.db.pool.begin().await?;
        // A write first: on SQLite a transaction that reads before it writes cannot upgrade
        // its lock while another writer is busy, and fails at once instead of waiting.
        let still_there =
            sqlx::query("UPDATE sync_task_mailboxes SET status = status WHERE id = $1")
                .bind(claim.task_mailbox_id)
                .execute(&mut *tx)
                .await?;
        if still_there.rows_affected() == 0 {
            return Err(SyncerError::UnknownTaskMailbox {
                task: claim.task_id,
                address: claim.address.clone(),
            });
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sync_runs (task_mailbox_id, task_id, address, started_at, finished_at, status, \
             counts, requests, throttled, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(claim.task_mailbox_id)
        .bind(claim.task_id)
        .bind(&claim.address)
        .bind(started.0)
        .bind(finished.0)
        .bind(status.as_str())
        .bind(&counts_json)
        .bind(i64::try_from(requests).unwrap_or(i64::MAX))
        .bind(i64::try_from(throttled).unwrap_or(i64::MAX))
        .bind(error)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE sync_task_mailboxes SET status = $1, reason = $2, last_started_at = $3, \
             last_finished_at = $4, last_counts = $5, next_run_at = COALESCE(next_run_at, $6), \
             claimed_until = NULL, claimed_by = NULL WHERE id = $7 AND (claimed_by = $8 OR claimed_by IS NULL)",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(started.0)
        .bind(finished.0)
        .bind(&counts_json)
        .bind(next.0)
        .bind(claim.task_mailbox_id)
        .bind(node)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(RunRecord {
            id,
            task_id: claim.task_id,
            address: claim.address.clone(),
            started_at: started,
            finished_at: finished,
            status,
            counts: *counts,
            requests,
            throttled,
            error: error.map(str::to_string),
        })
    }
}
