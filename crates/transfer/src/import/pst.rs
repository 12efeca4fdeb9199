//! PST files (Outlook's personal folders, ANSI and Unicode) through Microsoft's `outlook-pst`.
//!
//! ```text
//! header check (OST, other versions: a clear refusal)
//!   reader thread: outlook-pst (!Send, path-based) ─ folder by folder ─ MAPI properties
//!        │ compose MIME: transport headers (or headers from the properties), plain, HTML and
//!        │ RTF bodies, attachments (embedded messages as message/rfc822)
//!        ▼ bounded channel, one message at a time
//!   async side: the importer's sink (batches into the archive)
//! ```
//!
//! Each item's source id is the PST's own (its file's fingerprint and the message's node id),
//! so importing the same file again adds nothing even though composed MIME is not byte-stable.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use archive::{DateSource, FallbackDate, Timestamp};
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

/// What the reader thread sends: a message with its folder path, or one it could not read.
enum Event {
    Message {
        folder: Vec<String>,
        found: Found,
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
    sink.progress.bytes_total = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Event>(16);
    let owned: PathBuf = path.to_owned();
    let reader = std::thread::Builder::new()
        .name("pst-reader".into())
        .spawn(move || match flavour {
            Flavour::Unicode => unicode::read(&owned, &tx),
            Flavour::Ansi => ansi::read(&owned, &tx),
        })
        .map_err(|e| super::io_err(path, e))?;
    while let Some(event) = rx.recv().await {
        match event {
            Event::Message {
                folder,
                found,
                key,
                location,
            } => {
                let key = format!("pst:{fingerprint}:{key}");
                sink.add_keyed(&folder, found, Some(key), location, progress)
                    .await?;
            }
            Event::Failed { location, reason } => sink.unreadable(location, reason, progress),
            Event::Skipped { location, reason } => sink.skipped(location, reason),
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

/// One recipient row: (type, name, address).
type Recipient = (i32, String, String);

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
                0x3001 => name = text(Some(&value)).unwrap_or_default(),
                0x39FE => smtp = text(Some(&value)).unwrap_or_default(),
                0x3003 => address = text(Some(&value)).unwrap_or_default(),
                _ => {}
            }
        }
        let address = if smtp.contains('@') { smtp } else { address };
        out.push((kind, name, address));
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
        .filter(|r| r.0 == 1)
        .map(|r| address_of(&r.1, &r.2))
        .collect();
    let cc: Vec<Address<'_>> = recipients
        .iter()
        .filter(|r| r.0 == 2)
        .map(|r| address_of(&r.1, &r.2))
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

/// Message classes imported as mail; anything else (calendar items, contacts, tasks) is
/// reported, not guessed at.
fn is_mail(class: &str) -> bool {
    let class = class.to_ascii_uppercase();
    class.is_empty()
        || class == "IPM"
        || class.starts_with("IPM.NOTE")
        || class.starts_with("IPM.POST")
        || class.starts_with("REPORT.IPM.NOTE")
        || class.starts_with("IPM.SCHEDULE.MEETING")
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

fn parts_of(
    props: &dyn Fn(u16) -> Option<PropertyValue>,
    attachments: Vec<(String, String, Vec<u8>)>,
) -> Parts {
    Parts {
        plain: text(props(0x1000).as_ref()),
        html: html(props),
        rtf: binary(props(0x1009).as_ref())
            .and_then(|compressed| compressed_rtf::decompress_rtf(compressed).ok()),
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
                walk(&store, &root, &[], tx)
            }

            fn walk(
                store: &Rc<$store>,
                folder: &Rc<dyn Folder>,
                path: &[String],
                tx: &tokio::sync::mpsc::Sender<Event>,
            ) -> Result<(), String> {
                if let Some(contents) = folder.contents_table() {
                    for row in contents.rows_matrix() {
                        let node = NodeId::from(u32::from(row.id()));
                        let location = format!("{}#{}", path.join("/"), u32::from(node));
                        match message(store, node) {
                            Ok(Ok((found, class))) if is_mail(&class) => send(
                                tx,
                                Event::Message {
                                    folder: path.to_vec(),
                                    found,
                                    key: u32::from(node).to_string(),
                                    location,
                                },
                            )?,
                            Ok(Ok((_, class))) => send(
                                tx,
                                Event::Skipped {
                                    location,
                                    reason: format!(
                                        "{class} items from PST files are not imported yet"
                                    ),
                                },
                            )?,
                            Ok(Err(reason)) | Err(reason) => {
                                send(tx, Event::Failed { location, reason })?
                            }
                        }
                    }
                }
                if let Some(hierarchy) = folder.hierarchy_table() {
                    for row in hierarchy.rows_matrix() {
                        let node = NodeId::from(u32::from(row.id()));
                        let child = store
                            .properties()
                            .make_entry_id(node)
                            .and_then(|id| store.open_folder(&id));
                        match child {
                            Ok(child) => {
                                let name = child
                                    .properties()
                                    .display_name()
                                    .unwrap_or_else(|_| format!("Folder {}", u32::from(node)));
                                let mut below = path.to_vec();
                                below.push(name);
                                walk(store, &child, &below, tx)?;
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

            /// One message composed, with its class; the outer error stops nothing (it is
            /// this message's), the inner one is the same for a reason found while composing.
            #[allow(clippy::type_complexity)]
            fn message(
                store: &Rc<$store>,
                node: NodeId,
            ) -> Result<Result<(Found, String), String>, String> {
                let entry_id = store
                    .properties()
                    .make_entry_id(node)
                    .map_err(|e| format!("the message cannot be found: {e}"))?;
                let message = <$message>::read(store.clone(), &entry_id, None)
                    .map_err(|e| format!("the message cannot be read: {e}"))?;
                let props = |id: u16| message.properties().get(id).cloned();
                let class = text(props(0x001A).as_ref()).unwrap_or_default();
                let mut attachments = Vec::new();
                if let Some(table) = message.attachment_table() {
                    for (n, row) in table.rows_matrix().enumerate() {
                        let sub_node = NodeId::from(u32::from(row.id()));
                        match <$attachment>::read(message.clone(), sub_node, None) {
                            Ok(attachment) => {
                                if let Some(file) = attachment_file(attachment.as_ref(), n + 1) {
                                    attachments.push(file);
                                }
                            }
                            Err(e) => {
                                return Ok(Err(format!("attachment {} cannot be read: {e}", n + 1)))
                            }
                        }
                    }
                }
                let raw = compose(
                    &props,
                    recipients(message.recipient_table()),
                    parts_of(&props, attachments),
                );
                Ok(Ok((
                    Found {
                        raw,
                        is_read: is_read(&props),
                        flags: Vec::new(),
                        fallback_date: fallback_date(&props),
                    },
                    class,
                )))
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
