//! The plain, serialisable types the server and the UI see. None of them carries a secret.

use archive::Timestamp;
pub use mailsync::RunCounts;
use mailsync::{ConnectionKind, ConnectionSettings, MailboxStatus};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone)]
pub struct NewConnection {
    pub name: String,
    pub settings: ConnectionSettings,
    /// EWS password or Graph client secret; sealed before it is stored.
    pub secret: String,
}

/// Fields left `None` keep their value; in particular a `None` secret keeps the stored one, so
/// an edit form never needs to show it.
#[derive(Debug, Clone, Default)]
pub struct ConnectionUpdate {
    pub name: Option<String>,
    pub settings: Option<ConnectionSettings>,
    pub secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub id: i64,
    pub name: String,
    pub kind: ConnectionKind,
    pub settings: ConnectionSettings,
    pub has_secret: bool,
    pub task_count: i64,
    /// The last "Test connection"; None when never tested since its settings last changed.
    pub last_test: Option<crate::LastTest>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncWhat {
    pub mail: bool,
    pub calendar: bool,
    pub contacts: bool,
}

impl Default for SyncWhat {
    fn default() -> Self {
        SyncWhat {
            mail: true,
            calendar: true,
            contacts: true,
        }
    }
}

pub const DEFAULT_RUNS_PER_DAY: u32 = 4;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTask {
    pub name: String,
    pub connection_id: i64,
    pub what: SyncWhat,
    /// 1..=[`crate::MAX_RUNS_PER_DAY`]; 4 by default.
    pub runs_per_day: u32,
    pub enabled: bool,
    /// Addresses as typed; checked and case-folded by `create_task`, stored with the task in the
    /// same transaction.
    pub mailboxes: Vec<String>,
}

/// A task with its mailboxes, as the admin screen lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskWithMailboxes {
    pub task: TaskView,
    pub mailboxes: Vec<TaskMailboxView>,
}

impl NewTask {
    pub fn new(name: &str, connection_id: i64) -> NewTask {
        NewTask {
            name: name.to_string(),
            connection_id,
            what: SyncWhat::default(),
            runs_per_day: DEFAULT_RUNS_PER_DAY,
            enabled: true,
            mailboxes: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskUpdate {
    pub name: Option<String>,
    pub connection_id: Option<i64>,
    pub what: Option<SyncWhat>,
    pub runs_per_day: Option<u32>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskView {
    pub id: i64,
    pub name: String,
    pub connection_id: i64,
    pub connection_name: String,
    pub what: SyncWhat,
    pub runs_per_day: u32,
    pub enabled: bool,
    pub mailbox_count: i64,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailboxSyncStatus {
    /// Never synced yet.
    Pending,
    Healthy,
    /// Needs an administrator: access denied, mailbox missing, credentials refused.
    Attention,
    /// The last run broke off; the next run resumes.
    Failed,
}

impl MailboxSyncStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MailboxSyncStatus::Pending => "pending",
            MailboxSyncStatus::Healthy => "healthy",
            MailboxSyncStatus::Attention => "attention",
            MailboxSyncStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> MailboxSyncStatus {
        match s {
            "healthy" => MailboxSyncStatus::Healthy,
            "attention" => MailboxSyncStatus::Attention,
            "failed" => MailboxSyncStatus::Failed,
            _ => MailboxSyncStatus::Pending,
        }
    }
}

impl From<MailboxStatus> for MailboxSyncStatus {
    fn from(s: MailboxStatus) -> Self {
        match s {
            MailboxStatus::Healthy => MailboxSyncStatus::Healthy,
            MailboxStatus::Attention => MailboxSyncStatus::Attention,
            MailboxStatus::Failed => MailboxSyncStatus::Failed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMailboxView {
    pub id: i64,
    pub task_id: i64,
    pub address: String,
    pub status: MailboxSyncStatus,
    /// Why the last run needed attention or failed.
    pub reason: Option<String>,
    pub last_started_at: Option<Timestamp>,
    pub last_finished_at: Option<Timestamp>,
    pub last_counts: Option<RunCounts>,
    /// None while a run is in progress.
    pub next_run_at: Option<Timestamp>,
    /// A worker holds the mailbox now.
    pub running: bool,
    /// The archive mailbox the runs write to; None until the first run opened it.
    pub archive_mailbox_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: i64,
    pub task_id: i64,
    pub address: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub status: MailboxSyncStatus,
    pub counts: RunCounts,
    pub requests: u64,
    pub throttled: u64,
    pub error: Option<String>,
}
