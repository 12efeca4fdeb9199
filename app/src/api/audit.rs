//! The audit log for those who may read it (permission `audit_log`), and each user's own access
//! log: when someone else opened, downloaded or searched their mail.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::error::ApiError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub seq: i64,
    pub when: String,
    pub actor: String,
    pub role: String,
    pub client: String,
    pub action: String,
    pub mailbox: String,
    pub detail: String,
    pub outcome: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub rows: Vec<AuditRow>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<i64>,
    /// The action names to filter on.
    pub actions: Vec<String>,
}

/// Entries per page on the audit screen.
pub const AUDIT_PAGE: u32 = 100;

/// `from` and `until`: days as `YYYY-MM-DD` (UTC), both included; empty for no bound.
#[server(endpoint = "admin/audit", output = super::codec::Json)]
pub async fn audit_entries(
    actor: String,
    action: String,
    mailbox: String,
    from: String,
    until: String,
    before: Option<i64>,
) -> Result<AuditPage, ApiError> {
    let caller = super::access::caller().await?;
    let filter = ssr::filter(&actor, &action, &mailbox, &from, &until, before)?;
    let entries = caller.audit()?.list(&filter, AUDIT_PAGE + 1).await?;
    Ok(ssr::page(entries))
}

/// Recomputes the chain: "intact" with the count, or the first entry that does not fit.
#[server(endpoint = "admin/audit_verify", output = super::codec::Json)]
pub async fn verify_audit() -> Result<String, ApiError> {
    let caller = super::access::caller().await?;
    let report = caller.audit()?.verify().await?;
    Ok(match report.broken {
        None => format!(
            "The chain of {} entries is intact: none was changed, removed or inserted.",
            report.entries
        ),
        Some((seq, why)) => format!("Broken at entry {seq}: {why}."),
    })
}

/// The signed-in user's own access log.
#[server(endpoint = "mail/access_log", output = super::codec::Json)]
pub async fn my_access_log() -> Result<Vec<AuditRow>, ApiError> {
    let caller = super::access::caller().await?;
    let entries = caller.own_mail().access_log(200).await?;
    Ok(entries.iter().map(ssr::row).collect())
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use access::{AuditAction, AuditEntry, AuditFilter};

    use super::{AuditPage, AuditRow, AUDIT_PAGE};
    use crate::api::error::ApiError;
    use crate::format::precise_date;

    /// The start of a `YYYY-MM-DD` day (UTC), or of the day after it for an upper bound.
    fn day(field: &str, text: &str, next: bool) -> Result<Option<domain::Timestamp>, ApiError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(text, format)
            .map_err(|_| ApiError::invalid(field, "Give the day as YYYY-MM-DD."))?;
        let date = if next {
            date.next_day().unwrap_or(date)
        } else {
            date
        };
        let seconds = date.midnight().assume_utc().unix_timestamp();
        Ok(Some(domain::Timestamp::from_unix_seconds(seconds)))
    }

    pub fn filter(
        actor: &str,
        action: &str,
        mailbox: &str,
        from: &str,
        until: &str,
        before: Option<i64>,
    ) -> Result<AuditFilter, ApiError> {
        let action =
            match action.trim() {
                "" => None,
                name => Some(AuditAction::parse(name).ok_or_else(|| {
                    ApiError::invalid("action", "Choose an action from the list.")
                })?),
            };
        Ok(AuditFilter {
            actor: Some(actor.trim().to_owned()).filter(|a| !a.is_empty()),
            action,
            target_owner: Some(mailbox.trim().to_owned()).filter(|m| !m.is_empty()),
            from: day("from", from, false)?,
            until: day("until", until, true)?,
            before_seq: before,
            ..AuditFilter::default()
        })
    }

    /// "item opened" from `item_opened`.
    pub fn action_words(action: &str) -> String {
        action.replace('_', " ")
    }

    pub fn row(e: &AuditEntry) -> AuditRow {
        AuditRow {
            seq: e.seq,
            when: precise_date(e.at),
            actor: e.actor.clone(),
            role: e.actor_role.clone(),
            client: e.client_address.clone(),
            action: action_words(&e.action),
            mailbox: e.target_owner.clone(),
            detail: e.detail.clone(),
            outcome: e.outcome.clone(),
        }
    }

    pub fn page(mut entries: Vec<AuditEntry>) -> AuditPage {
        let more = entries.len() > AUDIT_PAGE as usize;
        entries.truncate(AUDIT_PAGE as usize);
        AuditPage {
            next_before: if more {
                entries.last().map(|e| e.seq)
            } else {
                None
            },
            rows: entries.iter().map(row).collect(),
            actions: AuditAction::ALL
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
        }
    }
}
