//! EWS SOAP endpoint: `POST /EWS/Exchange.asmx`.
//!
//! Implements the operations an archive needs (SyncFolderHierarchy, SyncFolderItems, GetItem with
//! MimeContent, GetFolder, FindFolder) and those a restore uses (CreateFolder, CreateFolderPath,
//! FindItem, CreateItem; in `ews_restore.rs`) with the envelope, namespaces,
//! ResponseClass/ResponseCode layout and faults of Microsoft's published samples.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::mailbox::{self, ChangeType, Folder, FolderKind, ItemKind, Mailbox};
use crate::properties;
use crate::state::{ItemFault, SimState, SyncToken};
use crate::xml::{self, escape, Element, MESSAGES_NS as M, SOAP_NS, TYPES_NS as T};
use crate::{ews_change, ews_restore};

const ERRORS_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/errors";
/// EWS caps MaxChangesReturned at 512 (maxchangesreturned.md).
const MAX_CHANGES: u64 = 512;

pub async fn ews_endpoint(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !basic_auth_ok(&state, &headers) {
        state.count("ews:unauthorized", None);
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"exchange-sim\"")],
            "",
        )
            .into_response();
    }
    let doc = match xml::parse(&body) {
        Ok(d) if d.is(SOAP_NS, "Envelope") => d,
        Ok(_) => {
            state.count("ews:invalid", None);
            return fault(
                "ErrorSchemaValidation",
                "The request failed schema validation: the root element is not a SOAP 1.1 Envelope.",
                "",
            );
        }
        Err(e) => {
            state.count("ews:invalid", None);
            return fault(
                "ErrorSchemaValidation",
                &format!("The request failed schema validation: {e}"),
                "",
            );
        }
    };
    let Some(op) = doc
        .child(SOAP_NS, "Body")
        .and_then(|b| b.children.first())
        .filter(|op| op.ns == M)
    else {
        state.count("ews:invalid", None);
        return fault(
            "ErrorInvalidRequest",
            "The request is invalid: no operation in the SOAP body.",
            "",
        );
    };
    let endpoint = format!("ews:{}", op.name);

    let impersonated = match impersonation(&doc) {
        Ok(a) => a,
        Err(()) => {
            state.count(&endpoint, None);
            return fault(
                "ErrorInvalidExchangeImpersonationHeaderData",
                "The impersonation header is missing or has no valid ConnectingSID value.",
                "",
            );
        }
    };
    state.count(&endpoint, Some(&impersonated));
    let _in_flight = state.enter(&impersonated);
    let latency = state.faults().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let anchor = headers
        .get("x-anchormailbox")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !anchor.eq_ignore_ascii_case(&impersonated) {
        tracing::warn!(%anchor, %impersonated, "X-AnchorMailbox missing or different from the impersonated mailbox");
        state.bump(|c| c.anchor_mismatches += 1);
    }

    {
        let store = state.store();
        match store.get(&impersonated.to_ascii_lowercase()) {
            None => {
                return fault(
                    "ErrorNonExistentMailbox",
                    &format!("The SMTP address has no mailbox associated with it: {impersonated}"),
                    "",
                )
            }
            Some(mb) if !mb.access_granted => {
                return fault(
                    "ErrorImpersonateUserDenied",
                    "The account does not have permission to impersonate the requested user.",
                    "",
                )
            }
            Some(_) => {}
        }
    }

    state.arrival(&impersonated);
    if let Some(backoff) = state.ews_busy() {
        state.throttle_window(&impersonated, std::time::Duration::from_millis(backoff));
        return fault(
            "ErrorServerBusy",
            "The server cannot service this request right now. Try again later.",
            &format!(
                "<t:MessageXml xmlns:t=\"{T}\"><t:Value Name=\"BackOffMilliseconds\">{backoff}</t:Value></t:MessageXml>"
            ),
        );
    }

    let mut store = state.store();
    // A directory lookup, not a mailbox operation: it reads every mailbox's name.
    if op.name == "ResolveNames" {
        return ok_response(&wrap("ResolveNames", &resolve_names(&store, op)));
    }
    let Some(mb) = store.get_mut(&impersonated.to_ascii_lowercase()) else {
        return fault("ErrorNonExistentMailbox", "The mailbox disappeared.", "");
    };
    let result = match op.name.as_str() {
        "SyncFolderHierarchy" => Ok(sync_folder_hierarchy(mb, op)),
        "SyncFolderItems" => sync_folder_items(mb, op),
        "GetItem" => Ok(get_item(&state, mb, op)),
        "GetFolder" => Ok(get_folder(mb, op)),
        "GetAttachment" => Ok(get_attachment(mb, op)),
        "FindFolder" => Ok(find_folder(mb, op)),
        "FindItem" => ews_restore::find_item(mb, op),
        "UpdateItem" => ews_restore::update_item(&state, mb, op),
        "DeleteItem" => ews_change::delete_item(&state, mb, op),
        "CreateAttachment" => ews_change::create_attachment(&state, mb, op),
        "CreateFolder" => Ok(ews_restore::create_folder(&state, mb, op)),
        "CreateFolderPath" => Ok(ews_restore::create_folder_path(&state, mb, op)),
        // A throttled create is refused as a whole, with a fault instead of a body.
        "CreateItem" => match ews_restore::create_item(&state, mb, op) {
            Ok(body) => Ok(body),
            Err(resp) => return *resp,
        },
        other => Err(format!(
            "The operation {other} is not supported by this server."
        )),
    };
    match result {
        Ok(body) => ok_response(&body),
        Err(why) => fault("ErrorSchemaValidation", &why, ""),
    }
}

fn basic_auth_ok(state: &SimState, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(decoded) = STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let expected = format!(
        "{}:{}",
        state.config.service_account, state.config.service_password
    );
    decoded == expected.as_bytes()
}

/// The impersonated mailbox from `soap:Header/t:ExchangeImpersonation/t:ConnectingSID`.
fn impersonation(doc: &Element) -> Result<String, ()> {
    let sid = doc
        .path(&[
            (SOAP_NS, "Header"),
            (T, "ExchangeImpersonation"),
            (T, "ConnectingSID"),
        ])
        .ok_or(())?;
    let [value] = sid.children.as_slice() else {
        return Err(());
    };
    let text = value.text();
    if value.ns != T || text.is_empty() {
        return Err(());
    }
    match value.name.as_str() {
        "PrimarySmtpAddress" | "SmtpAddress" | "PrincipalName" => Ok(text.to_string()),
        // The simulator has no directory of SIDs: such a mailbox cannot be resolved.
        "SID" => Ok(format!("sid:{text}")),
        _ => Err(()),
    }
}

pub(crate) fn ok_response(body: &str) -> Response {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
<s:Envelope xmlns:s=\"{SOAP_NS}\">\
<s:Header><h:ServerVersionInfo MajorVersion=\"15\" MinorVersion=\"1\" MajorBuildNumber=\"2507\" MinorBuildNumber=\"6\" Version=\"V2017_07_11\" xmlns:h=\"{T}\" xmlns=\"{T}\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"/></s:Header>\
<s:Body xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">{body}</s:Body></s:Envelope>"
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

/// A SOAP fault as Exchange sends it: HTTP 500, code in both faultcode and detail.
pub(crate) fn fault(code: &str, message: &str, extra_detail: &str) -> Response {
    let msg = escape(message);
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
<s:Envelope xmlns:s=\"{SOAP_NS}\"><s:Body><s:Fault>\
<faultcode xmlns:a=\"{T}\">a:{code}</faultcode>\
<faultstring xml:lang=\"en-US\">{msg}</faultstring>\
<detail><e:ResponseCode xmlns:e=\"{ERRORS_NS}\">{code}</e:ResponseCode>\
<e:Message xmlns:e=\"{ERRORS_NS}\">{msg}</e:Message>{extra_detail}</detail>\
</s:Fault></s:Body></s:Envelope>"
    );
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

pub(crate) fn wrap(op: &str, messages: &str) -> String {
    format!(
        "<m:{op}Response xmlns:m=\"{M}\" xmlns:t=\"{T}\"><m:ResponseMessages>{messages}</m:ResponseMessages></m:{op}Response>"
    )
}

pub(crate) fn error_message(op: &str, code: &str, text: &str, tail: &str) -> String {
    format!(
        "<m:{op}ResponseMessage ResponseClass=\"Error\"><m:MessageText>{}</m:MessageText>\
<m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>{tail}</m:{op}ResponseMessage>",
        escape(text)
    )
}

/// `ResolveNames` against the mailboxes: an exact address (with or without `smtp:`) is one
/// match; otherwise every mailbox whose address or display name starts with the text. One
/// match is Success, several are the Warning `ErrorNameResolutionMultipleResults` (with the
/// matches), none is the Error `ErrorNameResolutionNoResults`, as Exchange answers.
fn resolve_names(store: &std::collections::BTreeMap<String, Mailbox>, op: &Element) -> String {
    const OP: &str = "ResolveNames";
    let entry = op
        .child(M, "UnresolvedEntry")
        .map(|e| e.text().to_owned())
        .unwrap_or_default();
    let wanted = entry
        .strip_prefix("smtp:")
        .or_else(|| entry.strip_prefix("SMTP:"))
        .unwrap_or(&entry)
        .to_lowercase();
    let exact: Vec<&Mailbox> = store.values().filter(|m| m.address == wanted).collect();
    let found: Vec<&Mailbox> = if !exact.is_empty() || wanted.is_empty() {
        exact
    } else {
        store
            .values()
            .filter(|m| {
                m.address.starts_with(&wanted) || m.display_name.to_lowercase().starts_with(&wanted)
            })
            .collect()
    };
    if found.is_empty() {
        return error_message(
            OP,
            "ErrorNameResolutionNoResults",
            "No results were found.",
            "",
        );
    }
    let mut set = String::new();
    for m in &found {
        let _ = write!(
            set,
            "<t:Resolution><t:Mailbox><t:Name>{}</t:Name><t:EmailAddress>{}</t:EmailAddress>\
<t:RoutingType>SMTP</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox></t:Resolution>",
            escape(&m.display_name),
            escape(&m.address)
        );
    }
    let set = format!(
        "<m:ResolutionSet TotalItemsInView=\"{n}\" IncludesLastItemInRange=\"true\">{set}</m:ResolutionSet>",
        n = found.len()
    );
    if found.len() == 1 {
        format!(
            "<m:{OP}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode>{set}</m:{OP}ResponseMessage>"
        )
    } else {
        format!(
            "<m:{OP}ResponseMessage ResponseClass=\"Warning\"><m:MessageText>Multiple results were found.</m:MessageText>\
<m:ResponseCode>ErrorNameResolutionMultipleResults</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>{set}</m:{OP}ResponseMessage>"
        )
    }
}

/// Resolves `t:DistinguishedFolderId` or `t:FolderId` to a folder.
pub(crate) fn folder_ref<'a>(mb: &'a Mailbox, el: &Element) -> Option<&'a Folder> {
    let target = el
        .children
        .iter()
        .find(|c| c.ns == T && (c.name == "DistinguishedFolderId" || c.name == "FolderId"))?;
    let id = target.attr("Id")?.trim();
    if target.name == "DistinguishedFolderId" {
        mb.well_known(id)
    } else {
        mb.folders.get(id)
    }
}

pub(crate) fn base_shape(op: &Element, shape: &str) -> String {
    op.path(&[(M, shape), (T, "BaseShape")])
        .map(|e| e.text().to_string())
        .unwrap_or_else(|| "Default".into())
}

/// Whether the FolderShape asks for PidTagAttributeHidden (0x10F4), by tag in decimal or hex.
fn wants_hidden_flag(op: &Element) -> bool {
    op.path(&[(M, "FolderShape"), (T, "AdditionalProperties")])
        .is_some_and(|ap| {
            ap.children_named(T, "ExtendedFieldURI").any(|u| {
                let tag = u
                    .attr("PropertyTag")
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                let n = match tag.strip_prefix("0x") {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => tag.parse().ok(),
                };
                n == Some(0x10F4) && u.attr("PropertyType") == Some("Boolean")
            })
        })
}

pub(crate) fn folder_xml(mb: &Mailbox, f: &Folder, id_only: bool, hidden_flag: bool) -> String {
    folder_xml_named(mb, f, id_only, hidden_flag, false)
}

/// A folder element; `name` adds the DisplayName to an IdOnly shape that asked for
/// `folder:DisplayName`.
fn folder_xml_named(
    mb: &Mailbox,
    f: &Folder,
    id_only: bool,
    hidden_flag: bool,
    name: bool,
) -> String {
    let el = match f.kind {
        FolderKind::Calendar => "CalendarFolder",
        FolderKind::Contacts => "ContactsFolder",
        _ => "Folder",
    };
    let mut s = format!(
        "<t:{el}><t:FolderId Id=\"{}\" ChangeKey=\"{}\"/>",
        f.id,
        mailbox::change_key(f.modseq)
    );
    if id_only && name {
        let _ = write!(s, "<t:DisplayName>{}</t:DisplayName>", escape(&f.name));
    }
    if !id_only {
        if let Some(p) = &f.parent {
            let _ = write!(s, "<t:ParentFolderId Id=\"{p}\" ChangeKey=\"AQAAAA==\"/>");
        }
        let total = mb.items_in(&f.id).count();
        let _ = write!(
            s,
            "<t:FolderClass>{}</t:FolderClass><t:DisplayName>{}</t:DisplayName><t:TotalCount>{total}</t:TotalCount><t:ChildFolderCount>{}</t:ChildFolderCount>",
            escape(f.class()),
            escape(&f.name),
            mb.child_count(&f.id)
        );
        if el == "Folder" {
            let _ = write!(
                s,
                "<t:UnreadCount>{}</t:UnreadCount>",
                mb.unread_count(&f.id)
            );
        }
    }
    // Exchange returns a requested extended property only where the folder has it set, with
    // the tag in hex (as in Microsoft's samples).
    if hidden_flag && f.hidden {
        let _ = write!(
            s,
            "<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag=\"0x10f4\" PropertyType=\"Boolean\"/><t:Value>true</t:Value></t:ExtendedProperty>"
        );
    }
    let _ = write!(s, "</t:{el}>");
    s
}

fn sync_folder_hierarchy(mb: &mut Mailbox, op: &Element) -> String {
    const OP: &str = "SyncFolderHierarchy";
    let id_only = base_shape(op, "FolderShape") == "IdOnly";
    let hidden_flag = wants_hidden_flag(op);
    let root = match op.child(M, "SyncFolderId") {
        Some(el) => folder_ref(mb, el).map(|f| f.id.clone()),
        None => mb.well_known("root").map(|f| f.id.clone()),
    };
    let Some(root) = root else {
        return wrap(
            OP,
            &error_message(
                OP,
                "ErrorFolderNotFound",
                "The specified folder could not be found in the store.",
                "<m:SyncState/><m:IncludesLastFolderInRange>true</m:IncludesLastFolderInRange>",
            ),
        );
    };
    let since = match op
        .child(M, "SyncState")
        .map(|e| e.text())
        .filter(|s| !s.is_empty())
    {
        None => 0,
        Some(s) => match SyncToken::check(s, "sfh", &root, mb) {
            Some(seq) => seq,
            None => return wrap(OP, &invalid_sync_state(OP, "IncludesLastFolderInRange")),
        },
    };
    let changes = mb.folder_changes(&root, since);
    let mut body = String::new();
    for c in &changes {
        match c.kind {
            ChangeType::Delete => {
                let _ = write!(
                    body,
                    "<t:Delete><t:FolderId Id=\"{}\" ChangeKey=\"AQAAAA==\"/></t:Delete>",
                    c.folder_id
                );
            }
            kind => {
                let Some(f) = mb.folders.get(&c.folder_id) else {
                    continue;
                };
                let tag = if kind == ChangeType::Create {
                    "Create"
                } else {
                    "Update"
                };
                let _ = write!(
                    body,
                    "<t:{tag}>{}</t:{tag}>",
                    folder_xml(mb, f, id_only, hidden_flag)
                );
            }
        }
    }
    let state = SyncToken {
        kind: "sfh".into(),
        scope: root,
        seq: mb.seq,
        epoch: mb.epoch,
        skip: 0,
    };
    wrap(
        OP,
        &format!(
            "<m:{OP}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode>\
<m:SyncState>{}</m:SyncState><m:IncludesLastFolderInRange>true</m:IncludesLastFolderInRange>\
<m:Changes>{body}</m:Changes></m:{OP}ResponseMessage>",
            state.to_ews()
        ),
    )
}

fn invalid_sync_state(op: &str, last_tag: &str) -> String {
    let text = if op == "SyncFolderHierarchy" {
        "Synchronization state data is corrupted or otherwise invalid."
    } else {
        "Synchronization state data is corrupt or otherwise invalid."
    };
    error_message(
        op,
        "ErrorInvalidSyncStateData",
        text,
        &format!("<m:SyncState/><m:{last_tag}>true</m:{last_tag}>"),
    )
}

pub(crate) fn item_element(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Message => "Message",
        ItemKind::CalendarItem => "CalendarItem",
        ItemKind::Contact => "Contact",
    }
}

pub(crate) fn item_class(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Message => "IPM.Note",
        ItemKind::CalendarItem => "IPM.Appointment",
        ItemKind::Contact => "IPM.Contact",
    }
}

pub(crate) fn requested_fields(op: &Element, shape: &str) -> Vec<String> {
    op.path(&[(M, shape), (T, "AdditionalProperties")])
        .map(|ap| {
            ap.children_named(T, "FieldURI")
                .filter_map(|f| f.attr("FieldURI").map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the shape asks for PidTagSearchKey (`0x300B`, 12299) as an extended property.
fn wants_search_key(op: &Element, shape: &str) -> bool {
    op.path(&[(M, shape), (T, "AdditionalProperties")])
        .is_some_and(|ap| {
            ap.children_named(T, "ExtendedFieldURI").any(|f| {
                f.attr("PropertyTag").is_some_and(|t| {
                    let t = t.trim().to_ascii_lowercase();
                    t == "0x300b" || t == "12299"
                })
            })
        })
}

/// `Err` is the text of an ErrorSchemaValidation fault.
fn sync_folder_items(mb: &mut Mailbox, op: &Element) -> Result<String, String> {
    const OP: &str = "SyncFolderItems";
    let max = op
        .child(M, "MaxChangesReturned")
        .and_then(|e| e.text().parse::<u64>().ok())
        .filter(|n| (1..=MAX_CHANGES).contains(n))
        .ok_or_else(|| {
            "The request failed schema validation: MaxChangesReturned must be an integer from 1 to 512.".to_string()
        })?;
    let full = base_shape(op, "ItemShape") != "IdOnly";
    let extra = requested_fields(op, "ItemShape");
    let want_read = full || extra.iter().any(|f| f == "message:IsRead");
    let want_parent = full || extra.iter().any(|f| f == "item:ParentFolderId");
    let want_search_key = wants_search_key(op, "ItemShape");
    let Some(folder) = op
        .child(M, "SyncFolderId")
        .and_then(|el| folder_ref(mb, el))
        .map(|f| f.id.clone())
    else {
        return Ok(wrap(
            OP,
            &error_message(
                OP,
                "ErrorSyncFolderNotFound",
                "The specified folder could not be found in the store.",
                "<m:SyncState/><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange>",
            ),
        ));
    };
    let since = match op
        .child(M, "SyncState")
        .map(|e| e.text())
        .filter(|s| !s.is_empty())
    {
        None => 0,
        Some(s) => match SyncToken::check(s, "sfi", &folder, mb) {
            Some(seq) => seq,
            None => return Ok(wrap(OP, &invalid_sync_state(OP, "IncludesLastItemInRange"))),
        },
    };
    let changes = mb.item_changes(&folder, since);
    let take = usize::try_from(max)
        .unwrap_or(usize::MAX)
        .min(changes.len());
    let includes_last = take == changes.len();
    let new_seq = if includes_last {
        mb.seq
    } else {
        changes[take - 1].seq
    };
    let mut body = String::new();
    for c in &changes[..take] {
        let id = mailbox::ews_item_id(mb.index, c.n, c.move_gen);
        let ck = mailbox::change_key(c.seq);
        match c.kind {
            ChangeType::Delete => {
                let _ = write!(
                    body,
                    "<t:Delete><t:ItemId Id=\"{id}\" ChangeKey=\"{ck}\"/></t:Delete>"
                );
            }
            ChangeType::ReadFlag => {
                let is_read = mb.items.get(&c.n).is_some_and(|i| i.is_read);
                let _ = write!(
                    body,
                    "<t:ReadFlagChange><t:ItemId Id=\"{id}\" ChangeKey=\"{ck}\"/><t:IsRead>{is_read}</t:IsRead></t:ReadFlagChange>"
                );
            }
            ChangeType::Create | ChangeType::Update => {
                let Some(item) = mb.items.get(&c.n) else {
                    continue;
                };
                let tag = if c.kind == ChangeType::Create {
                    "Create"
                } else {
                    "Update"
                };
                let el = item_element(item.kind);
                let _ = write!(
                    body,
                    "<t:{tag}><t:{el}><t:ItemId Id=\"{id}\" ChangeKey=\"{ck}\"/>"
                );
                if want_parent {
                    let _ = write!(
                        body,
                        "<t:ParentFolderId Id=\"{}\" ChangeKey=\"AQAAAA==\"/>",
                        item.folder
                    );
                }
                if full {
                    let _ = write!(body, "<t:ItemClass>{}</t:ItemClass>", item_class(item.kind));
                    if let Some(subject) = subject_of(item.kind, &item.data) {
                        let _ = write!(body, "<t:Subject>{}</t:Subject>", escape(&subject));
                    }
                }
                if want_search_key {
                    let _ = write!(
                        body,
                        "<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag=\"0x300b\" PropertyType=\"Binary\"/>\
<t:Value>{}</t:Value></t:ExtendedProperty>",
                        mailbox::search_key(mb.index, item.n)
                    );
                }
                if want_read && item.kind == ItemKind::Message {
                    let _ = write!(body, "<t:IsRead>{}</t:IsRead>", item.is_read);
                }
                let _ = write!(body, "</t:{el}></t:{tag}>");
            }
        }
    }
    let state = SyncToken {
        kind: "sfi".into(),
        scope: folder,
        seq: new_seq,
        epoch: mb.epoch,
        skip: 0,
    };
    Ok(wrap(
        OP,
        &format!(
            "<m:{OP}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode>\
<m:SyncState>{}</m:SyncState><m:IncludesLastItemInRange>{includes_last}</m:IncludesLastItemInRange>\
<m:Changes>{body}</m:Changes></m:{OP}ResponseMessage>",
            state.to_ews()
        ),
    ))
}

pub(crate) fn subject_of(kind: ItemKind, data: &[u8]) -> Option<String> {
    match kind {
        ItemKind::Message => mailbox::mime_header(data, "Subject"),
        ItemKind::CalendarItem => mailbox::text_property(data, "SUMMARY"),
        ItemKind::Contact => mailbox::text_property(data, "FN"),
    }
}

/// A per-item error of GetItem on HTTP 200, as Exchange words them.
pub(crate) fn item_fault_message(op: &str, fault: ItemFault) -> String {
    let (code, text, xml) = match fault {
        ItemFault::ServerBusy { backoff_ms } => (
            "ErrorInternalServerError",
            "An internal server error occurred. The operation failed.",
            format!(
                "<m:MessageXml><t:Value Name=\"InnerErrorResponseCode\">ErrorServerBusy</t:Value>\
<t:Value Name=\"InnerErrorMessageText\">The server cannot service this request right now. Try again later.</t:Value>\
<t:Value Name=\"InnerErrorDescriptiveLinkKey\">0</t:Value>\
<t:Value Name=\"BackOffMilliseconds\">{backoff_ms}</t:Value></m:MessageXml>"
            ),
        ),
        ItemFault::InternalError => (
            "ErrorInternalServerError",
            "An internal server error occurred. The operation failed.",
            String::new(),
        ),
        ItemFault::Unavailable => (
            "ErrorMailboxStoreUnavailable",
            "The mailbox database is temporarily unavailable.",
            String::new(),
        ),
        ItemFault::MimeConversionFailed => (
            "ErrorMimeContentConversionFailed",
            "Unable to convert the MIME content of the item.",
            String::new(),
        ),
        ItemFault::NotFound => (
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
            String::new(),
        ),
        ItemFault::BatchStopped => return batch_stopped_message(op),
    };
    error_message(op, code, text, &format!("{xml}<m:Items/>"))
}

pub(crate) fn batch_stopped_message(op: &str) -> String {
    format!(
        "<m:{op}ResponseMessage ResponseClass=\"Warning\"><m:MessageText>The batch processing was stopped before this item was reached.</m:MessageText>\
<m:ResponseCode>ErrorBatchProcessingStopped</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Items/></m:{op}ResponseMessage>"
    )
}

fn get_item(state: &SimState, mb: &mut Mailbox, op: &Element) -> String {
    const OP: &str = "GetItem";
    // Once Exchange stops a batch, every later item of it gets the same Warning.
    let mut stopped = false;
    let with_mime = op
        .path(&[(M, "ItemShape"), (T, "IncludeMimeContent")])
        .is_some_and(|e| e.text() == "true");
    let full = base_shape(op, "ItemShape") != "IdOnly";
    let mut out = String::new();
    let ids = op
        .child(M, "ItemIds")
        .map(|e| e.children.as_slice())
        .unwrap_or_default();
    for el in ids.iter().filter(|e| e.is(T, "ItemId")) {
        let raw = el.attr("Id").unwrap_or("").trim();
        if let Some((series, n)) = properties::parse_occurrence_id(raw) {
            out.push_str(&occurrence_message(state, mb, raw, series, n));
            continue;
        }
        let parsed = mailbox::parse_item_id(raw).filter(|p| p.mailbox == mb.index);
        let Some(parsed) = parsed.filter(|p| p.move_gen.is_some()) else {
            out.push_str(&error_message(
                OP,
                "ErrorInvalidIdMalformed",
                "Id is malformed.",
                "<m:Items/>",
            ));
            continue;
        };
        let item = mb
            .items
            .get(&parsed.n)
            .filter(|i| Some(i.move_gen) == parsed.move_gen);
        let Some(item) = item else {
            out.push_str(&error_message(
                OP,
                "ErrorItemNotFound",
                "The specified object was not found in the store.",
                "<m:Items/>",
            ));
            continue;
        };
        if stopped {
            out.push_str(&batch_stopped_message(OP));
            continue;
        }
        if with_mime {
            if let Some(fault) = state.take_item_fault(&mb.address, item.n) {
                stopped = fault == ItemFault::BatchStopped;
                if let ItemFault::ServerBusy { backoff_ms } = fault {
                    state
                        .throttle_window(&mb.address, std::time::Duration::from_millis(backoff_ms));
                }
                out.push_str(&item_fault_message(OP, fault));
                continue;
            }
        }
        let el = item_element(item.kind);
        let _ = write!(
            out,
            "<m:{OP}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:{el}>"
        );
        if with_mime {
            let data = match item.kind {
                ItemKind::CalendarItem => properties::calendar_mime(&item.data),
                _ => state.render_mime(&item.data),
            };
            let _ = write!(
                out,
                "<t:MimeContent CharacterSet=\"UTF-8\">{}</t:MimeContent>",
                STANDARD.encode(&data)
            );
        }
        let _ = write!(
            out,
            "<t:ItemId Id=\"{raw}\" ChangeKey=\"{}\"/>",
            mailbox::change_key(item.modseq)
        );
        if full {
            let _ = write!(
                out,
                "<t:ParentFolderId Id=\"{}\" ChangeKey=\"AQAAAA==\"/><t:ItemClass>{}</t:ItemClass>",
                item.folder,
                item_class(item.kind)
            );
            if let Some(subject) = subject_of(item.kind, &item.data) {
                let _ = write!(out, "<t:Subject>{}</t:Subject>", escape(&subject));
            }
            let _ = write!(out, "<t:Size>{}</t:Size>", item.data.len());
            match item.kind {
                ItemKind::Message => {
                    let draft = item.restore.as_ref().is_some_and(|m| m.is_draft);
                    let _ = write!(
                        out,
                        "<t:IsDraft>{draft}</t:IsDraft><t:IsRead>{}</t:IsRead>",
                        item.is_read
                    );
                }
                ItemKind::CalendarItem => {
                    out.push_str(&properties::calendar_item_xml(&item.data, raw))
                }
                ItemKind::Contact => out.push_str(&properties::contact_xml(
                    &item.data,
                    &format!("photo:{raw}"),
                )),
            }
        }
        let _ = write!(out, "</t:{el}></m:Items></m:{OP}ResponseMessage>");
    }
    wrap(OP, &out)
}

/// GetItem of a changed occurrence of a series, by the id its ModifiedOccurrences gave.
fn occurrence_message(state: &SimState, mb: &Mailbox, raw: &str, series: &str, n: usize) -> String {
    const OP: &str = "GetItem";
    let item = mailbox::parse_item_id(series)
        .filter(|p| p.mailbox == mb.index)
        .and_then(|p| {
            mb.items
                .get(&p.n)
                .filter(|i| Some(i.move_gen) == p.move_gen && i.kind == ItemKind::CalendarItem)
        });
    if let Some(fault) = item.and_then(|i| state.take_follow_up_fault(&mb.address, i.n)) {
        if let ItemFault::ServerBusy { backoff_ms } = fault {
            state.throttle_window(&mb.address, std::time::Duration::from_millis(backoff_ms));
        }
        return item_fault_message(OP, fault);
    }
    let xml = item.and_then(|i| properties::occurrence_xml(&i.data, n));
    match xml {
        Some(xml) => format!(
            "<m:{OP}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:CalendarItem>\
<t:ItemId Id=\"{}\" ChangeKey=\"DwAAAA==\"/>{xml}</t:CalendarItem></m:Items></m:{OP}ResponseMessage>",
            escape(raw)
        ),
        None => error_message(
            OP,
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
            "<m:Items/>",
        ),
    }
}

/// Contact photos only: the attachment id is `photo:` and the contact's item id.
fn get_attachment(mb: &mut Mailbox, op: &Element) -> String {
    const OP: &str = "GetAttachment";
    let mut out = String::new();
    let ids = op
        .child(M, "AttachmentIds")
        .map(|e| e.children.as_slice())
        .unwrap_or_default();
    for el in ids.iter().filter(|e| e.is(T, "AttachmentId")) {
        let raw = el.attr("Id").unwrap_or("").trim();
        let photo = raw
            .strip_prefix("photo:")
            .and_then(mailbox::parse_item_id)
            .filter(|p| p.mailbox == mb.index)
            .and_then(|p| {
                mb.items
                    .get(&p.n)
                    .filter(|i| Some(i.move_gen) == p.move_gen)
            })
            .and_then(|i| properties::contact_photo(&i.data));
        match photo {
            Some(b64) => {
                let _ = write!(
                    out,
                    "<m:{OP}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode><m:Attachments>\
<t:FileAttachment><t:AttachmentId Id=\"{}\"/><t:Name>ContactPicture.jpg</t:Name><t:ContentType>image/jpeg</t:ContentType>\
<t:IsContactPhoto>true</t:IsContactPhoto><t:Content>{b64}</t:Content></t:FileAttachment></m:Attachments></m:{OP}ResponseMessage>",
                    escape(raw)
                );
            }
            None => out.push_str(&error_message(
                OP,
                "ErrorAttachmentNotFound",
                "The attachment could not be found.",
                "<m:Attachments/>",
            )),
        }
    }
    wrap(OP, &out)
}

fn get_folder(mb: &mut Mailbox, op: &Element) -> String {
    const OP: &str = "GetFolder";
    let id_only = base_shape(op, "FolderShape") == "IdOnly";
    let hidden_flag = wants_hidden_flag(op);
    let mut out = String::new();
    let ids = op
        .child(M, "FolderIds")
        .map(|e| e.children.as_slice())
        .unwrap_or_default();
    for el in ids {
        let wrapper = Element {
            children: vec![el.clone()],
            ..Element::default()
        };
        match folder_ref(mb, &wrapper) {
            Some(f) => {
                let _ = write!(
                    out,
                    "<m:{OP}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode><m:Folders>{}</m:Folders></m:{OP}ResponseMessage>",
                    folder_xml(mb, f, id_only, hidden_flag)
                );
            }
            // A distinguished folder the mailbox lacks (no Junk Email in a fresh mailbox, say)
            // is not found; only a FolderId can be malformed.
            None if el.name == "DistinguishedFolderId" => out.push_str(&error_message(
                OP,
                "ErrorFolderNotFound",
                "The specified folder could not be found in the store.",
                "<m:Folders/>",
            )),
            None => out.push_str(&error_message(
                OP,
                "ErrorInvalidIdMalformed",
                "Id is malformed.",
                "<m:Folders/>",
            )),
        }
    }
    wrap(OP, &out)
}

fn find_folder(mb: &mut Mailbox, op: &Element) -> String {
    const OP: &str = "FindFolder";
    let deep = op.attr("Traversal") == Some("Deep");
    let id_only = base_shape(op, "FolderShape") == "IdOnly";
    let hidden_flag = wants_hidden_flag(op);
    let with_name = requested_fields(op, "FolderShape")
        .iter()
        .any(|f| f == "folder:DisplayName");
    let view = op.child(M, "IndexedPageFolderView");
    let max = view
        .and_then(|v| v.attr("MaxEntriesReturned"))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let offset = view
        .and_then(|v| v.attr("Offset"))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut out = String::new();
    let parents = op
        .child(M, "ParentFolderIds")
        .map(|e| e.children.as_slice())
        .unwrap_or_default();
    for el in parents {
        let wrapper = Element {
            children: vec![el.clone()],
            ..Element::default()
        };
        let Some(parent) = folder_ref(mb, &wrapper) else {
            out.push_str(&error_message(
                OP,
                "ErrorFolderNotFound",
                "The specified folder could not be found in the store.",
                "",
            ));
            continue;
        };
        let found: Vec<&Folder> = mb
            .folders
            .values()
            .filter(|f| {
                if deep {
                    mb.is_descendant(&f.id, &parent.id)
                } else {
                    f.parent.as_deref() == Some(parent.id.as_str())
                }
            })
            .collect();
        let page: Vec<&Folder> = found.iter().skip(offset).take(max).copied().collect();
        let last = offset + page.len() >= found.len();
        let _ = write!(
            out,
            "<m:{OP}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode>\
<m:RootFolder IndexedPagingOffset=\"{}\" TotalItemsInView=\"{}\" IncludesLastItemInRange=\"{last}\"><t:Folders>",
            offset + page.len(),
            found.len()
        );
        for f in page {
            out.push_str(&folder_xml_named(mb, f, id_only, hidden_flag, with_name));
        }
        let _ = write!(out, "</t:Folders></m:RootFolder></m:{OP}ResponseMessage>");
    }
    wrap(OP, &out)
}
