//! PST files (Outlook's personal folders, ANSI and Unicode) through Microsoft's `outlook-pst`.
//!
//! ```text
//! header check (OST, other versions: a clear refusal)
//!   reader thread: outlook-pst (!Send, path-based) ─ folder by folder ─ MAPI properties
//!        │ mail: compose MIME from the transport headers (or headers from the properties),
//!        │   plain, HTML and RTF bodies, attachments (embedded messages as message/rfc822)
//!        │ calendar items and contacts: the `pim` record (records.rs, series in recur.rs),
//!        │   with iCalendar or vCard written from it as their content
//!        ▼ bounded channel, one item at a time
//!   async side: the importer's sink (batches into the archive)
//! ```
//!
//! Each item's source id is the PST's own (its file's fingerprint and the message's node id),
//! so importing the same file again adds nothing even though composed MIME is not byte-stable.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;

mod records;
mod recur;

use archive::{DateSource, FallbackDate, FolderKind, Timestamp};
use mail_builder::headers::address::Address;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::MimePart;
use mail_builder::MessageBuilder;
use outlook_pst::ltp::prop_context::PropertyValue;
use outlook_pst::ltp::table_context::TableContext;
use outlook_pst::messaging::attachment::{Attachment, AttachmentData};
use outlook_pst::messaging::folder::Folder;
use outlook_pst::messaging::message::Message;
use outlook_pst::messaging::store::Store;
use outlook_pst::ndb::node_id::NodeId;

use super::{Found, ImportOptions, ProgressFn, Sink};
use crate::TransferError;

/// What the reader thread sends: a folder's kind, an item with its folder path, or one it could
/// not read.
enum Event {
    Folder {
        path: Vec<String>,
        kind: FolderKind,
    },
    Message {
        folder: Vec<String>,
        found: Found,
        /// A calendar item's or contact's properties; none for mail.
        record: Option<Box<pim::Record>>,
        key: String,
        location: String,
    },
    Failed {
        location: String,
        reason: String,
    },
    Skipped {
        location: String,
        reason: String,
    },
    /// `done` of the file's `of` items are read: a PST is not read front to back, so this
    /// (not the bytes) is how far the import is.
    Progress {
        done: u64,
        of: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    Ansi,
    Unicode,
}

/// Reads the file header before the library does, to say exactly what a file is when it is not
/// a PST this importer reads.
fn flavour(path: &Path) -> Result<Flavour, TransferError> {
    let unsupported = |why: String| TransferError::Unsupported {
        path: path.display().to_string(),
        why,
    };
    let mut header = [0u8; 12];
    let mut file = std::fs::File::open(path).map_err(|e| super::io_err(path, e))?;
    file.read_exact(&mut header)
        .map_err(|_| unsupported("it is too short to be a PST file".into()))?;
    if &header[0..4] != b"!BDN" {
        return Err(unsupported(
            "it is not a PST file (no PST signature at its start)".into(),
        ));
    }
    let version = u16::from_le_bytes([header[10], header[11]]);
    match (&header[8..10], version) {
        (b"SM", 14 | 15) => Ok(Flavour::Ansi),
        (b"SM", 23) => Ok(Flavour::Unicode),
        (b"SO", _) | (_, 36) => Err(unsupported(format!(
            "it is an OST file (Outlook's offline cache, format version {version}), which only Outlook can read; export the mailbox from Outlook as a PST file and import that"
        ))),
        (_, v) => Err(unsupported(format!(
            "its format version {v} is not one of ANSI PST (14, 15) or Unicode PST (23)"
        ))),
    }
}

/// A fingerprint of the file, so the same PST imported twice gives the same source ids and two
/// different PSTs never share one.
fn fingerprint(path: &Path) -> Result<String, TransferError> {
    let mut file = std::fs::File::open(path).map_err(|e| super::io_err(path, e))?;
    let mut head = vec![0u8; 64 * 1024];
    let n = file.read(&mut head).map_err(|e| super::io_err(path, e))?;
    head.truncate(n);
    let len = file.metadata().map_err(|e| super::io_err(path, e))?.len();
    head.extend_from_slice(&len.to_le_bytes());
    Ok(archive::BlobHash::of(&head).as_str()[..16].to_owned())
}

pub(super) async fn import(
    sink: &mut Sink<'_>,
    path: &Path,
    _options: &ImportOptions,
    progress: &mut ProgressFn<'_>,
) -> Result<(), TransferError> {
    let flavour = flavour(path)?;
    let fingerprint = fingerprint(path)?;
    let prefix = format!("pst:{fingerprint}");
    sink.progress.bytes_total = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Event>(16);
    let owned: PathBuf = path.to_owned();
    let fingerprint = prefix.clone();
    let reader = std::thread::Builder::new()
        .name("pst-reader".into())
        .spawn(move || match flavour {
            Flavour::Unicode => unicode::read(&owned, &tx, &fingerprint),
            Flavour::Ansi => ansi::read(&owned, &tx, &fingerprint),
        })
        .map_err(|e| super::io_err(path, e))?;
    while let Some(event) = rx.recv().await {
        match event {
            Event::Folder { path, kind } => sink.folder_kind(path, kind),
            Event::Message {
                folder,
                found,
                record,
                key,
                location,
            } => {
                let key = format!("{prefix}:{key}");
                sink.add_keyed(
                    &folder,
                    found,
                    Some(key),
                    record.map(|r| *r),
                    location,
                    progress,
                )
                .await?;
            }
            Event::Failed { location, reason } => sink.unreadable(location, reason, progress),
            Event::Skipped { location, reason } => sink.skipped(location, reason),
            Event::Progress { done, of } => {
                let total = sink.progress.bytes_total;
                sink.progress.bytes_read = total.saturating_mul(done) / of.max(1);
                progress(&sink.progress);
            }
        }
    }
    sink.progress.bytes_read = sink.progress.bytes_total;
    let outcome = reader.join().map_err(|_| TransferError::Unsupported {
        path: path.display().to_string(),
        why: "the PST reader stopped unexpectedly (the file is damaged)".into(),
    })?;
    outcome.map_err(|why| TransferError::Unsupported {
        path: path.display().to_string(),
        why,
    })
}

/// The text of a string property, whichever way the file stores it. A subject may start with
/// the prefix-length marker (U+0001 and one character), which is no part of the text.
fn text(value: Option<&PropertyValue>) -> Option<String> {
    let text = match value? {
        PropertyValue::Unicode(v) => String::from_utf16_lossy(v.buffer()),
        PropertyValue::String8(v) => encoding_rs::WINDOWS_1252.decode(v.buffer()).0.into_owned(),
        PropertyValue::Binary(v) => String::from_utf8_lossy(v.buffer()).into_owned(),
        _ => return None,
    };
    let text = match text.strip_prefix('\u{1}') {
        Some(rest) => rest.chars().skip(1).collect(),
        None => text,
    };
    let text = text.trim_end_matches('\0').to_owned();
    (!text.is_empty()).then_some(text)
}

fn binary(value: Option<&PropertyValue>) -> Option<&[u8]> {
    match value? {
        PropertyValue::Binary(v) => Some(v.buffer()),
        _ => None,
    }
}

/// A MAPI time (100 ns since 1601) as a timestamp.
fn time(value: Option<&PropertyValue>) -> Option<Timestamp> {
    match value? {
        PropertyValue::Time(t) => {
            let micros = t / 10 - 11_644_473_600_000_000;
            Some(Timestamp(micros))
        }
        _ => None,
    }
}

/// A MAPI time as a chrono instant, for the calendar and contact records.
fn utc(value: Option<&PropertyValue>) -> Option<chrono::DateTime<chrono::Utc>> {
    time(value).and_then(|t| chrono::DateTime::from_timestamp(t.unix_seconds(), 0))
}

/// An HTML body: a string, or bytes in the message's Internet code page.
fn html(props: &dyn Fn(u16) -> Option<PropertyValue>) -> Option<String> {
    match props(0x1013)? {
        PropertyValue::Binary(v) => {
            let encoding = match props(0x3FDE) {
                Some(PropertyValue::Integer32(cp)) => u16::try_from(cp)
                    .ok()
                    .and_then(codepage::to_encoding)
                    .unwrap_or(encoding_rs::UTF_8),
                _ => encoding_rs::UTF_8,
            };
            Some(encoding.decode(v.buffer()).0.into_owned())
        }
        other => text(Some(&other)),
    }
}

/// One row of a message's recipient table.
struct Recipient {
    /// PidTagRecipientType: 1 To (required), 2 Cc (optional), 3 Bcc (resource).
    kind: i32,
    name: String,
    address: String,
    /// PidTagRecipientTrackStatus: a meeting attendee's answer.
    track_status: i32,
    /// PidTagRecipientFlags: 0x2 marks a meeting's organizer.
    flags: i32,
}

fn recipients(table: Option<&Rc<dyn TableContext>>) -> Vec<Recipient> {
    let Some(table) = table else {
        return Vec::new();
    };
    let context = table.context();
    let mut out = Vec::new();
    for row in table.rows_matrix() {
        let Ok(values) = row.columns(context) else {
            continue;
        };
        let mut kind = 1;
        let mut track_status = 0;
        let mut flags = 0;
        let mut name = String::new();
        let mut smtp = String::new();
        let mut address = String::new();
        for (column, value) in context.columns().iter().zip(values) {
            let Some(value) = value.as_ref() else {
                continue;
            };
            let Ok(value) = table.read_column(value, column.prop_type()) else {
                continue;
            };
            match column.prop_id() {
                0x0C15 => {
                    if let PropertyValue::Integer32(k) = value {
                        kind = k;
                    }
                }
                0x5FFF => {
                    if let PropertyValue::Integer32(k) = value {
                        track_status = k;
                    }
                }
                0x5FFD => {
                    if let PropertyValue::Integer32(k) = value {
                        flags = k;
                    }
                }
                0x3001 => name = text(Some(&value)).unwrap_or_default(),
                0x39FE => smtp = text(Some(&value)).unwrap_or_default(),
                0x3003 => address = text(Some(&value)).unwrap_or_default(),
                _ => {}
            }
        }
        let address = if smtp.contains('@') { smtp } else { address };
        out.push(Recipient {
            kind,
            name,
            address,
            track_status,
            flags,
        });
    }
    out
}

fn address_of<'a>(name: &'a str, address: &'a str) -> Address<'a> {
    if address.contains('@') {
        Address::new_address(
            Some(name).filter(|n| !n.is_empty() && *n != address),
            address,
        )
    } else {
        // An Exchange-internal address (X.500) is no mail address: the name stands alone.
        Address::new_address(Some(name).filter(|n| !n.is_empty()), "")
    }
}

/// Header names the composed body brings itself; the transport headers' own ones describe a
/// structure that is not there any more.
fn is_body_header(line: &str) -> bool {
    let name = line
        .split(':')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(
        name.as_str(),
        "content-type" | "content-transfer-encoding" | "mime-version" | "content-disposition"
    )
}

/// The transport headers without those that describe the body, CRLF-terminated.
fn kept_headers(headers: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in headers.lines() {
        if line.trim().is_empty() {
            break;
        }
        let continuation = line.starts_with(' ') || line.starts_with('\t');
        if !continuation {
            skipping = is_body_header(line);
        }
        if !skipping {
            out.push_str(line.trim_end_matches('\r'));
            out.push_str("\r\n");
        }
    }
    out
}

/// A composed message's parts: bodies, then attachments.
struct Parts {
    plain: Option<String>,
    html: Option<String>,
    rtf: Option<String>,
    attachments: Vec<(String, String, Vec<u8>)>,
}

fn body_part(parts: Parts) -> MimePart<'static> {
    let mut alternatives: Vec<MimePart<'static>> = Vec::new();
    if let Some(plain) = parts.plain {
        alternatives.push(MimePart::new("text/plain; charset=utf-8", plain));
    }
    if let Some(html) = parts.html {
        alternatives.push(MimePart::new("text/html; charset=utf-8", html));
    }
    if alternatives.is_empty() {
        if let Some(rtf) = parts.rtf {
            alternatives.push(MimePart::new("text/rtf; charset=utf-8", rtf));
        } else {
            alternatives.push(MimePart::new("text/plain; charset=utf-8", String::new()));
        }
    }
    let body = if alternatives.len() == 1 {
        alternatives.remove(0)
    } else {
        MimePart::new("multipart/alternative", alternatives)
    };
    if parts.attachments.is_empty() {
        return body;
    }
    let mut mixed = vec![body];
    for (name, content_type, data) in parts.attachments {
        mixed.push(MimePart::new(content_type, data).attachment(name));
    }
    MimePart::new("multipart/mixed", mixed)
}

/// Composes one message from its properties. `props` answers a property id.
fn compose(
    props: &dyn Fn(u16) -> Option<PropertyValue>,
    recipients: Vec<Recipient>,
    parts: Parts,
) -> Vec<u8> {
    let transport = text(props(0x007D).as_ref()).filter(|h| h.contains(':'));
    if let Some(headers) = transport {
        let mut out = kept_headers(&headers).into_bytes();
        out.extend_from_slice(b"MIME-Version: 1.0\r\n");
        body_part(parts).write_part(&mut out);
        return out;
    }
    let subject = text(props(0x0037).as_ref()).unwrap_or_default();
    let sender_name = text(props(0x0C1A).as_ref()).unwrap_or_default();
    let sender_address = text(props(0x5D01).as_ref())
        .or_else(|| text(props(0x0C1F).as_ref()))
        .unwrap_or_default();
    let date = time(props(0x0039).as_ref())
        .or_else(|| time(props(0x0E06).as_ref()))
        .or_else(|| time(props(0x3007).as_ref()));
    let message_id = text(props(0x1035).as_ref());
    let mut builder = MessageBuilder::new()
        .from(address_of(&sender_name, &sender_address))
        .subject(subject.clone());
    let to: Vec<Address<'_>> = recipients
        .iter()
        .filter(|r| r.kind == 1)
        .map(|r| address_of(&r.name, &r.address))
        .collect();
    let cc: Vec<Address<'_>> = recipients
        .iter()
        .filter(|r| r.kind == 2)
        .map(|r| address_of(&r.name, &r.address))
        .collect();
    if !to.is_empty() {
        builder = builder.to(to);
    }
    if !cc.is_empty() {
        builder = builder.cc(cc);
    }
    if let Some(date) = date {
        builder = builder.date(date.unix_seconds());
    }
    builder = match message_id {
        Some(id) => builder.message_id(archive::meta::bare_message_id(&id).to_owned()),
        // No id of its own: none is invented (a random one would differ on every import).
        None => builder.header("X-PST-Without-Message-Id", Raw::new("yes")),
    };
    builder = builder.body(body_part(parts));
    let mut out = Vec::new();
    let _ = builder.write_to(&mut out);
    out
}

fn fallback_date(props: &dyn Fn(u16) -> Option<PropertyValue>) -> Option<FallbackDate> {
    time(props(0x0E06).as_ref())
        .or_else(|| time(props(0x0039).as_ref()))
        .map(|at| FallbackDate {
            at,
            source: DateSource::Source,
        })
}

/// MSGFLAG_READ in PidTagMessageFlags.
fn is_read(props: &dyn Fn(u16) -> Option<PropertyValue>) -> bool {
    matches!(props(0x0E07), Some(PropertyValue::Integer32(flags)) if flags & 1 != 0)
}

/// Message classes imported as mail. Calendar items and contacts have classes of their own
/// ([`ItemClass`]); anything else (tasks, notes, distribution lists) is reported, not guessed at.
fn is_mail(class: &str) -> bool {
    let class = class.to_ascii_uppercase();
    class.is_empty()
        || class == "IPM"
        || class.starts_with("IPM.NOTE")
        || class.starts_with("IPM.POST")
        || class.starts_with("REPORT.IPM.NOTE")
        || class.starts_with("IPM.SCHEDULE.MEETING")
}

/// What the reader made of one item of a folder.
enum Item {
    /// `note`: why part of it could not be kept (a series read as a single event).
    Found {
        found: Found,
        record: Option<Box<pim::Record>>,
        note: Option<String>,
    },
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemClass {
    Mail,
    Appointment,
    Contact,
    Other,
}

fn item_class(class: &str) -> ItemClass {
    let upper = class.to_ascii_uppercase();
    if is_mail(class) {
        ItemClass::Mail
    } else if upper == "IPM.APPOINTMENT" || upper.starts_with("IPM.APPOINTMENT.") {
        ItemClass::Appointment
    } else if upper == "IPM.CONTACT" || upper.starts_with("IPM.CONTACT.") {
        ItemClass::Contact
    } else {
        ItemClass::Other
    }
}

/// A folder's kind from its container class, where it is not mail.
fn folder_kind(container_class: &str) -> Option<FolderKind> {
    let upper = container_class.to_ascii_uppercase();
    if upper.starts_with("IPF.APPOINTMENT") {
        Some(FolderKind::Calendar)
    } else if upper.starts_with("IPF.CONTACT") {
        Some(FolderKind::Contacts)
    } else {
        None
    }
}

/// A contact picture's type by its first bytes: Outlook names them all "ContactPicture.jpg".
fn image_type(data: &[u8], said: String) -> String {
    if data.starts_with(b"\x89PNG") {
        "image/png".to_owned()
    } else if data.starts_with(b"GIF8") {
        "image/gif".to_owned()
    } else if data.starts_with(&[0xFF, 0xD8]) || !said.starts_with("image/") {
        "image/jpeg".to_owned()
    } else {
        said
    }
}

/// When an item's iCalendar says it was written: its last change in the file, so importing
/// the same file again writes the same bytes.
fn stamp(props: &dyn Fn(u16) -> Option<PropertyValue>) -> chrono::DateTime<chrono::Utc> {
    utc(props(0x3008).as_ref())
        .or_else(|| utc(props(0x3007).as_ref()))
        .unwrap_or_default()
}

fn send(tx: &tokio::sync::mpsc::Sender<Event>, event: Event) -> Result<(), String> {
    tx.blocking_send(event)
        .map_err(|_| "the import stopped".to_owned())
}

/// An attachment's file: (name, content type, bytes); an embedded message as message/rfc822.
fn attachment_file(attachment: &dyn Attachment, n: usize) -> Option<(String, String, Vec<u8>)> {
    let props = |id: u16| attachment.properties().get(id).cloned();
    let name = text(props(0x3707).as_ref())
        .or_else(|| text(props(0x3704).as_ref()))
        .or_else(|| text(props(0x3001).as_ref()));
    match attachment.data()? {
        AttachmentData::Binary(data) => {
            let content_type = text(props(0x370E).as_ref())
                .filter(|t| t.contains('/'))
                .unwrap_or_else(|| "application/octet-stream".to_owned());
            Some((
                name.unwrap_or_else(|| format!("attachment-{n}")),
                content_type,
                data.buffer().to_vec(),
            ))
        }
        AttachmentData::Message(message) => {
            let props = |id: u16| message.properties().get(id).cloned();
            let raw = compose(
                &props,
                recipients(message.recipient_table()),
                parts_of(&props, Vec::new()),
            );
            let subject = text(props(0x0037).as_ref()).unwrap_or_else(|| format!("message-{n}"));
            Some((format!("{subject}.eml"), "message/rfc822".to_owned(), raw))
        }
    }
}

/// The RTF body (MS-OXRTFCP). compressed-rtf slices an uncompressed ("MELA") body by the size
/// its header declares without checking it, and panics on one shorter than it says (one PST
/// writer makes those); that case is read here, taking the bytes that are there.
fn rtf_body(data: &[u8]) -> Option<String> {
    const UNCOMPRESSED: u32 = 0x414C_454D;
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
    };
    if word(8)? == UNCOMPRESSED {
        let declared = usize::try_from(word(4)?).ok()?;
        let end = declared.saturating_add(16).min(data.len());
        let text = data
            .get(16..end)?
            .iter()
            .take_while(|b| **b != 0)
            .map(|b| char::from(*b))
            .collect();
        return Some(text);
    }
    compressed_rtf::decompress_rtf(data).ok()
}

fn parts_of(
    props: &dyn Fn(u16) -> Option<PropertyValue>,
    attachments: Vec<(String, String, Vec<u8>)>,
) -> Parts {
    Parts {
        plain: text(props(0x1000).as_ref()),
        html: html(props),
        rtf: binary(props(0x1009).as_ref()).and_then(rtf_body),
        attachments,
    }
}

/// The reader for one flavour of PST: the library's types differ per flavour, the walk is the
/// same. Folder names below the root of the personal folders ("Top of Personal Folders") make
/// the archive's folder path.
macro_rules! pst_reader {
    ($module:ident, $file:ty, $store:ty, $message:ty, $attachment:ty) => {
        mod $module {
            use super::*;

            pub(super) fn read(
                path: &Path,
                tx: &tokio::sync::mpsc::Sender<Event>,
                prefix: &str,
            ) -> Result<(), String> {
                let file = <$file>::open(path)
                    .map_err(|e| format!("it cannot be opened as a PST file: {e}"))?;
                let store = <$store>::read(Rc::new(file))
                    .map_err(|e| format!("its message store cannot be read: {e}"))?;
                let root = store
                    .properties()
                    .ipm_sub_tree_entry_id()
                    .and_then(|id| store.open_folder(&id))
                    .map_err(|e| format!("its folder tree cannot be read: {e}"))?;
                let named = store.named_property_map().ok();
                let reader = Reader {
                    store,
                    named: records::Named::read(named.as_deref()),
                    prefix,
                    tx,
                };
                // The folder tree first, so the import knows how many items there are and
                // can say how far it is; then the items, folder by folder.
                let mut folders = Vec::new();
                reader.folders(&root, &[], &mut folders)?;
                let of: u64 = folders.iter().map(|(_, items)| items.len() as u64).sum();
                let mut done = 0;
                for (path, items) in &folders {
                    for node in items {
                        reader.read_item(path, *node)?;
                        done += 1;
                        send(tx, Event::Progress { done, of })?;
                    }
                }
                Ok(())
            }

            struct Reader<'a> {
                store: Rc<$store>,
                named: records::Named,
                prefix: &'a str,
                tx: &'a tokio::sync::mpsc::Sender<Event>,
            }

            impl Reader<'_> {
                /// Lists a folder and every folder below it, each with its path and the node
                /// ids of its items; says each folder's kind and each unreadable folder.
                fn folders(
                    &self,
                    folder: &Rc<dyn Folder>,
                    path: &[String],
                    out: &mut Vec<(Vec<String>, Vec<NodeId>)>,
                ) -> Result<(), String> {
                    let tx = self.tx;
                    let items = folder.contents_table().map_or_else(Vec::new, |contents| {
                        contents
                            .rows_matrix()
                            .map(|row| NodeId::from(u32::from(row.id())))
                            .collect()
                    });
                    out.push((path.to_vec(), items));
                    if let Some(hierarchy) = folder.hierarchy_table() {
                        for row in hierarchy.rows_matrix() {
                            let node = NodeId::from(u32::from(row.id()));
                            let child = self
                                .store
                                .properties()
                                .make_entry_id(node)
                                .and_then(|id| self.store.open_folder(&id));
                            match child {
                                Ok(child) => {
                                    let name = child
                                        .properties()
                                        .display_name()
                                        .unwrap_or_else(|_| format!("Folder {}", u32::from(node)));
                                    let mut below = path.to_vec();
                                    below.push(name);
                                    let class = text(child.properties().get(0x3613));
                                    if let Some(kind) = class.as_deref().and_then(folder_kind) {
                                        let path = below.clone();
                                        send(tx, Event::Folder { path, kind })?;
                                    }
                                    self.folders(&child, &below, out)?;
                                }
                                Err(e) => send(
                                    tx,
                                    Event::Failed {
                                        location: format!(
                                            "{}/(folder {})",
                                            path.join("/"),
                                            u32::from(node)
                                        ),
                                        reason: format!("the folder cannot be read: {e}"),
                                    },
                                )?,
                            }
                        }
                    }
                    Ok(())
                }

                /// Reads one item of the folder at `path` and sends what became of it.
                fn read_item(&self, path: &[String], node: NodeId) -> Result<(), String> {
                    let tx = self.tx;
                    let location = format!("{}#{}", path.join("/"), u32::from(node));
                    let key = u32::from(node).to_string();
                    // A panic in a reader library fails this item, not the import.
                    let item = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        self.item(node, &key)
                    }))
                    .unwrap_or_else(|_| {
                        Err("the PST library could not read this item (it is damaged)".to_owned())
                    });
                    match item {
                        Ok(Item::Found {
                            found,
                            record,
                            note,
                        }) => {
                            if let Some(reason) = note {
                                let location = location.clone();
                                send(tx, Event::Skipped { location, reason })?;
                            }
                            send(
                                tx,
                                Event::Message {
                                    folder: path.to_vec(),
                                    found,
                                    record,
                                    key,
                                    location,
                                },
                            )
                        }
                        Ok(Item::Other(class)) => send(
                            tx,
                            Event::Skipped {
                                location,
                                reason: format!(
                                    "{class} items (tasks, notes, lists) are not archived"
                                ),
                            },
                        ),
                        Err(reason) => send(tx, Event::Failed { location, reason }),
                    }
                }

                /// One item: mail composed as MIME, a calendar item or contact read into its
                /// record; an error is this item's alone.
                fn item(&self, node: NodeId, key: &str) -> Result<Item, String> {
                    let entry_id = self
                        .store
                        .properties()
                        .make_entry_id(node)
                        .map_err(|e| format!("the message cannot be found: {e}"))?;
                    let message = <$message>::read(self.store.clone(), &entry_id, None)
                        .map_err(|e| format!("the message cannot be read: {e}"))?;
                    let props = |id: u16| message.properties().get(id).cloned();
                    let class = text(props(0x001A).as_ref()).unwrap_or_default();
                    let kind = item_class(&class);
                    if kind == ItemClass::Other {
                        return Ok(Item::Other(class));
                    }
                    let mut attachments = Vec::new();
                    let mut photo = None;
                    if let Some(table) = message.attachment_table() {
                        for (n, row) in table.rows_matrix().enumerate() {
                            let sub_node = NodeId::from(u32::from(row.id()));
                            let attachment = <$attachment>::read(message.clone(), sub_node, None)
                                .map_err(|e| {
                                format!("attachment {} cannot be read: {e}", n + 1)
                            })?;
                            let is_photo = matches!(
                                attachment.properties().get(0x7FFF),
                                Some(PropertyValue::Boolean(true))
                            );
                            match attachment_file(attachment.as_ref(), n + 1) {
                                Some((_, content_type, data)) if is_photo => {
                                    photo = Some((image_type(&data, content_type), data));
                                }
                                Some(file) => attachments.push(file),
                                None => {}
                            }
                        }
                    }
                    let recipients = recipients(message.recipient_table());
                    let (raw, record, note) = match kind {
                        ItemClass::Appointment => {
                            let uid = format!("{}:{key}", self.prefix);
                            let (event, note) =
                                records::event(&props, &self.named, &recipients, &uid)?;
                            let stamp = stamp(&props);
                            let ics =
                                crate::export::ics::calendar(std::slice::from_ref(&event), stamp);
                            (
                                ics.into_bytes(),
                                Some(Box::new(pim::Record::Event(event))),
                                note,
                            )
                        }
                        ItemClass::Contact => {
                            let contact = records::contact(&props, &self.named, photo);
                            let card = crate::export::vcf::card(&contact);
                            (
                                card.into_bytes(),
                                Some(Box::new(pim::Record::Contact(contact))),
                                None,
                            )
                        }
                        _ => (
                            compose(&props, recipients, parts_of(&props, attachments)),
                            None,
                            None,
                        ),
                    };
                    Ok(Item::Found {
                        found: Found {
                            raw,
                            is_read: is_read(&props) || record.is_some(),
                            flags: Vec::new(),
                            fallback_date: fallback_date(&props),
                        },
                        record,
                        note,
                    })
                }
            }
        }
    };
}

pst_reader!(
    unicode,
    outlook_pst::UnicodePstFile,
    outlook_pst::messaging::store::UnicodeStore,
    outlook_pst::messaging::message::UnicodeMessage,
    outlook_pst::messaging::attachment::UnicodeAttachment
);
pst_reader!(
    ansi,
    outlook_pst::AnsiPstFile,
    outlook_pst::messaging::store::AnsiStore,
    outlook_pst::messaging::message::AnsiMessage,
    outlook_pst::messaging::attachment::AnsiAttachment
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uncompressed_rtf_body_shorter_than_it_says_is_read_not_a_panic() {
        let rtf = b"{\\rtf1 Hello}";
        let mut data = Vec::new();
        data.extend_from_slice(&((rtf.len() + 12) as u32).to_le_bytes());
        data.extend_from_slice(&837u32.to_le_bytes()); // more than is there
        data.extend_from_slice(b"MELA");
        data.extend_from_slice(&0u32.to_le_bytes());
        data.extend_from_slice(rtf);
        assert_eq!(rtf_body(&data).as_deref(), Some("{\\rtf1 Hello}"));
        assert_eq!(rtf_body(&data[..10]), None);
        let compressed = compressed_rtf::compress_rtf("{\\rtf1 Hi there}").unwrap();
        assert_eq!(rtf_body(&compressed).as_deref(), Some("{\\rtf1 Hi there}"));
    }

    #[test]
    fn item_classes_and_folder_kinds() {
        assert_eq!(item_class("IPM.Note"), ItemClass::Mail);
        assert_eq!(item_class("IPM.Appointment"), ItemClass::Appointment);
        assert_eq!(item_class("IPM.Contact"), ItemClass::Contact);
        assert_eq!(item_class("IPM.Task"), ItemClass::Other);
        assert_eq!(item_class("IPM.DistList"), ItemClass::Other);
        assert_eq!(folder_kind("IPF.Appointment"), Some(FolderKind::Calendar));
        assert_eq!(folder_kind("IPF.Contact"), Some(FolderKind::Contacts));
        assert_eq!(folder_kind("IPF.Note"), None);
    }
}
