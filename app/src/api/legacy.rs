//! The legacy migration screen: agents of the older Synchronization Engine with their tokens,
//! the users they submit for, and the one-way migration of users to direct sync. Everything
//! needs the `legacy_import` permission.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::admin::Outcome;
use super::error::ApiError;

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
}

/// A new agent: its token is shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAgentView {
    pub name: String,
    pub token: String,
}

#[server(endpoint = "legacy/overview")]
pub async fn legacy_overview() -> Result<LegacyScreen, ApiError> {
    let caller = super::access::caller().await?;
    let desk = caller.legacy()?;
    let agents = desk.agents().await?;
    let users = desk.mailboxes().await?;
    Ok(LegacyScreen {
        agents: agents.iter().map(ssr::agent_view).collect(),
        users: users.iter().map(ssr::user_view).collect(),
        endpoint: SUBMISSION_PATH.to_owned(),
    })
}

#[server(endpoint = "legacy/create_agent")]
pub async fn create_agent(name: String) -> Result<NewAgentView, ApiError> {
    let caller = super::access::caller().await?;
    let made = caller.legacy()?.create_agent(&name).await?;
    Ok(NewAgentView {
        name: made.agent.name,
        token: made.token,
    })
}

#[server(endpoint = "legacy/revoke_agent")]
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
#[server(endpoint = "legacy/migrate")]
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

/// There is no way back; this answers why.
#[server(endpoint = "legacy/roll_back")]
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
    use legacy::{Agent, LegacyMailbox};

    use super::{AgentView, LegacyUserView};
    use crate::format::full_date;

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
            ignored: ignored_note(m),
        }
    }

    /// What the user's sync status says of submissions that came after the migration.
    pub fn ignored_note(m: &LegacyMailbox) -> Option<String> {
        (m.ignored > 0).then(|| {
            format!(
                "Ignored legacy submissions: {}, last at {}",
                m.ignored,
                m.last_ignored_at.map(full_date).unwrap_or_default()
            )
        })
    }
}
