//! The administrator's server connections and sync tasks. Every function proves the caller is an
//! administrator first (`access::require_admin`); the permission model will refine this later.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

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
}

/// The answer to a change an administrator asked for: done, or why not, in words for a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub ok: bool,
    pub message: String,
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

#[server(endpoint = "admin/connections")]
pub async fn admin_connections() -> Result<Vec<AdminConnection>, ServerFnError> {
    let (ctx, _) = super::access::require_admin().await?;
    let list = ctx
        .sync
        .store()
        .list_connections()
        .await
        .map_err(ssr::failed)?;
    Ok(list.iter().map(ssr::connection_view).collect())
}

#[allow(clippy::too_many_arguments)]
#[server(endpoint = "admin/create_connection")]
pub async fn create_connection(
    name: String,
    kind: String,
    url: String,
    username: String,
    tenant_id: String,
    client_id: String,
    secret: String,
) -> Result<Outcome, ServerFnError> {
    use syncer::{ConnectionSettings, NewConnection};
    let (ctx, session) = super::access::require_admin().await?;
    let name = name.trim().to_owned();
    let problem = |message: &str| {
        Ok(Outcome {
            ok: false,
            message: message.to_owned(),
        })
    };
    if name.is_empty() {
        return problem("Give the connection a name.");
    }
    if secret.is_empty() {
        return problem("Enter the password or client secret.");
    }
    let settings = match kind.as_str() {
        "ews" => {
            let url = url.trim();
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return problem("The EWS URL starts with https://, e.g. https://mail.example.com/EWS/Exchange.asmx.");
            }
            if username.trim().is_empty() {
                return problem(
                    "Enter the service account that has the ApplicationImpersonation role.",
                );
            }
            ConnectionSettings::Ews {
                url: url.to_owned(),
                username: username.trim().to_owned(),
            }
        }
        "graph" => {
            if tenant_id.trim().is_empty() || client_id.trim().is_empty() {
                return problem("Enter the tenant id and the application (client) id.");
            }
            ConnectionSettings::Graph {
                tenant_id: tenant_id.trim().to_owned(),
                client_id: client_id.trim().to_owned(),
                graph_endpoint: None,
                token_endpoint: None,
            }
        }
        _ => return problem("Choose Exchange on-premises (EWS) or Exchange Online (Graph)."),
    };
    let created = ctx
        .sync
        .store()
        .create_connection(&NewConnection {
            name: name.clone(),
            settings,
            secret,
        })
        .await;
    match created {
        Ok(_) => {
            tracing::info!(admin = %session.user.username, connection = %name, "connection created");
            Ok(Outcome {
                ok: true,
                message: format!("Connection “{name}” added. Test it before creating a sync task."),
            })
        }
        Err(e) => Ok(Outcome {
            ok: false,
            message: e.to_string(),
        }),
    }
}

#[server(endpoint = "admin/delete_connection")]
pub async fn delete_connection(id: i64) -> Result<Outcome, ServerFnError> {
    let (ctx, session) = super::access::require_admin().await?;
    Ok(match ctx.sync.store().delete_connection(id).await {
        Ok(()) => {
            tracing::info!(admin = %session.user.username, id, "connection deleted");
            Outcome {
                ok: true,
                message: "Connection deleted.".to_owned(),
            }
        }
        Err(e) => Outcome {
            ok: false,
            message: e.to_string(),
        },
    })
}

#[server(endpoint = "admin/test_connection")]
pub async fn test_connection(
    id: i64,
    mailbox: Option<String>,
) -> Result<ConnectionTestView, ServerFnError> {
    let (ctx, _) = super::access::require_admin().await?;
    let probe = mailbox.filter(|m| !m.trim().is_empty());
    let report = ctx
        .sync
        .store()
        .test_connection(id, probe.as_deref())
        .await
        .map_err(ssr::failed)?;
    Ok(ConnectionTestView {
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
    })
}

#[server(endpoint = "admin/tasks")]
pub async fn admin_tasks() -> Result<Vec<AdminTask>, ServerFnError> {
    let (ctx, _) = super::access::require_admin().await?;
    let tasks = ctx.sync.store().list_tasks().await.map_err(ssr::failed)?;
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        let mailboxes = ctx
            .sync
            .store()
            .task_mailboxes(task.id)
            .await
            .map_err(ssr::failed)?;
        out.push(AdminTask {
            id: task.id,
            name: task.name,
            connection_name: task.connection_name,
            mail: task.what.mail,
            calendar: task.what.calendar,
            contacts: task.what.contacts,
            runs_per_day: task.runs_per_day,
            enabled: task.enabled,
            mailboxes: mailboxes.iter().map(ssr::mailbox_view).collect(),
        });
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
#[server(endpoint = "admin/create_task")]
pub async fn create_task(
    name: String,
    connection: i64,
    mailboxes: String,
    mail: Option<String>,
    calendar: Option<String>,
    contacts: Option<String>,
    runs_per_day: u32,
) -> Result<Outcome, ServerFnError> {
    use syncer::{NewTask, SyncWhat};
    let (ctx, session) = super::access::require_admin().await?;
    let name = name.trim().to_owned();
    let addresses = ssr::addresses(&mailboxes);
    let problem = |message: String| Ok(Outcome { ok: false, message });
    if name.is_empty() {
        return problem("Give the task a name.".to_owned());
    }
    if !(1..=48).contains(&runs_per_day) {
        return problem("Runs per day go from 1 to 48.".to_owned());
    }
    if let Some(bad) = addresses.iter().find(|a| !ssr::looks_like_address(a)) {
        return problem(format!("“{bad}” is not a mail address."));
    }
    let what = SyncWhat {
        mail: mail.is_some(),
        calendar: calendar.is_some(),
        contacts: contacts.is_some(),
    };
    if !(what.mail || what.calendar || what.contacts) {
        return problem("Choose at least one of mail, calendar and contacts.".to_owned());
    }
    let task = match ctx
        .sync
        .store()
        .create_task(&NewTask {
            name: name.clone(),
            connection_id: connection,
            what,
            runs_per_day,
            enabled: true,
        })
        .await
    {
        Ok(task) => task,
        Err(e) => return problem(e.to_string()),
    };
    ctx.sync
        .store()
        .add_mailboxes(task.id, &addresses)
        .await
        .map_err(ssr::failed)?;
    tracing::info!(admin = %session.user.username, task = %name, mailboxes = addresses.len(), "sync task created");
    Ok(Outcome {
        ok: true,
        message: format!(
            "Task “{name}” created with {} mailbox{}. Each syncs {runs_per_day} times a day at its own time; use “Sync now” to start at once.",
            addresses.len(),
            if addresses.len() == 1 { "" } else { "es" }
        ),
    })
}

#[server(endpoint = "admin/add_task_mailboxes")]
pub async fn add_task_mailboxes(task: i64, mailboxes: String) -> Result<Outcome, ServerFnError> {
    let (ctx, _) = super::access::require_admin().await?;
    let addresses = ssr::addresses(&mailboxes);
    if let Some(bad) = addresses.iter().find(|a| !ssr::looks_like_address(a)) {
        return Ok(Outcome {
            ok: false,
            message: format!("“{bad}” is not a mail address."),
        });
    }
    let added = ctx
        .sync
        .store()
        .add_mailboxes(task, &addresses)
        .await
        .map_err(ssr::failed)?;
    Ok(Outcome {
        ok: true,
        message: format!("{added} mailbox(es) added."),
    })
}

#[server(endpoint = "admin/remove_task_mailbox")]
pub async fn remove_task_mailbox(task: i64, address: String) -> Result<Outcome, ServerFnError> {
    let (ctx, _) = super::access::require_admin().await?;
    ctx.sync
        .store()
        .remove_mailbox(task, &address)
        .await
        .map_err(ssr::failed)?;
    Ok(Outcome {
        ok: true,
        message: format!("{address} removed from the task; its archive stays."),
    })
}

#[server(endpoint = "admin/delete_task")]
pub async fn delete_task(task: i64) -> Result<Outcome, ServerFnError> {
    let (ctx, _) = super::access::require_admin().await?;
    ctx.sync
        .store()
        .delete_task(task)
        .await
        .map_err(ssr::failed)?;
    Ok(Outcome {
        ok: true,
        message: "Task deleted; archived mail stays.".to_owned(),
    })
}

/// Starts a run now: one mailbox, or every mailbox of the task when none is named.
#[server(endpoint = "admin/sync_now")]
pub async fn sync_now(task: i64, address: Option<String>) -> Result<Outcome, ServerFnError> {
    let (ctx, session) = super::access::require_admin().await?;
    let message = match address.filter(|a| !a.is_empty()) {
        Some(address) => {
            ctx.sync
                .run_mailbox_now(task, &address)
                .await
                .map_err(ssr::failed)?;
            format!("{address} will sync within seconds.")
        }
        None => {
            let count = ctx.sync.run_task_now(task).await.map_err(ssr::failed)?;
            format!("{count} mailbox(es) will sync within seconds.")
        }
    };
    tracing::info!(admin = %session.user.username, task, "sync requested");
    Ok(Outcome { ok: true, message })
}

#[server(endpoint = "admin/history")]
pub async fn mailbox_history(task: i64, address: String) -> Result<Vec<RunView>, ServerFnError> {
    let (ctx, _) = super::access::require_admin().await?;
    let runs = ctx
        .sync
        .store()
        .history(task, &address, 50)
        .await
        .map_err(ssr::failed)?;
    Ok(runs.iter().map(ssr::run_view).collect())
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use leptos::prelude::ServerFnError;
    use syncer::{ConnectionSettings, ConnectionView, RunCounts, RunRecord, TaskMailboxView};

    use super::{AdminConnection, AdminMailbox, RunView};
    use crate::api::mail::ssr::full_date;

    pub fn failed(error: syncer::SyncerError) -> ServerFnError {
        tracing::error!(error = %error, "admin operation failed");
        ServerFnError::new(error.to_string())
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
            last_run: m.last_finished_at.map(|t| full_date(t.unix_seconds())),
            next_run: m.next_run_at.map(|t| full_date(t.unix_seconds())),
            last_counts: m.last_counts.as_ref().map(counts),
            running: m.running,
        }
    }

    pub fn run_view(r: &RunRecord) -> RunView {
        let millis = (r.finished_at.0 - r.started_at.0).max(0) / 1000;
        RunView {
            started: full_date(r.started_at.unix_seconds()),
            duration: if millis < 1000 {
                format!("{millis} ms")
            } else {
                format!("{:.1} s", millis as f64 / 1000.0)
            },
            status: r.status.as_str().to_owned(),
            counts: counts(&r.counts),
            requests: r.requests,
            throttled: r.throttled,
            error: r.error.clone(),
        }
    }

    /// Addresses from a text box: one per line, or separated by commas or spaces.
    pub fn addresses(text: &str) -> Vec<String> {
        let mut list: Vec<String> = text
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .map(|a| a.trim().to_lowercase())
            .filter(|a| !a.is_empty())
            .collect();
        list.sort();
        list.dedup();
        list
    }

    pub fn looks_like_address(a: &str) -> bool {
        a.split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
    }
}
