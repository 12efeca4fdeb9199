//! The Graph requests a restore makes: folders, calendars and contact folders (list with
//! `$filter`, create), listings for the skip-existing check (`$select`, `$expand` of the stamp,
//! `$filter` on internetMessageId or the stamp, paged by `@odata.nextLink`), and the creation of
//! messages (JSON or MIME), attachments (small ones in one POST, large ones through an upload
//! session), events and contacts.
//!
//! Writes need the token's app role for their kind (Mail.ReadWrite, Calendars.ReadWrite,
//! Contacts.ReadWrite); reads are served with any valid token, as before.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::compose::{
    self, Attendee, AttendeeKind, ContactDraft, EventDraft, MessageDraft, Pattern, Person, Phone,
    PostalAddress, Range, Recurrence,
};
use crate::dates;
use crate::ews_restore::{day_codes, week_index};
use crate::graph::{
    contact_json, etag, event_json, find_item, folder_json, folder_not_found, graph_item_id,
    item_fault_response, item_not_found, message_json, GraphResponse, Req,
};
use crate::graph_change;
use crate::mailbox::{self, Folder, FolderKind, Item, ItemKind, Mailbox};
use crate::odata::{self, Filter};
use crate::restore::{self, AttachmentRecord, NewItem, RestoreMeta};
use crate::state::{ItemFault, SimState};
use crate::upload::UploadSession;

const DEFAULT_PAGE: usize = 10;
const MAX_PAGE: usize = 1000;
/// Microsoft: files under 3 MB go in one POST, larger ones through an upload session.
const SMALL_ATTACHMENT: u64 = 3 * 1024 * 1024;
/// The largest file an upload session takes (outlook-large-attachments.md: 150 MB).
const MAX_ATTACHMENT: u64 = 150 * 1024 * 1024;
const UPLOAD_LIFETIME: Duration = Duration::from_secs(30 * 60);

fn bad_request(code: &str, message: &str) -> GraphResponse {
    GraphResponse::error(StatusCode::BAD_REQUEST, code, message)
}

pub(crate) fn bad_filter() -> GraphResponse {
    bad_request(
        "BadRequest",
        "Invalid filter clause: the simulator takes equality on a property or on a single-value extended property.",
    )
}

/// The values of `field eq '...'` (or several joined by `or`) in a `$filter`.
pub(crate) fn name_filter(filter: &str, field: &str) -> Option<Vec<String>> {
    fn collect(f: &Filter, field: &str, out: &mut Vec<String>) -> bool {
        match f {
            Filter::Eq(k, v) if k.eq_ignore_ascii_case(field) => {
                out.push(v.clone());
                true
            }
            Filter::Or(all) => all.iter().all(|f| collect(f, field, out)),
            _ => false,
        }
    }
    let mut out = Vec::new();
    collect(&odata::parse_filter(filter)?, field, &mut out).then_some(out)
}

// ---- routes ------------------------------------------------------------------------------------

/// A write a restore makes, with the path segments it names.
enum Write<'a> {
    MailFolder { parent: &'a str },
    Message { folder: &'a str },
    PatchMessage { id: &'a str },
    Attachment { message: &'a str },
    UploadSession { message: &'a str },
    Calendar,
    Event { calendar: &'a str },
    ContactFolder { parent: &'a str },
    Contact { folder: &'a str },
    PatchEvent { id: &'a str },
    Delete { id: &'a str, kind: ItemKind },
    ContactPhoto { contact: &'a str },
}

fn route<'a>(method: &str, rest: &[&'a str]) -> Option<Write<'a>> {
    Some(match (method, rest) {
        ("POST", ["mailFolders"]) => Write::MailFolder {
            parent: "msgfolderroot",
        },
        ("POST", ["mailFolders", id, "childFolders"]) => Write::MailFolder { parent: id },
        ("POST", ["mailFolders", id, "messages"]) => Write::Message { folder: id },
        // POST /users/{id}/messages creates in Drafts (user-post-messages.md).
        ("POST", ["messages"]) => Write::Message { folder: "drafts" },
        ("PATCH", ["messages", id] | ["mailFolders", _, "messages", id]) => {
            Write::PatchMessage { id }
        }
        (
            "POST",
            ["messages", id, "attachments"] | ["mailFolders", _, "messages", id, "attachments"],
        ) => Write::Attachment { message: id },
        (
            "POST",
            ["messages", id, "attachments", "createUploadSession"]
            | ["mailFolders", _, "messages", id, "attachments", "createUploadSession"],
        ) => Write::UploadSession { message: id },
        ("POST", ["calendars"]) => Write::Calendar,
        ("POST", ["calendars", id, "events"]) => Write::Event { calendar: id },
        ("POST", ["events"] | ["calendar", "events"]) => Write::Event {
            calendar: "calendar",
        },
        // POST /contactFolders creates below the default Contacts folder.
        ("POST", ["contactFolders"]) => Write::ContactFolder { parent: "contacts" },
        ("POST", ["contactFolders", id, "childFolders"]) => Write::ContactFolder { parent: id },
        ("POST", ["contactFolders", id, "contacts"]) => Write::Contact { folder: id },
        ("POST", ["contacts"]) => Write::Contact { folder: "contacts" },
        ("PATCH", ["events", id] | ["calendar" | "calendars", .., "events", id]) => {
            Write::PatchEvent { id }
        }
        ("DELETE", ["events", id] | ["calendar" | "calendars", .., "events", id]) => {
            Write::Delete {
                id,
                kind: ItemKind::CalendarItem,
            }
        }
        ("DELETE", ["messages", id] | ["mailFolders", _, "messages", id]) => Write::Delete {
            id,
            kind: ItemKind::Message,
        },
        ("DELETE", ["contacts", id] | ["contactFolders", _, "contacts", id]) => Write::Delete {
            id,
            kind: ItemKind::Contact,
        },
        (
            "PUT",
            ["contacts", id, "photo", "$value"]
            | ["contactFolders", _, "contacts", id, "photo", "$value"],
        ) => Write::ContactPhoto { contact: id },
        _ => return None,
    })
}

impl Write<'_> {
    fn role(&self) -> &'static str {
        match self {
            Write::MailFolder { .. }
            | Write::Message { .. }
            | Write::PatchMessage { .. }
            | Write::Attachment { .. }
            | Write::UploadSession { .. } => "Mail.ReadWrite",
            Write::Calendar | Write::Event { .. } | Write::PatchEvent { .. } => {
                "Calendars.ReadWrite"
            }
            Write::ContactFolder { .. } | Write::Contact { .. } | Write::ContactPhoto { .. } => {
                "Contacts.ReadWrite"
            }
            Write::Delete { kind, .. } => match kind {
                ItemKind::Message => "Mail.ReadWrite",
                ItemKind::CalendarItem => "Calendars.ReadWrite",
                ItemKind::Contact => "Contacts.ReadWrite",
            },
        }
    }

    fn endpoint(&self) -> &'static str {
        match self {
            Write::MailFolder { .. } => "mailFolders.create",
            Write::Message { .. } => "messages.create",
            Write::PatchMessage { .. } => "messages.update",
            Write::Attachment { .. } => "attachments.create",
            Write::UploadSession { .. } => "attachments.createUploadSession",
            Write::Calendar => "calendars.create",
            Write::Event { .. } => "events.create",
            Write::ContactFolder { .. } => "contactFolders.create",
            Write::Contact { .. } => "contacts.create",
            Write::PatchEvent { .. } => "events.update",
            Write::Delete { kind, .. } => match kind {
                ItemKind::Message => "messages.delete",
                ItemKind::CalendarItem => "events.delete",
                ItemKind::Contact => "contacts.delete",
            },
            Write::ContactPhoto { .. } => "contacts.photo.update",
        }
    }
}

pub(crate) fn write_endpoint(method: &str, rest: &[&str]) -> String {
    route(method, rest).map_or_else(
        || format!("{}.other", method.to_ascii_lowercase()),
        |w| w.endpoint().to_string(),
    )
}

pub(crate) fn read_endpoint(rest: &[&str]) -> &'static str {
    match rest {
        ["calendars"] => "calendars",
        ["calendar"] | ["calendars", _] => "calendars.get",
        ["contactFolders"] | ["contactFolders", _, "childFolders"] => "contactFolders",
        ["contactFolders", _] => "contactFolders.get",
        ["mailFolders", _, "messages"] | ["messages"] => "messages.list",
        ["calendars", _, "events"] | ["calendar", "events"] | ["events"] => "events.list",
        ["events", _, "instances"] | ["calendar" | "calendars", .., "events", _, "instances"] => {
            "events.instances"
        }
        ["contactFolders", _, "contacts"] | ["contacts"] => "contacts.list",
        _ => "other",
    }
}

/// A write request: role check, then the operation on the mailbox.
pub(crate) fn write(
    state: &SimState,
    req: &Req,
    user: &str,
    rest: &[&str],
    base: &str,
) -> GraphResponse {
    let Some(route) = route(req.method, rest) else {
        return GraphResponse::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequest",
            "Only GET is supported here.",
        );
    };
    let role = route.role();
    if !req.roles.iter().any(|r| r.eq_ignore_ascii_case(role)) {
        return GraphResponse::error(
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        );
    }
    let mut store = state.store();
    let Some(mb) = store.get_mut(&user.to_ascii_lowercase()) else {
        return GraphResponse::error(
            StatusCode::NOT_FOUND,
            "ErrorInvalidUser",
            "The requested user is invalid.",
        );
    };
    let ctx = Ctx {
        state,
        req,
        user,
        base,
    };
    match route {
        Write::MailFolder { parent } => create_mail_folder(&ctx, mb, parent),
        Write::Message { folder } => create_message(&ctx, mb, folder),
        Write::PatchMessage { id } => patch_message(&ctx, mb, id),
        Write::Attachment { message } => add_attachment(&ctx, mb, message),
        Write::UploadSession { message } => create_upload_session(&ctx, mb, message),
        Write::Calendar => create_calendar(&ctx, mb),
        Write::Event { calendar } => create_event(&ctx, mb, calendar),
        Write::ContactFolder { parent } => create_contact_folder(&ctx, mb, parent),
        Write::Contact { folder } => create_contact(&ctx, mb, folder),
        Write::PatchEvent { id } => graph_change::patch_event(state, req, mb, id),
        Write::Delete { id, kind } => graph_change::delete(state, mb, id, kind),
        Write::ContactPhoto { contact } => graph_change::put_contact_photo(state, req, mb, contact),
    }
}

struct Ctx<'a> {
    state: &'a SimState,
    req: &'a Req<'a>,
    user: &'a str,
    base: &'a str,
}

fn json_body(req: &Req) -> Result<Map<String, Value>, GraphResponse> {
    match serde_json::from_slice::<Value>(req.body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(bad_request(
            "RequestBodyRead",
            "The request body is not a JSON object.",
        )),
    }
}

fn s(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        match cur.get(*p) {
            Some(next) => cur = next,
            None => return String::new(),
        }
    }
    cur.as_str().unwrap_or("").to_string()
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn folder_of_kind<'a>(mb: &'a Mailbox, key: &str, kinds: &[FolderKind]) -> Option<&'a Folder> {
    mb.resolve_folder(key).filter(|f| kinds.contains(&f.kind))
}

const MAIL_KINDS: [FolderKind; 2] = [FolderKind::Mail, FolderKind::Container];

fn exists() -> GraphResponse {
    GraphResponse::error(
        StatusCode::CONFLICT,
        "ErrorFolderExists",
        "A folder with the specified name already exists.",
    )
}

fn required_name(body: &Map<String, Value>, key: &str) -> Result<String, GraphResponse> {
    let name = body
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("");
    if name.is_empty() {
        return Err(bad_request(
            "ErrorInvalidRequest",
            &format!("The {key} property is required."),
        ));
    }
    Ok(name.to_string())
}

/// A create refused by a fault rule. Microsoft surfaces a store conversion failure of a
/// create as ErrorCorruptData (corso's error table).
fn create_fault(state: &SimState, mailbox: &str, fault: ItemFault) -> GraphResponse {
    match fault {
        ItemFault::MimeConversionFailed => bad_request(
            "ErrorCorruptData",
            "The item could not be saved: its data is corrupt.",
        ),
        ItemFault::ServerBusy { backoff_ms } => {
            state.throttle_window(mailbox, Duration::from_millis(backoff_ms));
            item_fault_response(fault)
        }
        other => item_fault_response(other),
    }
}

// ---- folders, calendars, contact folders --------------------------------------------------------

fn with_context(mut v: Value, context: String) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert("@odata.context".into(), Value::String(context));
    }
    v
}

fn create_mail_folder(ctx: &Ctx, mb: &mut Mailbox, parent: &str) -> GraphResponse {
    let Some(parent) = folder_of_kind(mb, parent, &MAIL_KINDS).map(|f| f.id.clone()) else {
        return folder_not_found();
    };
    let body = match json_body(ctx.req) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let name = match required_name(&body, "displayName") {
        Ok(n) => n,
        Err(e) => return e,
    };
    if mb.child_named(&parent, &name).is_some() {
        return exists();
    }
    let Ok(id) = mb.create_folder(&parent, &name, FolderKind::Mail, None) else {
        return folder_not_found();
    };
    ctx.state.bump(|c| c.folders_created += 1);
    match mb.folders.get(&id) {
        Some(f) => GraphResponse::json(
            StatusCode::CREATED,
            with_context(
                folder_json(mb, f),
                format!("{}/$metadata#mailFolders/$entity", ctx.base),
            ),
        ),
        None => folder_not_found(),
    }
}

fn calendar_json(mb: &Mailbox, f: &Folder) -> Value {
    let default = f.well_known == Some("calendar");
    json!({
        "id": f.id,
        "name": f.name,
        "color": "auto",
        "hexColor": "",
        "isDefaultCalendar": default,
        "changeKey": mailbox::change_key(f.modseq),
        "canShare": true,
        "canViewPrivateItems": true,
        "canEdit": true,
        "isRemovable": !default,
        "isTallyingResponses": true,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "owner": {"name": mb.display_name, "address": mb.address},
    })
}

/// Every calendar of the mailbox, the default one first.
fn calendars(mb: &Mailbox) -> Vec<&Folder> {
    let mut all: Vec<&Folder> = mb
        .folders
        .values()
        .filter(|f| f.kind == FolderKind::Calendar && !mb.hidden_from_view(&f.id))
        .collect();
    all.sort_by_key(|f| f.well_known != Some("calendar"));
    all
}

fn create_calendar(ctx: &Ctx, mb: &mut Mailbox) -> GraphResponse {
    let body = match json_body(ctx.req) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let name = match required_name(&body, "name") {
        Ok(n) => n,
        Err(e) => return e,
    };
    if calendars(mb)
        .iter()
        .any(|f| f.name.trim().eq_ignore_ascii_case(&name))
    {
        return exists();
    }
    // New calendars sit beside the default one, below the top of the store.
    let Some(top) = mb.well_known("msgfolderroot").map(|f| f.id.clone()) else {
        return folder_not_found();
    };
    let Ok(id) = mb.create_folder(&top, &name, FolderKind::Calendar, None) else {
        return folder_not_found();
    };
    ctx.state.bump(|c| c.folders_created += 1);
    match mb.folders.get(&id) {
        Some(f) => GraphResponse::json(
            StatusCode::CREATED,
            with_context(
                calendar_json(mb, f),
                format!("{}/$metadata#calendars/$entity", ctx.base),
            ),
        ),
        None => folder_not_found(),
    }
}

fn contact_folder_json(f: &Folder) -> Value {
    json!({"id": f.id, "parentFolderId": f.parent, "displayName": f.name})
}

fn create_contact_folder(ctx: &Ctx, mb: &mut Mailbox, parent: &str) -> GraphResponse {
    let Some(parent) = folder_of_kind(mb, parent, &[FolderKind::Contacts]).map(|f| f.id.clone())
    else {
        return folder_not_found();
    };
    let body = match json_body(ctx.req) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let name = match required_name(&body, "displayName") {
        Ok(n) => n,
        Err(e) => return e,
    };
    if mb.child_named(&parent, &name).is_some() {
        return exists();
    }
    let Ok(id) = mb.create_folder(&parent, &name, FolderKind::Contacts, None) else {
        return folder_not_found();
    };
    ctx.state.bump(|c| c.folders_created += 1);
    match mb.folders.get(&id) {
        Some(f) => GraphResponse::json(
            StatusCode::CREATED,
            with_context(
                contact_folder_json(f),
                format!("{}/$metadata#contactFolders/$entity", ctx.base),
            ),
        ),
        None => folder_not_found(),
    }
}

// ---- reads ------------------------------------------------------------------------------------

fn folder_list(req: &Req, folders: Vec<Value>, field: &str, context: String) -> GraphResponse {
    let names = match req.query.get("$filter") {
        None => None,
        Some(f) => match name_filter(f, field) {
            Some(n) => Some(n),
            None => return bad_filter(),
        },
    };
    let value: Vec<Value> = folders
        .into_iter()
        .filter(|v| {
            names.as_ref().is_none_or(|n| {
                let shown = v.get(field).and_then(Value::as_str).unwrap_or("");
                n.iter().any(|x| x.eq_ignore_ascii_case(shown))
            })
        })
        .collect();
    GraphResponse::json(
        StatusCode::OK,
        json!({"@odata.context": context, "value": value}),
    )
}

/// The GETs beyond what the sync uses; `None` leaves the path to the caller's 400.
pub(crate) fn read(mb: &Mailbox, req: &Req, rest: &[&str], base: &str) -> Option<GraphResponse> {
    let kind_folder = |id: &str, kind: FolderKind| {
        mb.resolve_folder(id)
            .filter(|f| f.kind == kind)
            .map(|f| f.id.clone())
    };
    Some(match rest {
        ["events", id, "instances"] | ["calendar" | "calendars", .., "events", id, "instances"] => {
            graph_change::instances(mb, req, id, &format!("{base}/events/{id}/instances"))
        }
        ["calendars"] => folder_list(
            req,
            calendars(mb).iter().map(|f| calendar_json(mb, f)).collect(),
            "name",
            format!("{base}/$metadata#calendars"),
        ),
        ["calendar"] => match mb.well_known("calendar") {
            Some(f) => GraphResponse::json(StatusCode::OK, calendar_json(mb, f)),
            None => folder_not_found(),
        },
        ["calendars", id] => match mb
            .resolve_folder(id)
            .filter(|f| f.kind == FolderKind::Calendar)
        {
            Some(f) => GraphResponse::json(StatusCode::OK, calendar_json(mb, f)),
            None => folder_not_found(),
        },
        // Graph lists the folders *in* the default Contacts folder here, not that folder
        // itself (user-list-contactfolders.md); the default one is `contactFolders/contacts`.
        ["contactFolders"] | ["contactFolders", _, "childFolders"] => {
            let parent = match rest {
                ["contactFolders", id, "childFolders"] => kind_folder(id, FolderKind::Contacts),
                _ => kind_folder("contacts", FolderKind::Contacts),
            };
            let Some(parent) = parent else {
                return Some(folder_not_found());
            };
            let children = mb
                .folders
                .values()
                .filter(|f| {
                    f.parent.as_deref() == Some(parent.as_str())
                        && f.kind == FolderKind::Contacts
                        && !mb.hidden_from_view(&f.id)
                })
                .map(contact_folder_json)
                .collect();
            folder_list(
                req,
                children,
                "displayName",
                format!("{base}/$metadata#contactFolders"),
            )
        }
        ["contactFolders", id] => match mb
            .resolve_folder(id)
            .filter(|f| f.kind == FolderKind::Contacts)
        {
            Some(f) => GraphResponse::json(StatusCode::OK, contact_folder_json(f)),
            None => folder_not_found(),
        },
        ["mailFolders", id, "messages"] => {
            let Some(f) = folder_of_kind(mb, id, &MAIL_KINDS) else {
                return Some(folder_not_found());
            };
            let items = mb
                .items_in(&f.id)
                .filter(|i| i.kind == ItemKind::Message)
                .collect();
            list(
                mb,
                req,
                items,
                &format!("{base}/mailFolders/{}/messages", f.id),
                "messages",
            )
        }
        ["messages"] => {
            let items = mb
                .items
                .values()
                .filter(|i| i.kind == ItemKind::Message)
                .collect();
            list(mb, req, items, &format!("{base}/messages"), "messages")
        }
        ["calendars", _, "events"] | ["calendar", "events"] | ["events"] => {
            let id = match rest {
                ["calendars", id, "events"] => id,
                _ => "calendar",
            };
            let Some(f) = kind_folder(id, FolderKind::Calendar) else {
                return Some(folder_not_found());
            };
            let link = match rest {
                ["calendars", ..] => format!("{base}/calendars/{f}/events"),
                ["calendar", ..] => format!("{base}/calendar/events"),
                _ => format!("{base}/events"),
            };
            list(mb, req, mb.items_in(&f).collect(), &link, "events")
        }
        ["contactFolders", _, "contacts"] | ["contacts"] => {
            let id = match rest {
                ["contactFolders", id, "contacts"] => id,
                _ => "contacts",
            };
            let Some(f) = kind_folder(id, FolderKind::Contacts) else {
                return Some(folder_not_found());
            };
            let link = match rest {
                ["contacts"] => format!("{base}/contacts"),
                _ => format!("{base}/contactFolders/{f}/contacts"),
            };
            list(mb, req, mb.items_in(&f).collect(), &link, "contacts")
        }
        _ => return None,
    })
}

fn stamp_of(item: &Item) -> Option<&str> {
    item.restore.as_ref().and_then(|m| m.stamp.as_deref())
}

fn filter_matches(item: &Item, f: &Filter) -> bool {
    match f {
        Filter::Or(all) => all.iter().any(|f| filter_matches(item, f)),
        Filter::Extended { id, value } => {
            restore::is_graph_stamp_id(id)
                && stamp_of(item)
                    .is_some_and(|s| value.as_ref().is_none_or(|v| v.eq_ignore_ascii_case(s)))
        }
        Filter::Eq(field, v) => {
            let have = match field.to_ascii_lowercase().as_str() {
                "internetmessageid" if item.kind == ItemKind::Message => {
                    mailbox::mime_header(&item.data, "Message-ID")
                }
                "icaluid" if item.kind == ItemKind::CalendarItem => {
                    mailbox::text_property(&item.data, "UID")
                }
                "subject" => crate::ews::subject_of(item.kind, &item.data),
                "displayname" if item.kind == ItemKind::Contact => {
                    mailbox::text_property(&item.data, "FN")
                }
                _ => None,
            };
            have.is_some_and(|h| h.eq_ignore_ascii_case(v))
        }
    }
}

/// A page of items as Graph lists them, with `$filter`, `$select`, `$expand`, `$top`, `$skip`.
fn list(mb: &Mailbox, req: &Req, items: Vec<&Item>, link: &str, entity: &str) -> GraphResponse {
    let filter = match req.query.get("$filter") {
        None => None,
        Some(f) => match odata::parse_filter(f) {
            Some(f) => Some(f),
            None => return bad_filter(),
        },
    };
    let expand = match req.query.get("$expand") {
        None => None,
        Some(e) => match odata::expanded_property(e) {
            Ok(id) => Some(id),
            Err(()) => {
                return bad_request(
                    "BadRequest",
                    "Parsing OData Select and Expand failed: only singleValueExtendedProperties($filter=id eq '...') can be expanded here.",
                )
            }
        },
    };
    let want_stamp = expand
        .as_ref()
        .is_some_and(|id| id.as_deref().is_none_or(restore::is_graph_stamp_id));
    let select = odata::select(req.query.get("$select"));
    let top = req
        .query
        .get("$top")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, MAX_PAGE);
    let skip = req
        .query
        .get("$skip")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    let found: Vec<&Item> = items
        .into_iter()
        .filter(|i| filter.as_ref().is_none_or(|f| filter_matches(i, f)))
        .collect();
    let immutable = req.immutable_ids();
    let value: Vec<Value> = found
        .iter()
        .skip(skip)
        .take(top)
        .map(|item| {
            let full = match item.kind {
                ItemKind::Message => message_json(mb, item, immutable),
                ItemKind::CalendarItem => event_json(mb, item, immutable),
                ItemKind::Contact => contact_json(mb, item, immutable),
            };
            let mut v = match &select {
                None => full,
                Some(fields) => {
                    let mut out = Map::new();
                    if let Some(obj) = full.as_object() {
                        for (k, val) in obj {
                            let keep = k == "id"
                                || k == "@odata.etag"
                                || fields.iter().any(|f| f.eq_ignore_ascii_case(k));
                            if keep {
                                out.insert(k.clone(), val.clone());
                            }
                        }
                    }
                    Value::Object(out)
                }
            };
            if let (true, Some(stamp), Some(o)) = (want_stamp, stamp_of(item), v.as_object_mut()) {
                o.insert(
                    "singleValueExtendedProperties".into(),
                    json!([{"id": restore::graph_stamp_id(), "value": stamp}]),
                );
            }
            v
        })
        .collect();
    collection_page(req, entity, value, skip, top, found.len(), link)
}

/// One page (`skip`, `top`) of a collection of `total` entries, with `@odata.nextLink` (the
/// request's query with the next `$skip`) when more follow.
pub(crate) fn collection_page(
    req: &Req,
    entity: &str,
    value: Vec<Value>,
    skip: usize,
    top: usize,
    total: usize,
    link: &str,
) -> GraphResponse {
    let mut body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#{entity}", req.origin),
        "value": value,
    });
    if skip + top < total {
        let mut q: Vec<String> = req
            .query
            .iter()
            .filter(|(k, _)| k.as_str() != "$skip" && k.as_str() != "$top")
            .map(|(k, v)| format!("{}={}", odata::encode(k), odata::encode(v)))
            .collect();
        q.push(format!("$top={top}"));
        q.push(format!("$skip={}", skip + top));
        body["@odata.nextLink"] = Value::String(format!("{link}?{}", q.join("&")));
    }
    GraphResponse::json(StatusCode::OK, body)
}

// ---- messages ---------------------------------------------------------------------------------

fn person(v: Option<&Value>) -> Option<Person> {
    let e = v?.get("emailAddress")?;
    let address = s(e, &["address"]);
    (!address.is_empty()).then(|| Person {
        name: s(e, &["name"]),
        address,
    })
}

fn people(v: &Value, key: &str) -> Vec<Person> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|p| person(Some(p))).collect())
        .unwrap_or_default()
}

/// What `singleValueExtendedProperties` set: PR_MESSAGE_FLAGS, the delivery and submit times
/// and the stamp.
#[derive(Default)]
struct ExtProps {
    flags: Option<u32>,
    delivery: Option<i64>,
    submit: Option<i64>,
    stamp: Option<String>,
}

fn invalid_extended(what: &str) -> GraphResponse {
    bad_request(
        "ErrorInvalidExtendedPropertyValue",
        &format!("The extended property value is invalid: {what}."),
    )
}

fn ext_props(v: &Value) -> Result<ExtProps, GraphResponse> {
    let mut out = ExtProps::default();
    let Some(list) = v
        .get("singleValueExtendedProperties")
        .and_then(Value::as_array)
    else {
        return Ok(out);
    };
    for p in list {
        let id = s(p, &["id"]);
        let value = match p.get("value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        if restore::is_graph_stamp_id(&id) {
            out.stamp = Some(value);
            continue;
        }
        let words: Vec<&str> = id.split_whitespace().collect();
        let tag = words.get(1).and_then(|t| {
            let t = t.to_ascii_lowercase();
            u32::from_str_radix(t.trim_start_matches("0x"), 16).ok()
        });
        let kind = words
            .first()
            .map(|k| k.to_ascii_lowercase())
            .unwrap_or_default();
        match (kind.as_str(), tag) {
            ("integer", Some(0x0E07)) => {
                let n: i64 = value
                    .trim()
                    .parse()
                    .map_err(|_| invalid_extended("Integer 0x0E07 is not an integer"))?;
                out.flags = Some(u32::try_from(n & 0xffff_ffff).unwrap_or(0));
            }
            ("systemtime", Some(0x0E06)) => {
                out.delivery = Some(
                    dates::parse_xs(&value)
                        .ok_or_else(|| invalid_extended("SystemTime 0x0E06 is not a date"))?,
                );
            }
            ("systemtime", Some(0x0039)) => {
                out.submit = Some(
                    dates::parse_xs(&value)
                        .ok_or_else(|| invalid_extended("SystemTime 0x0039 is not a date"))?,
                );
            }
            _ => {}
        }
    }
    Ok(out)
}

fn recipients_json(header: Option<String>) -> Vec<Value> {
    let Some(h) = header else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut angle) = (false, false);
    for c in h.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' => angle = true,
            '>' => angle = false,
            ',' if !quoted && !angle => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .map(|a| {
            json!({"emailAddress": {
                "name": crate::graph::display_part(&a),
                "address": crate::graph::address_part(&a),
            }})
        })
        .collect()
}

/// The text of a single-part message body, for a created message's `body`.
fn simple_body(data: &[u8]) -> (String, String) {
    let ct = mailbox::mime_header(data, "Content-Type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let cte = mailbox::mime_header(data, "Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let kind = if ct.starts_with("text/html") {
        "html"
    } else {
        "text"
    };
    if !(ct.is_empty() || ct.starts_with("text/")) {
        return (kind.into(), String::new());
    }
    let text = String::from_utf8_lossy(data);
    let body = text
        .split_once("\r\n\r\n")
        .or_else(|| text.split_once("\n\n"))
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    let body = if cte == "base64" {
        let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        STANDARD
            .decode(compact)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    } else {
        body
    };
    (kind.into(), body.trim_end().to_string())
}

/// The whole message resource, as the 201 of a create answers (sample 11's fields).
fn message_resource(ctx: &Ctx, mb: &Mailbox, item: &Item) -> Value {
    let mut v = message_json(mb, item, ctx.req.immutable_ids());
    let meta = item.restore.as_ref();
    let now = dates::xs(dates::now());
    let header = |h: &str| mailbox::mime_header(&item.data, h);
    let (kind, content) = simple_body(&item.data);
    let from = recipients_json(header("From")).into_iter().next();
    let importance = match header("Importance")
        .map(|i| i.to_ascii_lowercase())
        .as_deref()
    {
        Some("high") => "high",
        Some("low") => "low",
        _ => "normal",
    };
    let categories: Vec<String> = header("Keywords")
        .map(|k| {
            k.split(',')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let extra = json!({
        "@odata.context": format!("{}/$metadata#messages/$entity", ctx.base),
        "createdDateTime": now,
        "lastModifiedDateTime": now,
        "changeKey": mailbox::change_key(item.modseq),
        "categories": categories,
        "receivedDateTime": meta.and_then(|m| m.delivery_time.clone()).unwrap_or_else(|| now.clone()),
        "sentDateTime": meta.and_then(|m| m.submit_time.clone()),
        "hasAttachments": meta.is_some_and(|m| !m.attachments.is_empty()),
        "bodyPreview": content.chars().take(255).collect::<String>(),
        "importance": importance,
        "isDeliveryReceiptRequested": null,
        "isReadReceiptRequested": false,
        "inferenceClassification": "focused",
        "body": {"contentType": kind, "content": content},
        "from": from,
        "toRecipients": recipients_json(header("To")),
        "ccRecipients": recipients_json(header("Cc")),
        "bccRecipients": recipients_json(header("Bcc")),
        "replyTo": recipients_json(header("Reply-To")),
        "flag": {"flagStatus": "notFlagged"},
    });
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v
}

fn create_message(ctx: &Ctx, mb: &mut Mailbox, folder: &str) -> GraphResponse {
    let Some(folder) = folder_of_kind(mb, folder, &MAIL_KINDS).map(|f| f.id.clone()) else {
        return folder_not_found();
    };
    let mime_route = ctx.req.content_type.as_deref() == Some("text/plain");
    let (data, is_read, meta, subject) = if mime_route {
        // user-post-messages.md: base64 MIME in a text/plain body. The item is a draft, and
        // extended properties cannot ride along.
        let compact: Vec<u8> = ctx
            .req
            .body
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        let data = match STANDARD.decode(&compact) {
            Ok(d) => d,
            Err(_) => {
                return bad_request(
                    "ErrorMimeContentInvalidBase64String",
                    "Invalid base64 string for MIME content.",
                )
            }
        };
        // Not even one header line: nothing Exchange could read as a message.
        if !data.contains(&b':') {
            return bad_request("ErrorMimeContentInvalid", "The MIME content is not valid.");
        }
        let subject = mailbox::mime_header(&data, "Subject").unwrap_or_default();
        let meta = RestoreMeta {
            is_draft: true,
            created_via: "graph-mime",
            ..RestoreMeta::default()
        };
        (data, true, meta, subject)
    } else {
        let body = match json_body(ctx.req) {
            Ok(b) => Value::Object(b),
            Err(e) => return e,
        };
        let props = match ext_props(&body) {
            Ok(p) => p,
            Err(e) => return e,
        };
        // Only PR_MESSAGE_FLAGS without MSGFLAG_UNSENT (0x08), set in the create itself, makes
        // a message that is not a draft.
        let is_draft = props.flags.is_none_or(|f| f & 0x08 != 0);
        let is_read = body
            .get("isRead")
            .and_then(Value::as_bool)
            .or(props.flags.map(|f| f & 0x01 != 0))
            .unwrap_or(true);
        let date = props.submit.or(props.delivery).unwrap_or_else(dates::now);
        let draft = json_draft(&body, date);
        let fallback = format!(
            "{:016x}.{}@{}.exchange-sim.invalid",
            compose::fnv(ctx.req.body),
            mb.seq,
            mb.index
        );
        let meta = RestoreMeta {
            stamp: props.stamp,
            is_draft,
            created_via: "graph-json",
            delivery_time: props.delivery.map(dates::xs),
            submit_time: props.submit.map(dates::xs),
            ..RestoreMeta::default()
        };
        let subject = draft.subject.clone();
        (
            compose::message_mime(&draft, &fallback),
            is_read,
            meta,
            subject,
        )
    };
    if let Some(f) = ctx.state.take_create_fault(&mb.address, &subject) {
        return create_fault(ctx.state, &mb.address, f);
    }
    let new = NewItem {
        folder,
        kind: ItemKind::Message,
        data,
        is_read,
        meta,
    };
    match restore::create(ctx.state, mb, new) {
        Ok(r) => match mb.items.get(&r.n) {
            Some(item) => GraphResponse::json(StatusCode::CREATED, message_resource(ctx, mb, item)),
            None => item_not_found(),
        },
        Err(_) => folder_not_found(),
    }
}

/// A message resource's JSON (a create's body, an item attachment's item) as a draft to compose.
fn json_draft(body: &Value, date: i64) -> MessageDraft {
    MessageDraft {
        subject: s(body, &["subject"]),
        body: s(body, &["body", "content"]),
        body_html: s(body, &["body", "contentType"]).eq_ignore_ascii_case("html"),
        from: person(body.get("from")),
        sender: person(body.get("sender")),
        to: people(body, "toRecipients"),
        cc: people(body, "ccRecipients"),
        bcc: people(body, "bccRecipients"),
        reply_to: people(body, "replyTo"),
        message_id: Some(s(body, &["internetMessageId"])).filter(|m| !m.trim().is_empty()),
        date,
        importance: Some(s(body, &["importance"])).filter(|i| !i.is_empty()),
        categories: strings(body, "categories"),
    }
}

/// PATCH of a message: the read state changes; `isDraft` and PR_MESSAGE_FLAGS do not,
/// whatever the answer says (a field report the protocol notes record: Exchange Online
/// accepts such writes and ignores them).
fn patch_message(ctx: &Ctx, mb: &mut Mailbox, id: &str) -> GraphResponse {
    let Some(n) = find_item(mb, id)
        .filter(|i| i.kind == ItemKind::Message)
        .map(|i| i.n)
    else {
        return item_not_found();
    };
    let body = match json_body(ctx.req) {
        Ok(b) => b,
        Err(e) => return e,
    };
    if let Some(read) = body.get("isRead").and_then(Value::as_bool) {
        if mb.set_read(n, read).is_err() {
            return item_not_found();
        }
        ctx.state.bump(|c| c.items_updated += 1);
    }
    match mb.items.get(&n) {
        Some(item) => GraphResponse::json(StatusCode::OK, message_resource(ctx, mb, item)),
        None => item_not_found(),
    }
}

/// The id of the `k`th attachment added to item `n` of a mailbox.
pub(crate) fn attachment_id(mailbox: u32, n: u64, k: usize) -> String {
    format!(
        "AAMkADAtt{}",
        URL_SAFE_NO_PAD.encode(format!("a:{mailbox}:{n}:{k}"))
    )
}

/// An `itemAttachment` whose item is a message: stored as the message it is (message/rfc822,
/// composed from the item's JSON as a JSON create would be). Its extended properties decide
/// whether it is a draft, as for a create; a draft inside a message is recorded.
fn add_item_attachment(
    ctx: &Ctx,
    mb: &mut Mailbox,
    message: &str,
    n: u64,
    body: &Value,
) -> GraphResponse {
    let name = s(body, &["name"]);
    let Some(item) = body.get("item").filter(|i| i.is_object()) else {
        return bad_request("ErrorInvalidRequest", "The item property is required.");
    };
    let item_type = s(item, &["@odata.type"]);
    if !item_type.eq_ignore_ascii_case("#microsoft.graph.message") {
        return bad_request(
            "ErrorInvalidRequest",
            "The simulator stores item attachments that are messages only.",
        );
    }
    let props = match ext_props(item) {
        Ok(p) => p,
        Err(e) => return e,
    };
    if props.flags.is_none_or(|f| f & 0x08 != 0) {
        ctx.state.bump(|c| c.drafts_created += 1);
    }
    let date = props.submit.or(props.delivery).unwrap_or_else(dates::now);
    let fallback = format!(
        "{:016x}.att@{}.exchange-sim.invalid",
        compose::fnv(ctx.req.body),
        mb.index
    );
    let mime = compose::message_mime(&json_draft(item, date), &fallback);
    let name = if name.trim().is_empty() {
        s(item, &["subject"])
    } else {
        name
    };
    let record = AttachmentRecord {
        name: name.clone(),
        size: mime.len() as u64,
        content_type: "message/rfc822".into(),
        is_inline: false,
        content_id: None,
        via_upload_session: false,
        is_item: true,
    };
    let k = match restore::attach(ctx.state, mb, n, record, &mime) {
        Ok(k) => k,
        Err(_) => return item_not_found(),
    };
    GraphResponse::json(
        StatusCode::CREATED,
        json!({
            "@odata.context": format!("{}/$metadata#messages('{message}')/attachments/$entity", ctx.base),
            "@odata.type": "#microsoft.graph.itemAttachment",
            "id": attachment_id(mb.index, n, k),
            "lastModifiedDateTime": dates::xs(dates::now()),
            "name": name,
            "contentType": null,
            "size": mime.len(),
            "isInline": false,
        }),
    )
}

fn add_attachment(ctx: &Ctx, mb: &mut Mailbox, message: &str) -> GraphResponse {
    let Some(n) = find_item(mb, message)
        .filter(|i| i.kind == ItemKind::Message)
        .map(|i| i.n)
    else {
        return item_not_found();
    };
    let body = match json_body(ctx.req) {
        Ok(b) => Value::Object(b),
        Err(e) => return e,
    };
    let odata_type = s(&body, &["@odata.type"]);
    if odata_type.eq_ignore_ascii_case("#microsoft.graph.itemAttachment") {
        return add_item_attachment(ctx, mb, message, n, &body);
    }
    if !odata_type.eq_ignore_ascii_case("#microsoft.graph.fileAttachment") {
        return bad_request(
            "ErrorInvalidRequest",
            "The simulator stores file and item attachments (#microsoft.graph.fileAttachment, #microsoft.graph.itemAttachment) only.",
        );
    }
    let name = s(&body, &["name"]);
    if name.trim().is_empty() {
        return bad_request("ErrorInvalidRequest", "The name property is required.");
    }
    let compact: String = s(&body, &["contentBytes"])
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let Ok(bytes) = STANDARD.decode(compact) else {
        return bad_request(
            "RequestBodyRead",
            "The contentBytes value is not valid base64.",
        );
    };
    let size = bytes.len() as u64;
    // Microsoft sends files of 3 MB and more through an upload session; the hard limit is
    // the 4 MB a request may carry, which the base64 of a 3 MB file already fills.
    if size > SMALL_ATTACHMENT {
        return GraphResponse::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "ErrorRequestEntityTooLarge",
            "The attachment is larger than a single request may carry; attach files of 3 MB or more through an upload session.",
        );
    }
    let content_type = Some(s(&body, &["contentType"]))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "application/octet-stream".into());
    let is_inline = body
        .get("isInline")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let content_id = Some(s(&body, &["contentId"])).filter(|c| !c.is_empty());
    let record = AttachmentRecord {
        is_item: false,
        name: name.clone(),
        size,
        content_type: content_type.clone(),
        is_inline,
        content_id: content_id.clone(),
        via_upload_session: false,
    };
    let k = match restore::attach(ctx.state, mb, n, record, &bytes) {
        Ok(k) => k,
        Err(_) => return item_not_found(),
    };
    GraphResponse::json(
        StatusCode::CREATED,
        json!({
            "@odata.context": format!("{}/$metadata#messages('{message}')/attachments/$entity", ctx.base),
            "@odata.type": "#microsoft.graph.fileAttachment",
            "@odata.mediaContentType": content_type,
            "id": attachment_id(mb.index, n, k),
            "lastModifiedDateTime": dates::xs(dates::now()),
            "name": name,
            "contentType": content_type,
            "size": size,
            "isInline": is_inline,
            "contentId": content_id,
            "contentLocation": null,
            "contentBytes": s(&body, &["contentBytes"]),
        }),
    )
}

fn create_upload_session(ctx: &Ctx, mb: &mut Mailbox, message: &str) -> GraphResponse {
    let Some(item) = find_item(mb, message).filter(|i| i.kind == ItemKind::Message) else {
        return item_not_found();
    };
    let n = item.n;
    let graph_id = graph_item_id(mb, item, ctx.req.immutable_ids());
    let body = match json_body(ctx.req) {
        Ok(b) => Value::Object(b),
        Err(e) => return e,
    };
    let Some(a) = body
        .get("AttachmentItem")
        .or_else(|| body.get("attachmentItem"))
    else {
        return bad_request(
            "ErrorInvalidRequest",
            "The AttachmentItem parameter is required.",
        );
    };
    let attachment_type = s(a, &["attachmentType"]);
    if !attachment_type.is_empty() && !attachment_type.eq_ignore_ascii_case("file") {
        return bad_request(
            "ErrorInvalidRequest",
            "Only attachmentType file can be uploaded in a session.",
        );
    }
    let name = s(a, &["name"]);
    let Some(size) = a.get("size").and_then(Value::as_u64) else {
        return bad_request(
            "ErrorInvalidRequest",
            "The size of the attachment is required.",
        );
    };
    if name.trim().is_empty() {
        return bad_request(
            "ErrorInvalidRequest",
            "The name of the attachment is required.",
        );
    }
    if size < SMALL_ATTACHMENT {
        return bad_request(
            "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
            "Attachment size must be greater than the minimum size.",
        );
    }
    if size > MAX_ATTACHMENT {
        return bad_request(
            "ErrorAttachmentSizeShouldNotBeGreaterThanMaximumSize",
            "Attachment size must be less than the maximum size (150 MB).",
        );
    }
    let record = AttachmentRecord {
        is_item: false,
        name,
        size,
        content_type: Some(s(a, &["contentType"]))
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "application/octet-stream".into()),
        is_inline: a.get("isInline").and_then(Value::as_bool).unwrap_or(false),
        content_id: Some(s(a, &["contentId"])).filter(|c| !c.is_empty()),
        via_upload_session: true,
    };
    let id = crate::tokens::opaque_id(40);
    let expiration = format!(
        "{}.0000000Z",
        dates::xs(dates::now() + UPLOAD_LIFETIME.as_secs() as i64).trim_end_matches('Z')
    );
    ctx.state
        .uploads
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            id.clone(),
            UploadSession {
                mailbox: mb.address.clone(),
                user: ctx.user.to_string(),
                n,
                message_id: graph_id,
                record,
                received: Vec::new(),
                expires: Instant::now() + UPLOAD_LIFETIME,
                expiration: expiration.clone(),
            },
        );
    ctx.state.bump(|c| c.upload_sessions += 1);
    GraphResponse::json(
        StatusCode::CREATED,
        json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.uploadSession",
            "uploadUrl": format!("{}/upload/{id}", ctx.req.origin),
            "expirationDateTime": expiration,
            "nextExpectedRanges": ["0-"],
        }),
    )
}

// ---- events -----------------------------------------------------------------------------------

/// Graph's `dateTimeTimeZone` as UTC seconds, and the zone it named. A zone the simulator has
/// no rules for is taken as UTC.
pub(crate) fn graph_time(v: &Value, key: &str) -> Option<(i64, String)> {
    let t = v.get(key)?;
    let wall = dates::parse_wall_clock(&s(t, &["dateTime"]))?;
    let zone_name = s(t, &["timeZone"]);
    let offset = dates::zone(&zone_name).map_or(0, |z| z.offset_for_wall(wall));
    Some((wall - offset, zone_name))
}

fn graph_recurrence(v: &Value) -> Option<Recurrence> {
    let r = v.get("recurrence").filter(|r| !r.is_null())?;
    let p = r.get("pattern")?;
    let num = |k: &str| {
        p.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    let days = day_codes(&strings(p, "daysOfWeek").join(" "));
    let index = week_index(&s(p, &["index"]));
    let pattern = match s(p, &["type"]).as_str() {
        "daily" => Pattern::Daily,
        "weekly" => Pattern::Weekly { days },
        "absoluteMonthly" => Pattern::AbsoluteMonthly {
            day: num("dayOfMonth").unwrap_or(1),
        },
        "relativeMonthly" => Pattern::RelativeMonthly { days, index },
        "absoluteYearly" => Pattern::AbsoluteYearly {
            month: num("month").unwrap_or(1),
            day: num("dayOfMonth").unwrap_or(1),
        },
        "relativeYearly" => Pattern::RelativeYearly {
            month: num("month").unwrap_or(1),
            days,
            index,
        },
        _ => return None,
    };
    let range = r.get("range");
    let range = match range.map(|g| s(g, &["type"])).as_deref() {
        Some("endDate") => Range::EndDate(range.map(|g| s(g, &["endDate"])).unwrap_or_default()),
        Some("numbered") => Range::Numbered(
            range
                .and_then(|g| g.get("numberOfOccurrences"))
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(1),
        ),
        _ => Range::NoEnd,
    };
    Some(Recurrence {
        pattern,
        interval: num("interval").unwrap_or(1).max(1),
        first_day: day_codes(&s(p, &["firstDayOfWeek"])).into_iter().next(),
        range,
    })
}

/// Graph's showAs in EWS's LegacyFreeBusyStatus spelling.
fn free_busy(show_as: &str) -> Option<String> {
    Some(
        match show_as.to_ascii_lowercase().as_str() {
            "free" => "Free",
            "tentative" => "Tentative",
            "busy" => "Busy",
            "oof" => "OOF",
            "workingelsewhere" => "WorkingElsewhere",
            "unknown" => "NoData",
            _ => return None,
        }
        .to_string(),
    )
}

fn graph_event(body: &Value) -> Result<EventDraft, GraphResponse> {
    let (Some((start, zone)), Some((end, _))) =
        (graph_time(body, "start"), graph_time(body, "end"))
    else {
        return Err(bad_request(
            "ErrorPropertyValidationFailure",
            "An event needs start and end, each with a dateTime and a timeZone.",
        ));
    };
    if end < start {
        return Err(bad_request(
            "ErrorCalendarEndDateIsEarlierThanStartDate",
            "The end of the event is earlier than its start.",
        ));
    }
    let attendees = body
        .get("attendees")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    Some(Attendee {
                        person: person(Some(x))?,
                        kind: match s(x, &["type"]).as_str() {
                            "optional" => AttendeeKind::Optional,
                            "resource" => AttendeeKind::Resource,
                            _ => AttendeeKind::Required,
                        },
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let sensitivity = s(body, &["sensitivity"]);
    let reminder_on = body
        .get("isReminderOn")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    Ok(EventDraft {
        subject: s(body, &["subject"]),
        body: s(body, &["body", "content"]),
        body_html: s(body, &["body", "contentType"]).eq_ignore_ascii_case("html"),
        categories: strings(body, "categories"),
        reminder_minutes: reminder_on.then(|| {
            body.get("reminderMinutesBeforeStart")
                .and_then(Value::as_i64)
                .unwrap_or(15)
        }),
        uid: None,
        start,
        end,
        all_day: body
            .get("isAllDay")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        time_zone: Some(zone).filter(|z| !z.is_empty()),
        offset_hint: None,
        free_busy: free_busy(&s(body, &["showAs"])),
        sensitivity: (!sensitivity.is_empty()).then(|| {
            let mut c = sensitivity.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        }),
        location: s(body, &["location", "displayName"]),
        attendees,
        recurrence: graph_recurrence(body),
    })
}

fn event_resource(ctx: &Ctx, mb: &Mailbox, item: &Item) -> Value {
    let mut v = event_json(mb, item, ctx.req.immutable_ids());
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "@odata.context".into(),
            json!(format!("{}/$metadata#events/$entity", ctx.base)),
        );
        o.insert("changeKey".into(), json!(mailbox::change_key(item.modseq)));
        o.insert("isDraft".into(), json!(false));
        o.insert("isOrganizer".into(), json!(true));
        o.insert(
            "transactionId".into(),
            json!(item.restore.as_ref().and_then(|m| m.transaction_id.clone())),
        );
    }
    v
}

fn create_event(ctx: &Ctx, mb: &mut Mailbox, calendar: &str) -> GraphResponse {
    let Some(folder) = folder_of_kind(mb, calendar, &[FolderKind::Calendar]).map(|f| f.id.clone())
    else {
        return folder_not_found();
    };
    let body = match json_body(ctx.req) {
        Ok(b) => Value::Object(b),
        Err(e) => return e,
    };
    let transaction = Some(s(&body, &["transactionId"])).filter(|t| !t.is_empty());
    // user-post-events.md: a retried POST with the same transactionId gets the event the first
    // one created rather than a second copy.
    if let Some(t) = &transaction {
        let first = mb.items.values().find(|i| {
            i.kind == ItemKind::CalendarItem
                && i.restore.as_ref().and_then(|m| m.transaction_id.as_ref()) == Some(t)
        });
        if let Some(item) = first {
            return GraphResponse::json(StatusCode::CREATED, event_resource(ctx, mb, item));
        }
    }
    let props = match ext_props(&body) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let draft = match graph_event(&body) {
        Ok(d) => d,
        Err(e) => return e,
    };
    if let Some(f) = ctx.state.take_create_fault(&mb.address, &draft.subject) {
        return create_fault(ctx.state, &mb.address, f);
    }
    let uid = format!(
        "040000008200E00074C5B7101A82E00800000000{:016X}{:016X}",
        compose::fnv(ctx.req.body),
        mb.seq
    );
    let owner = Person {
        name: mb.display_name.clone(),
        address: mb.address.clone(),
    };
    // "When an event is sent, the server sends invitations to all the attendees": Graph has
    // no way to save a meeting without sending them.
    let invited = draft
        .attendees
        .iter()
        .map(|a| a.person.address.clone())
        .collect();
    let new = NewItem {
        folder,
        kind: ItemKind::CalendarItem,
        data: compose::event_ics(&draft, &owner, &uid),
        is_read: true,
        meta: RestoreMeta {
            stamp: props.stamp,
            created_via: "graph-json",
            attendees_invited: invited,
            transaction_id: transaction,
            ..RestoreMeta::default()
        },
    };
    match restore::create(ctx.state, mb, new) {
        Ok(r) => match mb.items.get(&r.n) {
            Some(item) => GraphResponse::json(StatusCode::CREATED, event_resource(ctx, mb, item)),
            None => item_not_found(),
        },
        Err(_) => folder_not_found(),
    }
}

// ---- contacts ---------------------------------------------------------------------------------

fn graph_contact(body: &Value) -> ContactDraft {
    let address = |key: &str, slot: &str| {
        let a = body.get(key)?;
        let p = PostalAddress {
            key: slot.into(),
            street: s(a, &["street"]),
            city: s(a, &["city"]),
            state: s(a, &["state"]),
            postal_code: s(a, &["postalCode"]),
            country: s(a, &["countryOrRegion"]),
        };
        let empty = [&p.street, &p.city, &p.state, &p.postal_code, &p.country]
            .iter()
            .all(|f| f.trim().is_empty());
        (!empty).then_some(p)
    };
    let mut phones = Vec::new();
    for (key, slots) in [
        ("businessPhones", ["BusinessPhone", "BusinessPhone2"]),
        ("homePhones", ["HomePhone", "HomePhone2"]),
    ] {
        for (number, slot) in strings(body, key).into_iter().zip(slots) {
            phones.push(Phone {
                key: slot.into(),
                number,
            });
        }
    }
    let mobile = s(body, &["mobilePhone"]);
    if !mobile.is_empty() {
        phones.push(Phone {
            key: "MobilePhone".into(),
            number: mobile,
        });
    }
    ContactDraft {
        notes: s(body, &["personalNotes"]),
        categories: strings(body, "categories"),
        file_as: s(body, &["fileAs"]),
        display_name: s(body, &["displayName"]),
        title: s(body, &["title"]),
        given_name: s(body, &["givenName"]),
        initials: s(body, &["initials"]),
        middle_name: s(body, &["middleName"]),
        nickname: s(body, &["nickName"]),
        surname: s(body, &["surname"]),
        generation: s(body, &["generation"]),
        company: s(body, &["companyName"]),
        department: s(body, &["department"]),
        job_title: s(body, &["jobTitle"]),
        office: s(body, &["officeLocation"]),
        manager: s(body, &["manager"]),
        assistant: s(body, &["assistantName"]),
        emails: body
            .get("emailAddresses")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter(|e| !s(e, &["address"]).is_empty())
                    .take(3)
                    .enumerate()
                    .map(|(i, e)| {
                        (
                            format!("EmailAddress{}", i + 1),
                            s(e, &["name"]),
                            s(e, &["address"]),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        phones,
        addresses: [
            address("businessAddress", "Business"),
            address("homeAddress", "Home"),
            address("otherAddress", "Other"),
        ]
        .into_iter()
        .flatten()
        .collect(),
        im_addresses: strings(body, "imAddresses"),
        home_page: s(body, &["businessHomePage"]),
        birthday: Some(s(body, &["birthday"]).chars().take(10).collect::<String>())
            .filter(|b| dates::parse_date(b).is_some()),
    }
}

fn create_contact(ctx: &Ctx, mb: &mut Mailbox, folder: &str) -> GraphResponse {
    let Some(folder) = folder_of_kind(mb, folder, &[FolderKind::Contacts]).map(|f| f.id.clone())
    else {
        return folder_not_found();
    };
    let body = match json_body(ctx.req) {
        Ok(b) => Value::Object(b),
        Err(e) => return e,
    };
    let props = match ext_props(&body) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let draft = graph_contact(&body);
    if let Some(f) = ctx
        .state
        .take_create_fault(&mb.address, &draft.shown_name())
    {
        return create_fault(ctx.state, &mb.address, f);
    }
    let new = NewItem {
        folder,
        kind: ItemKind::Contact,
        data: compose::contact_vcf(&draft),
        is_read: true,
        meta: RestoreMeta {
            stamp: props.stamp,
            created_via: "graph-json",
            ..RestoreMeta::default()
        },
    };
    match restore::create(ctx.state, mb, new) {
        Ok(r) => match mb.items.get(&r.n) {
            Some(item) => {
                let mut v = contact_json(mb, item, ctx.req.immutable_ids());
                if let Some(o) = v.as_object_mut() {
                    o.insert(
                        "@odata.context".into(),
                        json!(format!("{}/$metadata#contacts/$entity", ctx.base)),
                    );
                    o.insert("@odata.etag".into(), json!(etag(item)));
                }
                GraphResponse::json(StatusCode::CREATED, v)
            }
            None => item_not_found(),
        },
        Err(_) => folder_not_found(),
    }
}
