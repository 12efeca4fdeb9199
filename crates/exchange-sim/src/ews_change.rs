//! The EWS operations that change items already there: UpdateItem of one occurrence of a
//! series (`t:OccurrenceItemId`), DeleteItem (an item, or one occurrence), and CreateAttachment
//! (a contact's photo, a file on a message), in the shapes of Microsoft's UpdateItem,
//! DeleteItem and CreateAttachment references.
//!
//! What a real server would do to a careless client is counted here too: a calendar change or
//! delete that does not say `SendToNone` sends updates or cancellations to the attendees.

use std::fmt::Write as _;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::ews::{error_message, wrap};
use crate::mailbox::{self, Item, ItemKind, Mailbox};
use crate::occurrences::{self, OccurrenceChange, OccurrenceError};
use crate::properties;
use crate::restore::{self, AttachmentRecord};
use crate::state::SimState;
use crate::xml::{escape, Element, MESSAGES_NS as M, TYPES_NS as T};

fn not_found(op: &str) -> String {
    error_message(
        op,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
        "",
    )
}

fn occurrence_error(op: &str, e: OccurrenceError) -> String {
    let (code, text) = e.ews();
    error_message(op, code, text, "")
}

/// The item an id names in this mailbox, as it is now (an id from before a move is stale).
fn item_by_id<'a>(mb: &'a Mailbox, raw: &str) -> Option<&'a Item> {
    let parsed = mailbox::parse_item_id(raw.trim()).filter(|p| p.mailbox == mb.index)?;
    let item = mb.items.get(&parsed.n)?;
    match parsed.move_gen {
        Some(g) if g != item.move_gen => None,
        _ => Some(item),
    }
}

/// `t:OccurrenceItemId`: the series' item number and the occurrence's 1-based index.
fn occurrence_target(mb: &Mailbox, el: &Element) -> Result<(u64, usize), &'static str> {
    let master = el.attr("RecurringMasterId").unwrap_or("");
    let index = el
        .attr("InstanceIndex")
        .and_then(|i| i.trim().parse::<usize>().ok())
        .ok_or("The value of InstanceIndex is not a positive integer.")?;
    let item = item_by_id(mb, master)
        .filter(|i| i.kind == ItemKind::CalendarItem)
        .ok_or("")?;
    Ok((item.n, index))
}

/// Attendees of a series' master: who a change or delete not saying SendToNone reaches.
pub(crate) fn attendee_count(ics: &[u8]) -> u64 {
    properties::lines(ics)
        .iter()
        .take_while(|l| !(l.name == "END" && l.value.eq_ignore_ascii_case("VEVENT")))
        .filter(|l| l.name == "ATTENDEE")
        .count() as u64
}

/// The updates of a `t:ItemChange` (SetItemField, AppendToItemField, DeleteItemField), each
/// with the field it names.
pub(crate) fn updates(change: &Element) -> impl Iterator<Item = (&Element, &str)> {
    change
        .child(T, "Updates")
        .map(|u| u.children.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|set| {
            let field = set
                .child(T, "FieldURI")
                .and_then(|f| f.attr("FieldURI"))
                .unwrap_or("");
            (set, field)
        })
}

/// What the updates of an occurrence's `t:ItemChange` set, or the first field this server does
/// not change on an occurrence.
fn occurrence_change(change: &Element) -> Result<OccurrenceChange, String> {
    let mut out = OccurrenceChange::default();
    for (set, field) in updates(change) {
        let value = |name: &str| {
            set.child(T, "CalendarItem")
                .and_then(|c| c.child(T, name))
                .map(|v| v.text().to_string())
        };
        let time = |name: &str| -> Result<Option<i64>, String> {
            match value(name) {
                None => Err(format!("SetItemField {field} without a value")),
                Some(v) => crate::dates::parse_xs(&v)
                    .map(Some)
                    .ok_or_else(|| format!("calendar:{name} {v}")),
            }
        };
        match (set.name.as_str(), field) {
            ("SetItemField", "calendar:Start") => out.start = time("Start")?,
            ("SetItemField", "calendar:End") => out.end = time("End")?,
            ("SetItemField", "item:Subject") => out.subject = value("Subject"),
            ("SetItemField", "calendar:Location") => out.location = value("Location"),
            _ => return Err(format!("{} {field}", set.name)),
        }
    }
    Ok(out)
}

/// One `t:ItemChange` of UpdateItem addressed by `t:OccurrenceItemId`: the occurrence's time,
/// subject or location. Calendar updates need `SendMeetingInvitationsOrCancellations`.
pub(crate) fn update_occurrence(
    state: &SimState,
    mb: &mut Mailbox,
    op: &Element,
    change: &Element,
    target: &Element,
) -> String {
    const OP: &str = "UpdateItem";
    let (n, index) = match occurrence_target(mb, target) {
        Ok(t) => t,
        Err("") => return not_found(OP),
        Err(why) => return error_message(OP, "ErrorInvalidValueForProperty", why, ""),
    };
    let Some(send) = op.attr("SendMeetingInvitationsOrCancellations") else {
        return error_message(
            OP,
            "ErrorSendMeetingInvitationsOrCancellationsRequired",
            "SendMeetingInvitationsOrCancellations is required for calendar items.",
            "",
        );
    };
    let change = match occurrence_change(change) {
        Ok(c) => c,
        Err(what) => {
            return error_message(
                OP,
                "ErrorInvalidPropertySet",
                &format!("This server does not update {what} on an occurrence."),
                "",
            )
        }
    };
    let Some(item) = mb.items.get(&n) else {
        return not_found(OP);
    };
    let data = match occurrences::modify(&item.data, index, &change) {
        Ok(d) => d,
        Err(e) => return occurrence_error(OP, e),
    };
    let attendees = attendee_count(&data);
    if mb.replace_data(n, data).is_err() {
        return not_found(OP);
    }
    state.bump(|c| {
        c.items_updated += 1;
        if send.trim() != "SendToNone" {
            c.invitations_sent += attendees;
        }
    });
    let key = mb.change_key_of(n);
    let master = mailbox::ews_item_id(mb.index, n, mb.items.get(&n).map_or(0, |i| i.move_gen));
    format!(
        "<m:{OP}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:CalendarItem>\
<t:ItemId Id=\"{}\" ChangeKey=\"{key}\"/></t:CalendarItem></m:Items><m:ConflictResults><m:Count>0</m:Count></m:ConflictResults></m:{OP}ResponseMessage>",
        escape(&properties::occurrence_id(&master, index))
    )
}

/// `DeleteItem`: items by `t:ItemId`, occurrences by `t:OccurrenceItemId`. `DeleteType` is
/// required; a calendar item also needs `SendMeetingCancellations`. `Err` is a schema fault.
pub(crate) fn delete_item(
    state: &SimState,
    mb: &mut Mailbox,
    op: &Element,
) -> Result<String, String> {
    const OP: &str = "DeleteItem";
    if op.attr("DeleteType").is_none() {
        return Err("The required attribute 'DeleteType' is missing.".into());
    }
    let Some(ids) = op.child(M, "ItemIds") else {
        return Err("The element 'DeleteItem' has incomplete content: ItemIds.".into());
    };
    let cancellations = op.attr("SendMeetingCancellations").map(str::trim);
    let success = format!(
        "<m:{OP}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode></m:{OP}ResponseMessage>"
    );
    let mut out = String::new();
    for id in &ids.children {
        let (n, occurrence) = if id.is(T, "OccurrenceItemId") {
            match occurrence_target(mb, id) {
                Ok((n, index)) => (n, Some(index)),
                Err("") => {
                    out.push_str(&not_found(OP));
                    continue;
                }
                Err(why) => {
                    out.push_str(&error_message(OP, "ErrorInvalidValueForProperty", why, ""));
                    continue;
                }
            }
        } else {
            match item_by_id(mb, id.attr("Id").unwrap_or("")) {
                Some(item) => (item.n, None),
                None => {
                    out.push_str(&not_found(OP));
                    continue;
                }
            }
        };
        let Some(item) = mb.items.get(&n) else {
            out.push_str(&not_found(OP));
            continue;
        };
        let is_calendar = item.kind == ItemKind::CalendarItem;
        if is_calendar && cancellations.is_none() {
            out.push_str(&error_message(
                OP,
                "ErrorSendMeetingCancellationsRequired",
                "SendMeetingCancellations attribute is required for calendar items.",
                "",
            ));
            continue;
        }
        let attendees = if is_calendar {
            attendee_count(&item.data)
        } else {
            0
        };
        let done = match occurrence {
            Some(index) => match occurrences::delete(&item.data, index) {
                Ok(data) => mb.replace_data(n, data).map_err(|_| not_found(OP)),
                Err(e) => Err(occurrence_error(OP, e)),
            },
            None => mb.delete_item(n).map_err(|_| not_found(OP)),
        };
        match done {
            Ok(()) => {
                state.bump(|c| {
                    c.items_deleted += 1;
                    if cancellations.is_some_and(|s| s != "SendToNone") {
                        c.cancellations_sent += attendees;
                    }
                });
                out.push_str(&success);
            }
            Err(message) => out.push_str(&message),
        }
    }
    Ok(wrap(OP, &out))
}

/// The vCard with `PHOTO` set to these bytes (any earlier photo replaced).
fn with_photo(vcf: &[u8], content_type: &str, bytes: &[u8]) -> Vec<u8> {
    let kind = if content_type.to_ascii_lowercase().contains("png") {
        "PNG"
    } else {
        "JPEG"
    };
    let photo = format!("PHOTO;ENCODING=b;TYPE={kind}:{}", STANDARD.encode(bytes));
    let mut out: Vec<String> = Vec::new();
    for l in properties::unfold(vcf) {
        if l.is_empty() || properties::parse_line(&l).is_some_and(|p| p.name == "PHOTO") {
            continue;
        }
        if l.eq_ignore_ascii_case("END:VCARD") {
            out.push(photo.clone());
        }
        out.push(l);
    }
    let mut s = out.join("\r\n");
    s.push_str("\r\n");
    s.into_bytes()
}

/// Sets a contact's photo, as EWS CreateAttachment with IsContactPhoto and Graph's PUT of
/// `photo/$value` both do. `None` when `n` is not a contact.
pub(crate) fn set_contact_photo(
    state: &SimState,
    mb: &mut Mailbox,
    n: u64,
    content_type: &str,
    bytes: &[u8],
) -> Option<()> {
    let item = mb.items.get(&n).filter(|i| i.kind == ItemKind::Contact)?;
    let data = with_photo(&item.data, content_type, bytes);
    mb.replace_data(n, data).ok()?;
    state.bump(|c| c.photos_set += 1);
    Some(())
}

/// `CreateAttachment` of `t:FileAttachment`s: on a contact, its photo (IsContactPhoto, the one
/// kind of attachment a contact keeps here); on a message, a file. `Err` is a schema fault.
pub(crate) fn create_attachment(
    state: &SimState,
    mb: &mut Mailbox,
    op: &Element,
) -> Result<String, String> {
    const OP: &str = "CreateAttachment";
    let Some(parent) = op.child(M, "ParentItemId") else {
        return Err("The element 'CreateAttachment' has incomplete content: ParentItemId.".into());
    };
    let Some(list) = op.child(M, "Attachments") else {
        return Err("The element 'CreateAttachment' has incomplete content: Attachments.".into());
    };
    let raw = parent.attr("Id").unwrap_or("").trim().to_string();
    let mut out = String::new();
    for a in &list.children {
        let Some((n, kind)) = item_by_id(mb, &raw).map(|i| (i.n, i.kind)) else {
            out.push_str(&not_found(OP));
            continue;
        };
        if !a.is(T, "FileAttachment") {
            out.push_str(&error_message(
                OP,
                "ErrorInvalidOperation",
                "This server takes file attachments only.",
                "",
            ));
            continue;
        }
        let text = |name: &str| a.child(T, name).map(|v| v.text().trim().to_string());
        let Some(bytes) = text("Content").map(|c| STANDARD.decode(c.as_bytes())) else {
            return Err("The element 'FileAttachment' has incomplete content: Content.".into());
        };
        let Ok(bytes) = bytes else {
            return Err("The value of Content is not valid base64.".into());
        };
        let name = text("Name").unwrap_or_default();
        let content_type = text("ContentType").unwrap_or_else(|| "image/jpeg".into());
        let is_photo = text("IsContactPhoto").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let number = match (kind, is_photo) {
            (ItemKind::Contact, true) => {
                set_contact_photo(state, mb, n, &content_type, &bytes).map(|()| 1)
            }
            (ItemKind::Message, false) => {
                let record = AttachmentRecord {
                    name: name.clone(),
                    size: bytes.len() as u64,
                    content_type: content_type.clone(),
                    is_inline: text("IsInline").is_some_and(|v| v == "true"),
                    content_id: text("ContentId"),
                    via_upload_session: false,
                    is_item: false,
                };
                restore::attach(state, mb, n, record, &bytes).ok()
            }
            _ => {
                out.push_str(&error_message(
                    OP,
                    "ErrorInvalidOperation",
                    "This server keeps a photo on a contact and files on a message, nothing else.",
                    "",
                ));
                continue;
            }
        };
        let Some(number) = number else {
            out.push_str(&not_found(OP));
            continue;
        };
        let key = mb.change_key_of(n);
        let _ = write!(
            out,
            "<m:{OP}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode><m:Attachments><t:FileAttachment>\
<t:AttachmentId Id=\"{}\" RootItemId=\"{}\" RootItemChangeKey=\"{key}\"/></t:FileAttachment></m:Attachments></m:{OP}ResponseMessage>",
            escape(&format!("att:{number}:{raw}")),
            escape(&raw)
        );
    }
    Ok(wrap(OP, &out))
}
