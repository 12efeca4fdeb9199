use archive::{ItemKind, ItemSummary, MailboxId, Timestamp};

use super::mail_ops::{KnownInstant, ReadableItem, ReadableMailbox};
use crate::{AccessError, AuditAction, Caller, Scope};

/// A calendar item as archived, with its properties; `event` is `None` for an item archived
/// before properties were kept (or whose record cannot be read), which the calendar can place
/// only by its start.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub item: ItemSummary,
    pub event: Option<pim::Event>,
}

#[derive(Debug, Clone)]
pub struct StoredContact {
    pub item: ItemSummary,
    pub contact: Option<pim::Contact>,
}

/// An item of a calendar or an address book, opened: the archived item and its record.
pub struct OpenedPimItem {
    pub item: ReadableItem,
    pub record: Option<pim::Record>,
}

/// Any mailbox's calendar and contacts within the scope of the caller's `browse_calendars`
/// grant. Outside the scope a mailbox is "not found". Opening a calendar or an address book and
/// every item opened are in the audit log, and so in the owner's access log.
pub struct CalendarBrowser<'a> {
    caller: &'a Caller,
    scope: Scope,
}

impl<'a> CalendarBrowser<'a> {
    pub(crate) fn new(caller: &'a Caller, scope: Scope) -> Self {
        CalendarBrowser { caller, scope }
    }

    fn archive(&self) -> &archive::Archive {
        &self.caller.access.inner.archive
    }

    pub async fn mailbox(&self, id: MailboxId) -> Result<ReadableMailbox, AccessError> {
        super::mail_ops::mailbox_in_scope(self.archive(), &self.scope, id).await
    }

    /// Opens a mailbox's calendar (`ItemKind::Calendar`) or contacts, now or as of an instant (a
    /// future one is refused), and says so in the audit log.
    pub async fn open(
        &self,
        id: MailboxId,
        kind: ItemKind,
        at: Option<Timestamp>,
    ) -> Result<(ReadableMailbox, Option<KnownInstant>), AccessError> {
        let mailbox = self.mailbox(id).await?;
        let instant = super::mail_ops::opened_at(&self.caller.access, &mailbox, at).await?;
        let what = match kind {
            ItemKind::Contact => "contacts",
            _ => "calendar",
        };
        self.caller
            .record(
                AuditAction::MailboxOpened,
                Some((mailbox.id(), &mailbox.mailbox().owner_address)),
                match &instant {
                    Some(i) => format!("{what} as of {}", i.at.to_rfc3339()),
                    None => format!("{what} as it is now"),
                },
            )
            .await?;
        Ok((mailbox, instant))
    }

    /// Every calendar item of the mailbox (in any calendar folder), now or as of an instant.
    pub async fn events(
        &self,
        mailbox: MailboxId,
        at: Option<Timestamp>,
    ) -> Result<(ReadableMailbox, Vec<StoredEvent>), AccessError> {
        self.records(mailbox, ItemKind::Calendar, at, |item, record| {
            StoredEvent {
                item,
                event: match record {
                    Some(pim::Record::Event(e)) => Some(e),
                    _ => None,
                },
            }
        })
        .await
    }

    /// Every contact of the mailbox (in any contacts folder), now or as of an instant.
    pub async fn contacts(
        &self,
        mailbox: MailboxId,
        at: Option<Timestamp>,
    ) -> Result<(ReadableMailbox, Vec<StoredContact>), AccessError> {
        self.records(mailbox, ItemKind::Contact, at, |item, record| {
            StoredContact {
                item,
                contact: match record {
                    Some(pim::Record::Contact(c)) => Some(c),
                    _ => None,
                },
            }
        })
        .await
    }

    async fn records<T>(
        &self,
        mailbox: MailboxId,
        kind: ItemKind,
        at: Option<Timestamp>,
        shape: impl Fn(ItemSummary, Option<pim::Record>) -> T,
    ) -> Result<(ReadableMailbox, Vec<T>), AccessError> {
        let mailbox = self.mailbox(mailbox).await?;
        let items = self.archive().items_of_kind(mailbox.id(), kind, at).await?;
        let shaped = items
            .into_iter()
            .map(|i| {
                let record = read_record(i.summary.id, i.properties.as_deref());
                shape(i.summary, record)
            })
            .collect();
        Ok((mailbox, shaped))
    }

    /// Opens one calendar item or contact of `mailbox` (in scope) with its record; a message,
    /// or an item of another mailbox, is "not found" here, and is not logged as opened.
    pub async fn item(&self, mailbox: MailboxId, id: i64) -> Result<OpenedPimItem, AccessError> {
        self.item_as(Some(mailbox), id, AuditAction::ItemOpened)
            .await
    }

    /// The same for a download of the item as a file (ICS or VCF), logged as a download.
    pub async fn download(&self, id: i64) -> Result<OpenedPimItem, AccessError> {
        self.item_as(None, id, AuditAction::ItemDownloaded).await
    }

    async fn item_as(
        &self,
        mailbox: Option<MailboxId>,
        id: i64,
        action: AuditAction,
    ) -> Result<OpenedPimItem, AccessError> {
        let detail = self
            .archive()
            .item(id)
            .await?
            .ok_or(AccessError::NotFound)?;
        if detail.kind == ItemKind::Message || mailbox.is_some_and(|m| detail.mailbox_id != m) {
            return Err(AccessError::NotFound);
        }
        let mailbox = self.mailbox(detail.mailbox_id).await?;
        let properties = self.archive().read_properties(id).await?;
        self.caller
            .record(
                action,
                Some((mailbox.id(), &mailbox.mailbox().owner_address)),
                format!("{} “{}”", detail.kind.as_str(), detail.subject),
            )
            .await?;
        Ok(OpenedPimItem {
            record: read_record(id, properties.as_deref()),
            item: ReadableItem::new(detail, self.archive().clone()),
        })
    }
}

/// A record that cannot be read is logged and shown as "details not kept" rather than failing
/// the whole calendar: the archived content is still there.
fn read_record(item: i64, properties: Option<&[u8]>) -> Option<pim::Record> {
    match pim::Record::from_json(properties?) {
        Ok(record) => Some(record),
        Err(e) => {
            tracing::warn!(item, error = %e, "stored properties cannot be read");
            None
        }
    }
}
