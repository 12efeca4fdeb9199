//! Reading the listable and searchable facts out of raw MIME.

use mail_parser::{Address, MessageParser, MimeHeaders};

use crate::types::{AttachmentInfo, ItemMeta, Timestamp};

/// Parses a message's headers and structure. None when the bytes are not a message at all (no
/// header could be read), in which case the archive still keeps them raw.
pub fn parse_message(raw: &[u8]) -> Option<ItemMeta> {
    if !looks_like_message(raw) {
        return None;
    }
    let message = MessageParser::default().parse(raw)?;
    if message.headers().is_empty() {
        return None;
    }
    let (sender, sender_address) = message
        .from()
        .and_then(|a| a.first())
        .map(|a| {
            let address = a.address().unwrap_or_default().to_owned();
            let name = a.name().map(str::trim).filter(|n| !n.is_empty());
            (
                name.map(str::to_owned).unwrap_or_else(|| address.clone()),
                address,
            )
        })
        .unwrap_or_default();
    let attachments = message
        .attachments()
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
    Some(ItemMeta {
        subject: message.subject().unwrap_or_default().trim().to_owned(),
        sender,
        sender_address,
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        message_id: message.message_id().map(str::to_owned),
        date: message
            .date()
            .filter(|d| d.is_valid())
            .map(|d| Timestamp::from_unix_seconds(d.to_timestamp())),
        attachments,
    })
}

/// A message starts with a header field: a name of printable ASCII without a colon, then a colon.
/// The parser itself accepts anything, so this is what tells mail from other bytes.
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

/// The plain text of a message for indexing: every text part, HTML reduced to text.
pub fn body_text(raw: &[u8]) -> String {
    let Some(message) = MessageParser::default().parse(raw) else {
        return String::new();
    };
    let mut text = String::new();
    for i in 0..message.text_body_count().max(message.html_body_count()) {
        // An HTML-only body is converted here rather than by mail-parser, which separates only
        // <br> and </p>: headings, cells and list items would run into each other
        // ("Apollo launchThe telemetry") and their words would merge in the index.
        let html_only = message
            .text_part(i as u32)
            .and_then(|part| match &part.body {
                mail_parser::PartType::Html(html) => Some(html),
                _ => None,
            });
        let part = match html_only {
            Some(html) => Some(html_text(html).into()),
            None => message.body_text(i),
        };
        if let Some(part) = part {
            text.push_str(&part);
            text.push('\n');
        }
    }
    text
}

/// The text of an HTML body (a message's, a calendar item's), blocks kept apart.
pub fn html_text(html: &str) -> String {
    mail_parser::decoders::html::html_to_text(&with_block_breaks(html))
}

/// Adds a `<br>` after the closing tag of block elements, so text conversion keeps them apart.
fn with_block_breaks(html: &str) -> String {
    const BLOCKS: &[&str] = &[
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "div",
        "li",
        "tr",
        "td",
        "th",
        "table",
        "blockquote",
        "ul",
        "ol",
        "section",
        "article",
        "header",
        "footer",
    ];
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html;
    while let Some(at) = rest.find("</") {
        let (before, tag_on) = rest.split_at(at);
        out.push_str(before);
        let Some(end) = tag_on.find('>') else {
            out.push_str(tag_on);
            return out;
        };
        let tag = &tag_on[..=end];
        out.push_str(tag);
        let name = tag[2..tag.len() - 1].trim().to_ascii_lowercase();
        if BLOCKS.contains(&name.as_str()) {
            out.push_str("<br>");
        }
        rest = &tag_on[end + 1..];
    }
    out.push_str(rest);
    out
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
    fn east_asian_and_cyrillic_charsets_are_decoded() {
        let cases: &[(&str, &[u8], &str)] = &[
            (
                "iso-2022-jp",
                b"\x1b$B%O%m!<!&%o!<%k%I\x1b(B",
                "\u{30cf}\u{30ed}\u{30fc}\u{30fb}\u{30ef}\u{30fc}\u{30eb}\u{30c9}",
            ),
            (
                "big5",
                b"\xa7A\xa6n\xa1A\xa5@\xac\xc9",
                "\u{4f60}\u{597d}\u{ff0c}\u{4e16}\u{754c}",
            ),
            (
                "gb2312",
                b"\xc4\xe3\xba\xc3\xa3\xac\xca\xc0\xbd\xe7",
                "\u{4f60}\u{597d}\u{ff0c}\u{4e16}\u{754c}",
            ),
            (
                "gbk",
                b"\xc4\xe3\xba\xc3\xa3\xac\xca\xc0\xbd\xe7",
                "\u{4f60}\u{597d}\u{ff0c}\u{4e16}\u{754c}",
            ),
            (
                "euc-kr",
                b"\xbe\xc8\xb3\xe7\xc7\xcf\xbc\xbc\xbf\xe4",
                "\u{c548}\u{b155}\u{d558}\u{c138}\u{c694}",
            ),
            (
                "koi8-r",
                b"\xf0\xd2\xc9\xd7\xc5\xd4",
                "\u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}",
            ),
            (
                "windows-1251",
                b"\xcf\xf0\xe8\xe2\xe5\xf2",
                "\u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}",
            ),
            (
                "shift_jis",
                b"\x83n\x83\x8D\x81[",
                "\u{30cf}\u{30ed}\u{30fc}",
            ),
        ];
        for (charset, bytes, text) in cases {
            let word: String = bytes.iter().map(|b| format!("={b:02X}")).collect();
            let mut raw = format!(
                "From: a@example.com\r\nSubject: =?{charset}?Q?{word}?=\r\n\
                 Content-Type: text/plain; charset={charset}\r\n\
                 Content-Transfer-Encoding: 8bit\r\n\r\n"
            )
            .into_bytes();
            raw.extend_from_slice(bytes);
            raw.extend_from_slice(b"\r\n");
            let meta = parse_message(&raw).unwrap();
            assert_eq!(meta.subject, *text, "subject in {charset}");
            assert!(
                body_text(&raw).contains(text),
                "body in {charset}: {:?}",
                body_text(&raw)
            );
        }
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
