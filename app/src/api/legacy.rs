//! The legacy migration screen: agents of the older Synchronization Engine with their tokens,
//! the users they submit for, and the one-way migration of users to direct sync. Everything
//! needs the `legacy_import` permission.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::admin::Outcome;
use super::error::ApiError;
pub use super::jobs::JobLineView;

/// Where agents submit, as the screen tells the administrator.
pub const SUBMISSION_PATH: &str = "/legacy/v1/submissions";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentView {
    pub id: i64,
    pub name: String,
    /// "…x9Qa": the end of its token.
    pub token_hint: String,
    pub created: String,
    pub last_used: String,
    pub submissions: i64,
    pub revoked: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyUserView {
    pub address: String,
    pub submissions: i64,
    pub last_submission: String,
    /// "Migrated 7 Dec 2026 03:40 by root", or None while the legacy engine serves the user.
    pub migrated: Option<String>,
    /// "Ignored legacy submissions: 3, last at …", once any came after the migration.
    pub ignored: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyScreen {
    pub agents: Vec<AgentView>,
    pub users: Vec<LegacyUserView>,
    pub endpoint: String,
    /// Files waiting in the server's import folder.
    pub files: Vec<ImportFileView>,
    pub imports: Vec<JobLineView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportFileView {
    pub name: String,
    /// "14.0 MB", or "folder".
    pub size: String,
    /// What it is read as: "PST", "mbox", "Maildir or EML folder".
    pub format: String,
}

/// A new agent: its token is shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAgentView {
    pub name: String,
    pub token: String,
}

#[server(endpoint = "legacy/overview", output = super::codec::Json)]
pub async fn legacy_overview() -> Result<LegacyScreen, ApiError> {
    let caller = super::access::caller().await?;
    let desk = caller.legacy()?;
    let agents = desk.agents().await?;
    let users = desk.mailboxes().await?;
    let files = desk.import_files().await?;
    let imports = desk.imports(20).await?;
    Ok(LegacyScreen {
        agents: agents.iter().map(ssr::agent_view).collect(),
        users: users.iter().map(ssr::user_view).collect(),
        endpoint: SUBMISSION_PATH.to_owned(),
        files: files.iter().map(ssr::file_view).collect(),
        imports: imports.iter().map(ssr::import_view).collect(),
    })
}

#[server(endpoint = "legacy/create_agent", output = super::codec::Json)]
pub async fn create_agent(name: String) -> Result<NewAgentView, ApiError> {
    let caller = super::access::caller().await?;
    let made = caller.legacy()?.create_agent(&name).await?;
    Ok(NewAgentView {
        name: made.agent.name,
        token: made.token,
    })
}

#[server(endpoint = "legacy/revoke_agent", output = super::codec::Json)]
pub async fn revoke_agent(id: i64) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    let agent = caller.legacy()?.revoke_agent(id).await?;
    Ok(Outcome::said(format!(
        "Agent “{}” revoked: its token opens nothing any more.",
        agent.name
    )))
}

/// Migrates the users named (one address per line, or separated by commas). `confirm`: the
/// checkbox saying the person read that there is no way back.
#[server(endpoint = "legacy/migrate", output = super::codec::Json)]
pub async fn migrate_users(
    addresses: String,
    confirm: Option<String>,
) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    let all = domain::MailAddress::split_list(&addresses);
    let done = caller.legacy()?.migrate(&all, confirm.is_some()).await?;
    let new: Vec<&str> = done
        .iter()
        .filter(|m| !m.already)
        .map(|m| m.address.as_str())
        .collect();
    let already = (done.len() - new.len()) as u64;
    let mut said = if new.is_empty() {
        "Nobody new was migrated.".to_owned()
    } else {
        format!(
            "Migrated to direct sync: {}. The next sync of each pulls every folder and message.",
            new.join(", ")
        )
    };
    if already > 0 {
        said.push_str(&format!(
            " {} migrated before.",
            domain::counted(already, "user was", "users were")
        ));
    }
    Ok(Outcome::said(said))
}

/// Imports a file of the import folder into a mailbox, as a background job.
#[server(endpoint = "legacy/start_import", output = super::codec::Json)]
pub async fn start_import(
    file: String,
    mailbox: String,
    owner: String,
) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    let job = caller
        .legacy()?
        .start_import(&recovery::ImportRequest {
            file,
            mailbox,
            owner,
        })
        .await?;
    Ok(Outcome::said(format!(
        "Import job {} started: {}. Its progress shows below.",
        job.id, job.label
    )))
}

/// There is no way back; this answers why.
#[server(endpoint = "legacy/roll_back", output = super::codec::Json)]
pub async fn roll_back(address: String) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    caller.legacy()?.roll_back(&address)?;
    Err(ApiError::invalid(
        "legacy",
        "A migration cannot be rolled back.",
    ))
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use jobs::{Job, JobState};
    use legacy::{Agent, LegacyMailbox};
    use recovery::{ImportFile, ImportReport};

    use super::{AgentView, ImportFileView, JobLineView, LegacyUserView};
    use crate::api::jobs::ssr::job_line;
    use crate::format::{full_date, human_size};

    pub fn file_view(f: &ImportFile) -> ImportFileView {
        let lower = f.name.to_ascii_lowercase();
        ImportFileView {
            name: f.name.clone(),
            size: if f.is_folder {
                "folder".to_owned()
            } else {
                human_size(i64::try_from(f.size).unwrap_or(i64::MAX))
            },
            format: if f.is_folder {
                "Maildir or EML folder"
            } else if lower.ends_with(".pst") || lower.ends_with(".ost") {
                "PST"
            } else {
                "mbox"
            }
            .to_owned(),
        }
    }

    pub fn import_view(job: &Job) -> JobLineView {
        let result = match job.state {
            JobState::Done => ImportReport::of(job)
                .map(|r| r.describe())
                .unwrap_or_default(),
            JobState::Failed => job.error.clone().unwrap_or_default(),
            JobState::Cancelled => "Cancelled; what was imported until then stays.".into(),
            JobState::Queued => "Waiting for a worker.".into(),
            JobState::Running => "Importing…".into(),
        };
        let percent = if job.state == JobState::Done {
            100
        } else if job.total > 0 {
            (job.bytes.saturating_mul(100) / job.total).clamp(0, 100)
        } else {
            0
        };
        job_line(job, Some(percent), result)
    }

    pub fn agent_view(a: &Agent) -> AgentView {
        AgentView {
            id: a.id,
            name: a.name.clone(),
            token_hint: format!("…{}", a.token_hint),
            created: format!("{} by {}", full_date(a.created_at), a.created_by),
            last_used: a
                .last_used_at
                .map(full_date)
                .unwrap_or_else(|| "never".to_owned()),
            submissions: a.submissions,
            revoked: a.revoked_at.map(full_date),
        }
    }

    pub fn user_view(m: &LegacyMailbox) -> LegacyUserView {
        LegacyUserView {
            address: m.address.clone(),
            submissions: m.submissions,
            last_submission: m
                .last_submission_at
                .map(full_date)
                .unwrap_or_else(|| "none".to_owned()),
            migrated: m.migrated_at.map(|at| {
                format!(
                    "Migrated {} by {}",
                    full_date(at),
                    m.migrated_by.clone().unwrap_or_default()
                )
            }),
            ignored: crate::api::admin::ssr::ignored_note(m),
        }
    }
}
