//! Sync tasks: which connection, what to sync, how often.

use super::mailboxes::insert_mailboxes;
use super::*;
use crate::prerequisites::addresses_of;

impl SyncStore {
    /// Creates the task and its mailboxes in one transaction: a refused address leaves no task
    /// behind. New mailboxes are due at once.
    pub async fn create_task(&self, new: &NewTask) -> Result<TaskView> {
        let name = rules::task_name(&new.name)?;
        let runs = rules::runs_per_day(new.runs_per_day)?;
        let what = rules::what(new.what)?;
        let mailboxes = rules::mailboxes(&new.mailboxes)?;
        if self.connection(new.connection_id).await?.is_none() {
            return Err(SyncerError::UnknownConnection(new.connection_id));
        }
        if new.enabled {
            self.require_prerequisites(new.connection_id, &addresses_of(&mailboxes))
                .await?;
        }
        let now = Timestamp::now().0;
        let mut tx = self.db.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sync_tasks (name, connection_id, sync_mail, sync_calendar, sync_contacts, \
             runs_per_day, enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(&name)
        .bind(new.connection_id)
        .bind(b(what.mail))
        .bind(b(what.calendar))
        .bind(b(what.contacts))
        .bind(runs)
        .bind(b(new.enabled))
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| taken(e, "sync task", &name))?;
        insert_mailboxes(&mut tx, id, &mailboxes, now).await?;
        tx.commit().await?;
        self.task(id).await?.ok_or(SyncerError::UnknownTask(id))
    }

    pub async fn update_task(&self, id: i64, update: &TaskUpdate) -> Result<TaskView> {
        let current = self.task(id).await?.ok_or(SyncerError::UnknownTask(id))?;
        let name = match &update.name {
            Some(n) => rules::task_name(n)?,
            None => current.name.clone(),
        };
        let connection_id = update.connection_id.unwrap_or(current.connection_id);
        if connection_id != current.connection_id && self.connection(connection_id).await?.is_none()
        {
            return Err(SyncerError::UnknownConnection(connection_id));
        }
        let what = rules::what(update.what.unwrap_or(current.what))?;
        let runs = update.runs_per_day.unwrap_or(current.runs_per_day);
        let runs_column = rules::runs_per_day(runs)?;
        let enabled = update.enabled.unwrap_or(current.enabled);
        if enabled && (!current.enabled || connection_id != current.connection_id) {
            let addresses = self.task_addresses(id).await?;
            self.require_prerequisites(connection_id, &addresses)
                .await?;
        }
        let now = Timestamp::now();
        let mut tx = self.db.pool.begin().await?;
        sqlx::query(
            "UPDATE sync_tasks SET name = $1, connection_id = $2, sync_mail = $3, sync_calendar = $4, \
             sync_contacts = $5, runs_per_day = $6, enabled = $7, updated_at = $8 WHERE id = $9",
        )
        .bind(&name)
        .bind(connection_id)
        .bind(b(what.mail))
        .bind(b(what.calendar))
        .bind(b(what.contacts))
        .bind(runs_column)
        .bind(b(enabled))
        .bind(now.0)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| taken(e, "sync task", &name))?;
        if runs != current.runs_per_day {
            // The old slots no longer exist: move every scheduled (not running, not requested
            // sooner) mailbox to its first slot of the new schedule.
            let rows = sqlx::query(
                "SELECT id, address, next_run_at FROM sync_task_mailboxes WHERE task_id = $1 AND next_run_at > $2",
            )
            .bind(id)
            .bind(now.0)
            .fetch_all(&mut *tx)
            .await?;
            for row in rows {
                let mid: i64 = row.try_get("id")?;
                let address = text(&row, "address")?;
                let next = crate::schedule::next_run(id, &address, runs, now);
                sqlx::query("UPDATE sync_task_mailboxes SET next_run_at = $1 WHERE id = $2")
                    .bind(next.0)
                    .bind(mid)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        self.task(id).await?.ok_or(SyncerError::UnknownTask(id))
    }

    /// Removes the task with its mailboxes' status and history (`ON DELETE CASCADE`); archived
    /// content stays.
    pub async fn delete_task(&self, id: i64) -> Result<()> {
        let mut tx = self.db.pool.begin().await?;
        let done = sqlx::query("DELETE FROM sync_tasks WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(SyncerError::UnknownTask(id));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn task_addresses(&self, id: i64) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT address FROM sync_task_mailboxes WHERE task_id = $1")
                .bind(id)
                .fetch_all(&self.db.pool)
                .await?,
        )
    }

    pub async fn list_tasks(&self) -> Result<Vec<TaskView>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM sync_tasks t JOIN sync_connections c ON c.id = t.connection_id ORDER BY t.name"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.db.pool).await?;
        rows.iter().map(task_from_row).collect()
    }

    /// Every task with its mailboxes, in two queries however many tasks there are.
    pub async fn tasks_with_mailboxes(&self) -> Result<Vec<TaskWithMailboxes>> {
        let tasks = self.list_tasks().await?;
        let sql =
            format!("SELECT {MAILBOX_COLUMNS} FROM sync_task_mailboxes ORDER BY task_id, address");
        let rows = sqlx::query(&sql).fetch_all(&self.db.pool).await?;
        let now = Timestamp::now();
        let mut by_task: std::collections::HashMap<i64, Vec<TaskMailboxView>> =
            std::collections::HashMap::new();
        for row in &rows {
            let mailbox = mailbox_from_row(row, now)?;
            by_task.entry(mailbox.task_id).or_default().push(mailbox);
        }
        Ok(tasks
            .into_iter()
            .map(|task| TaskWithMailboxes {
                mailboxes: by_task.remove(&task.id).unwrap_or_default(),
                task,
            })
            .collect())
    }

    pub async fn task(&self, id: i64) -> Result<Option<TaskView>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM sync_tasks t JOIN sync_connections c ON c.id = t.connection_id WHERE t.id = $1"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(task_from_row).transpose()
    }
}
