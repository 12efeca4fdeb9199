//! Every rule a connection or a sync task must satisfy, checked once, here. Each refusal names
//! the form field it concerns and says in a sentence what would be accepted; the portal shows it
//! as it is.

use domain::MailAddress;
use mailsync::ConnectionSettings;

use crate::error::{Result, SyncerError};
use crate::types::SyncWhat;

/// At most every 30 minutes: a mailbox's changes are fetched incrementally, and more often
/// would mostly spend the Exchange throttling budget that the other mailboxes of the task need.
pub const MAX_RUNS_PER_DAY: u32 = 48;

pub(crate) fn required(field: &'static str, value: &str, message: &str) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(SyncerError::invalid(field, message));
    }
    Ok(value.to_owned())
}

pub(crate) fn connection_name(name: &str) -> Result<String> {
    required("name", name, "Give the connection a name.")
}

pub(crate) fn secret(secret: &str) -> Result<String> {
    // A secret is kept exactly as typed: leading or trailing spaces may be part of it.
    if secret.trim().is_empty() {
        return Err(SyncerError::invalid(
            "secret",
            "Enter the password or client secret.",
        ));
    }
    Ok(secret.to_owned())
}

fn http_url(field: &'static str, value: &str, example: &str) -> Result<String> {
    let value = value.trim();
    match reqwest::Url::parse(value) {
        Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.host_str().is_some() => {
            Ok(value.to_owned())
        }
        _ => Err(SyncerError::invalid(
            field,
            format!("The address starts with https://, for example {example}."),
        )),
    }
}

pub(crate) fn settings(s: &ConnectionSettings) -> Result<ConnectionSettings> {
    Ok(match s {
        ConnectionSettings::Ews { url, username } => ConnectionSettings::Ews {
            url: http_url("url", url, "https://mail.example.com/EWS/Exchange.asmx")?,
            username: required(
                "username",
                username,
                "Enter the service account that has the ApplicationImpersonation role.",
            )?,
        },
        ConnectionSettings::Graph {
            tenant_id,
            client_id,
            graph_endpoint,
            token_endpoint,
        } => ConnectionSettings::Graph {
            tenant_id: required(
                "tenant_id",
                tenant_id,
                "Enter the directory (tenant) id of the Entra application.",
            )?,
            client_id: required(
                "client_id",
                client_id,
                "Enter the application (client) id of the Entra application.",
            )?,
            graph_endpoint: graph_endpoint
                .as_deref()
                .filter(|u| !u.trim().is_empty())
                .map(|u| {
                    http_url("graph_endpoint", u, "https://graph.microsoft.com")
                        .map(|u| u.trim_end_matches('/').to_owned())
                })
                .transpose()?,
            token_endpoint: token_endpoint
                .as_deref()
                .filter(|u| !u.trim().is_empty())
                .map(|u| http_url("token_endpoint", u, "https://login.microsoftonline.com"))
                .transpose()?,
        },
    })
}

pub(crate) fn task_name(name: &str) -> Result<String> {
    required("name", name, "Give the task a name.")
}

pub(crate) fn runs_per_day(n: u32) -> Result<i64> {
    if !(1..=MAX_RUNS_PER_DAY).contains(&n) {
        return Err(SyncerError::invalid(
            "runs_per_day",
            format!("Runs per day go from 1 to {MAX_RUNS_PER_DAY}."),
        ));
    }
    Ok(i64::from(n))
}

pub(crate) fn what(what: SyncWhat) -> Result<SyncWhat> {
    if !(what.mail || what.calendar || what.contacts) {
        return Err(SyncerError::invalid(
            "what",
            "Choose at least one of mail, calendar and contacts.",
        ));
    }
    Ok(what)
}

/// The mailboxes of a task, each once, in the one case folding of addresses.
pub(crate) fn mailboxes(addresses: &[String]) -> Result<Vec<MailAddress>> {
    MailAddress::parse_all(addresses)
        .map_err(|e| SyncerError::invalid("mailboxes", format!("{e}.")))
}
