//! The administrator's server connections and sync tasks. Every function gets the caller, opens
//! the handle of its permission (`connections` or `sync_tasks`: without it, `Forbidden`), calls
//! it and maps the answer to a view type. The rules (names, URLs, addresses, runs per day) are
//! the syncer's; a refusal comes back as [`ApiError::Invalid`] naming the form field.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::error::ApiError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminConnection {
    pub id: i64,
    pub name: String,
    /// `ews` or `graph`.
    pub kind: String,
    /// EWS URL, or the tenant for Exchange Online.
    pub endpoint: String,
    /// The service account (EWS) or the application's client id (Graph).
    pub account: String,
    pub has_secret: bool,
    pub task_count: i64,
    /// "Passed on 7 Dec 2026 03:10", "Failed on …: why", or None when never tested.
    pub last_test: Option<String>,
    pub test_passed: bool,
}

/// One thing sync needs, met or not, with where to see to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrerequisiteView {
    pub met: bool,
    pub title: String,
    pub detail: String,
    pub fix_at: String,
    pub fix_label: String,
}

/// What a change an administrator asked for did, in words for a person. A refusal is an
/// [`ApiError`] instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub message: String,
}

impl Outcome {
    #[cfg(feature = "ssr")]
    pub(crate) fn said(message: impl Into<String>) -> Outcome {
        Outcome {
            message: message.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestStepView {
    pub step: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionTestView {
    pub ok: bool,
    pub message: String,
    pub steps: Vec<TestStepView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminMailbox {
    pub address: String,
    /// `pending`, `healthy`, `attention` or `failed`.
    pub status: String,
    pub reason: Option<String>,
    pub last_run: Option<String>,
    pub next_run: Option<String>,
    /// "12 new, 3 moved, 1 deleted" for the last run.
    pub last_counts: Option<String>,
    pub running: bool,
    /// "Ignored legacy submissions: 3, last at …" for a user migrated from the legacy engine.
    pub legacy_note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTask {
    pub id: i64,
    pub name: String,
    pub connection_name: String,
    pub mail: bool,
    pub calendar: bool,
    pub contacts: bool,
    pub runs_per_day: u32,
    pub enabled: bool,
    /// While paused: what it needs before it can be enabled (empty when it can be).
    pub blocked_by: Vec<PrerequisiteView>,
    pub mailboxes: Vec<AdminMailbox>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunView {
    pub started: String,
    pub duration: String,
    pub status: String,
    pub counts: String,
    pub requests: u64,
    pub throttled: u64,
    pub error: Option<String>,
}

#[server(endpoint = "admin/connections", output = super::codec::Json)]
pub async fn admin_connections() -> Result<Vec<AdminConnection>, ApiError> {
    let caller = super::access::caller().await?;
    let list = caller.connections()?.list().await?;
    Ok(list.iter().map(ssr::connection_view).collect())
}

#[allow(clippy::too_many_arguments)]
#[server(endpoint = "admin/create_connection", output = super::codec::Json)]
pub async fn create_connection(
    name: String,
    kind: String,
    url: String,
    username: String,
    tenant_id: String,
    client_id: String,
    secret: String,
) -> Result<Outcome, ApiError> {
    use syncer::{ConnectionSettings, NewConnection};
    let caller = super::access::caller().await?;
    let connections = caller.connections()?;
    let settings = match kind.as_str() {
        "ews" => ConnectionSettings::Ews { url, username },
        "graph" => ConnectionSettings::Graph {
            tenant_id,
            client_id,
            graph_endpoint: None,
            token_endpoint: None,
        },
        _ => {
            return Err(ApiError::invalid(
                "kind",
                "Choose Exchange on-premises (EWS) or Exchange Online (Graph).",
            ))
        }
    };
    let created = connections
        .create(&NewConnection {
            name,
            settings,
            secret,
        })
        .await?;
    Ok(Outcome::said(format!(
        "Connection “{}” added. Test it before creating a sync task.",
        created.name
    )))
}

#[server(endpoint = "admin/delete_connection", output = super::codec::Json)]
pub async fn delete_connection(id: i64) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    caller.connections()?.delete(id).await?;
    Ok(Outcome::said("Connection deleted."))
}

#[server(endpoint = "admin/test_connection", output = super::codec::Json)]
pub async fn test_connection(
    id: i64,
    mailbox: Option<String>,
) -> Result<ConnectionTestView, ApiError> {
    let caller = super::access::caller().await?;
    let probe = mailbox.filter(|m| !m.trim().is_empty());
    let report = caller.connections()?.test(id, probe.as_deref()).await?;
    Ok(ssr::test_view(report))
}

#[server(endpoint = "admin/tasks", output = super::codec::Json)]
pub async fn admin_tasks() -> Result<Vec<AdminTask>, ApiError> {
    let caller = super::access::caller().await?;
    let desk = caller.sync_tasks()?;
    let legacy = desk.legacy_users().await?;
    let mut out = Vec::new();
    for task in desk.list().await? {
        let blocked = if task.task.enabled {
            Vec::new()
        } else {
            desk.missing_for(&task).await?
        };
        let mut view = ssr::task_view(&task, &blocked);
        for mailbox in &mut view.mailboxes {
            mailbox.legacy_note = legacy
                .iter()
                .find(|l| l.address == mailbox.address)
                .and_then(ssr::ignored_note);
        }
        out.push(view);
    }
    Ok(out)
}

/// What sync needs (mail kept 58 days, a connection that passed its test), each met or not.
#[server(endpoint = "admin/prerequisites", output = super::codec::Json)]
pub async fn sync_prerequisites() -> Result<Vec<PrerequisiteView>, ApiError> {
    let caller = super::access::caller().await?;
    let needs = caller.sync_tasks()?.prerequisites().await?;
    Ok(ssr::prerequisites_view(&needs))
}

/// Enables a task (refused, with what is missing, unless every prerequisite is met) or pauses
/// it.
#[server(endpoint = "admin/set_task_enabled", output = super::codec::Json)]
pub async fn set_task_enabled(task: i64, enabled: bool) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    let view = caller.sync_tasks()?.set_enabled(task, enabled).await?;
    Ok(Outcome::said(if enabled {
        format!(
            "Task “{}” enabled: its mailboxes sync on schedule again.",
            view.name
        )
    } else {
        format!(
            "Task “{}” paused: nothing syncs until it is enabled.",
            view.name
        )
    }))
}

#[allow(clippy::too_many_arguments)]
#[server(endpoint = "admin/create_task", output = super::codec::Json)]
pub async fn create_task(
    name: String,
    connection: i64,
    mailboxes: String,
    mail: Option<String>,
    calendar: Option<String>,
    contacts: Option<String>,
    runs_per_day: u32,
) -> Result<Outcome, ApiError> {
    use syncer::{NewTask, SyncWhat};
    let caller = super::access::caller().await?;
    let addresses = domain::MailAddress::split_list(&mailboxes);
    let task = caller
        .sync_tasks()?
        .create(&NewTask {
            name,
            connection_id: connection,
            what: SyncWhat {
                mail: mail.is_some(),
                calendar: calendar.is_some(),
                contacts: contacts.is_some(),
            },
            runs_per_day,
            enabled: true,
            mailboxes: addresses,
        })
        .await?;
    Ok(Outcome::said(format!(
        "Task “{}” created with {}. Each syncs {} times a day at its own time; use “Sync now” to start at once.",
        task.name,
        ssr::mailboxes_phrase(task.mailbox_count),
        task.runs_per_day,
    )))
}

#[server(endpoint = "admin/add_task_mailboxes", output = super::codec::Json)]
pub async fn add_task_mailboxes(task: i64, mailboxes: String) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    let addresses = domain::MailAddress::split_list(&mailboxes);
    let added = caller.sync_tasks()?.add_mailboxes(task, &addresses).await?;
    Ok(Outcome::said(format!(
        "{} added.",
        ssr::mailboxes_phrase(i64::try_from(added).unwrap_or(i64::MAX))
    )))
}

#[server(endpoint = "admin/remove_task_mailbox", output = super::codec::Json)]
pub async fn remove_task_mailbox(task: i64, address: String) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    caller.sync_tasks()?.remove_mailbox(task, &address).await?;
    Ok(Outcome::said(format!(
        "{address} removed from the task; its archive stays."
    )))
}

#[server(endpoint = "admin/delete_task", output = super::codec::Json)]
pub async fn delete_task(task: i64) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    caller.sync_tasks()?.delete(task).await?;
    Ok(Outcome::said("Task deleted; archived mail stays."))
}

/// Starts a run now: one mailbox, or every mailbox of the task when none is named.
#[server(endpoint = "admin/sync_now", output = super::codec::Json)]
pub async fn sync_now(task: i64, address: Option<String>) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    let address = address.filter(|a| !a.is_empty());
    let count = caller
        .sync_tasks()?
        .sync_now(task, address.as_deref())
        .await?;
    Ok(Outcome::said(match address {
        Some(address) => format!("{address} will sync within seconds."),
        None => format!(
            "{} will sync within seconds.",
            ssr::mailboxes_phrase(i64::try_from(count).unwrap_or(i64::MAX))
        ),
    }))
}

#[server(endpoint = "admin/history", output = super::codec::Json)]
pub async fn mailbox_history(task: i64, address: String) -> Result<Vec<RunView>, ApiError> {
    let caller = super::access::caller().await?;
    let runs = caller.sync_tasks()?.history(task, &address).await?;
    Ok(runs.iter().map(ssr::run_view).collect())
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Syncer records as view types.
    use syncer::{
        ConnectionSettings, ConnectionTestReport, ConnectionView, MissingPrerequisite,
        PrerequisiteKind, RunCounts, RunRecord, TaskMailboxView, TaskWithMailboxes,
        MIN_RETENTION_DAYS,
    };

    use super::{
        AdminConnection, AdminMailbox, AdminTask, ConnectionTestView, PrerequisiteView, RunView,
        TestStepView,
    };
    use crate::format::{duration, full_date};

    /// What a user's sync status says of legacy submissions that came after the migration.
    pub fn ignored_note(m: &legacy::LegacyMailbox) -> Option<String> {
        (m.ignored > 0).then(|| {
            format!(
                "Ignored legacy submissions: {}, last at {}",
                m.ignored,
                m.last_ignored_at.map(full_date).unwrap_or_default()
            )
        })
    }

    pub fn mailboxes_phrase(n: i64) -> String {
        if n == 1 {
            "1 mailbox".to_owned()
        } else {
            format!("{n} mailboxes")
        }
    }

    pub fn connection_view(c: &ConnectionView) -> AdminConnection {
        let (endpoint, account) = match &c.settings {
            ConnectionSettings::Ews { url, username } => (url.clone(), username.clone()),
            ConnectionSettings::Graph {
                tenant_id,
                client_id,
                ..
            } => (format!("tenant {tenant_id}"), format!("app {client_id}")),
        };
        AdminConnection {
            id: c.id,
            name: c.name.clone(),
            kind: c.kind.as_str().to_owned(),
            endpoint,
            account,
            has_secret: c.has_secret,
            task_count: c.task_count,
            last_test: c.last_test.as_ref().map(|t| {
                if t.passed {
                    format!("Passed its test on {}", full_date(t.at))
                } else {
                    format!("Failed its test on {}: {}", full_date(t.at), t.summary)
                }
            }),
            test_passed: c.last_test.as_ref().is_some_and(|t| t.passed),
        }
    }

    fn fix_label(what: PrerequisiteKind) -> &'static str {
        match what {
            PrerequisiteKind::Retention => "Retention",
            PrerequisiteKind::ConnectionTested => "Server connections",
        }
    }

    pub fn missing_view(m: &MissingPrerequisite) -> PrerequisiteView {
        PrerequisiteView {
            met: false,
            title: match m.what {
                PrerequisiteKind::Retention => {
                    format!("Mail kept at least {MIN_RETENTION_DAYS} days")
                }
                PrerequisiteKind::ConnectionTested => "Connection tested".to_owned(),
            },
            detail: m.message.clone(),
            fix_at: m.fix_at.clone(),
            fix_label: fix_label(m.what).to_owned(),
        }
    }

    pub fn prerequisites_view(needs: &access::SyncPrerequisites) -> Vec<PrerequisiteView> {
        let kept = needs.mail_rule.keeps_at_least(MIN_RETENTION_DAYS);
        let retention = PrerequisiteView {
            met: kept,
            title: format!("Mail kept at least {MIN_RETENTION_DAYS} days"),
            detail: format!(
                "The default retention keeps mail {}.{}",
                needs.mail_rule.words(),
                if kept {
                    ""
                } else {
                    " Sync shows mailboxes over the last weeks: lengthen it before enabling a task."
                }
            ),
            fix_at: "/admin/retention".to_owned(),
            fix_label: fix_label(PrerequisiteKind::Retention).to_owned(),
        };
        let passed: Vec<&str> = needs
            .connections
            .iter()
            .filter(|c| c.last_test.as_ref().is_some_and(|t| t.passed))
            .map(|c| c.name.as_str())
            .collect();
        let connection = PrerequisiteView {
            met: !passed.is_empty(),
            title: "A server connection that passed its test".to_owned(),
            detail: if needs.connections.is_empty() {
                "No server connection yet: add one and run “Test connection”.".to_owned()
            } else if passed.is_empty() {
                "No connection has passed “Test connection” yet: a task can run only on one that has.".to_owned()
            } else {
                format!(
                    "Passed: {}. A task runs only on a connection that passed its last test.",
                    passed.join(", ")
                )
            },
            fix_at: "/admin/connections".to_owned(),
            fix_label: fix_label(PrerequisiteKind::ConnectionTested).to_owned(),
        };
        vec![retention, connection]
    }

    pub fn test_view(report: ConnectionTestReport) -> ConnectionTestView {
        ConnectionTestView {
            ok: report.ok,
            message: report.message,
            steps: report
                .steps
                .into_iter()
                .map(|s| TestStepView {
                    step: s.step,
                    ok: s.ok,
                    detail: s.detail,
                })
                .collect(),
        }
    }

    pub fn task_view(t: &TaskWithMailboxes, blocked: &[MissingPrerequisite]) -> AdminTask {
        AdminTask {
            id: t.task.id,
            name: t.task.name.clone(),
            connection_name: t.task.connection_name.clone(),
            mail: t.task.what.mail,
            calendar: t.task.what.calendar,
            contacts: t.task.what.contacts,
            runs_per_day: t.task.runs_per_day,
            enabled: t.task.enabled,
            blocked_by: blocked.iter().map(missing_view).collect(),
            mailboxes: t.mailboxes.iter().map(mailbox_view).collect(),
        }
    }

    pub fn counts(c: &RunCounts) -> String {
        let parts = [
            (c.new_items, "new"),
            (c.moved_items, "moved"),
            (c.deleted_items, "deleted"),
            (c.read_changes, "read changes"),
            (c.calendar_items, "calendar"),
            (c.contacts, "contacts"),
            (c.folders_added, "folders added"),
            (c.folders_removed, "folders removed"),
            (c.full_resyncs, "full resyncs"),
            (c.recovered_items, "recovered"),
            (c.failed_items, "not archived yet"),
        ];
        let said: Vec<String> = parts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
        if said.is_empty() {
            "no changes".to_owned()
        } else {
            said.join(", ")
        }
    }

    pub fn mailbox_view(m: &TaskMailboxView) -> AdminMailbox {
        AdminMailbox {
            address: m.address.clone(),
            status: m.status.as_str().to_owned(),
            reason: m.reason.clone(),
            last_run: m.last_finished_at.map(full_date),
            next_run: m.next_run_at.map(full_date),
            last_counts: m.last_counts.as_ref().map(counts),
            running: m.running,
            legacy_note: None,
        }
    }

    pub fn run_view(r: &RunRecord) -> RunView {
        RunView {
            started: full_date(r.started_at),
            duration: duration(r.finished_at.micros_since(r.started_at)),
            status: r.status.as_str().to_owned(),
            counts: counts(&r.counts),
            requests: r.requests,
            throttled: r.throttled,
            error: r.error.clone(),
        }
    }
}
