//! Server connections, sync tasks, task mailboxes and run history in SQL (`0200_sync.sql`),
//! one file per concern: `connections`, `tasks`, `mailboxes` (task mailboxes, status, history,
//! run requests) and `queue` (the workers' claims, leases and run records).

mod connections;
mod mailbox_records;
mod mailboxes;
mod queue;
mod tasks;

use std::sync::Arc;

use archive::Timestamp;
use database::Database;
use mailsync::{
    build_source, ConnectionSettings, ConnectionTestReport, MailboxSource, TestFailure,
};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::crypto::SecretBox;
use crate::error::{is_unique_violation, Result, SyncerError};
use crate::rules;
use crate::types::*;

pub(crate) use mailbox_records::MailboxRecords;

/// Connections, tasks, mailbox status and history. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SyncStore {
    pub(super) db: Database,
    pub(super) secrets: SecretBox,
}

/// A mailbox a worker holds the lease of, with what its run needs.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    pub task_mailbox_id: i64,
    pub task_id: i64,
    pub address: String,
    pub connection_id: i64,
    pub what: SyncWhat,
    pub runs_per_day: u32,
}

pub(super) const CONNECTION_COLUMNS: &str =
    "c.id, c.name, c.kind, c.ews_url, c.ews_username, c.graph_tenant, \
    c.graph_client_id, c.graph_endpoint, c.token_endpoint, \
    CASE WHEN c.secret_sealed IS NULL THEN 0 ELSE 1 END AS has_secret, c.created_at, c.updated_at, \
    (SELECT COUNT(*) FROM sync_tasks t WHERE t.connection_id = c.id) AS task_count, \
    c.tested_at, c.test_passed, c.test_summary";

pub(super) const TASK_COLUMNS: &str =
    "t.id, t.name, t.connection_id, c.name AS connection_name, t.sync_mail, \
    t.sync_calendar, t.sync_contacts, t.runs_per_day, t.enabled, t.created_at, \
    (SELECT COUNT(*) FROM sync_task_mailboxes m WHERE m.task_id = t.id) AS mailbox_count";

pub(super) const MAILBOX_COLUMNS: &str = "id, task_id, address, status, reason, last_started_at, \
    last_finished_at, last_counts, next_run_at, claimed_until, archive_mailbox_id";

pub(super) const RUN_COLUMNS: &str =
    "id, task_id, address, started_at, finished_at, status, counts, \
    requests, throttled, error";

pub(super) fn text(row: &AnyRow, col: &str) -> Result<String> {
    Ok(row.try_get::<Option<String>, _>(col)?.unwrap_or_default())
}

pub(super) fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(col)?)
}

pub(super) fn flag(row: &AnyRow, col: &str) -> Result<bool> {
    Ok(row.try_get::<i64, _>(col)? != 0)
}

pub(super) fn opt_time(row: &AnyRow, col: &str) -> Result<Option<Timestamp>> {
    Ok(row.try_get::<Option<i64>, _>(col)?.map(Timestamp))
}

pub(super) fn connection_from_row(row: &AnyRow) -> Result<ConnectionView> {
    let kind = text(row, "kind")?;
    let settings = match kind.as_str() {
        "ews" => ConnectionSettings::Ews {
            url: text(row, "ews_url")?,
            username: text(row, "ews_username")?,
        },
        "graph" => ConnectionSettings::Graph {
            tenant_id: text(row, "graph_tenant")?,
            client_id: text(row, "graph_client_id")?,
            graph_endpoint: opt_text(row, "graph_endpoint")?,
            token_endpoint: opt_text(row, "token_endpoint")?,
        },
        other => {
            return Err(SyncerError::Inconsistent(format!(
                "connection kind `{other}`"
            )))
        }
    };
    Ok(ConnectionView {
        id: row.try_get("id")?,
        name: text(row, "name")?,
        kind: settings.kind(),
        settings,
        has_secret: flag(row, "has_secret")?,
        task_count: row.try_get("task_count")?,
        last_test: match opt_time(row, "tested_at")? {
            Some(at) => Some(crate::LastTest {
                at,
                passed: flag(row, "test_passed")?,
                summary: text(row, "test_summary")?,
            }),
            None => None,
        },
        created_at: Timestamp(row.try_get("created_at")?),
        updated_at: Timestamp(row.try_get("updated_at")?),
    })
}

pub(super) fn task_from_row(row: &AnyRow) -> Result<TaskView> {
    Ok(TaskView {
        id: row.try_get("id")?,
        name: text(row, "name")?,
        connection_id: row.try_get("connection_id")?,
        connection_name: text(row, "connection_name")?,
        what: SyncWhat {
            mail: flag(row, "sync_mail")?,
            calendar: flag(row, "sync_calendar")?,
            contacts: flag(row, "sync_contacts")?,
        },
        runs_per_day: u32::try_from(row.try_get::<i64, _>("runs_per_day")?).unwrap_or(1),
        enabled: flag(row, "enabled")?,
        mailbox_count: row.try_get("mailbox_count")?,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

pub(super) fn mailbox_from_row(row: &AnyRow, now: Timestamp) -> Result<TaskMailboxView> {
    let counts = opt_text(row, "last_counts")?.and_then(|c| serde_json::from_str(&c).ok());
    Ok(TaskMailboxView {
        id: row.try_get("id")?,
        task_id: row.try_get("task_id")?,
        address: text(row, "address")?,
        status: MailboxSyncStatus::parse(&text(row, "status")?),
        reason: opt_text(row, "reason")?,
        last_started_at: opt_time(row, "last_started_at")?,
        last_finished_at: opt_time(row, "last_finished_at")?,
        last_counts: counts,
        next_run_at: opt_time(row, "next_run_at")?,
        running: opt_time(row, "claimed_until")?.is_some_and(|t| t > now),
        archive_mailbox_id: row.try_get("archive_mailbox_id")?,
    })
}

pub(super) fn run_from_row(row: &AnyRow) -> Result<RunRecord> {
    Ok(RunRecord {
        id: row.try_get("id")?,
        task_id: row.try_get("task_id")?,
        address: text(row, "address")?,
        started_at: Timestamp(row.try_get("started_at")?),
        finished_at: Timestamp(row.try_get("finished_at")?),
        status: MailboxSyncStatus::parse(&text(row, "status")?),
        counts: serde_json::from_str(&text(row, "counts")?).unwrap_or_default(),
        requests: u64::try_from(row.try_get::<i64, _>("requests")?).unwrap_or(0),
        throttled: u64::try_from(row.try_get::<i64, _>("throttled")?).unwrap_or(0),
        error: opt_text(row, "error")?,
    })
}

pub(super) fn b(v: bool) -> i64 {
    i64::from(v)
}

impl SyncStore {
    /// `secrets_key` seals connection secrets; the server keeps it outside the database.
    pub fn new(db: Database, secrets_key: [u8; 32]) -> SyncStore {
        SyncStore {
            db,
            secrets: SecretBox::new(secrets_key),
        }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }
}

pub(super) type Columns = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

pub(super) fn settings_columns(s: &ConnectionSettings) -> Columns {
    match s {
        ConnectionSettings::Ews { url, username } => (
            Some(url.clone()),
            Some(username.clone()),
            None,
            None,
            None,
            None,
        ),
        ConnectionSettings::Graph {
            tenant_id,
            client_id,
            graph_endpoint,
            token_endpoint,
        } => (
            None,
            None,
            Some(tenant_id.clone()),
            Some(client_id.clone()),
            graph_endpoint.clone(),
            token_endpoint.clone(),
        ),
    }
}

pub(super) fn taken(e: sqlx::Error, what: &'static str, name: &str) -> SyncerError {
    if is_unique_violation(&e) {
        SyncerError::NameTaken {
            what,
            name: name.to_string(),
        }
    } else {
        SyncerError::Sql(e)
    }
}
