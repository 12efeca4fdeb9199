//! Who may see what. Every server function and download handler that touches archived content
//! goes through here; a refusal looks the same whether the thing exists or not, so nobody can probe
//! for other people's mailboxes.

use accounts::Session;
use archive::{FolderNode, ItemDetail, Mailbox, MailboxId};
use leptos::prelude::*;

use super::context::{current_session, AppContext};

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("Sign in to see your archive.")]
    SignedOut,
    #[error("This needs an administrator.")]
    Forbidden,
    /// Also what an existing item of someone else's looks like.
    #[error("Not found.")]
    NotFound,
    #[error("The archive is unavailable right now. Try again shortly.")]
    Unavailable,
}

impl AccessError {
    pub fn status(&self) -> http::StatusCode {
        match self {
            AccessError::SignedOut => http::StatusCode::UNAUTHORIZED,
            AccessError::Forbidden => http::StatusCode::FORBIDDEN,
            AccessError::NotFound => http::StatusCode::NOT_FOUND,
            AccessError::Unavailable => http::StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

fn unavailable(error: impl std::fmt::Display) -> AccessError {
    tracing::error!(error = %error, "archive access failed");
    AccessError::Unavailable
}

/// The mailboxes this session may read: those of the addresses its user owns.
pub async fn visible_mailboxes(
    ctx: &AppContext,
    session: &Session,
) -> Result<Vec<Mailbox>, AccessError> {
    let addresses = ctx
        .accounts
        .addresses(session.user.id)
        .await
        .map_err(unavailable)?;
    let mut mailboxes = Vec::new();
    for address in addresses {
        mailboxes.extend(
            ctx.archive
                .mailboxes_by_owner(&address)
                .await
                .map_err(unavailable)?,
        );
    }
    mailboxes.sort_by(|a, b| a.display_name.cmp(&b.display_name).then(a.id.cmp(&b.id)));
    mailboxes.dedup_by_key(|m| m.id);
    Ok(mailboxes)
}

pub async fn mailbox(
    ctx: &AppContext,
    session: &Session,
    mailbox_id: MailboxId,
) -> Result<Mailbox, AccessError> {
    visible_mailboxes(ctx, session)
        .await?
        .into_iter()
        .find(|m| m.id == mailbox_id)
        .ok_or(AccessError::NotFound)
}

/// A folder of a mailbox the session may read, with the mailbox's whole current tree.
pub async fn folder(
    ctx: &AppContext,
    session: &Session,
    mailbox_id: MailboxId,
    folder_id: i64,
) -> Result<(FolderNode, Vec<FolderNode>), AccessError> {
    mailbox(ctx, session, mailbox_id).await?;
    let tree = ctx
        .archive
        .folder_tree(mailbox_id, None)
        .await
        .map_err(unavailable)?;
    let folder = tree
        .iter()
        .find(|f| f.id == folder_id)
        .cloned()
        .ok_or(AccessError::NotFound)?;
    Ok((folder, tree))
}

/// An item the session may read.
pub async fn item(
    ctx: &AppContext,
    session: &Session,
    item_id: i64,
) -> Result<ItemDetail, AccessError> {
    let item = ctx
        .archive
        .item(item_id)
        .await
        .map_err(unavailable)?
        .ok_or(AccessError::NotFound)?;
    // End users see mail only: calendar items and contacts are for administrators.
    if item.kind != archive::ItemKind::Message {
        return Err(AccessError::NotFound);
    }
    mailbox(ctx, session, item.mailbox_id).await?;
    Ok(item)
}

/// The signed-in session for a server function, or the refusal as a server function error (with
/// the HTTP status set to match).
pub async fn require_session() -> Result<Session, ServerFnError> {
    match current_session().await? {
        Some(session) => Ok(session),
        None => Err(refuse(AccessError::SignedOut)),
    }
}

/// The server context and session of an administrator, or the refusal. Every admin server
/// function starts with this.
pub async fn require_admin() -> Result<(AppContext, Session), ServerFnError> {
    let session = require_session().await?;
    if !session.user.is_admin {
        tracing::warn!(user = %session.user.username, "refused an admin call");
        return Err(refuse(AccessError::Forbidden));
    }
    Ok((super::context::app_context()?, session))
}

/// Turns a refusal into a server function error carrying the right status.
pub fn refuse(error: AccessError) -> ServerFnError {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(error.status());
    }
    ServerFnError::new(error.to_string())
}
