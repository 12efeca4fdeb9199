//! The plain, serialisable types the server and the UI see. None of them carries a secret.

use archive::Timestamp;
use mailsync::{MailboxStatus, RunReport};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    Ews,
    Graph,
}

impl ConnectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionKind::Ews => "ews",
            ConnectionKind::Graph => "graph",
        }
    }
}

/// Where and as whom to connect; the secret (EWS password, Graph client secret) travels apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectionSettings {
    /// Exchange on-premises: `https://mail.example.com/EWS/Exchange.asmx` and a service account
    /// holding the ApplicationImpersonation role.
    Ews { url: String, username: String },
    /// Exchange Online, app-only. The endpoints default to Microsoft's public cloud when None.
    Graph {
        tenant_id: String,
        client_id: String,
        graph_endpoint: Option<String>,
        token_endpoint: Option<String>,
    },
}

impl ConnectionSettings {
    pub fn kind(&self) -> ConnectionKind {
        match self {
            ConnectionSettings::Ews { .. } => ConnectionKind::Ews,
            ConnectionSettings::Graph { .. } => ConnectionKind::Graph,
        }
    }
}

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
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What went wrong in a connection test, for the UI to pick an icon and a hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestFailure {
    InvalidUrl,
    Dns,
    ConnectionRefused,
    Timeout,
    Tls,
    Http,
    BadCredentials,
    ClientSecretRefused,
    UnknownApplication,
    ImpersonationDenied,
    MailboxNotFound,
    SecretUnreadable,
    /// The server only throttled (EWS ErrorServerBusy, Graph 429): nothing is wrong with the
    /// settings, the test should be repeated later.
    ServerBusy,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestStep {
    pub step: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionTestReport {
    pub ok: bool,
    pub failure: Option<TestFailure>,
    /// One sentence saying what failed (or that everything worked).
    pub message: String,
    pub steps: Vec<TestStep>,
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
    /// 1..=1440; 4 by default.
    pub runs_per_day: u32,
    pub enabled: bool,
}

impl NewTask {
    pub fn new(name: &str, connection_id: i64) -> NewTask {
        NewTask {
            name: name.to_string(),
            connection_id,
            what: SyncWhat::default(),
            runs_per_day: DEFAULT_RUNS_PER_DAY,
            enabled: true,
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

/// What a run changed in the archive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    pub folders_added: u64,
    pub folders_removed: u64,
    pub new_items: u64,
    pub moved_items: u64,
    pub deleted_items: u64,
    pub read_changes: u64,
    pub calendar_items: u64,
    pub contacts: u64,
    pub full_resyncs: u64,
    /// Items not archived yet at the end of the run (kept and retried on the next run).
    #[serde(default)]
    pub failed_items: u64,
    /// Items an earlier run could not archive that this run archived.
    #[serde(default)]
    pub recovered_items: u64,
}

impl From<&RunReport> for RunCounts {
    fn from(r: &RunReport) -> Self {
        RunCounts {
            folders_added: r.folders_added,
            folders_removed: r.folders_removed,
            new_items: r.new_items,
            moved_items: r.moved_items,
            deleted_items: r.deleted_items,
            read_changes: r.read_changes,
            calendar_items: r.calendar_items,
            contacts: r.contacts,
            full_resyncs: r.full_resyncs,
            failed_items: r.failed_items,
            recovered_items: r.recovered_items,
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
