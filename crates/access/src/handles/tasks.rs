use syncer::{
    ConnectionView, MissingPrerequisite, NewTask, RunRecord, TaskUpdate, TaskView,
    TaskWithMailboxes,
};

use crate::{AccessError, AuditAction, Caller};

/// What the task screen shows before its tasks: what sync needs.
pub struct SyncPrerequisites {
    /// The default policy's rule for mail.
    pub mail_rule: archive::KeepRule,
    pub connections: Vec<ConnectionView>,
}

/// Sync tasks and their mailboxes (permission `sync_tasks`).
pub struct TasksAdmin<'a> {
    caller: &'a Caller,
}

impl<'a> TasksAdmin<'a> {
    pub(crate) fn new(caller: &'a Caller) -> Self {
        TasksAdmin { caller }
    }

    fn sync(&self) -> &syncer::SyncService {
        &self.caller.access.inner.sync
    }

    pub async fn list(&self) -> Result<Vec<TaskWithMailboxes>, AccessError> {
        Ok(self.sync().store().tasks_with_mailboxes().await?)
    }

    pub async fn create(&self, new: &NewTask) -> Result<TaskView, AccessError> {
        let task = self.sync().store().create_task(new).await?;
        self.caller
            .record(
                AuditAction::TaskCreated,
                None,
                format!(
                    "{} with {} mailbox{}",
                    task.name,
                    task.mailbox_count,
                    if task.mailbox_count == 1 { "" } else { "es" }
                ),
            )
            .await?;
        Ok(task)
    }

    pub async fn add_mailboxes(&self, task: i64, addresses: &[String]) -> Result<u64, AccessError> {
        let added = self.sync().store().add_mailboxes(task, addresses).await?;
        self.caller
            .record(
                AuditAction::TaskMailboxesAdded,
                None,
                format!("task {task}: {}", addresses.join(", ")),
            )
            .await?;
        Ok(added)
    }

    pub async fn remove_mailbox(&self, task: i64, address: &str) -> Result<(), AccessError> {
        self.sync().store().remove_mailbox(task, address).await?;
        self.caller
            .record(
                AuditAction::TaskMailboxRemoved,
                None,
                format!("task {task}: {address}"),
            )
            .await
    }

    pub async fn delete(&self, task: i64) -> Result<(), AccessError> {
        self.sync().store().delete_task(task).await?;
        self.caller
            .record(AuditAction::TaskDeleted, None, format!("task {task}"))
            .await
    }

    /// One mailbox, or every mailbox of the task; returns how many will run.
    pub async fn sync_now(&self, task: i64, address: Option<&str>) -> Result<u64, AccessError> {
        let count = match address {
            Some(address) => {
                self.sync().run_mailbox_now(task, address).await?;
                1
            }
            None => self.sync().run_task_now(task).await?,
        };
        self.caller
            .record(
                AuditAction::SyncRequested,
                None,
                format!(
                    "task {task}{}",
                    address.map(|a| format!(": {a}")).unwrap_or_default()
                ),
            )
            .await?;
        Ok(count)
    }

    /// What sync needs before any task may run: the default mail retention and the state of
    /// each connection's last test.
    pub async fn prerequisites(&self) -> Result<SyncPrerequisites, AccessError> {
        let policy = self.caller.access.inner.archive.retention_policy().await?;
        Ok(SyncPrerequisites {
            mail_rule: policy.default.mail,
            connections: self.sync().store().list_connections().await?,
        })
    }

    /// Users of the legacy engine: a migrated one's row says how many of its submissions were
    /// ignored since.
    pub async fn legacy_users(&self) -> Result<Vec<legacy::LegacyMailbox>, AccessError> {
        Ok(self.caller.access.inner.legacy.mailboxes().await?)
    }

    /// Why a task cannot be enabled now (empty when it can).
    pub async fn missing_for(
        &self,
        task: &TaskWithMailboxes,
    ) -> Result<Vec<MissingPrerequisite>, AccessError> {
        let addresses: Vec<String> = task.mailboxes.iter().map(|m| m.address.clone()).collect();
        Ok(self
            .sync()
            .store()
            .missing_prerequisites(task.task.connection_id, &addresses)
            .await?)
    }

    /// Enables (refused with every missing prerequisite) or disables a task.
    pub async fn set_enabled(&self, task: i64, enabled: bool) -> Result<TaskView, AccessError> {
        let view = self
            .sync()
            .store()
            .update_task(
                task,
                &TaskUpdate {
                    enabled: Some(enabled),
                    ..TaskUpdate::default()
                },
            )
            .await?;
        self.caller
            .record(
                AuditAction::TaskChanged,
                None,
                format!(
                    "{} {}",
                    view.name,
                    if enabled { "enabled" } else { "disabled" }
                ),
            )
            .await?;
        if enabled {
            self.sync().wake();
        }
        Ok(view)
    }

    pub async fn history(&self, task: i64, address: &str) -> Result<Vec<RunRecord>, AccessError> {
        Ok(self.sync().store().history(task, address, 50).await?)
    }
}
