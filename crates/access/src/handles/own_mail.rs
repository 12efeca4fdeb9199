use archive::{FolderId, FolderNode, ItemKind, ItemPage, ListQuery, MailboxId};
use search::FoundItems;

use super::mail_ops::{MailQuery, ReadableItem, ReadableMailbox};
use crate::{AccessError, AuditEntry, AuditFilter, Caller};

/// The caller's own archive: the mail of mailboxes owned by the addresses they own. Reading
/// one's own mail is not audited; calendars and contacts are for administrators.
pub struct OwnMail<'a> {
    caller: &'a Caller,
}

impl<'a> OwnMail<'a> {
    pub(crate) fn new(caller: &'a Caller) -> Self {
        OwnMail { caller }
    }

    fn archive(&self) -> &archive::Archive {
        &self.caller.access.inner.archive
    }

    /// Sorted by display name.
    pub async fn mailboxes(&self) -> Result<Vec<ReadableMailbox>, AccessError> {
        let addresses = self
            .caller
            .access
            .inner
            .accounts
            .addresses(self.caller.user().id)
            .await?;
        let mut mailboxes = Vec::new();
        for address in addresses {
            mailboxes.extend(self.archive().mailboxes_by_owner(&address).await?);
        }
        mailboxes.sort_by(|a, b| a.display_name.cmp(&b.display_name).then(a.id.cmp(&b.id)));
        mailboxes.dedup_by_key(|m| m.id);
        Ok(mailboxes.into_iter().map(ReadableMailbox).collect())
    }

    pub async fn mailbox(&self, id: MailboxId) -> Result<ReadableMailbox, AccessError> {
        self.mailboxes()
            .await?
            .into_iter()
            .find(|m| m.id() == id)
            .ok_or(AccessError::NotFound)
    }

    pub async fn folder_tree(
        &self,
        mailbox: &ReadableMailbox,
    ) -> Result<Vec<FolderNode>, AccessError> {
        super::mail_ops::folder_tree(self.archive(), mailbox, None).await
    }

    /// One page of a folder of the mailbox; a folder of another mailbox is "not found".
    pub async fn list_folder(
        &self,
        mailbox: &ReadableMailbox,
        folder: FolderId,
        query: &ListQuery,
    ) -> Result<ItemPage, AccessError> {
        super::mail_ops::list_folder(self.archive(), mailbox, folder, query).await
    }

    /// A message of one of the caller's mailboxes.
    pub async fn item(&self, id: i64) -> Result<ReadableItem, AccessError> {
        let detail = self
            .archive()
            .item(id)
            .await?
            .ok_or(AccessError::NotFound)?;
        if detail.kind != ItemKind::Message {
            return Err(AccessError::NotFound);
        }
        self.mailbox(detail.mailbox_id).await?;
        Ok(ReadableItem::new(detail, self.archive().clone()))
    }

    /// Searches some of the caller's mailboxes at once; each one was proven the caller's when
    /// its [`ReadableMailbox`] was made.
    pub async fn search(
        &self,
        mailboxes: &[ReadableMailbox],
        query: &MailQuery,
    ) -> Result<FoundItems, AccessError> {
        super::mail_ops::search(&self.caller.access, mailboxes, query).await
    }

    /// Who else opened, downloaded or searched the caller's mail, newest first.
    pub async fn access_log(&self, limit: u32) -> Result<Vec<AuditEntry>, AccessError> {
        let addresses = self
            .caller
            .access
            .inner
            .accounts
            .addresses(self.caller.user().id)
            .await?;
        let mut entries = Vec::new();
        for address in addresses {
            let filter = AuditFilter {
                target_owner: Some(address),
                content_access_only: true,
                ..AuditFilter::default()
            };
            entries.extend(
                self.caller
                    .access
                    .inner
                    .audit
                    .list(&filter, limit)
                    .await?
                    .into_iter()
                    .filter(|e| e.actor_user_id != Some(self.caller.user().id)),
            );
        }
        entries.sort_by_key(|e| std::cmp::Reverse(e.seq));
        entries.truncate(limit as usize);
        Ok(entries)
    }
}
