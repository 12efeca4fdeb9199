//! Who may see what. Every server function and download handler that touches archived content
//! goes through here; a refusal looks the same whether the thing exists or not, so nobody can probe
//! for other people's mailboxes.

use accounts::Session;
use archive::{FolderNode, ItemDetail, Mailbox, MailboxId};

use super::context::{app_context, current_session, AppContext};
use super::error::{unavailable, ApiError};

/// A signed-in person with the server context: the proof an end-user server function starts
/// from. Only [`signed_in`] makes one.
pub struct Caller {
    pub ctx: AppContext,
    pub session: Session,
}

/// A signed-in administrator: only [`admin`] makes one, so code that holds it has been checked.
pub struct Admin {
    pub ctx: AppContext,
    pub session: Session,
}

pub async fn signed_in() -> Result<Caller, ApiError> {
    let ctx = app_context()?;
    let session = current_session().await?.ok_or(ApiError::SignedOut)?;
    Ok(Caller { ctx, session })
}

pub async fn admin() -> Result<Admin, ApiError> {
    let Caller { ctx, session } = signed_in().await?;
    if !session.user.is_admin {
        tracing::warn!(user = %session.user.username, "refused an admin call");
        return Err(ApiError::Forbidden);
    }
    Ok(Admin { ctx, session })
}

/// The mailboxes this session may read: those of the addresses its user owns.
pub async fn visible_mailboxes(
    ctx: &AppContext,
    session: &Session,
) -> Result<Vec<Mailbox>, ApiError> {
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
) -> Result<Mailbox, ApiError> {
    visible_mailboxes(ctx, session)
        .await?
        .into_iter()
        .find(|m| m.id == mailbox_id)
        .ok_or(ApiError::NotFound)
}

/// A folder of a mailbox the session may read, with the mailbox's whole current tree.
pub async fn folder(
    ctx: &AppContext,
    session: &Session,
    mailbox_id: MailboxId,
    folder_id: i64,
) -> Result<(FolderNode, Vec<FolderNode>), ApiError> {
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
        .ok_or(ApiError::NotFound)?;
    Ok((folder, tree))
}

/// An item the session may read.
pub async fn item(
    ctx: &AppContext,
    session: &Session,
    item_id: i64,
) -> Result<ItemDetail, ApiError> {
    let item = ctx
        .archive
        .item(item_id)
        .await
        .map_err(unavailable)?
        .ok_or(ApiError::NotFound)?;
    // End users see mail only: calendar items and contacts are for administrators.
    if item.kind != archive::ItemKind::Message {
        return Err(ApiError::NotFound);
    }
    mailbox(ctx, session, item.mailbox_id).await?;
    Ok(item)
}
