//! Reading the listable and searchable facts out of raw MIME. The reading itself (header repair,
//! tolerant dates, what is body and what is attached) is `mailread`'s, shared with the reader
//! and the index so all three agree.

use mail_parser::{Address, MimeHeaders};
use mailread::{DateKind, Mail};

use crate::types::{AttachmentInfo, DateSource, ItemMeta, Timestamp};

pub use mailread::html_text;

/// Parses a message's headers and structure. None when the bytes are not a message at all (no
/// header could be read), in which case the archive still keeps them raw.
pub fn parse_message(raw: &[u8]) -> Option<ItemMeta> {
    read_message(raw, false).map(|(meta, _)| meta)
}

/// [`parse_message`] and the message's [`body_text`] from one parse, for an index fed as mail
/// is stored: a second parse would decode every part again.
pub fn parse_message_and_body(raw: &[u8]) -> Option<(ItemMeta, String)> {
    read_message(raw, true)
}

fn read_message(raw: &[u8], with_body: bool) -> Option<(ItemMeta, String)> {
    if !looks_like_message(raw) {
        return None;
    }
    let mail = Mail::new(raw);
    let message = mail.message()?;
    if message.headers().is_empty() {
        return None;
    }
    let body = if with_body {
        mailread::body_text(&message)
    } else {
        String::new()
    };
    Some((meta_of(raw, &message), body))
}

fn meta_of(raw: &[u8], message: &mailread::Message<'_>) -> ItemMeta {
    let (sender, sender_address) = message
        .from()
        .and_then(|a| a.first())
        .map(|a| {
            let address = match a.address() {
                // `"joe@home"@example.org`: mail-parser loses the quoted local part.
                Some(address) if address.starts_with('@') => {
                    mailread::quoted_sender(raw).unwrap_or_else(|| address.to_owned())
                }
                address => address.unwrap_or_default().to_owned(),
            };
            let name = a.name().map(str::trim).filter(|n| !n.is_empty());
            (
                name.map(str::to_owned).unwrap_or_else(|| address.clone()),
                address,
            )
        })
        .unwrap_or_default();
    let attachments = mailread::attachments(message)
        .into_iter()
        .map(|part| AttachmentInfo {
            name: part
                .attachment_name()
                .map(str::to_owned)
                .unwrap_or_default(),
            size: part.len() as i64,
            content_type: part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_default(),
        })
        .collect();
    let found = mailread::message_date(raw);
    ItemMeta {
        subject: match message.subject() {
            // Raw 8-bit bytes that are not UTF-8: mail-parser leaves U+FFFD for each.
            Some(s) if s.contains('\u{fffd}') => {
                mailread::eight_bit_header(raw, "subject").unwrap_or_else(|| s.trim().to_owned())
            }
            s => s.unwrap_or_default().trim().to_owned(),
        },
        sender,
        sender_address,
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        message_id: message.message_id().map(str::to_owned),
        date: found.map(|d| Timestamp::from_unix_seconds(d.unix)),
        date_source: match found.map(|d| d.kind) {
            Some(DateKind::Header) | None => DateSource::Header,
            Some(DateKind::HeaderWithoutZone) => DateSource::HeaderWithoutZone,
            Some(DateKind::Received) => DateSource::Received,
        },
        attachments,
    }
}

/// A message starts with a header field: a name of printable ASCII without a colon, then a colon.
/// The parser itself accepts anything, so this is what tells mail from other bytes.
/// An Internet-Message-Id without its angle brackets and surrounding space: `<a@b>` and `a@b`
/// name the same message. Case is kept (the local part is case-sensitive).
pub fn bare_message_id(id: &str) -> &str {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
}

pub fn looks_like_message(raw: &[u8]) -> bool {
    let line_end = raw.iter().position(|&b| b == b'\n').unwrap_or(raw.len());
    let line = &raw[..line_end];
    match line.iter().position(|&b| b == b':') {
        Some(colon) if colon > 0 => line[..colon].iter().all(|&b| (33..=126).contains(&b)),
        _ => false,
    }
}

fn addresses(address: Option<&Address<'_>>) -> Vec<String> {
    let Some(address) = address else {
        return Vec::new();
    };
    address
        .iter()
        .map(|a| match (a.name(), a.address()) {
            (Some(name), Some(addr)) if !name.trim().is_empty() => {
                format!("{} <{addr}>", name.trim())
            }
            (_, Some(addr)) => addr.to_owned(),
            (Some(name), None) => name.to_owned(),
            (None, None) => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// The plain text of a message for indexing: every body part, HTML reduced to text, broken
/// parts decoded as far as they go.
pub fn body_text(raw: &[u8]) -> String {
    mailread::raw_body_text(raw)
}

/// A sort key that ignores case and reply/forward prefixes, so a thread sorts together.
pub fn subject_sort_key(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        let lower = s.to_lowercase();
        let stripped = ["re:", "fw:", "fwd:", "aw:", "wg:", "sv:", "tr:"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| s[p.len()..].trim_start());
        match stripped {
            Some(rest) => s = rest,
            None => return lower,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Each charset real mail carries, in an encoded-word subject and a body: decoded, not read
    /// as UTF-8 (mail-parser's `full_encoding` feature, through encoding_rs).
    #[test]
    fn every_charset_is_decoded() {
        for (charset, bytes, text) in testkit::mime::CHARSET_SAMPLES {
            let raw = testkit::mime::charset_message(charset, bytes, "");
            let meta = parse_message(&raw).unwrap();
            assert_eq!(
                meta.subject,
                format!("{text} subject"),
                "subject in {charset}"
            );
            let body = body_text(&raw);
            assert!(body.contains(text), "body in {charset}: {body:?}");
        }
    }

    /// Broken dates: the header after them survives, and the date comes from the best fallback,
    /// which is recorded.
    #[test]
    fn broken_dates_keep_the_next_header_and_say_where_the_date_came_from() {
        let zoneless = b"Date: Fri, 23 Aug 2002 19:27:52\r\nFrom: Ann <ann@example.com>\r\nSubject: s\r\n\r\nx\r\n";
        let meta = parse_message(zoneless).unwrap();
        assert_eq!(meta.sender_address, "ann@example.com");
        assert_eq!(meta.date, Some(Timestamp::from_unix_seconds(1030130872)));
        assert_eq!(meta.date_source, DateSource::HeaderWithoutZone);

        let ampm = b"Date: 03 Jul 01 12:47:50 AM\r\nMessage-ID: <m@x>\r\nSubject: s\r\n\r\nx\r\n";
        let meta = parse_message(ampm).unwrap();
        assert_eq!(meta.message_id.as_deref(), Some("m@x"));
        assert_eq!(meta.date, Some(Timestamp::from_unix_seconds(994121270)));

        let received = b"Received: from a by b; Sat, 24 Aug 2002 10:00:00 +0000\r\nDate: someday\r\nFrom: c@example.com\r\nSubject: s\r\n\r\nx\r\n";
        let meta = parse_message(received).unwrap();
        assert_eq!(meta.sender_address, "c@example.com");
        assert_eq!(meta.date, Some(Timestamp::from_unix_seconds(1030183200)));
        assert_eq!(meta.date_source, DateSource::Received);

        let none = b"From: d@example.com\r\nSubject: s\r\n\r\nx\r\n";
        assert_eq!(parse_message(none).unwrap().date, None);
    }

    /// A subject in raw 8-bit bytes with no encoded word reads as windows-1252.
    #[test]
    fn raw_8bit_subjects_are_read() {
        let raw = b"From: a@example.com\r\nSubject: Caf\xe9 cr\xe8me\r\n\r\nx\r\n";
        assert_eq!(parse_message(raw).unwrap().subject, "Caf\u{e9} cr\u{e8}me");
    }

    /// Broken parts are body, not attachments.
    #[test]
    fn broken_mime_is_not_counted_as_attachments() {
        let raw = b"Subject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"DECLARED\"\r\n\r\n--USED\r\nContent-Type: text/plain\r\n\r\nthe readable text\r\n--USED--\r\n";
        let meta = parse_message(raw).unwrap();
        assert!(meta.attachments.is_empty(), "{:?}", meta.attachments);
        assert!(body_text(raw).contains("the readable text"));
    }

    #[test]
    fn html_blocks_stay_apart_in_body_text() {
        let raw = b"Subject: x\r\nContent-Type: text/html\r\n\r\n<h2>Apollo launch</h2><p>The telemetry</p><ul><li>one</li><li>two</li></ul>";
        let text = body_text(raw);
        assert!(!text.contains("launchThe"), "{text:?}");
        assert!(!text.contains("onetwo"), "{text:?}");
        assert!(text.contains("Apollo launch"), "{text:?}");
        assert!(text.contains("The telemetry"), "{text:?}");
    }

    #[test]
    fn reads_headers_and_attachments() {
        let raw = b"From: \"Ann Example\" <ann@example.com>\r\nTo: bob@example.com, Carl <carl@example.com>\r\nSubject: Quarterly report\r\nDate: Tue, 1 Jul 2003 10:52:37 +0200\r\nMessage-ID: <abc@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--XX\r\nContent-Type: application/pdf; name=report.pdf\r\nContent-Disposition: attachment; filename=report.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8=\r\n--XX--\r\n";
        let meta = parse_message(raw).unwrap();
        assert_eq!(meta.subject, "Quarterly report");
        assert_eq!(meta.sender, "Ann Example");
        assert_eq!(meta.sender_address, "ann@example.com");
        assert_eq!(meta.to, vec!["bob@example.com", "Carl <carl@example.com>"]);
        assert_eq!(meta.message_id.as_deref(), Some("abc@x"));
        assert_eq!(meta.date, Some(Timestamp::from_unix_seconds(1057049557)));
        assert_eq!(meta.attachments.len(), 1);
        assert_eq!(meta.attachments[0].name, "report.pdf");
        assert_eq!(meta.attachments[0].size, 5);
        assert_eq!(meta.attachments[0].content_type, "application/pdf");
        assert!(body_text(raw).contains("See attached."));
    }

    #[test]
    fn html_bodies_become_text_and_subjects_sort_without_prefixes() {
        let raw = b"Subject: x\r\nContent-Type: text/html\r\n\r\n<html><body><p>Hello <b>world</b></p><script>x</script></body></html>";
        let text = body_text(raw);
        assert!(text.contains("Hello world"), "{text}");
        assert!(!text.contains("<b>"));
        assert_eq!(subject_sort_key("RE: Fwd: Budget"), "budget");
        assert!(parse_message(b"").is_none());
    }
}
