use archive::{
    FolderId, FolderNode, ItemDetail, ItemKind, ItemPage, ListQuery, Mailbox, MailboxId,
};
use search::{FoundItems, SearchSort};

use crate::{AccessError, AuditEntry, AuditFilter, Caller};

/// A mailbox the caller may read; only this crate makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadableMailbox(pub(crate) Mailbox);

impl ReadableMailbox {
    pub fn mailbox(&self) -> &Mailbox {
        &self.0
    }

    pub fn id(&self) -> MailboxId {
        self.0.id
    }
}

/// An archived message the caller may read, with its content a call away.
#[derive(Debug, Clone)]
pub struct ReadableItem {
    detail: ItemDetail,
    archive: archive::Archive,
}

impl ReadableItem {
    pub(crate) fn new(detail: ItemDetail, archive: archive::Archive) -> Self {
        ReadableItem { detail, archive }
    }

    pub fn detail(&self) -> &ItemDetail {
        &self.detail
    }

    pub fn into_detail(self) -> ItemDetail {
        self.detail
    }

    /// The content exactly as archived.
    pub async fn raw(&self) -> Result<Vec<u8>, AccessError> {
        Ok(self.archive.read_raw(self.detail.id).await?)
    }
}

/// A search within one mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailQuery {
    pub query: String,
    pub sort: SearchSort,
    pub offset: usize,
    pub limit: usize,
}

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
        super::mail_ops::folder_tree(self.archive(), mailbox).await
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

    pub async fn search(
        &self,
        mailbox: &ReadableMailbox,
        query: &MailQuery,
    ) -> Result<FoundItems, AccessError> {
        super::mail_ops::search(&self.caller.access, mailbox, query).await
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
