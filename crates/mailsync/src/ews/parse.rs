//! Reading EWS responses. Namespace-aware: Exchange 2007 uses a default namespace plus `m:`,
//! 2010+ only prefixes, and `h:ServerVersionInfo` declares a default namespace of its own.
//! Text values are trimmed because real responses carry surrounding whitespace; display names
//! are the exception, their spaces are part of the name.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::properties;
use crate::error::SourceError;
use crate::xml::{self, Element, MESSAGES_NS as M, SOAP_NS, TYPES_NS as T};

const ERRORS_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/errors";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapFault {
    /// The EWS response code, from `detail/e:ResponseCode` or else `faultcode` minus its prefix.
    pub code: String,
    pub message: String,
    /// `detail/t:MessageXml/t:Value[@Name="BackOffMilliseconds"]`, sent with ErrorServerBusy.
    pub backoff_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerVersion {
    pub major: u32,
    pub minor: u32,
    pub build: u32,
    pub revision: u32,
    pub version: Option<String>,
}

#[derive(Debug)]
pub enum Envelope {
    /// The operation's response element (`m:XxxResponse`).
    Body {
        response: Element,
        server: Option<ServerVersion>,
    },
    Fault(SoapFault),
}

pub fn parse_envelope(bytes: &[u8]) -> Result<Envelope, SourceError> {
    let doc = xml::parse(bytes)?;
    if !doc.is(SOAP_NS, "Envelope") {
        return Err(SourceError::Protocol(format!(
            "expected a SOAP 1.1 Envelope, got {{{}}}{}",
            doc.ns, doc.name
        )));
    }
    let body = doc
        .child(SOAP_NS, "Body")
        .ok_or_else(|| SourceError::Protocol("SOAP envelope without Body".into()))?;
    if let Some(fault) = body.child(SOAP_NS, "Fault") {
        return Ok(Envelope::Fault(parse_fault(fault)));
    }
    let server = doc
        .path(&[(SOAP_NS, "Header"), (T, "ServerVersionInfo")])
        .map(|v| {
            let num = |n: &str| v.attr(n).and_then(|x| x.trim().parse().ok()).unwrap_or(0);
            ServerVersion {
                major: num("MajorVersion"),
                minor: num("MinorVersion"),
                build: num("MajorBuildNumber"),
                revision: num("MinorBuildNumber"),
                version: v.attr("Version").map(str::to_string),
            }
        });
    let response = body
        .children
        .first()
        .cloned()
        .ok_or_else(|| SourceError::Protocol("empty SOAP Body".into()))?;
    Ok(Envelope::Body { response, server })
}

fn parse_fault(fault: &Element) -> SoapFault {
    // faultcode and friends are unqualified in SOAP 1.1 faults.
    let faultcode = fault.child("", "faultcode").map(|e| e.text()).unwrap_or("");
    let detail = fault.child("", "detail");
    let detail_code = detail
        .and_then(|d| d.child(ERRORS_NS, "ResponseCode"))
        .map(|e| e.text().to_string());
    let code = detail_code.unwrap_or_else(|| {
        faultcode
            .rsplit_once(':')
            .map(|(_, c)| c)
            .unwrap_or(faultcode)
            .to_string()
    });
    let message = fault
        .child("", "faultstring")
        .map(|e| e.text().to_string())
        .unwrap_or_default();
    // MessageXml is in the types namespace here, unlike its siblings.
    let backoff_ms = detail
        .and_then(|d| d.child(T, "MessageXml"))
        .and_then(|mx| {
            mx.children_named(T, "Value")
                .find(|v| v.attr("Name") == Some("BackOffMilliseconds"))
        })
        .and_then(|v| v.text().parse().ok());
    SoapFault {
        code,
        message,
        backoff_ms,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseClass {
    Success,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub class: ResponseClass,
    pub code: String,
    pub text: String,
    /// `MessageXml/Value[@Name="InnerErrorResponseCode"]`: what an ErrorInternalServerError
    /// wraps (ErrorServerBusy is how per-item throttling arrives on HTTP 200).
    pub inner_code: Option<String>,
    /// `MessageXml/Value[@Name="BackOffMilliseconds"]` of a per-item ErrorServerBusy.
    pub backoff_ms: Option<u64>,
}

impl Status {
    pub fn is_error(&self) -> bool {
        self.class == ResponseClass::Error
    }

    /// Maps an error status to the error the engine acts on.
    pub fn to_error(&self) -> SourceError {
        match self.code.as_str() {
            "ErrorInvalidSyncStateData" => SourceError::InvalidSyncState,
            "ErrorSyncFolderNotFound" | "ErrorFolderNotFound" => {
                SourceError::FolderNotFound(self.text.clone())
            }
            "ErrorImpersonateUserDenied" | "ErrorImpersonationDenied" | "ErrorAccessDenied" => {
                SourceError::AccessDenied(self.text.clone())
            }
            "ErrorNonExistentMailbox" => SourceError::MailboxNotFound(self.text.clone()),
            _ => SourceError::Server {
                code: self.code.clone(),
                message: self.text.clone(),
            },
        }
    }
}

/// The `m:XxxResponseMessage` elements of a response, one per request item, in request order.
pub fn response_messages(response: &Element) -> Vec<&Element> {
    response
        .child(M, "ResponseMessages")
        .map(|rm| rm.children.iter().collect())
        .unwrap_or_default()
}

pub fn status(msg: &Element) -> Status {
    let class = match msg.attr("ResponseClass") {
        Some("Success") => ResponseClass::Success,
        Some("Warning") => ResponseClass::Warning,
        _ => ResponseClass::Error,
    };
    // MessageXml is in the messages namespace in response messages (types in faults); accept
    // either, and values in the types namespace as Exchange sends them.
    let message_xml = msg
        .child(M, "MessageXml")
        .or_else(|| msg.child(T, "MessageXml"));
    let value = |name: &str| {
        message_xml.and_then(|mx| {
            mx.children
                .iter()
                .find(|v| v.name == "Value" && v.attr("Name") == Some(name))
                .map(|v| v.text().to_string())
        })
    };
    Status {
        inner_code: value("InnerErrorResponseCode"),
        backoff_ms: value("BackOffMilliseconds").and_then(|v| v.parse().ok()),
        class,
        code: msg
            .child(M, "ResponseCode")
            .map(|e| e.text().to_string())
            .unwrap_or_default(),
        text: msg
            .child(M, "MessageText")
            .map(|e| e.text().to_string())
            .unwrap_or_default(),
    }
}

/// The single response message of a single-target operation, or its error.
fn single(response: &Element) -> Result<&Element, SourceError> {
    let msgs = response_messages(response);
    let msg = msgs.first().copied().ok_or_else(|| {
        SourceError::Protocol(format!("{} without a response message", response.name))
    })?;
    let st = status(msg);
    if st.is_error() {
        return Err(st.to_error());
    }
    Ok(msg)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EwsFolderKind {
    Mail,
    Calendar,
    Contacts,
    /// Search, tasks, notes and other folders an archive does not sync.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EwsFolder {
    pub id: String,
    pub change_key: Option<String>,
    pub parent_id: Option<String>,
    pub folder_class: Option<String>,
    pub display_name: Option<String>,
    pub kind: EwsFolderKind,
    pub total_count: Option<u64>,
    pub child_folder_count: Option<u64>,
    pub unread_count: Option<u64>,
    /// PidTagAttributeHidden, when it was asked for and the folder has it.
    pub hidden: Option<bool>,
}

/// PidTagAttributeHidden (PR_ATTR_HIDDEN): set on the folders Outlook does not show.
pub const PID_TAG_ATTRIBUTE_HIDDEN: u32 = 0x10F4;

/// An ExtendedFieldURI PropertyTag: decimal ("4340") in requests, hex ("0x10f4") in responses.
fn property_tag(v: &str) -> Option<u32> {
    let v = v.trim();
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

fn hidden_flag(folder: &Element) -> Option<bool> {
    folder.children_named(T, "ExtendedProperty").find_map(|p| {
        let uri = p.child(T, "ExtendedFieldURI")?;
        if uri.attr("PropertyTag").and_then(property_tag) != Some(PID_TAG_ATTRIBUTE_HIDDEN) {
            return None;
        }
        let v = p.child(T, "Value")?.text();
        Some(v.eq_ignore_ascii_case("true") || v == "1")
    })
}

fn trimmed_attr(el: &Element, name: &str) -> Option<String> {
    el.attr(name).map(|v| v.trim().to_string())
}

fn child_text(el: &Element, name: &str) -> Option<String> {
    el.child(T, name).map(|e| e.text().to_string())
}

fn parse_folder(el: &Element) -> Option<EwsFolder> {
    let id_el = el.child(T, "FolderId")?;
    let folder_class = child_text(el, "FolderClass");
    let kind = match (el.name.as_str(), folder_class.as_deref()) {
        ("CalendarFolder", _) => EwsFolderKind::Calendar,
        ("ContactsFolder", _) => EwsFolderKind::Contacts,
        ("SearchFolder" | "TasksFolder", _) => EwsFolderKind::Other,
        (_, Some(c)) if c.starts_with("IPF.Appointment") => EwsFolderKind::Calendar,
        (_, Some(c)) if c.starts_with("IPF.Contact") => EwsFolderKind::Contacts,
        (_, None) => EwsFolderKind::Mail,
        (_, Some(c)) if c == "IPF.Note" || c.starts_with("IPF.Note.") || c == "IPF" => {
            EwsFolderKind::Mail
        }
        _ => EwsFolderKind::Other,
    };
    let num = |n: &str| child_text(el, n).and_then(|v| v.parse().ok());
    Some(EwsFolder {
        id: trimmed_attr(id_el, "Id")?,
        change_key: trimmed_attr(id_el, "ChangeKey"),
        parent_id: el
            .child(T, "ParentFolderId")
            .and_then(|p| trimmed_attr(p, "Id")),
        folder_class,
        // Leading and trailing spaces are part of a folder's name.
        display_name: el.child(T, "DisplayName").map(|e| e.raw_text().to_string()),
        kind,
        total_count: num("TotalCount"),
        child_folder_count: num("ChildFolderCount"),
        unread_count: num("UnreadCount"),
        hidden: hidden_flag(el),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HierarchyChange {
    Create(EwsFolder),
    Update(EwsFolder),
    Delete { id: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HierarchySync {
    pub sync_state: String,
    pub includes_last: bool,
    pub changes: Vec<HierarchyChange>,
}

pub fn parse_sync_folder_hierarchy(response: &Element) -> Result<HierarchySync, SourceError> {
    let msg = single(response)?;
    let mut changes = Vec::new();
    if let Some(ch) = msg.child(M, "Changes") {
        for c in ch.children.iter().filter(|c| c.ns == T) {
            match c.name.as_str() {
                "Create" | "Update" => {
                    let Some(folder) = c.children.first().and_then(parse_folder) else {
                        continue;
                    };
                    changes.push(if c.name == "Create" {
                        HierarchyChange::Create(folder)
                    } else {
                        HierarchyChange::Update(folder)
                    });
                }
                "Delete" => {
                    if let Some(id) = c.child(T, "FolderId").and_then(|f| trimmed_attr(f, "Id")) {
                        changes.push(HierarchyChange::Delete { id });
                    }
                }
                _ => {}
            }
        }
    }
    Ok(HierarchySync {
        sync_state: msg
            .child(M, "SyncState")
            .map(|e| e.text().to_string())
            .unwrap_or_default(),
        includes_last: msg
            .child(M, "IncludesLastFolderInRange")
            .is_none_or(|e| e.text() == "true"),
        changes,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EwsItemKind {
    Message,
    CalendarItem,
    Contact,
    Other,
}

fn item_kind(name: &str) -> EwsItemKind {
    match name {
        "Message" | "MeetingRequest" | "MeetingResponse" | "MeetingCancellation" | "PostItem" => {
            EwsItemKind::Message
        }
        "CalendarItem" => EwsItemKind::CalendarItem,
        "Contact" | "DistributionList" => EwsItemKind::Contact,
        _ => EwsItemKind::Other,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemHeader {
    pub id: String,
    pub change_key: Option<String>,
    pub kind: EwsItemKind,
    pub is_read: Option<bool>,
    /// PidTagSearchKey (0x300B), base64, when asked for: it survives moves, so it pairs the
    /// delete and the create EWS reports for one.
    pub search_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemSyncChange {
    Create(ItemHeader),
    Update(ItemHeader),
    Delete { id: String },
    ReadFlagChange { id: String, is_read: bool },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemsSync {
    pub sync_state: String,
    pub includes_last: bool,
    pub changes: Vec<ItemSyncChange>,
}

fn parse_item_header(el: &Element) -> Option<ItemHeader> {
    let id_el = el.child(T, "ItemId")?;
    Some(ItemHeader {
        id: trimmed_attr(id_el, "Id")?,
        change_key: trimmed_attr(id_el, "ChangeKey"),
        kind: item_kind(&el.name),
        is_read: child_text(el, "IsRead").map(|v| v == "true"),
        search_key: extended_property(el, 0x300B),
    })
}

/// The value of `t:ExtendedProperty` with this property tag (written `0x300b` or `12299`).
fn extended_property(el: &Element, tag: u32) -> Option<String> {
    el.children_named(T, "ExtendedProperty")
        .find(|p| {
            p.child(T, "ExtendedFieldURI")
                .and_then(|u| u.attr("PropertyTag"))
                .and_then(|t| {
                    let t = t.trim();
                    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => t.parse().ok(),
                    }
                })
                == Some(tag)
        })
        .and_then(|p| p.child(T, "Value"))
        .map(|v| v.text().to_string())
        .filter(|v| !v.is_empty())
}

pub fn parse_sync_folder_items(response: &Element) -> Result<ItemsSync, SourceError> {
    let msg = single(response)?;
    let mut changes = Vec::new();
    if let Some(ch) = msg.child(M, "Changes") {
        for c in ch.children.iter().filter(|c| c.ns == T) {
            let id_of = |c: &Element| c.child(T, "ItemId").and_then(|i| trimmed_attr(i, "Id"));
            match c.name.as_str() {
                "Create" | "Update" => {
                    let Some(h) = c.children.first().and_then(parse_item_header) else {
                        continue;
                    };
                    changes.push(if c.name == "Create" {
                        ItemSyncChange::Create(h)
                    } else {
                        ItemSyncChange::Update(h)
                    });
                }
                "Delete" => {
                    if let Some(id) = id_of(c) {
                        changes.push(ItemSyncChange::Delete { id });
                    }
                }
                "ReadFlagChange" => {
                    if let Some(id) = id_of(c) {
                        let is_read = child_text(c, "IsRead").is_some_and(|v| v == "true");
                        changes.push(ItemSyncChange::ReadFlagChange { id, is_read });
                    }
                }
                _ => {}
            }
        }
    }
    Ok(ItemsSync {
        sync_state: msg
            .child(M, "SyncState")
            .map(|e| e.text().to_string())
            .unwrap_or_default(),
        includes_last: msg
            .child(M, "IncludesLastItemInRange")
            .is_none_or(|e| e.text() == "true"),
        changes,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EwsItem {
    pub id: String,
    pub change_key: Option<String>,
    pub kind: EwsItemKind,
    /// Decoded `t:MimeContent`, when requested.
    pub mime: Option<Vec<u8>>,
    pub is_read: Option<bool>,
    pub subject: Option<String>,
    /// A calendar item's or contact's properties, when the shape asked for them.
    pub record: Option<pim::Record>,
    /// The attachment that holds a contact's photo, fetched with GetAttachment.
    pub photo_id: Option<String>,
    /// A series' changed occurrences (original start, ItemId), fetched with GetItem.
    pub occurrence_ids: Vec<(chrono::NaiveDateTime, String)>,
}

/// GetItem: one result per requested id, in request order. Each response message stands on its
/// own: an item comes back only with its content; a Warning without an item (such as
/// ErrorBatchProcessingStopped, when Exchange stops a batch part-way) or an Error is that
/// item's status, never a success and never a failure of the whole call.
pub fn parse_get_item(response: &Element) -> Result<Vec<Result<EwsItem, Status>>, SourceError> {
    let mut out = Vec::new();
    for msg in response_messages(response) {
        let st = status(msg);
        if st.is_error() {
            out.push(Err(st));
            continue;
        }
        let item = msg
            .child(M, "Items")
            .and_then(|i| i.children.first())
            .and_then(|el| parse_item_header(el).map(|h| (el, h)));
        let Some((el, header)) = item else {
            out.push(Err(Status {
                code: if st.code.is_empty() || st.code == "NoError" {
                    "NoItemInResponse".into()
                } else {
                    st.code.clone()
                },
                ..st
            }));
            continue;
        };
        let mime = match el.child(T, "MimeContent") {
            None => None,
            Some(m) => {
                // Base64 may be wrapped across lines.
                let compact: String = m.text().chars().filter(|c| !c.is_whitespace()).collect();
                match STANDARD.decode(compact) {
                    Ok(bytes) => Some(bytes),
                    Err(e) => {
                        out.push(Err(Status {
                            class: ResponseClass::Error,
                            code: "MimeContentNotBase64".into(),
                            text: format!("MimeContent of {} is not base64: {e}", header.id),
                            inner_code: None,
                            backoff_ms: None,
                        }));
                        continue;
                    }
                }
            }
        };
        let occurrence_ids = match header.kind {
            EwsItemKind::CalendarItem => properties::modified_occurrence_ids(el),
            _ => Vec::new(),
        };
        let (record, photo_id) = match header.kind {
            EwsItemKind::CalendarItem => {
                (properties::calendar_item(el).map(pim::Record::Event), None)
            }
            EwsItemKind::Contact if properties::has_contact_fields(el) => (
                Some(pim::Record::Contact(properties::contact(el))),
                properties::contact_photo_id(el),
            ),
            _ => (None, None),
        };
        out.push(Ok(EwsItem {
            id: header.id,
            change_key: header.change_key,
            kind: header.kind,
            mime,
            is_read: header.is_read,
            subject: child_text(el, "Subject"),
            record,
            photo_id,
            occurrence_ids,
        }));
    }
    Ok(out)
}

/// The display name of the resolution whose address is `address`. Success and the Warning
/// `ErrorNameResolutionMultipleResults` both carry a ResolutionSet; `ErrorNameResolutionNoResults`
/// means the directory has no name for it (not a failure of the run).
pub fn parse_resolve_names(
    response: &Element,
    address: &str,
) -> Result<Option<String>, SourceError> {
    let Some(msg) = response_messages(response).into_iter().next() else {
        return Err(SourceError::Protocol(
            "ResolveNames answered no message".into(),
        ));
    };
    let st = status(msg);
    if st.is_error() {
        return match st.code.as_str() {
            "ErrorNameResolutionNoResults" | "ErrorNameResolutionNoMailbox" => Ok(None),
            _ => Err(st.to_error()),
        };
    }
    let names = msg
        .child(M, "ResolutionSet")
        .map(|set| set.children.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.child(T, "Mailbox"))
        .filter(|m| {
            m.child(T, "EmailAddress")
                .is_some_and(|e| e.text().eq_ignore_ascii_case(address))
        })
        .filter_map(|m| m.child(T, "Name").map(|n| n.text().to_owned()))
        .find(|n| !n.is_empty());
    Ok(names)
}

pub fn parse_get_folder(response: &Element) -> Result<Vec<Result<EwsFolder, Status>>, SourceError> {
    let mut out = Vec::new();
    for msg in response_messages(response) {
        let st = status(msg);
        if st.is_error() {
            out.push(Err(st));
            continue;
        }
        let folder = msg
            .child(M, "Folders")
            .and_then(|f| f.children.first())
            .and_then(parse_folder);
        match folder {
            Some(f) => out.push(Ok(f)),
            // A Warning (or a success) without the folder is that folder's answer, like GetItem.
            None if st.class == ResponseClass::Warning => out.push(Err(st)),
            None => {
                return Err(SourceError::Protocol(
                    "GetFolder success without a folder".into(),
                ))
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindFolderResult {
    pub total_in_view: u64,
    pub includes_last: bool,
    pub folders: Vec<EwsFolder>,
}

pub fn parse_find_folder(response: &Element) -> Result<FindFolderResult, SourceError> {
    let msg = single(response)?;
    let root = msg
        .child(M, "RootFolder")
        .ok_or_else(|| SourceError::Protocol("FindFolder without RootFolder".into()))?;
    Ok(FindFolderResult {
        total_in_view: root
            .attr("TotalItemsInView")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        includes_last: root.attr("IncludesLastItemInRange") != Some("false"),
        folders: root
            .child(T, "Folders")
            .map(|f| f.children.iter().filter_map(parse_folder).collect())
            .unwrap_or_default(),
    })
}

/// CreateItem: the new item id per created item, in request order.
pub fn parse_create_item(response: &Element) -> Result<Vec<Result<String, Status>>, SourceError> {
    Ok(response_messages(response)
        .into_iter()
        .map(|msg| {
            let st = status(msg);
            if st.is_error() {
                return Err(st);
            }
            msg.child(M, "Items")
                .and_then(|i| i.children.first())
                .and_then(|el| el.child(T, "ItemId"))
                .and_then(|id| trimmed_attr(id, "Id"))
                .ok_or(st)
        })
        .collect())
}

/// A file attachment's content from GetAttachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EwsAttachment {
    pub content_type: String,
    pub content: Vec<u8>,
}

/// GetAttachment: one result per requested id, in request order, each with its own status.
pub fn parse_get_attachment(
    response: &Element,
) -> Result<Vec<Result<EwsAttachment, Status>>, SourceError> {
    let mut out = Vec::new();
    for msg in response_messages(response) {
        let st = status(msg);
        if st.is_error() {
            out.push(Err(st));
            continue;
        }
        let file = msg
            .child(M, "Attachments")
            .and_then(|a| a.child(T, "FileAttachment"));
        let decoded = file.and_then(|f| {
            let compact: String = f
                .child(T, "Content")?
                .text()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let content = STANDARD.decode(compact).ok()?;
            Some(EwsAttachment {
                content_type: child_text(f, "ContentType").unwrap_or_default(),
                content,
            })
        });
        out.push(decoded.ok_or(Status {
            class: ResponseClass::Error,
            code: "NoAttachmentInResponse".into(),
            text: "GetAttachment answered without a readable file attachment".into(),
            inner_code: None,
            backoff_ms: None,
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hierarchy(folders: &str) -> HierarchySync {
        let xml = format!(
            "<s:Envelope xmlns:s=\"{SOAP_NS}\"><s:Body>\
<m:SyncFolderHierarchyResponse xmlns:m=\"{M}\" xmlns:t=\"{T}\"><m:ResponseMessages>\
<m:SyncFolderHierarchyResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode>\
<m:SyncState>s</m:SyncState><m:IncludesLastFolderInRange>true</m:IncludesLastFolderInRange>\
<m:Changes>{folders}</m:Changes></m:SyncFolderHierarchyResponseMessage></m:ResponseMessages>\
</m:SyncFolderHierarchyResponse></s:Body></s:Envelope>"
        );
        let Envelope::Body { response, .. } = parse_envelope(xml.as_bytes()).unwrap() else {
            panic!("fault");
        };
        parse_sync_folder_hierarchy(&response).unwrap()
    }

    fn folders(sync: HierarchySync) -> Vec<EwsFolder> {
        sync.changes
            .into_iter()
            .filter_map(|c| match c {
                HierarchyChange::Create(f) | HierarchyChange::Update(f) => Some(f),
                HierarchyChange::Delete { .. } => None,
            })
            .collect()
    }

    #[test]
    fn hidden_flag_and_untrimmed_display_name() {
        let got = folders(hierarchy(
            "<t:Create><t:Folder><t:FolderId Id=\" a \"/><t:FolderClass> IPF.Note </t:FolderClass>\
<t:DisplayName>  Spaced  </t:DisplayName><t:ExtendedProperty>\
<t:ExtendedFieldURI PropertyTag=\"0x10f4\" PropertyType=\"Boolean\"/><t:Value>true</t:Value>\
</t:ExtendedProperty></t:Folder></t:Create>\
<t:Create><t:ContactsFolder><t:FolderId Id=\"b\"/><t:DisplayName>Kontakte</t:DisplayName>\
<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag=\"4340\" PropertyType=\"Boolean\"/>\
<t:Value>false</t:Value></t:ExtendedProperty></t:ContactsFolder></t:Create>\
<t:Update><t:Folder><t:FolderId Id=\"c\"/><t:DisplayName>Plain</t:DisplayName>\
<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag=\"0x3613\" PropertyType=\"String\"/>\
<t:Value>true</t:Value></t:ExtendedProperty></t:Folder></t:Update>",
        ));
        type Summary<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<bool>);
        let summary: Vec<Summary> = got
            .iter()
            .map(|f| {
                (
                    f.id.as_str(),
                    f.folder_class.as_deref(),
                    f.display_name.as_deref(),
                    f.hidden,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("a", Some("IPF.Note"), Some("  Spaced  "), Some(true)),
                ("b", None, Some("Kontakte"), Some(false)),
                ("c", None, Some("Plain"), None),
            ]
        );
    }

    #[test]
    fn resolve_names_success_warning_and_no_results() {
        let answer = |class: &str, code: &str, set: &str| {
            format!(
                "<m:ResolveNamesResponse xmlns:m=\"{M}\" xmlns:t=\"{T}\"><m:ResponseMessages>\
<m:ResolveNamesResponseMessage ResponseClass=\"{class}\"><m:ResponseCode>{code}</m:ResponseCode>{set}\
</m:ResolveNamesResponseMessage></m:ResponseMessages></m:ResolveNamesResponse>"
            )
        };
        let resolution = |name: &str, address: &str| {
            format!(
                "<t:Resolution><t:Mailbox><t:Name>{name}</t:Name><t:EmailAddress>{address}</t:EmailAddress>\
<t:RoutingType>SMTP</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox></t:Resolution>"
            )
        };
        let parse = |xml: String| {
            let el = crate::xml::parse(xml.as_bytes()).unwrap();
            parse_resolve_names(&el, "alice@example.com")
        };
        let one = format!(
            "<m:ResolutionSet TotalItemsInView=\"1\" IncludesLastItemInRange=\"true\">{}</m:ResolutionSet>",
            resolution("Alice Martin", "Alice@Example.com")
        );
        assert_eq!(
            parse(answer("Success", "NoError", &one))
                .unwrap()
                .as_deref(),
            Some("Alice Martin")
        );
        let several = format!(
            "<m:ResolutionSet TotalItemsInView=\"2\" IncludesLastItemInRange=\"true\">{}{}</m:ResolutionSet>",
            resolution("Alice Archer", "alice.archer@example.com"),
            resolution("Alice Martin", "alice@example.com")
        );
        assert_eq!(
            parse(answer(
                "Warning",
                "ErrorNameResolutionMultipleResults",
                &several
            ))
            .unwrap()
            .as_deref(),
            Some("Alice Martin"),
            "the entry with exactly this address"
        );
        assert_eq!(
            parse(answer("Error", "ErrorNameResolutionNoResults", "")).unwrap(),
            None
        );
        assert!(parse(answer("Error", "ErrorAccessDenied", "")).is_err());
    }
}
