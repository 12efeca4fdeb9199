//! The top-level header block, read and repaired before mail-parser sees it.
//!
//! mail-parser 0.11.9 reads an alphabetic zone at the end of a `Date:` line by taking the next two
//! bytes unconditionally, so `UT`, `AM` or a one-letter zone swallows the line break and the next
//! header (`From:`, `Message-ID:`...) becomes part of the date. A `Content-Type:` without the
//! semicolon before its parameters makes `plain charset=...` the subtype, so the body becomes an
//! attachment in the wrong charset. Both are repaired in a copy; the archived bytes never change.
//! The test `upstream_still_swallows_the_header_after_a_bad_date` says when the first repair can go.

use std::borrow::Cow;
use std::ops::Range;

use crate::date::{parse_date, received_date, DateKind, FoundDate, Zone};

/// One header field of the top-level block: its name, its unfolded value, and the bytes it spans
/// (continuation lines and line ending included).
pub(crate) struct Field<'a> {
    pub name: &'a [u8],
    pub value: String,
    pub span: Range<usize>,
}

/// The fields of the header block at the start of `raw`, up to the first empty line.
pub(crate) fn fields(raw: &[u8]) -> Vec<Field<'_>> {
    let mut out: Vec<Field<'_>> = Vec::new();
    for span in lines(raw) {
        let (at, end) = (span.start, span.end);
        let content = trim_line_end(&raw[span]);
        if content.is_empty() {
            break;
        }
        if content[0] == b' ' || content[0] == b'\t' {
            if let Some(last) = out.last_mut() {
                last.value.push(' ');
                last.value.push_str(String::from_utf8_lossy(content).trim());
                last.span.end = end;
            }
        } else if let Some(colon) = content.iter().position(|&b| b == b':') {
            out.push(Field {
                name: content[..colon].trim_ascii(),
                value: String::from_utf8_lossy(&content[colon + 1..])
                    .trim()
                    .to_owned(),
                span: at..end,
            });
        } else {
            // Not a header line: the block is over (a body without its blank line).
            break;
        }
    }
    out
}

/// The byte ranges of `raw`'s lines, line ends included.
fn lines(raw: &[u8]) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= raw.len() {
            return None;
        }
        let end = raw[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| at + i + 1);
        let span = at..end;
        at = end;
        Some(span)
    })
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The message's own date: the `Date:` header (with or without its zone), else the newest
/// `Received:` header that has one. None when neither can be read.
pub fn message_date(raw: &[u8]) -> Option<FoundDate> {
    let fields = fields(raw);
    let header = fields
        .iter()
        .filter(|f| f.name.eq_ignore_ascii_case(b"date"))
        .find_map(|f| parse_date(&f.value));
    // Received headers are prepended as mail travels: the first one is the newest.
    let received = || {
        fields
            .iter()
            .filter(|f| f.name.eq_ignore_ascii_case(b"received"))
            .find_map(|f| received_date(&f.value))
            .map(|unix| FoundDate {
                unix,
                kind: DateKind::Received,
            })
    };
    let without_zone = |unix| FoundDate {
        unix,
        kind: DateKind::HeaderWithoutZone,
    };
    match header {
        Some((unix, Zone::Given)) => Some(FoundDate {
            unix,
            kind: DateKind::Header,
        }),
        Some((unix, Zone::Missing)) => Some(without_zone(unix)),
        // `-1900`: the header's instant is anyone's guess; a server's receipt is not.
        Some((unix, Zone::Impossible)) => received().or(Some(without_zone(unix))),
        None => received(),
    }
}

/// The sender's address when its local part is quoted (`"joe@home"@example.org`) or, against
/// the rules but seen in real mail, an encoded word (`=?iso-2022-jp?B?...?=@example.org`), which
/// mail-parser reads as `@example.org`. None when the `From:` header has no such address.
pub fn quoted_sender(raw: &[u8]) -> Option<String> {
    let fields = fields(raw);
    let from = fields
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(b"from"))?;
    let value = from.value.as_str();
    if let Some(start) = value.find("=?") {
        if let Some(end) = value[start..].find("?=@").map(|i| start + i + 2) {
            let local = decode_word(&value[start..end])?;
            let domain = domain_at(&value[end + 1..])?;
            let local = if local.contains(['@', ' ', '"', ',', '<', '>']) {
                format!("\"{}\"", local.replace('"', ""))
            } else {
                local
            };
            return Some(format!("{local}@{domain}"));
        }
    }
    let mut search = 0;
    while let Some(open) = value[search..].find('"').map(|i| search + i) {
        let close = value[open + 1..].find('"').map(|i| open + 1 + i)?;
        let rest = &value[close + 1..];
        if let Some(domain) = rest.strip_prefix('@').and_then(domain_at) {
            return Some(format!("{}@{domain}", &value[open..=close]));
        }
        search = close + 1;
    }
    None
}

/// The domain at the start of `text`, if any.
fn domain_at(text: &str) -> Option<String> {
    let domain: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
        .collect();
    (!domain.is_empty()).then_some(domain)
}

/// One RFC 2047 encoded word, decoded by mail-parser as it decodes a subject.
fn decode_word(word: &str) -> Option<String> {
    let header = format!("Subject: {word}\r\n\r\n");
    let message = mail_parser::MessageParser::default().parse(header.as_bytes())?;
    let text = message.subject()?.trim().to_owned();
    (!text.is_empty() && !text.starts_with("=?")).then_some(text)
}

/// A top-level header's text when it was written in raw 8-bit bytes that are not UTF-8 (no
/// encoded words): read as windows-1252, as mail clients do. None when the header is absent or
/// is UTF-8.
pub fn eight_bit_header(raw: &[u8], name: &str) -> Option<String> {
    let field = fields(raw)
        .into_iter()
        .find(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))?;
    let bytes = raw.get(field.span.clone())?;
    let colon = bytes.iter().position(|&b| b == b':')?;
    let value = &bytes[colon + 1..];
    if std::str::from_utf8(value).is_ok() {
        return None;
    }
    let decode = mail_parser::decoders::charsets::map::charset_decoder(b"windows-1252")?;
    let text = decode(value);
    Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// `raw` as mail-parser should see it: borrowed when nothing needs repair.
pub fn repaired(raw: &[u8]) -> Cow<'_, [u8]> {
    let mut edits: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
    for field in fields(raw) {
        if field.name.eq_ignore_ascii_case(b"date") && !ends_in_numeric_zone(&field.value) {
            let line_end: &[u8] = if raw[..field.span.end].ends_with(b"\r\n") {
                b"\r\n"
            } else {
                b"\n"
            };
            let mut line = match parse_date(&field.value) {
                Some((unix, _)) => format!("Date: {}", rfc2822(unix)).into_bytes(),
                // Unreadable: renamed, so it cannot take the next header with it.
                None => format!("X-Unreadable-Date: {}", field.value).into_bytes(),
            };
            line.extend_from_slice(line_end);
            edits.push((field.span.clone(), line));
        }
    }
    edits.extend(content_type_repairs(raw));
    if edits.is_empty() {
        return Cow::Borrowed(raw);
    }
    edits.sort_by_key(|(span, _)| span.start);
    let mut out = Vec::with_capacity(raw.len() + 64);
    let mut at = 0;
    for (span, replacement) in edits {
        if span.start < at {
            continue;
        }
        out.extend_from_slice(&raw[at..span.start]);
        out.extend_from_slice(&replacement);
        at = span.end;
    }
    out.extend_from_slice(&raw[at..]);
    Cow::Owned(out)
}

/// True for a date mail-parser reads without harm: one ending in `+hhmm` / `-hhmm`, optionally
/// followed by a comment.
fn ends_in_numeric_zone(value: &str) -> bool {
    let value = match value.find('(') {
        Some(at) => &value[..at],
        None => value,
    };
    let last = value.split_whitespace().last().unwrap_or_default();
    last.len() == 5 && last.starts_with(['+', '-']) && last[1..].bytes().all(|b| b.is_ascii_digit())
}

fn rfc2822(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S +0000")
        .to_string()
}

/// Every `Content-Type:` line, at the top or at the head of a part, whose parameters follow the
/// type without a semicolon (`text/plain charset=us-ascii`): a semicolon is put in.
fn content_type_repairs(raw: &[u8]) -> Vec<(Range<usize>, Vec<u8>)> {
    const NAME: &[u8] = b"content-type:";
    let mut out = Vec::new();
    for span in lines(raw) {
        let line = &raw[span.clone()];
        if line.len() > NAME.len() && line[..NAME.len()].eq_ignore_ascii_case(NAME) {
            let value = &line[NAME.len()..];
            if let Some(fixed) = semicolon_repair(value) {
                let mut replacement = line[..NAME.len()].to_vec();
                replacement.extend_from_slice(&fixed);
                out.push((span, replacement));
            }
        }
    }
    out
}

/// `text/plain charset=x` -> `text/plain; charset=x`; None when the value is well formed.
fn semicolon_repair(value: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(value).ok()?;
    let trimmed = text.trim_start();
    let type_end = trimmed.find(|c: char| c.is_whitespace() || c == ';')?;
    let (media_type, rest) = trimmed.split_at(type_end);
    if !media_type.contains('/') || rest.trim_start().starts_with(';') {
        return None;
    }
    let params = rest.trim_start();
    let first_word = params.split(|c: char| c.is_whitespace()).next()?;
    if !first_word.contains('=') {
        return None;
    }
    let lead = &text[..text.len() - trimmed.len()];
    Some(format!("{lead}{media_type}; {params}").into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    /// When this fails, mail-parser keeps the header after a date ending in a short alphabetic
    /// word, and the Date repair in `repaired` is no longer needed for it.
    #[test]
    fn upstream_still_swallows_the_header_after_a_bad_date() {
        let raw = b"Date: 03 Jul 01 12:47:50 AM\nFrom: ann@example.com\nSubject: s\n\nbody\n";
        let plain = MessageParser::default().parse(raw.as_slice());
        assert!(
            plain.is_some_and(|m| m.from().is_none()),
            "mail-parser now keeps From after a bad Date: the repair may be removed"
        );
    }

    #[test]
    fn headers_after_a_bad_date_survive() {
        for date in [
            "03 Jul 01 12:47:50 AM",
            "Fri, 23 Aug 2002 19:27:52 UT",
            "Fri, 23 Aug 2002 19:27:52 A",
            "Fri, 23 Aug 2002 19:27:52",
            "not a date at all Z",
        ] {
            for eol in ["\n", "\r\n"] {
                let raw = format!(
                    "Date: {date}{eol}From: Ann <ann@example.com>{eol}Message-ID: <m1@x>{eol}\
                     Reply-To: r@example.com{eol}Subject: s{eol}{eol}body{eol}"
                );
                let fixed = repaired(raw.as_bytes());
                let message = MessageParser::default()
                    .parse(fixed.as_ref())
                    .expect("a message");
                let from = message
                    .from()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address());
                assert_eq!(from, Some("ann@example.com"), "From after {date:?}");
                assert_eq!(
                    message.message_id(),
                    Some("m1@x"),
                    "Message-ID after {date:?}"
                );
                assert!(message.reply_to().is_some(), "Reply-To after {date:?}");
                assert!(fixed.ends_with(format!("body{eol}").as_bytes()));
            }
        }
    }

    #[test]
    fn quoted_local_parts_are_kept() {
        assert_eq!(
            quoted_sender(b"From: \"salestoner@bol.com.br\"@dogma.slashnull.org\n\nx"),
            Some("\"salestoner@bol.com.br\"@dogma.slashnull.org".to_owned())
        );
        assert_eq!(
            quoted_sender(b"From: <\"Books@Books\"@Black.example>\n\nx"),
            Some("\"Books@Books\"@Black.example".to_owned())
        );
        assert_eq!(
            quoted_sender(b"From: =?iso-2022-jp?B?am9rb0Bycy4xMjgubmUuanA=?=@FreeBSD.ORG\n\nx"),
            Some("\"joko@rs.128.ne.jp\"@FreeBSD.ORG".to_owned())
        );
        assert_eq!(quoted_sender(b"From: \"Ann\" <ann@example.com>\n\nx"), None);
    }

    #[test]
    fn raw_8bit_headers_are_read_as_windows_1252() {
        let raw = b"Subject: Caf\xe9 \x93cr\xe8me\x94\n\tbr\xfbl\xe9e\n\nx";
        assert_eq!(
            eight_bit_header(raw, "subject").as_deref(),
            Some("Caf\u{e9} \u{201c}cr\u{e8}me\u{201d} br\u{fb}l\u{e9}e")
        );
        assert_eq!(
            eight_bit_header("Subject: Caf\u{e9}\n\nx".as_bytes(), "subject"),
            None
        );
    }

    #[test]
    fn clean_messages_are_not_copied() {
        let raw = b"Date: Tue, 1 Jul 2003 10:52:37 +0200 (CEST)\nContent-Type: text/plain; charset=utf-8\n\nx\n";
        assert!(matches!(repaired(raw), Cow::Borrowed(_)));
    }

    #[test]
    fn content_type_gets_its_semicolon() {
        let raw =
            b"Subject: s\nContent-Type: text/plain charset=koi8-r\n\n\xf0\xd2\xc9\xd7\xc5\xd4\n";
        let fixed = repaired(raw);
        assert!(fixed
            .windows(30)
            .any(|w| w == b"Content-Type: text/plain; char"));
        let message = MessageParser::default()
            .parse(fixed.as_ref())
            .expect("a message");
        assert_eq!(
            message.body_text(0).as_deref(),
            Some("\u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}\n")
        );
    }

    #[test]
    fn dates_fall_back_to_the_newest_received_header() {
        let raw = b"Received: from a by b; Sat, 24 Aug 2002 10:00:00 +0000\n\
                    Received: from c by a; Fri, 23 Aug 2002 09:00:00 +0000\n\
                    Date: sometime\nSubject: s\n\nx\n";
        assert_eq!(
            message_date(raw),
            Some(FoundDate {
                unix: 1030183200,
                kind: DateKind::Received
            })
        );
        let zoneless = b"Date: Fri, 23 Aug 2002 19:27:52\nSubject: s\n\nx\n";
        assert_eq!(
            message_date(zoneless).map(|d| d.kind),
            Some(DateKind::HeaderWithoutZone)
        );
        assert_eq!(message_date(b"Subject: none\n\nx\n"), None);
        let impossible = b"Received: from a by b; Sat, 24 Aug 2002 10:00:00 +0000\n\
                           Date: Sat, 24 Aug 2002 01:00:00 -1900\nSubject: s\n\nx\n";
        assert_eq!(
            message_date(impossible),
            Some(FoundDate {
                unix: 1030183200,
                kind: DateKind::Received
            })
        );
    }
}
