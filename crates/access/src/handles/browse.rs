use archive::{FolderId, FolderNode, ItemKind, ItemPage, ListQuery, MailboxId};
use search::FoundItems;

use super::mail_ops::{MailQuery, ReadableItem, ReadableMailbox};
use crate::{AccessError, AuditAction, Caller, Permission, Scope};

/// Any mailbox's mail within the scope of the caller's `browse_mail` grant (with
/// `browse_calendars`, their calendar items and contacts too). Outside the scope a mailbox is
/// "not found". Every item opened and every search is in the audit log, and so in the owner's
/// access log.
pub struct MailBrowser<'a> {
    caller: &'a Caller,
    scope: Scope,
}

impl<'a> MailBrowser<'a> {
    pub(crate) fn new(caller: &'a Caller, scope: Scope) -> Self {
        MailBrowser { caller, scope }
    }

    fn archive(&self) -> &archive::Archive {
        &self.caller.access.inner.archive
    }

    /// Every archived mailbox in the scope, by display name.
    pub async fn mailboxes(&self) -> Result<Vec<ReadableMailbox>, AccessError> {
        let mut all = self.archive().list_mailboxes().await?;
        all.retain(|m| self.scope.covers(&m.owner_address));
        all.sort_by(|a, b| a.display_name.cmp(&b.display_name).then(a.id.cmp(&b.id)));
        Ok(all.into_iter().map(ReadableMailbox).collect())
    }

    pub async fn mailbox(&self, id: MailboxId) -> Result<ReadableMailbox, AccessError> {
        match self.archive().mailbox(id).await? {
            Some(m) if self.scope.covers(&m.owner_address) => Ok(ReadableMailbox(m)),
            _ => Err(AccessError::NotFound),
        }
    }

    pub async fn folder_tree(
        &self,
        mailbox: &ReadableMailbox,
    ) -> Result<Vec<FolderNode>, AccessError> {
        super::mail_ops::folder_tree(self.archive(), mailbox).await
    }

    pub async fn list_folder(
        &self,
        mailbox: &ReadableMailbox,
        folder: FolderId,
        query: &ListQuery,
    ) -> Result<ItemPage, AccessError> {
        super::mail_ops::list_folder(self.archive(), mailbox, folder, query).await
    }

    /// Opens an item of a mailbox in scope: a message, or a calendar item or contact with the
    /// `browse_calendars` permission as well. Logged as opened.
    pub async fn item(&self, id: i64) -> Result<ReadableItem, AccessError> {
        let detail = self
            .archive()
            .item(id)
            .await?
            .ok_or(AccessError::NotFound)?;
        if detail.kind != ItemKind::Message && !self.caller.holds(Permission::BrowseCalendars) {
            return Err(AccessError::NotFound);
        }
        let mailbox = self.mailbox(detail.mailbox_id).await?;
        self.caller
            .record(
                AuditAction::ItemOpened,
                Some((mailbox.id(), &mailbox.mailbox().owner_address)),
                format!("{} “{}”", detail.kind.as_str(), detail.subject),
            )
            .await?;
        Ok(ReadableItem::new(detail, self.archive().clone()))
    }

    /// Searches a mailbox in scope; the query text is in the audit log.
    pub async fn search(
        &self,
        mailbox: &ReadableMailbox,
        query: &MailQuery,
    ) -> Result<FoundItems, AccessError> {
        let found = super::mail_ops::search(&self.caller.access, mailbox, query).await?;
        self.caller
            .record(
                AuditAction::MailSearched,
                Some((mailbox.id(), &mailbox.mailbox().owner_address)),
                format!(
                    "“{}” ({} found; scope: {})",
                    query.query,
                    found.total,
                    self.scope.describe()
                ),
            )
            .await?;
        Ok(found)
    }
}
