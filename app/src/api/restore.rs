//! Restoring a mailbox, folder, snapshot or selection through a sync connection: the form's
//! choices (what it takes, which mailboxes it can go to, what the connection may write there),
//! then a dry run, then, once the dry run has finished, the restore itself. Everything needs the
//! `restore` permission, and both the source and the target mailbox must be in its scope.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::jobs::ItemSourceView;

/// A mailbox the restore can write into.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreTargetView {
    /// `connection:address`, the value of the choice in the form.
    pub value: String,
    pub address: String,
    pub connection: String,
    /// `EWS` or `Graph`.
    pub protocol: String,
    /// The source mailbox's own address.
    pub is_source: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreFormView {
    pub choice: ItemSourceView,
    pub targets: Vec<RestoreTargetView>,
    /// "Recovered 2026-12-03 14:05", for a new folder.
    pub new_folder: String,
}

/// What the connection may write into a mailbox, checked before a restore can start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteAccessView {
    pub mail: bool,
    pub calendar: bool,
    pub contacts: bool,
    /// What is missing and where an administrator grants it.
    pub missing: Vec<String>,
}

#[cfg(feature = "ssr")]
fn target_value(connection: i64, address: &str) -> String {
    format!("{connection}:{address}")
}

#[cfg(feature = "ssr")]
fn parse_target(value: &str) -> Result<recovery::RestoreTarget, ApiError> {
    let invalid = || ApiError::Invalid {
        field: "target".into(),
        message: "Choose the mailbox to restore into.".into(),
    };
    let (connection, address) = value.split_once(':').ok_or_else(invalid)?;
    Ok(recovery::RestoreTarget {
        connection_id: connection.trim().parse().map_err(|_| invalid())?,
        address: address.trim().to_owned(),
    })
}

#[server(endpoint = "restore/form", output = super::codec::Json)]
pub async fn restore_form(
    #[server(default)] mailbox: Option<i64>,
    #[server(default)] folder: Option<i64>,
    #[server(default)] snapshot: Option<i64>,
    #[server(default)] selection: Option<i64>,
    #[server(default)] at: String,
) -> Result<RestoreFormView, ApiError> {
    let caller = super::access::caller().await?;
    let desk = caller.restores()?;
    let choice = super::jobs::ssr::choice(&desk, mailbox, folder, snapshot, selection, &at).await?;
    let source = access::ItemSources::mailbox(&desk, choice.mailbox_id).await?;
    let own = source.mailbox().owner_address.to_lowercase();
    let targets = desk
        .targets(&source)
        .await?
        .into_iter()
        .map(|t| RestoreTargetView {
            value: target_value(t.connection_id, &t.address),
            is_source: t.address.to_lowercase() == own,
            address: t.address,
            connection: t.connection_name,
            protocol: match t.protocol.as_str() {
                "ews" => "EWS".to_owned(),
                _ => "Graph".to_owned(),
            },
        })
        .collect();
    let now = chrono::Utc::now();
    Ok(RestoreFormView {
        choice,
        targets,
        new_folder: format!("Recovered {}", now.format("%Y-%m-%d %H:%M")),
    })
}

#[server(endpoint = "restore/access", output = super::codec::Json)]
pub async fn restore_access(target: String) -> Result<WriteAccessView, ApiError> {
    let caller = super::access::caller().await?;
    let access = caller
        .restores()?
        .write_access(&parse_target(&target)?)
        .await?;
    Ok(WriteAccessView {
        mail: access.mail,
        calendar: access.calendar,
        contacts: access.contacts,
        missing: access.missing,
    })
}

/// Starts a dry run; answers its job id. `placement` is `original` or `new` (then
/// `folder_name`). The restore itself starts from the finished dry run ([`confirm_restore`]).
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "restore/start", output = super::codec::Json)]
pub async fn start_restore(
    #[server(default)] mailbox: Option<i64>,
    #[server(default)] folder: Option<i64>,
    #[server(default)] snapshot: Option<i64>,
    #[server(default)] selection: Option<i64>,
    #[server(default)] at: String,
    target: String,
    placement: String,
    #[server(default)] folder_name: String,
    #[server(default)] mail: Option<String>,
    #[server(default)] calendar: Option<String>,
    #[server(default)] contacts: Option<String>,
) -> Result<i64, ApiError> {
    let caller = super::access::caller().await?;
    let desk = caller.restores()?;
    let choice = super::jobs::ssr::choice(&desk, mailbox, folder, snapshot, selection, &at).await?;
    let placement = match placement.as_str() {
        "original" => recovery::Placement::Original,
        "new" => recovery::Placement::NewFolder { name: folder_name },
        _ => {
            return Err(ApiError::Invalid {
                field: "placement".into(),
                message: "Choose the original folders or a new folder.".into(),
            })
        }
    };
    let kinds = super::jobs::ssr::kinds(&mail, &calendar, &contacts);
    let job = desk
        .start(&recovery::RestoreRequest {
            source: super::jobs::ssr::source(&choice)?,
            kinds,
            target: parse_target(&target)?,
            placement,
            dry_run: true,
            after_dry_run: None,
        })
        .await?;
    Ok(job.id)
}

/// Starts the restore that a finished dry run showed (the same request); answers its job id.
#[server(endpoint = "restore/confirm", output = super::codec::Json)]
pub async fn confirm_restore(dry_run: i64) -> Result<i64, ApiError> {
    let caller = super::access::caller().await?;
    Ok(caller.restores()?.confirm(dry_run).await?.id)
}
