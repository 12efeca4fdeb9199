//! The EWS operations a restore uses: CreateFolder, CreateFolderPath, FindItem (the
//! skip-existing listing, with restrictions) and CreateItem (MIME messages, typed calendar
//! items and contacts), in the shapes of Microsoft's CreateFolder, CreateFolderPath, FindItem
//! and CreateItem references.
//!
//! What a real server would do to a careless restore happens here too and is counted: a MIME
//! import without PR_MESSAGE_FLAGS becomes a draft, a calendar item saved with invitations
//! sends them, a message sent rather than saved is sent.

use std::fmt::Write as _;
use std::time::Duration;

use axum::response::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::compose::{
    self, Attendee, AttendeeKind, ContactDraft, EventDraft, Pattern, Person, Phone, PostalAddress,
    Range, Recurrence,
};
use crate::dates;
use crate::ews::{
    base_shape, batch_stopped_message, error_message, fault, folder_ref, item_element,
    item_fault_message, requested_fields, subject_of, wrap,
};
use crate::mailbox::{self, Folder, FolderKind, Item, ItemKind, Mailbox};
use crate::restore::{self, NewItem, RestoreMeta};
use crate::state::{ItemFault, SimState};
use crate::xml::{escape, Element, MESSAGES_NS as M, TYPES_NS as T};

const FOLDER_NOT_FOUND: &str = "The specified folder could not be found in the store.";

// ---- folders -----------------------------------------------------------------------------------

/// The folder kind (and a class other than the kind's own) a request's folder element asks for.
/// A generic `t:Folder` takes its class from `t:FolderClass`, as CreateFolder documents.
fn requested_kind(el: &Element) -> Option<(FolderKind, Option<String>)> {
    match el.name.as_str() {
        "CalendarFolder" => Some((FolderKind::Calendar, None)),
        "ContactsFolder" => Some((FolderKind::Contacts, None)),
        "TasksFolder" => Some((FolderKind::Mail, Some("IPF.Task".into()))),
        "Folder" => {
            let class = el
                .child(T, "FolderClass")
                .map(|c| c.text().to_string())
                .unwrap_or_default();
            let lower = class.to_ascii_lowercase();
            Some(if lower.starts_with("ipf.appointment") {
                (FolderKind::Calendar, None)
            } else if lower.starts_with("ipf.contact") {
                (FolderKind::Contacts, None)
            } else if class.is_empty() || lower == "ipf.note" {
                (FolderKind::Mail, None)
            } else {
                (FolderKind::Mail, Some(class))
            })
        }
        _ => None,
    }
}

fn folder_element(kind: FolderKind) -> &'static str {
    match kind {
        FolderKind::Calendar => "CalendarFolder",
        FolderKind::Contacts => "ContactsFolder",
        _ => "Folder",
    }
}

fn save_property_error(op: &str) -> String {
    error_message(
        op,
        "ErrorFolderSavePropertyError",
        "The folder save operation failed due to invalid property values.",
        "<m:MessageXml><t:FieldURI FieldURI=\"folder:DisplayName\"/></m:MessageXml><m:Folders/>",
    )
}

fn parent_not_found(op: &str) -> String {
    error_message(
        op,
        "ErrorParentFolderNotFound",
        "The specified parent folder could not be found.",
        "<m:Folders/>",
    )
}

/// Creates one folder element of a request below `parent`, or says why not.
fn new_folder(
    state: &SimState,
    mb: &mut Mailbox,
    op: &str,
    parent: &str,
    el: &Element,
) -> Result<String, String> {
    let Some((kind, class)) = requested_kind(el) else {
        return Err(error_message(
            op,
            "ErrorInvalidRequest",
            "Only Folder, CalendarFolder, ContactsFolder and TasksFolder can be created here.",
            "<m:Folders/>",
        ));
    };
    let name = el
        .child(T, "DisplayName")
        .map(|d| d.text().to_string())
        .unwrap_or_default();
    if name.is_empty() {
        return Err(save_property_error(op));
    }
    if mb.child_named(parent, &name).is_some() {
        return Err(error_message(
            op,
            "ErrorFolderExists",
            "A folder with the specified name already exists.",
            "<m:Folders/>",
        ));
    }
    let id = mb
        .create_folder(parent, &name, kind, class.as_deref())
        .map_err(|_| parent_not_found(op))?;
    state.bump(|c| c.folders_created += 1);
    Ok(id)
}

/// `CreateFolder`: one response message per folder of the request, each naming the new folder
/// in an element of its class.
pub(crate) fn create_folder(state: &SimState, mb: &mut Mailbox, op: &Element) -> String {
    const OP: &str = "CreateFolder";
    let parent = op
        .child(M, "ParentFolderId")
        .and_then(|el| folder_ref(mb, el))
        .map(|f| f.id.clone());
    let folders: Vec<Element> = op
        .child(M, "Folders")
        .map(|f| f.children.iter().filter(|c| c.ns == T).cloned().collect())
        .unwrap_or_default();
    let mut out = String::new();
    for el in &folders {
        let Some(parent) = parent.as_deref() else {
            out.push_str(&parent_not_found(OP));
            continue;
        };
        match new_folder(state, mb, OP, parent, el) {
            Ok(id) => {
                let Some(f) = mb.folders.get(&id) else {
                    continue;
                };
                let tag = folder_element(f.kind);
                let _ = write!(
                    out,
                    "<m:{OP}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode><m:Folders>\
<t:{tag}><t:FolderId Id=\"{}\" ChangeKey=\"{}\"/></t:{tag}></m:Folders></m:{OP}ResponseMessage>",
                    escape(&f.id),
                    mailbox::change_key(f.modseq)
                );
            }
            Err(message) => out.push_str(&message),
        }
    }
    wrap(OP, &out)
}

/// A folder as CreateFolderPath's sample answers: id, name and counts.
fn path_folder_message(mb: &Mailbox, f: &Folder) -> String {
    const OP: &str = "CreateFolderPath";
    let tag = folder_element(f.kind);
    let mut x = format!(
        "<m:{OP}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode><m:Folders>\
<t:{tag}><t:FolderId Id=\"{}\" ChangeKey=\"{}\"/><t:DisplayName>{}</t:DisplayName><t:TotalCount>{}</t:TotalCount>\
<t:ChildFolderCount>{}</t:ChildFolderCount>",
        escape(&f.id),
        mailbox::change_key(f.modseq),
        escape(&f.name),
        mb.items_in(&f.id).count(),
        mb.child_count(&f.id)
    );
    if tag == "Folder" {
        let _ = write!(
            x,
            "<t:UnreadCount>{}</t:UnreadCount>",
            mb.unread_count(&f.id)
        );
    }
    let _ = write!(x, "</t:{tag}></m:Folders></m:{OP}ResponseMessage>");
    x
}

/// `CreateFolderPath` (Exchange 2013+): the folders of RelativeFolderPath as a chain below the
/// parent. As Microsoft's sample shows, each folder of the path gets a response message of its
/// own, in order; once one fails, the ones below it answer ErrorParentFolderNotFound.
pub(crate) fn create_folder_path(state: &SimState, mb: &mut Mailbox, op: &Element) -> String {
    const OP: &str = "CreateFolderPath";
    let mut parent = op
        .child(M, "ParentFolderId")
        .and_then(|el| folder_ref(mb, el))
        .map(|f| f.id.clone());
    let path: Vec<Element> = op
        .child(M, "RelativeFolderPath")
        .map(|f| f.children.iter().filter(|c| c.ns == T).cloned().collect())
        .unwrap_or_default();
    let mut out = String::new();
    for el in &path {
        let Some(under) = parent.take() else {
            out.push_str(&parent_not_found(OP));
            continue;
        };
        let name = el
            .child(T, "DisplayName")
            .map(|d| d.text().to_string())
            .unwrap_or_default();
        // Microsoft documents no answer for a folder of the path that exists already; the
        // simulator uses it as it is, so a re-run restore builds on the tree it made before.
        let existing = (!name.is_empty())
            .then(|| mb.child_named(&under, &name).map(|f| f.id.clone()))
            .flatten();
        let id = match existing {
            Some(id) => id,
            None => match new_folder(state, mb, OP, &under, el) {
                Ok(id) => id,
                Err(message) => {
                    out.push_str(&message);
                    continue;
                }
            },
        };
        if let Some(f) = mb.folders.get(&id) {
            out.push_str(&path_folder_message(mb, f));
        }
        parent = Some(id);
    }
    wrap(OP, &out)
}

// ---- FindItem ----------------------------------------------------------------------------------

/// Properties FindItem can return and restrict on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prop {
    MessageId,
    /// PidTagInternetMessageId asked for by tag: returned as an ExtendedProperty.
    MessageIdTag,
    Stamp,
    Subject,
    Uid,
    IsRead,
    ItemClass,
    /// `contacts:DisplayName`.
    DisplayName,
    /// PidLidEmail1..3EmailAddress, asked for by their ids in the Address property set.
    ContactEmail(u8),
}

/// PropertyId of PidLidEmail1EmailAddress, PidLidEmail2EmailAddress, PidLidEmail3EmailAddress.
const CONTACT_EMAIL_IDS: [u32; 3] = [0x8083, 0x8093, 0x80A3];

fn tag_number(tag: &str) -> Option<u32> {
    let t = tag.trim().to_ascii_lowercase();
    match t.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

fn prop_of(el: &Element) -> Option<Prop> {
    match el.name.as_str() {
        "FieldURI" => match el.attr("FieldURI")?.trim() {
            "message:InternetMessageId" => Some(Prop::MessageId),
            "item:Subject" => Some(Prop::Subject),
            "calendar:UID" => Some(Prop::Uid),
            "message:IsRead" => Some(Prop::IsRead),
            "item:ItemClass" => Some(Prop::ItemClass),
            "contacts:DisplayName" => Some(Prop::DisplayName),
            _ => None,
        },
        "ExtendedFieldURI" if restore::is_ews_stamp_uri(el) => Some(Prop::Stamp),
        "ExtendedFieldURI" if el.attr("DistinguishedPropertySetId") == Some("Address") => {
            let id = tag_number(el.attr("PropertyId")?)?;
            let n = CONTACT_EMAIL_IDS.iter().position(|x| *x == id)?;
            Some(Prop::ContactEmail(u8::try_from(n).ok()?))
        }
        // PidTagInternetMessageId, PidTagSubject, PidTagMessageClass.
        "ExtendedFieldURI" => match el.attr("PropertyTag").and_then(tag_number)? {
            0x1035 => Some(Prop::MessageIdTag),
            0x0037 => Some(Prop::Subject),
            0x001A => Some(Prop::ItemClass),
            _ => None,
        },
        _ => None,
    }
}

fn value_of(item: &Item, prop: Prop) -> Option<String> {
    match prop {
        Prop::MessageId | Prop::MessageIdTag if item.kind == ItemKind::Message => {
            mailbox::mime_header(&item.data, "Message-ID")
        }
        Prop::MessageId | Prop::MessageIdTag => None,
        Prop::Stamp => item.restore.as_ref().and_then(|m| m.stamp.clone()),
        Prop::Subject => subject_of(item.kind, &item.data),
        Prop::Uid if item.kind == ItemKind::CalendarItem => {
            mailbox::text_property(&item.data, "UID")
        }
        Prop::Uid => None,
        Prop::IsRead => (item.kind == ItemKind::Message).then(|| item.is_read.to_string()),
        Prop::ItemClass => Some(crate::ews::item_class(item.kind).to_string()),
        Prop::DisplayName if item.kind == ItemKind::Contact => {
            mailbox::text_property(&item.data, "FN")
        }
        Prop::DisplayName => None,
        Prop::ContactEmail(n) if item.kind == ItemKind::Contact => {
            crate::properties::contact_email(&item.data, usize::from(n))
        }
        Prop::ContactEmail(_) => None,
    }
}

/// A search filter (`m:Restriction`) of the kinds a restore's skip-existing check sends.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cond {
    Eq(Prop, String),
    Ne(Prop, String),
    Exists(Prop),
    Contains(Prop, String),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
}

fn constant(el: Option<&Element>) -> Option<String> {
    let c = el?;
    let constant = if c.name == "Constant" {
        Some(c)
    } else {
        c.child(T, "Constant")
    }?;
    constant.attr("Value").map(str::to_string)
}

fn parse_cond(el: &Element) -> Option<Cond> {
    let first_prop = || el.children.first().and_then(prop_of);
    Some(match el.name.as_str() {
        "IsEqualTo" => Cond::Eq(first_prop()?, constant(el.children.get(1))?),
        "IsNotEqualTo" => Cond::Ne(first_prop()?, constant(el.children.get(1))?),
        "Contains" => Cond::Contains(first_prop()?, constant(el.child(T, "Constant"))?),
        "Exists" => Cond::Exists(first_prop()?),
        "And" => Cond::And(el.children.iter().map(parse_cond).collect::<Option<_>>()?),
        "Or" => Cond::Or(el.children.iter().map(parse_cond).collect::<Option<_>>()?),
        "Not" => Cond::Not(Box::new(parse_cond(el.children.first()?)?)),
        _ => return None,
    })
}

/// String comparisons in EWS restrictions ignore case.
fn matches(c: &Cond, item: &Item) -> bool {
    let eq = |p: Prop, v: &str| value_of(item, p).is_some_and(|x| x.eq_ignore_ascii_case(v));
    match c {
        Cond::Eq(p, v) => eq(*p, v),
        Cond::Ne(p, v) => !eq(*p, v),
        Cond::Exists(p) => value_of(item, *p).is_some(),
        Cond::Contains(p, v) => {
            value_of(item, *p).is_some_and(|x| x.to_lowercase().contains(&v.to_lowercase()))
        }
        Cond::And(all) => all.iter().all(|c| matches(c, item)),
        Cond::Or(any) => any.iter().any(|c| matches(c, item)),
        Cond::Not(c) => !matches(c, item),
    }
}

/// The properties an ItemShape's AdditionalProperties asks for.
fn wanted_props(op: &Element) -> Vec<Prop> {
    op.path(&[(M, "ItemShape"), (T, "AdditionalProperties")])
        .map(|ap| ap.children.iter().filter_map(prop_of).collect())
        .unwrap_or_default()
}

fn find_item_xml(mb: &Mailbox, item: &Item, id_only: bool, wanted: &[Prop]) -> String {
    let el = item_element(item.kind);
    let id = mailbox::ews_item_id(mb.index, item.n, item.move_gen);
    let mut x = format!(
        "<t:{el}><t:ItemId Id=\"{}\" ChangeKey=\"{}\"/>",
        escape(&id),
        mailbox::change_key(item.modseq)
    );
    let want = |p: Prop| wanted.contains(&p);
    if !id_only {
        let _ = write!(
            x,
            "<t:ParentFolderId Id=\"{}\" ChangeKey=\"AQAAAA==\"/><t:ItemClass>{}</t:ItemClass>",
            escape(&item.folder),
            crate::ews::item_class(item.kind)
        );
    }
    if !id_only || want(Prop::Subject) {
        if let Some(s) = subject_of(item.kind, &item.data) {
            let _ = write!(x, "<t:Subject>{}</t:Subject>", escape(&s));
        }
    }
    // ItemType's ExtendedProperty comes before the MessageType and CalendarItemType fields.
    if want(Prop::Stamp) {
        if let Some(stamp) = value_of(item, Prop::Stamp) {
            let _ = write!(
                x,
                "<t:ExtendedProperty><t:ExtendedFieldURI PropertySetId=\"{}\" PropertyName=\"{}\" PropertyType=\"String\"/>\
<t:Value>{}</t:Value></t:ExtendedProperty>",
                restore::RESTORE_STAMP_GUID,
                restore::RESTORE_STAMP_NAME,
                escape(&stamp)
            );
        }
    }
    for n in 0..3u8 {
        if !want(Prop::ContactEmail(n)) {
            continue;
        }
        if let Some(address) = value_of(item, Prop::ContactEmail(n)) {
            let _ = write!(
                x,
                "<t:ExtendedProperty><t:ExtendedFieldURI DistinguishedPropertySetId=\"Address\" PropertyId=\"{}\" PropertyType=\"String\"/><t:Value>{}</t:Value></t:ExtendedProperty>",
                CONTACT_EMAIL_IDS[usize::from(n)],
                escape(&address)
            );
        }
    }
    if want(Prop::MessageIdTag) {
        if let Some(mid) = value_of(item, Prop::MessageIdTag) {
            let _ = write!(
                x,
                "<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag=\"0x1035\" PropertyType=\"String\"/><t:Value>{}</t:Value></t:ExtendedProperty>",
                escape(&mid)
            );
        }
    }
    if want(Prop::MessageId) {
        if let Some(mid) = value_of(item, Prop::MessageId) {
            let _ = write!(
                x,
                "<t:InternetMessageId>{}</t:InternetMessageId>",
                escape(&mid)
            );
        }
    }
    if want(Prop::IsRead) && item.kind == ItemKind::Message {
        let _ = write!(x, "<t:IsRead>{}</t:IsRead>", item.is_read);
    }
    if want(Prop::Uid) {
        if let Some(uid) = value_of(item, Prop::Uid) {
            let _ = write!(x, "<t:UID>{}</t:UID>", escape(&uid));
        }
    }
    // ContactItemType: DisplayName after the ItemType fields.
    if want(Prop::DisplayName) {
        if let Some(name) = value_of(item, Prop::DisplayName) {
            let _ = write!(x, "<t:DisplayName>{}</t:DisplayName>", escape(&name));
        }
    }
    let _ = write!(x, "</t:{el}>");
    x
}

/// `FindItem` on the folders of ParentFolderIds: Shallow traversal (the only one that lists
/// normal items; EWS has no Deep traversal for items), an optional restriction, and
/// IndexedPageItemView paging. `Err` is the text of an ErrorSchemaValidation fault.
pub(crate) fn find_item(mb: &mut Mailbox, op: &Element) -> Result<String, String> {
    const OP: &str = "FindItem";
    let traversal = op.attr("Traversal").unwrap_or("Shallow");
    let listed = match traversal {
        "Shallow" => true,
        // The simulator keeps no soft-deleted or associated (FAI) items.
        "SoftDeleted" | "Associated" => false,
        other => {
            return Err(format!(
                "The request failed schema validation: The 'Traversal' attribute is invalid - The value '{other}' is invalid according to its datatype 'ItemQueryTraversalType'."
            ))
        }
    };
    let id_only = base_shape(op, "ItemShape") == "IdOnly";
    let mut wanted = wanted_props(op);
    if requested_fields(op, "ItemShape")
        .iter()
        .any(|f| f == "item:Subject")
    {
        wanted.push(Prop::Subject);
    }
    let restriction = match op.child(M, "Restriction") {
        None => None,
        Some(r) => match r.children.first().and_then(parse_cond) {
            Some(c) => Some(c),
            None => return Ok(wrap(
                OP,
                &error_message(
                    OP,
                    "ErrorInvalidRestriction",
                    "The restriction is invalid: a filter or property it uses is not supported.",
                    "",
                ),
            )),
        },
    };
    let view = op.child(M, "IndexedPageItemView");
    let max = view
        .and_then(|v| v.attr("MaxEntriesReturned"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let offset = view
        .and_then(|v| v.attr("Offset"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let from_end = view.and_then(|v| v.attr("BasePoint")) == Some("End");
    let parents = op
        .child(M, "ParentFolderIds")
        .map(|e| e.children.clone())
        .unwrap_or_default();
    let mut out = String::new();
    for el in parents {
        let wrapper = Element {
            children: vec![el],
            ..Element::default()
        };
        let Some(folder) = folder_ref(mb, &wrapper).map(|f| f.id.clone()) else {
            out.push_str(&error_message(
                OP,
                "ErrorFolderNotFound",
                FOLDER_NOT_FOUND,
                "",
            ));
            continue;
        };
        let found: Vec<&Item> = if listed {
            mb.items_in(&folder)
                .filter(|i| restriction.as_ref().is_none_or(|c| matches(c, i)))
                .collect()
        } else {
            Vec::new()
        };
        let total = found.len();
        let (start, end) = if from_end {
            let end = total.saturating_sub(offset);
            (end.saturating_sub(max), end)
        } else {
            let start = offset.min(total);
            (start, start.saturating_add(max).min(total))
        };
        let page = found.get(start..end).unwrap_or_default();
        let last = if from_end { start == 0 } else { end >= total };
        let _ = write!(
            out,
            "<m:{OP}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode>\
<m:RootFolder IndexedPagingOffset=\"{}\" TotalItemsInView=\"{total}\" IncludesLastItemInRange=\"{last}\"><t:Items>",
            if from_end { start } else { end }
        );
        for item in page {
            out.push_str(&find_item_xml(mb, item, id_only, &wanted));
        }
        let _ = write!(out, "</t:Items></m:RootFolder></m:{OP}ResponseMessage>");
    }
    Ok(wrap(OP, &out))
}

// ---- CreateItem --------------------------------------------------------------------------------

/// What CreateItem's extended properties set: PR_MESSAGE_FLAGS (0x0E07), the delivery and
/// submit times (0x0E06, 0x0039) and the restore stamp.
#[derive(Default)]
struct ExtProps {
    flags: Option<u32>,
    delivery: Option<i64>,
    submit: Option<i64>,
    stamp: Option<String>,
}

fn invalid_extended(op: &str, what: &str) -> String {
    error_message(
        op,
        "ErrorInvalidExtendedPropertyValue",
        &format!("The extended property value is invalid: {what}."),
        "<m:Items/>",
    )
}

fn ext_props(op: &str, el: &Element) -> Result<ExtProps, String> {
    let mut out = ExtProps {
        stamp: restore::ews_stamp(el),
        ..ExtProps::default()
    };
    for p in el.children_named(T, "ExtendedProperty") {
        let Some(uri) = p.child(T, "ExtendedFieldURI") else {
            continue;
        };
        let value = p.child(T, "Value").map(|v| v.text()).unwrap_or("");
        match uri.attr("PropertyTag").and_then(tag_number) {
            Some(0x0E07) => {
                let n: i64 = value
                    .parse()
                    .map_err(|_| invalid_extended(op, "PR_MESSAGE_FLAGS is not an integer"))?;
                out.flags = Some(u32::try_from(n & 0xffff_ffff).unwrap_or(0));
            }
            Some(0x0E06) => {
                out.delivery = Some(dates::parse_xs(value).ok_or_else(|| {
                    invalid_extended(op, "PR_MESSAGE_DELIVERY_TIME is not an xs:dateTime")
                })?);
            }
            Some(0x0039) => {
                out.submit = Some(dates::parse_xs(value).ok_or_else(|| {
                    invalid_extended(op, "PR_CLIENT_SUBMIT_TIME is not an xs:dateTime")
                })?);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// An item ready to be created, or the reason it cannot be.
struct Prepared {
    kind: ItemKind,
    folder: Option<String>,
    data: Vec<u8>,
    is_read: bool,
    meta: RestoreMeta,
    subject: String,
    /// MessageDisposition SendOnly or SendAndSaveCopy: Exchange sends the message.
    sent: bool,
    /// Whether a copy is stored (everything but SendOnly).
    saved: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Disposition {
    SaveOnly,
    SendOnly,
    SendAndSaveCopy,
}

#[derive(Clone, Copy, PartialEq, Eq)]
/// SendMeetingInvitations: SendToNone, SendOnlyToAll, SendToAllAndSaveCopy.
enum Invitations {
    ToNone,
    OnlyToAll,
    ToAllAndSaveCopy,
}

fn decode_mime(op: &str, el: &Element) -> Result<Option<Vec<u8>>, String> {
    let Some(m) = el.child(T, "MimeContent") else {
        return Ok(None);
    };
    let compact: String = m.text().chars().filter(|c| !c.is_whitespace()).collect();
    match STANDARD.decode(compact) {
        Ok(d) if !d.is_empty() => Ok(Some(d)),
        Ok(_) => Err(error_message(
            op,
            "ErrorMimeContentInvalid",
            "The MIME content is missing or empty.",
            "<m:Items/>",
        )),
        Err(_) => Err(error_message(
            op,
            "ErrorMimeContentInvalidBase64String",
            "The MIME content is not a valid base64 string.",
            "<m:Items/>",
        )),
    }
}

fn text_of(el: &Element, name: &str) -> String {
    el.child(T, name)
        .map(|c| c.text().to_string())
        .unwrap_or_default()
}

fn bool_of(el: &Element, name: &str) -> Option<bool> {
    el.child(T, name)
        .map(|c| c.text().eq_ignore_ascii_case("true"))
}

fn strings(el: &Element, name: &str) -> Vec<String> {
    el.child(T, name)
        .map(|c| {
            c.children_named(T, "String")
                .map(|s| s.text().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

const DAY_CODES: [(&str, &str); 7] = [
    ("Monday", "MO"),
    ("Tuesday", "TU"),
    ("Wednesday", "WE"),
    ("Thursday", "TH"),
    ("Friday", "FR"),
    ("Saturday", "SA"),
    ("Sunday", "SU"),
];

/// EWS DaysOfWeek (a list of day names, or the groups Day / Weekday / WeekendDay) as
/// iCalendar day codes.
pub(crate) fn day_codes(names: &str) -> Vec<String> {
    let all = |r: std::ops::Range<usize>| DAY_CODES[r].iter().map(|(_, c)| c.to_string()).collect();
    let mut out: Vec<String> = Vec::new();
    for n in names.split_whitespace() {
        match n.to_ascii_lowercase().as_str() {
            "day" => return all(0..7),
            "weekday" => return all(0..5),
            "weekendday" => return all(5..7),
            lower => {
                if let Some((_, c)) = DAY_CODES
                    .iter()
                    .find(|(d, _)| d.eq_ignore_ascii_case(lower))
                {
                    out.push((*c).to_string());
                }
            }
        }
    }
    out
}

pub(crate) fn week_index(name: &str) -> i32 {
    match name.trim().to_ascii_lowercase().as_str() {
        "second" => 2,
        "third" => 3,
        "fourth" => 4,
        "last" => -1,
        _ => 1,
    }
}

pub(crate) fn month_number(name: &str) -> u32 {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let lower = name.trim().to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| *m == lower)
        .map_or(1, |i| u32::try_from(i + 1).unwrap_or(1))
}

/// `t:Recurrence`: its pattern and range, and the offset its StartDate states.
fn parse_recurrence(el: &Element) -> Option<(Recurrence, Option<i64>)> {
    let mut pattern = None;
    let mut range = None;
    let mut interval = 1;
    let mut first_day = None;
    let mut hint = None;
    for c in &el.children {
        let num = |name: &str| text_of(c, name).parse::<u32>().ok();
        let p = match c.name.as_str() {
            "DailyRecurrence" => Some(Pattern::Daily),
            "WeeklyRecurrence" => {
                first_day = day_codes(&text_of(c, "FirstDayOfWeek")).into_iter().next();
                Some(Pattern::Weekly {
                    days: day_codes(&text_of(c, "DaysOfWeek")),
                })
            }
            "AbsoluteMonthlyRecurrence" => Some(Pattern::AbsoluteMonthly {
                day: num("DayOfMonth").unwrap_or(1),
            }),
            "RelativeMonthlyRecurrence" => Some(Pattern::RelativeMonthly {
                days: day_codes(&text_of(c, "DaysOfWeek")),
                index: week_index(&text_of(c, "DayOfWeekIndex")),
            }),
            "AbsoluteYearlyRecurrence" => Some(Pattern::AbsoluteYearly {
                month: month_number(&text_of(c, "Month")),
                day: num("DayOfMonth").unwrap_or(1),
            }),
            "RelativeYearlyRecurrence" => Some(Pattern::RelativeYearly {
                month: month_number(&text_of(c, "Month")),
                days: day_codes(&text_of(c, "DaysOfWeek")),
                index: week_index(&text_of(c, "DayOfWeekIndex")),
            }),
            _ => None,
        };
        if let Some(p) = p {
            interval = num("Interval").unwrap_or(1).max(1);
            pattern = Some(p);
            continue;
        }
        let start = text_of(c, "StartDate");
        let r = match c.name.as_str() {
            "NoEndRecurrence" => Some(Range::NoEnd),
            "EndDateRecurrence" => Some(Range::EndDate(
                text_of(c, "EndDate").chars().take(10).collect(),
            )),
            "NumberedRecurrence" => Some(Range::Numbered(num("NumberOfOccurrences").unwrap_or(1))),
            _ => None,
        };
        if r.is_some() {
            hint = dates::date_offset(&start);
            range = r;
        }
    }
    Some((
        Recurrence {
            pattern: pattern?,
            interval,
            first_day,
            range: range.unwrap_or(Range::NoEnd),
        },
        hint,
    ))
}

fn attendees(el: &Element, list: &str, kind: AttendeeKind) -> Vec<Attendee> {
    el.child(T, list)
        .map(|l| {
            l.children_named(T, "Attendee")
                .filter_map(|a| {
                    let m = a.child(T, "Mailbox")?;
                    let address = text_of(m, "EmailAddress");
                    (!address.is_empty()).then(|| Attendee {
                        person: Person {
                            name: text_of(m, "Name"),
                            address,
                        },
                        kind,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn invalid_value(op: &str, what: &str) -> String {
    error_message(
        op,
        "ErrorInvalidValueForProperty",
        &format!("The value of {what} is invalid."),
        "<m:Items/>",
    )
}

/// A typed `t:CalendarItem` of CreateItem.
fn parse_calendar(op: &str, el: &Element) -> Result<EventDraft, String> {
    let time = |name: &str| -> Result<Option<i64>, String> {
        match el.child(T, name) {
            None => Ok(None),
            Some(v) => dates::parse_xs(v.text())
                .map(Some)
                .ok_or_else(|| invalid_value(op, &format!("calendar:{name}"))),
        }
    };
    let start = time("Start")?.unwrap_or_else(|| dates::now() / 1800 * 1800 + 1800);
    let end = time("End")?.unwrap_or(start + 1800);
    if end < start {
        return Err(error_message(
            op,
            "ErrorCalendarEndDateIsEarlierThanStartDate",
            "EndDate is earlier than StartDate",
            "<m:Items/>",
        ));
    }
    let body = el.child(T, "Body");
    let reminder_minutes = el
        .child(T, "ReminderMinutesBeforeStart")
        .and_then(|m| m.text().parse::<i64>().ok());
    let (recurrence, hint) = match el.child(T, "Recurrence").map(parse_recurrence) {
        Some(Some((r, h))) => (Some(r), h),
        Some(None) => return Err(invalid_value(op, "calendar:Recurrence")),
        None => (None, None),
    };
    let zone = el
        .child(T, "StartTimeZone")
        .and_then(|z| z.attr("Id").or_else(|| z.attr("Name")))
        .or_else(|| {
            el.child(T, "MeetingTimeZone")
                .and_then(|z| z.attr("TimeZoneName"))
        })
        .map(str::to_string);
    let mut all = attendees(el, "RequiredAttendees", AttendeeKind::Required);
    all.extend(attendees(el, "OptionalAttendees", AttendeeKind::Optional));
    all.extend(attendees(el, "Resources", AttendeeKind::Resource));
    let uid = text_of(el, "UID");
    let free_busy = text_of(el, "LegacyFreeBusyStatus");
    let sensitivity = text_of(el, "Sensitivity");
    Ok(EventDraft {
        subject: text_of(el, "Subject"),
        body: body.map(|b| b.text().to_string()).unwrap_or_default(),
        body_html: body
            .and_then(|b| b.attr("BodyType"))
            .is_some_and(|t| t.eq_ignore_ascii_case("HTML")),
        categories: strings(el, "Categories"),
        // Exchange sets a reminder on new appointments unless told otherwise.
        reminder_minutes: match bool_of(el, "ReminderIsSet") {
            Some(false) => None,
            _ => Some(reminder_minutes.unwrap_or(15)),
        },
        uid: (!uid.is_empty()).then_some(uid),
        start,
        end,
        all_day: bool_of(el, "IsAllDayEvent").unwrap_or(false),
        time_zone: zone,
        offset_hint: hint,
        free_busy: (!free_busy.is_empty()).then_some(free_busy),
        sensitivity: (!sensitivity.is_empty()).then_some(sensitivity),
        location: text_of(el, "Location"),
        attendees: all,
        recurrence,
    })
}

/// Keyed entries (`t:Entry Key="..."`) of an EWS dictionary such as PhoneNumbers.
fn entries<'a>(el: &'a Element, name: &str) -> Vec<&'a Element> {
    el.child(T, name)
        .map(|d| d.children_named(T, "Entry").collect())
        .unwrap_or_default()
}

/// A typed `t:Contact` of CreateItem.
fn parse_contact(el: &Element) -> ContactDraft {
    let complete = el.child(T, "CompleteName");
    let from_complete = |name: &str| complete.map(|c| text_of(c, name)).unwrap_or_default();
    let mut generation = text_of(el, "Generation");
    if generation.is_empty() {
        generation = from_complete("Suffix");
    }
    ContactDraft {
        notes: text_of(el, "Body"),
        categories: strings(el, "Categories"),
        file_as: text_of(el, "FileAs"),
        display_name: text_of(el, "DisplayName"),
        title: from_complete("Title"),
        given_name: text_of(el, "GivenName"),
        initials: text_of(el, "Initials"),
        middle_name: text_of(el, "MiddleName"),
        nickname: text_of(el, "Nickname"),
        surname: text_of(el, "Surname"),
        generation,
        company: text_of(el, "CompanyName"),
        department: text_of(el, "Department"),
        job_title: text_of(el, "JobTitle"),
        office: text_of(el, "OfficeLocation"),
        manager: text_of(el, "Manager"),
        assistant: text_of(el, "AssistantName"),
        emails: entries(el, "EmailAddresses")
            .into_iter()
            .filter(|e| !e.text().is_empty())
            .map(|e| {
                (
                    e.attr("Key").unwrap_or("EmailAddress1").to_string(),
                    e.attr("Name").unwrap_or("").to_string(),
                    e.text().to_string(),
                )
            })
            .collect(),
        phones: entries(el, "PhoneNumbers")
            .into_iter()
            .filter(|e| !e.text().is_empty())
            .map(|e| Phone {
                key: e.attr("Key").unwrap_or("BusinessPhone").to_string(),
                number: e.text().to_string(),
            })
            .collect(),
        addresses: entries(el, "PhysicalAddresses")
            .into_iter()
            .map(|e| PostalAddress {
                key: e.attr("Key").unwrap_or("Other").to_string(),
                street: text_of(e, "Street"),
                city: text_of(e, "City"),
                state: text_of(e, "State"),
                postal_code: text_of(e, "PostalCode"),
                country: text_of(e, "CountryOrRegion"),
            })
            .collect(),
        im_addresses: entries(el, "ImAddresses")
            .into_iter()
            .map(|e| e.text().to_string())
            .filter(|e| !e.is_empty())
            .collect(),
        home_page: text_of(el, "BusinessHomePage"),
        birthday: el
            .child(T, "Birthday")
            .map(|b| b.text().chars().take(10).collect::<String>())
            .filter(|b| dates::parse_date(b).is_some()),
    }
}

/// The UID Exchange gives a calendar item created without one: its GlobalObjectId form.
fn new_uid(mb: &Mailbox, subject: &str) -> String {
    let h = compose::fnv(format!("{}:{}:{subject}", mb.address, mb.seq).as_bytes());
    format!(
        "040000008200E00074C5B7101A82E00800000000{h:016X}{:016X}",
        mb.seq
    )
}

struct Request {
    disposition: Option<Disposition>,
    invitations: Option<Invitations>,
    folder: Option<String>,
}

fn owner(mb: &Mailbox) -> Person {
    Person {
        name: mb.display_name.clone(),
        address: mb.address.clone(),
    }
}

fn prepare(mb: &Mailbox, req: &Request, el: &Element) -> Result<Prepared, String> {
    const OP: &str = "CreateItem";
    let kind = match el.name.as_str() {
        "Message" => ItemKind::Message,
        "CalendarItem" => ItemKind::CalendarItem,
        "Contact" => ItemKind::Contact,
        _ => {
            return Err(error_message(
                OP,
                "ErrorInvalidRequest",
                "Only Message, CalendarItem and Contact can be created here.",
                "<m:Items/>",
            ))
        }
    };
    let props = ext_props(OP, el)?;
    let mime = decode_mime(OP, el)?;
    let meta = |via: &'static str| RestoreMeta {
        stamp: props.stamp.clone(),
        created_via: via,
        delivery_time: props.delivery.map(dates::xs),
        submit_time: props.submit.map(dates::xs),
        ..RestoreMeta::default()
    };
    match kind {
        ItemKind::Message => {
            let Some(disposition) = req.disposition else {
                return Err(error_message(
                    OP,
                    "ErrorMessageDispositionRequired",
                    "MessageDisposition attribute is required.",
                    "<m:Items/>",
                ));
            };
            let Some(data) = mime else {
                return Err(error_message(
                    OP,
                    "ErrorMimeContentInvalid",
                    "The MIME content is missing or empty.",
                    "<m:Items/>",
                ));
            };
            let sent = disposition != Disposition::SaveOnly;
            // A MIME import is unsent (a draft) unless PR_MESSAGE_FLAGS says otherwise in the
            // same call; a message Exchange sends is a sent item.
            let is_draft = !sent && props.flags.is_none_or(|f| f & 0x08 != 0);
            let is_read = sent || props.flags.is_some_and(|f| f & 0x01 != 0);
            let folder = req.folder.clone().or_else(|| {
                let wk = if sent { "sentitems" } else { "drafts" };
                mb.well_known(wk).map(|f| f.id.clone())
            });
            Ok(Prepared {
                kind,
                folder,
                subject: mailbox::mime_header(&data, "Subject").unwrap_or_default(),
                data,
                is_read,
                meta: RestoreMeta {
                    is_draft,
                    ..meta("ews-mime")
                },
                sent,
                saved: disposition != Disposition::SendOnly,
            })
        }
        ItemKind::CalendarItem => {
            let Some(invitations) = req.invitations else {
                return Err(error_message(
                    OP,
                    "ErrorSendMeetingInvitationsRequired",
                    "The SendMeetingInvitations attribute is required for calendar items.",
                    "<m:Items/>",
                ));
            };
            let invite = invitations != Invitations::ToNone;
            let (data, invited, via) = match mime {
                // iCalendar through MIME; Exchange takes its attendees as the invitation list.
                Some(ics) => {
                    let invited: Vec<String> = crate::properties::lines(&ics)
                        .into_iter()
                        .filter(|l| l.name == "ATTENDEE")
                        .map(|l| {
                            l.value
                                .trim_start_matches("mailto:")
                                .trim_start_matches("MAILTO:")
                                .to_string()
                        })
                        .collect();
                    (ics, invited, "ews-mime")
                }
                None => {
                    let draft = parse_calendar(OP, el)?;
                    let uid = new_uid(mb, &draft.subject);
                    let invited = draft
                        .attendees
                        .iter()
                        .map(|a| a.person.address.clone())
                        .collect();
                    (
                        compose::event_ics(&draft, &owner(mb), &uid),
                        invited,
                        "ews-typed",
                    )
                }
            };
            let folder = req
                .folder
                .clone()
                .or_else(|| mb.well_known("calendar").map(|f| f.id.clone()));
            Ok(Prepared {
                kind,
                folder,
                subject: mailbox::text_property(&data, "SUMMARY").unwrap_or_default(),
                data,
                is_read: true,
                meta: RestoreMeta {
                    attendees_invited: if invite { invited } else { Vec::new() },
                    ..meta(via)
                },
                sent: false,
                saved: true,
            })
        }
        ItemKind::Contact => {
            // Microsoft: "You cannot import vCard files by using the MimeContent property";
            // the simulator still stores such a request's vCard, as it always has.
            let (data, via, subject) = match mime {
                Some(vcf) => {
                    let s = mailbox::text_property(&vcf, "FN").unwrap_or_default();
                    (vcf, "ews-mime", s)
                }
                None => {
                    let c = parse_contact(el);
                    let s = c.shown_name();
                    (compose::contact_vcf(&c), "ews-typed", s)
                }
            };
            let folder = req
                .folder
                .clone()
                .or_else(|| mb.well_known("contacts").map(|f| f.id.clone()));
            Ok(Prepared {
                kind,
                folder,
                subject,
                data,
                is_read: true,
                meta: meta(via),
                sent: false,
                saved: true,
            })
        }
    }
}

/// A create refused by a fault rule: the same per-item answers GetItem gives.
fn create_fault_message(fault: ItemFault) -> String {
    const OP: &str = "CreateItem";
    match fault {
        ItemFault::NotFound => {
            error_message(OP, "ErrorFolderNotFound", FOLDER_NOT_FOUND, "<m:Items/>")
        }
        other => item_fault_message(OP, other),
    }
}

/// `CreateItem`: MIME messages (MessageDisposition required), calendar items (typed, or iCalendar
/// through MIME; SendMeetingInvitations required) and typed contacts. `Err` is a fault for the
/// whole request: a create rule's ServerBusy throttles it before anything is created, as
/// Exchange's throttling does.
pub(crate) fn create_item(
    state: &SimState,
    mb: &mut Mailbox,
    op: &Element,
) -> Result<String, Box<Response>> {
    const OP: &str = "CreateItem";
    let schema = |attr: &str, v: &str| {
        fault(
            "ErrorSchemaValidation",
            &format!("The request failed schema validation: The '{attr}' attribute is invalid - The value '{v}' is invalid."),
            "",
        )
    };
    let disposition = match op.attr("MessageDisposition") {
        None => None,
        Some("SaveOnly") => Some(Disposition::SaveOnly),
        Some("SendOnly") => Some(Disposition::SendOnly),
        Some("SendAndSaveCopy") => Some(Disposition::SendAndSaveCopy),
        Some(other) => return Err(Box::new(schema("MessageDisposition", other))),
    };
    let invitations = match op.attr("SendMeetingInvitations") {
        None => None,
        Some("SendToNone") => Some(Invitations::ToNone),
        Some("SendOnlyToAll") => Some(Invitations::OnlyToAll),
        Some("SendToAllAndSaveCopy") => Some(Invitations::ToAllAndSaveCopy),
        Some(other) => return Err(Box::new(schema("SendMeetingInvitations", other))),
    };
    let items: Vec<Element> = op
        .child(M, "Items")
        .map(|e| e.children.clone())
        .unwrap_or_default();
    let folder = match op.child(M, "SavedItemFolderId") {
        None => None,
        Some(el) => match folder_ref(mb, el) {
            Some(f) => Some(f.id.clone()),
            None => {
                let out = error_message(OP, "ErrorFolderNotFound", FOLDER_NOT_FOUND, "<m:Items/>")
                    .repeat(items.len().max(1));
                return Ok(wrap(OP, &out));
            }
        },
    };
    let req = Request {
        disposition,
        invitations,
        folder,
    };
    let prepared: Vec<Result<Prepared, String>> =
        items.iter().map(|el| prepare(mb, &req, el)).collect();
    let mut faults = Vec::with_capacity(prepared.len());
    for p in &prepared {
        let f = match p {
            Ok(p) => state.take_create_fault(&mb.address, &p.subject),
            Err(_) => None,
        };
        if let Some(ItemFault::ServerBusy { backoff_ms }) = f {
            state.throttle_window(&mb.address, Duration::from_millis(backoff_ms));
            state.bump(|c| c.server_busy += 1);
            return Err(Box::new(fault(
                "ErrorServerBusy",
                "The server cannot service this request right now. Try again later.",
                &format!(
                    "<t:MessageXml xmlns:t=\"{T}\"><t:Value Name=\"BackOffMilliseconds\">{backoff_ms}</t:Value></t:MessageXml>"
                ),
            )));
        }
        faults.push(f);
    }
    let mut out = String::new();
    let mut stopped = false;
    let mut created = 0;
    for (p, f) in prepared.into_iter().zip(faults) {
        let p = match p {
            Ok(p) => p,
            Err(message) => {
                out.push_str(&message);
                continue;
            }
        };
        if stopped {
            out.push_str(&batch_stopped_message(OP));
            continue;
        }
        if let Some(f) = f {
            stopped = f == ItemFault::BatchStopped;
            out.push_str(&create_fault_message(f));
            continue;
        }
        if p.sent {
            state.bump(|c| c.messages_sent += 1);
        }
        if !p.saved {
            out.push_str(&format!(
                "<m:{OP}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode><m:Items/></m:{OP}ResponseMessage>"
            ));
            continue;
        }
        let Some(folder) = p.folder else {
            out.push_str(&error_message(
                OP,
                "ErrorFolderNotFound",
                FOLDER_NOT_FOUND,
                "<m:Items/>",
            ));
            continue;
        };
        let kind = p.kind;
        let new = NewItem {
            folder,
            kind,
            data: p.data,
            is_read: p.is_read,
            meta: p.meta,
        };
        match restore::create(state, mb, new) {
            Ok(r) => {
                created += 1;
                let el = item_element(kind);
                let _ = write!(
                    out,
                    "<m:{OP}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:{el}>\
<t:ItemId Id=\"{}\" ChangeKey=\"{}\"/></t:{el}></m:Items></m:{OP}ResponseMessage>",
                    mailbox::ews_item_id(mb.index, r.n, 0),
                    mailbox::change_key(mb.seq),
                );
            }
            Err(e) => out.push_str(&error_message(
                OP,
                "ErrorInternalServerError",
                &e.to_string(),
                "<m:Items/>",
            )),
        }
    }
    state.bump(|c| c.created_items += created);
    Ok(wrap(OP, &out))
}

// ---- UpdateItem --------------------------------------------------------------------------------

/// `UpdateItem` of what a restore merges into an item that is there: `SetItemField` of
/// `message:IsRead` on a message. Marking read a message that asked for a read receipt
/// (`Disposition-Notification-To`) sends one, as Exchange does, unless the request says
/// `SuppressReadReceipts="true"`; the simulator counts those as a mistake. Other fields are
/// refused per item: this server does not update them. `Err` is a schema fault.
pub(crate) fn update_item(
    state: &SimState,
    mb: &mut Mailbox,
    op: &Element,
) -> Result<String, String> {
    const OP: &str = "UpdateItem";
    let Some(conflict) = op.attr("ConflictResolution") else {
        return Err("The required attribute 'ConflictResolution' is missing.".into());
    };
    let overwrite = conflict.trim() == "AlwaysOverwrite";
    let suppress = op
        .attr("SuppressReadReceipts")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let Some(changes) = op.child(M, "ItemChanges") else {
        return Err("The element 'UpdateItem' has incomplete content: ItemChanges.".into());
    };
    let not_found = || {
        error_message(
            OP,
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
            "<m:Items/>",
        )
    };
    let mut out = String::new();
    for change in changes.children.iter().filter(|c| c.is(T, "ItemChange")) {
        if let Some(target) = change.child(T, "OccurrenceItemId") {
            out.push_str(&crate::ews_change::update_occurrence(
                state, mb, op, change, target,
            ));
            continue;
        }
        let id_el = change.child(T, "ItemId");
        let raw = id_el.and_then(|i| i.attr("Id")).unwrap_or("").trim();
        let parsed =
            mailbox::parse_item_id(raw).filter(|p| p.mailbox == mb.index && p.move_gen.is_some());
        let Some(parsed) = parsed else {
            out.push_str(&error_message(
                OP,
                "ErrorInvalidIdMalformed",
                "Id is malformed.",
                "<m:Items/>",
            ));
            continue;
        };
        let Some(item) = mb
            .items
            .get(&parsed.n)
            .filter(|i| Some(i.move_gen) == parsed.move_gen)
        else {
            out.push_str(&not_found());
            continue;
        };
        // Without AlwaysOverwrite, Exchange wants the change key the client last saw.
        let given_key = id_el.and_then(|i| i.attr("ChangeKey")).unwrap_or("");
        if !overwrite && given_key != mailbox::change_key(item.modseq) {
            out.push_str(&error_message(
                OP,
                "ErrorIrresolvableConflict",
                "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.",
                "<m:Items/>",
            ));
            continue;
        }
        let mut read = None;
        let mut refused = None;
        for (set, field) in crate::ews_change::updates(change) {
            let value = set
                .child(T, "Message")
                .and_then(|m| m.child(T, "IsRead"))
                .map(|v| v.text().trim().eq_ignore_ascii_case("true"));
            match (set.name.as_str(), field, value) {
                ("SetItemField", "message:IsRead", Some(v)) if item.kind == ItemKind::Message => {
                    read = Some(v)
                }
                _ => refused = Some(format!("{} {field}", set.name)),
            }
        }
        if let Some(what) = refused {
            out.push_str(&error_message(
                OP,
                "ErrorInvalidPropertySet",
                &format!("This server does not update {what}."),
                "<m:Items/>",
            ));
            continue;
        }
        let n = item.n;
        let asks_receipt =
            mailbox::mime_header(&item.data, "Disposition-Notification-To").is_some();
        if let Some(read) = read {
            if read && !item.is_read && asks_receipt && !suppress {
                state.bump(|c| c.read_receipts_sent += 1);
            }
            if mb.set_read(n, read).is_err() {
                out.push_str(&not_found());
                continue;
            }
            state.bump(|c| c.items_updated += 1);
        }
        let key = mb.change_key_of(n);
        let _ = write!(
            out,
            "<m:{OP}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message><t:ItemId Id=\"{}\" ChangeKey=\"{key}\"/></t:Message></m:Items>\
<m:ConflictResults><m:Count>0</m:Count></m:ConflictResults></m:{OP}ResponseMessage>",
            escape(raw)
        );
    }
    Ok(wrap(OP, &out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ews_day_groups() {
        assert_eq!(day_codes("Weekday").len(), 5);
        assert_eq!(day_codes("Monday Friday"), ["MO", "FR"]);
        assert_eq!(week_index("Last"), -1);
        assert_eq!(month_number("December"), 12);
    }
}
