//! What a restore did to a mailbox, as tests read it back: the metadata kept beside each item a
//! restore created, the counters of what a real server would have done wrong (a draft, a
//! meeting invitation sent, a second copy), and the creation path both protocols share.

use crate::compose;
use crate::mailbox::{self, ItemKind, ItemRef, Mailbox, MailboxError};
use crate::state::{ItemFault, SimState};
use crate::xml::{Element, TYPES_NS as T};

/// The property set of the named property a restore stamps on every item it creates.
pub const RESTORE_STAMP_GUID: &str = "c3f9a6e2-1b4d-4e8a-9f27-5a0d3c6b7e81";
/// The name of that property (a String).
pub const RESTORE_STAMP_NAME: &str = "SRSourceItem";

/// How Graph names the stamp in `singleValueExtendedProperties`.
pub fn graph_stamp_id() -> String {
    format!("String {{{RESTORE_STAMP_GUID}}} Name {RESTORE_STAMP_NAME}")
}

/// Graph compares property ids without regard to case; clients also vary the spacing.
pub(crate) fn is_graph_stamp_id(id: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    norm(id) == norm(&graph_stamp_id())
}

/// Whether an EWS `t:ExtendedFieldURI` names the stamp (the GUID with or without braces).
pub(crate) fn is_ews_stamp_uri(uri: &Element) -> bool {
    let set = uri
        .attr("PropertySetId")
        .map(|g| g.trim().trim_matches(['{', '}']))
        .unwrap_or("");
    set.eq_ignore_ascii_case(RESTORE_STAMP_GUID)
        && uri.attr("PropertyName").map(str::trim) == Some(RESTORE_STAMP_NAME)
}

/// The stamp's value among an EWS item's `t:ExtendedProperty` children.
pub(crate) fn ews_stamp(item: &Element) -> Option<String> {
    item.children_named(T, "ExtendedProperty")
        .find(|p| p.child(T, "ExtendedFieldURI").is_some_and(is_ews_stamp_uri))
        .and_then(|p| p.child(T, "Value"))
        .map(|v| v.text().to_string())
}

/// An attachment added to an item after it was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRecord {
    pub name: String,
    pub size: u64,
    pub content_type: String,
    pub is_inline: bool,
    pub content_id: Option<String>,
    /// Uploaded in ranges through an upload session rather than in one POST.
    pub via_upload_session: bool,
    /// An Outlook item inside the message (Graph `itemAttachment`), not a file.
    pub is_item: bool,
}

/// Kept on each item a restore created.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RestoreMeta {
    pub stamp: Option<String>,
    pub is_draft: bool,
    /// "ews-mime", "ews-typed", "graph-json" or "graph-mime".
    pub created_via: &'static str,
    /// PR_MESSAGE_DELIVERY_TIME (0x0E06) as given, xs:dateTime in UTC.
    pub delivery_time: Option<String>,
    /// PR_CLIENT_SUBMIT_TIME (0x0039) as given, xs:dateTime in UTC.
    pub submit_time: Option<String>,
    pub attachments: Vec<AttachmentRecord>,
    /// Addresses the server sent a meeting invitation to when the item was created.
    pub attendees_invited: Vec<String>,
    /// Graph's `transactionId` of an event: a retry with the same one returns this item.
    pub transaction_id: Option<String>,
}

/// One item a restore created, as [`crate::SimHandle::restored`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredItem {
    /// Display names from the top of the mailbox ("Inbox/Recovered/2025"), joined by "/".
    pub folder_path: String,
    pub kind: ItemKind,
    pub stamp: Option<String>,
    pub internet_message_id: Option<String>,
    pub subject: Option<String>,
    pub is_read: bool,
    pub is_draft: bool,
    pub created_via: &'static str,
    pub attendees_invited: Vec<String>,
    /// Attachments added after creation: (name, size in bytes).
    pub attachments: Vec<(String, u64)>,
    /// The same attachments with everything the sim recorded about them.
    pub attachment_records: Vec<AttachmentRecord>,
    pub delivery_time: Option<String>,
    pub submit_time: Option<String>,
    /// The stored content: MIME for messages, iCalendar for calendar items, vCard for contacts.
    pub data: Vec<u8>,
    pub item: ItemRef,
}

/// A queued answer for creates whose subject contains a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateFaultRule {
    pub mailbox: String,
    pub subject_contains: String,
    pub fault: ItemFault,
    pub remaining: usize,
}

/// An item a restore operation is about to create.
pub(crate) struct NewItem {
    pub folder: String,
    pub kind: ItemKind,
    pub data: Vec<u8>,
    pub is_read: bool,
    pub meta: RestoreMeta,
}

/// The Internet-Message-Id of stored content, brackets and case aside for comparing.
pub(crate) fn message_id_key(kind: ItemKind, data: &[u8]) -> Option<String> {
    if kind != ItemKind::Message {
        return None;
    }
    let id = mailbox::mime_header(data, "Message-ID")?;
    let key = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_ascii_lowercase();
    (!key.is_empty()).then_some(key)
}

/// Whether the folder already holds an item with this stamp or (for messages) this
/// Internet-Message-Id: Exchange creates the second copy all the same.
fn is_duplicate(mb: &Mailbox, new: &NewItem) -> bool {
    let mid = message_id_key(new.kind, &new.data);
    mb.items_in(&new.folder).any(|i| {
        let same_stamp = new.meta.stamp.is_some()
            && i.restore.as_ref().and_then(|m| m.stamp.as_ref()) == new.meta.stamp.as_ref();
        let same_mid = mid.is_some() && message_id_key(i.kind, &i.data) == mid;
        same_stamp || same_mid
    })
}

/// Stores the item like any other (a later sync reports it) and counts what the creation did.
pub(crate) fn create(
    state: &SimState,
    mb: &mut Mailbox,
    new: NewItem,
) -> Result<ItemRef, MailboxError> {
    let duplicate = is_duplicate(mb, &new);
    let NewItem {
        folder,
        kind,
        data,
        is_read,
        meta,
    } = new;
    let draft = meta.is_draft;
    let invited = meta.attendees_invited.len() as u64;
    let via = meta.created_via;
    let r = mb.add_item(&folder, kind, data, is_read)?;
    if let Some(item) = mb.items.get_mut(&r.n) {
        item.restore = Some(meta);
    }
    state.bump(|c| {
        c.restored_items += 1;
        *c.created_by_via.entry(via.to_string()).or_default() += 1;
        if draft {
            c.drafts_created += 1;
        }
        if duplicate {
            c.duplicates_created += 1;
        }
        c.invitations_sent += invited;
    });
    Ok(r)
}

/// Adds a file attachment to a stored message: a new MIME part (so a later sync fetches it)
/// and, on an item a restore created, a record. Returns the attachment's number on the item.
pub(crate) fn attach(
    state: &SimState,
    mb: &mut Mailbox,
    n: u64,
    record: AttachmentRecord,
    bytes: &[u8],
) -> Result<usize, MailboxError> {
    let item = mb.items.get(&n).ok_or(MailboxError::NoItem)?;
    let data = compose::add_attachment(&item.data, &record, bytes);
    mb.replace_data(n, data)?;
    let count = mb
        .items
        .get_mut(&n)
        .and_then(|i| i.restore.as_mut())
        .map(|m| {
            m.attachments.push(record);
            m.attachments.len()
        })
        .unwrap_or(1);
    state.bump(|c| c.attachments_added += 1);
    Ok(count)
}

/// A folder's path of display names below the top of the store.
pub(crate) fn folder_path(mb: &Mailbox, folder_id: &str) -> String {
    let top = mb.well_known("msgfolderroot").map(|f| f.id.clone());
    let mut names = Vec::new();
    let mut cur = mb.folders.get(folder_id);
    while let Some(f) = cur {
        if Some(&f.id) == top.as_ref() || f.parent.is_none() {
            break;
        }
        names.push(f.name.clone());
        cur = f.parent.as_ref().and_then(|p| mb.folders.get(p));
    }
    names.reverse();
    names.join("/")
}

pub(crate) fn restored_items(mb: &Mailbox) -> Vec<RestoredItem> {
    mb.items
        .values()
        .filter_map(|i| {
            let m = i.restore.as_ref()?;
            Some(RestoredItem {
                folder_path: folder_path(mb, &i.folder),
                kind: i.kind,
                stamp: m.stamp.clone(),
                internet_message_id: (i.kind == ItemKind::Message)
                    .then(|| mailbox::mime_header(&i.data, "Message-ID"))
                    .flatten(),
                subject: crate::ews::subject_of(i.kind, &i.data),
                is_read: i.is_read,
                is_draft: m.is_draft,
                created_via: m.created_via,
                attendees_invited: m.attendees_invited.clone(),
                attachments: m
                    .attachments
                    .iter()
                    .map(|a| (a.name.clone(), a.size))
                    .collect(),
                attachment_records: m.attachments.clone(),
                delivery_time: m.delivery_time.clone(),
                submit_time: m.submit_time.clone(),
                data: i.data.clone(),
                item: ItemRef {
                    mailbox_index: mb.index,
                    n: i.n,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_ids_compare_loosely() {
        assert!(is_graph_stamp_id(
            "string {C3F9A6E2-1B4D-4E8A-9F27-5A0D3C6B7E81}  name SRSourceItem"
        ));
        assert!(!is_graph_stamp_id(
            "String {c3f9a6e2-1b4d-4e8a-9f27-5a0d3c6b7e81} Name Other"
        ));
    }
}
