//! The mailboxes of a task: their status, run history and run-now requests.

use domain::MailAddress;

use super::*;
use crate::prerequisites::addresses_of;

/// [`RUN_COLUMNS`] of the table aliased `alias`, for a query that joins it.
fn run_columns_of(alias: &str) -> String {
    RUN_COLUMNS
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl SyncStore {
    /// Adds mailboxes (addresses, case-insensitive); ones already in the task are left alone.
    /// New mailboxes are due at once: their first sync should not wait for a slot.
    /// Returns how many were added.
    pub async fn add_mailboxes(&self, task: i64, addresses: &[String]) -> Result<u64> {
        let Some(view) = self.task(task).await? else {
            return Err(SyncerError::UnknownTask(task));
        };
        let clean = rules::mailboxes(addresses)?;
        if view.enabled {
            // A mailbox whose own retention is too short must not start syncing either.
            self.require_prerequisites(view.connection_id, &addresses_of(&clean))
                .await?;
        }
        let mut tx = self.db.pool.begin().await?;
        let added = insert_mailboxes(&mut tx, task, &clean, Timestamp::now().0).await?;
        tx.commit().await?;
        Ok(added)
    }

    /// Stops syncing the mailbox in this task (its history goes too; the archive keeps its mail).
    pub async fn remove_mailbox(&self, task: i64, address: &str) -> Result<()> {
        let address = MailAddress::fold(address);
        let id = self.task_mailbox_id(task, &address).await?;
        let mut tx = self.db.pool.begin().await?;
        // Its run history goes with it (ON DELETE CASCADE).
        sqlx::query("DELETE FROM sync_task_mailboxes WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn task_mailbox_id(&self, task: i64, address: &str) -> Result<i64> {
        let address = MailAddress::fold(address);
        sqlx::query_scalar("SELECT id FROM sync_task_mailboxes WHERE task_id = $1 AND address = $2")
            .bind(task)
            .bind(&address)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(SyncerError::UnknownTaskMailbox { task, address })
    }

    pub async fn task_mailboxes(&self, task: i64) -> Result<Vec<TaskMailboxView>> {
        let sql = format!(
            "SELECT {MAILBOX_COLUMNS} FROM sync_task_mailboxes WHERE task_id = $1 ORDER BY address"
        );
        let rows = sqlx::query(&sql)
            .bind(task)
            .fetch_all(&self.db.pool)
            .await?;
        let now = Timestamp::now();
        rows.iter().map(|r| mailbox_from_row(r, now)).collect()
    }

    pub async fn task_mailbox(&self, task: i64, address: &str) -> Result<Option<TaskMailboxView>> {
        let sql = format!(
            "SELECT {MAILBOX_COLUMNS} FROM sync_task_mailboxes WHERE task_id = $1 AND address = $2"
        );
        let row = sqlx::query(&sql)
            .bind(task)
            .bind(MailAddress::fold(address))
            .fetch_optional(&self.db.pool)
            .await?;
        let now = Timestamp::now();
        row.as_ref().map(|r| mailbox_from_row(r, now)).transpose()
    }

    /// Every task mailbox syncing this address (an address may be in several tasks).
    pub async fn mailboxes_by_address(&self, address: &str) -> Result<Vec<TaskMailboxView>> {
        let sql = format!(
            "SELECT {MAILBOX_COLUMNS} FROM sync_task_mailboxes WHERE address = $1 ORDER BY task_id"
        );
        let rows = sqlx::query(&sql)
            .bind(MailAddress::fold(address))
            .fetch_all(&self.db.pool)
            .await?;
        let now = Timestamp::now();
        rows.iter().map(|r| mailbox_from_row(r, now)).collect()
    }

    /// The mailbox's runs, newest first.
    pub async fn history(&self, task: i64, address: &str, limit: u32) -> Result<Vec<RunRecord>> {
        let id = self.task_mailbox_id(task, address).await?;
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs WHERE task_mailbox_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(id)
            .bind(i64::from(limit.clamp(1, 10_000)))
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(run_from_row).collect()
    }

    /// Every task mailbox that writes to an archive mailbox, keyed by it: what the explorer
    /// shows next to each archived mailbox (task, status, last sync).
    pub async fn task_mailboxes_by_archive(&self) -> Result<Vec<TaskMailboxView>> {
        let sql = format!(
            "SELECT {MAILBOX_COLUMNS} FROM sync_task_mailboxes WHERE archive_mailbox_id IS NOT NULL \
             ORDER BY archive_mailbox_id, task_id"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.db.pool).await?;
        let now = Timestamp::now();
        rows.iter().map(|r| mailbox_from_row(r, now)).collect()
    }

    /// The runs (of any task) that wrote to an archive mailbox and started in [`from`, `until`],
    /// oldest first: the instants at which its state is known.
    pub async fn runs_of_archive_mailbox(
        &self,
        archive_mailbox: i64,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<RunRecord>> {
        let columns = run_columns_of("r");
        let sql = format!(
            "SELECT {columns} FROM sync_runs r JOIN sync_task_mailboxes t ON t.id = r.task_mailbox_id \
             WHERE t.archive_mailbox_id = $1 AND r.started_at >= $2 AND r.started_at <= $3 \
             ORDER BY r.started_at, r.id LIMIT 10000"
        );
        let rows = sqlx::query(&sql)
            .bind(archive_mailbox)
            .bind(from.0)
            .bind(until.0)
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(run_from_row).collect()
    }

    /// The last run that wrote to the archive mailbox and started at or before `at`, and the
    /// first one after: between them, the archive knows the mailbox as the first one saw it.
    pub async fn runs_around(
        &self,
        archive_mailbox: i64,
        at: Timestamp,
    ) -> Result<(Option<RunRecord>, Option<RunRecord>)> {
        let columns = run_columns_of("r");
        let before = format!(
            "SELECT {columns} FROM sync_runs r JOIN sync_task_mailboxes t ON t.id = r.task_mailbox_id \
             WHERE t.archive_mailbox_id = $1 AND r.started_at <= $2 ORDER BY r.started_at DESC, r.id DESC LIMIT 1"
        );
        let after = format!(
            "SELECT {columns} FROM sync_runs r JOIN sync_task_mailboxes t ON t.id = r.task_mailbox_id \
             WHERE t.archive_mailbox_id = $1 AND r.started_at > $2 ORDER BY r.started_at, r.id LIMIT 1"
        );
        let mut out = Vec::with_capacity(2);
        for sql in [before, after] {
            let row = sqlx::query(&sql)
                .bind(archive_mailbox)
                .bind(at.0)
                .fetch_optional(&self.db.pool)
                .await?;
            out.push(row.as_ref().map(run_from_row).transpose()?);
        }
        let after = out.pop().flatten();
        Ok((out.pop().flatten(), after))
    }

    /// Makes the mailbox due now. A running mailbox runs again right after its current run.
    pub async fn request_run(&self, task: i64, address: &str) -> Result<()> {
        let id = self.task_mailbox_id(task, address).await?;
        sqlx::query("UPDATE sync_task_mailboxes SET next_run_at = $1 WHERE id = $2")
            .bind(Timestamp::now().0)
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// Makes every mailbox of the task due now. Returns how many.
    pub async fn request_task_run(&self, task: i64) -> Result<u64> {
        if self.task(task).await?.is_none() {
            return Err(SyncerError::UnknownTask(task));
        }
        let done =
            sqlx::query("UPDATE sync_task_mailboxes SET next_run_at = $1 WHERE task_id = $2")
                .bind(Timestamp::now().0)
                .bind(task)
                .execute(&self.db.pool)
                .await?;
        Ok(done.rows_affected())
    }
}

/// Adds the mailboxes not yet in the task; returns how many were new.
pub(super) async fn insert_mailboxes(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    task: i64,
    addresses: &[MailAddress],
    now: i64,
) -> Result<u64> {
    let mut added = 0;
    for address in addresses {
        let done = sqlx::query(
            "INSERT INTO sync_task_mailboxes (task_id, address, status, next_run_at, created_at) \
             VALUES ($1, $2, 'pending', $3, $4) ON CONFLICT (task_id, address) DO NOTHING",
        )
        .bind(task)
        .bind(address.as_str())
        .bind(now)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        added += done.rows_affected();
    }
    Ok(added)
}

impl SyncStore {
    /// Forgets the move-pairing keys of items a purge removed from the archive: a later move of
    /// one in the source must not be paired with a record that is gone.
    pub async fn forget_item_keys(&self, mailbox: i64, source_ids: &[String]) -> Result<()> {
        for chunk in source_ids.chunks(200) {
            let list: Vec<String> = (0..chunk.len()).map(|n| format!("${}", n + 2)).collect();
            let sql = format!(
                "DELETE FROM sync_item_keys WHERE mailbox_id = $1 AND source_id IN ({})",
                list.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(mailbox);
            for id in chunk {
                q = q.bind(id);
            }
            q.execute(&self.db.pool).await?;
        }
        Ok(())
    }
}

impl SyncStore {
    /// Forgets every sync state of an archive mailbox, so its next sync starts from the
    /// beginning and lists every folder and item again. Returns how many states there were.
    pub async fn forget_sync_states(&self, archive_mailbox: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sync_states WHERE mailbox_id = $1")
            .bind(archive_mailbox)
            .execute(&self.db.pool)
            .await?
            .rows_affected())
    }
}
