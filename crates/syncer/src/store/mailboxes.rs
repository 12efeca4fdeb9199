//! The mailboxes of a task: their status, run history and run-now requests.

use domain::MailAddress;

use super::*;

impl SyncStore {
    /// Adds mailboxes (addresses, case-insensitive); ones already in the task are left alone.
    /// New mailboxes are due at once: their first sync should not wait for a slot.
    /// Returns how many were added.
    pub async fn add_mailboxes(&self, task: i64, addresses: &[String]) -> Result<u64> {
        if self.task(task).await?.is_none() {
            return Err(SyncerError::UnknownTask(task));
        }
        let clean = rules::mailboxes(addresses)?;
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
