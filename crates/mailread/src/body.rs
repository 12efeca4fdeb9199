//! What of a message is its body and what is an attachment, and the body's text, also when the
//! MIME is broken.
//!
//! mail-parser gives up on several kinds of broken part and hands them over as attachments or as
//! undecoded bytes: a base64 or quoted-printable part whose closing boundary never comes or whose
//! base64 has stray characters, a multipart whose declared boundary is not the one used, a
//! `text/enriched` alternative. Here a part with no file name and no `attachment` disposition
//! whose type is text for reading (plain, HTML, enriched, richtext, or none) is body wherever it
//! sits; its text is decoded leniently when mail-parser left it encoded; a multipart left whole is
//! split on the boundary its body really uses.

use std::borrow::Cow;

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};

use crate::html::html_text;

/// How deep a broken multipart is split again inside another one.
const MAX_DEPTH: usize = 4;

/// The message's attachments, in mail-parser's order without the parts that are body text.
/// A download by index and the attachment list must both use this.
pub fn attachments<'a>(message: &'a Message<'a>) -> Vec<&'a MessagePart<'a>> {
    message
        .attachments()
        .filter(|part| !is_body_like(part))
        .collect()
}

/// The text of the body for indexing and for a reader without HTML: each alternative once (plain
/// preferred), HTML reduced to text, then any body part mail-parser set aside.
pub fn body_text(message: &Message<'_>) -> String {
    body_text_at(message, 0)
}

fn body_text_at(message: &Message<'_>, depth: usize) -> String {
    let mut text = String::new();
    let count = message.text_body.len().max(message.html_body.len());
    for i in 0..count {
        // The plain alternative first; when it is empty (a blank text part beside the real HTML,
        // common in bulk mail), the HTML one.
        let choices = [message.text_body.get(i), message.html_body.get(i)];
        for id in choices.into_iter().flatten() {
            let Some(part) = message.parts.get(*id as usize) else {
                continue;
            };
            let block = part_text(message, part, depth);
            if !block.trim().is_empty() {
                push_block(&mut text, &block);
                break;
            }
        }
    }
    for &id in &message.attachments {
        if let Some(part) = message.parts.get(id as usize) {
            if is_body_like(part) {
                push_block(&mut text, &part_text(message, part, depth));
            }
        }
    }
    text
}

fn push_block(text: &mut String, block: &str) {
    let block = block.trim_end();
    if block.trim().is_empty() {
        return;
    }
    text.push_str(block);
    text.push('\n');
}

/// A part read as body text: a leaf with no file name and no attachment disposition whose type
/// is one people read, or a multipart left unsplit (its boundary was wrong).
pub fn is_body_like(part: &MessagePart<'_>) -> bool {
    if matches!(part.body, PartType::Multipart(_) | PartType::Message(_)) {
        return false;
    }
    if part.attachment_name().is_some_and(|n| !n.trim().is_empty())
        || part
            .content_disposition()
            .is_some_and(|d| d.is_attachment())
    {
        return false;
    }
    match part.content_type() {
        None => true,
        Some(ct) => {
            let main = ct.ctype().to_ascii_lowercase();
            (main == "text"
                && matches!(
                    subtype(part).as_str(),
                    "plain" | "html" | "enriched" | "richtext"
                ))
                || main == "multipart"
        }
    }
}

fn subtype(part: &MessagePart<'_>) -> String {
    part.content_type()
        .and_then(|ct| ct.subtype())
        .and_then(|s| s.split(|c: char| c.is_whitespace() || c == ';').next())
        .unwrap_or("plain")
        .to_ascii_lowercase()
}

/// One part's text, whatever mail-parser managed with it.
fn part_text(message: &Message<'_>, part: &MessagePart<'_>, depth: usize) -> String {
    let is_multipart = part
        .content_type()
        .is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart"));
    let bytes: Cow<'_, [u8]> = match &part.body {
        PartType::Text(t) | PartType::Html(t) => Cow::Borrowed(t.as_bytes()),
        PartType::Binary(b) | PartType::InlineBinary(b) => Cow::Borrowed(b.as_ref()),
        PartType::Message(_) | PartType::Multipart(_) => return String::new(),
    };
    if is_multipart {
        return split_again(&bytes, depth);
    }
    if let Some(html) = html_with_meta_charset(message, part) {
        return html_text(&html);
    }
    let text: String = match undecoded_encoding(message, part, &bytes) {
        Some(Encoding::Base64) => decode_charset(part, &lenient_base64(&bytes)),
        Some(Encoding::QuotedPrintable) => decode_charset(part, &lenient_quoted_printable(&bytes)),
        None => match &part.body {
            // 8-bit text with no charset that is not UTF-8: mail-parser leaves U+FFFD where
            // each byte was; read the bytes as windows-1252 instead, as mail clients do.
            PartType::Text(t) | PartType::Html(t) if t.contains('\u{fffd}') => {
                undeclared_8bit(message, part).unwrap_or_else(|| t.to_string())
            }
            PartType::Text(t) | PartType::Html(t) => t.to_string(),
            _ => decode_charset(part, &bytes),
        },
    };
    let sub = subtype(part);
    match sub.as_str() {
        _ if matches!(part.body, PartType::Html(_)) || sub == "html" => html_text(&text),
        "enriched" | "richtext" => enriched_text(&text),
        _ => text,
    }
}

/// The part's body as it stands in the message, its transfer encoding undone leniently.
fn transfer_decoded(message: &Message<'_>, part: &MessagePart<'_>) -> Option<Vec<u8>> {
    let raw = raw_body(message, part)?;
    Some(match transfer_encoding(part) {
        Some(Encoding::Base64) => lenient_base64(raw),
        Some(Encoding::QuotedPrintable) => lenient_quoted_printable(raw),
        None => raw.to_vec(),
    })
}

fn raw_body<'a>(message: &'a Message<'_>, part: &MessagePart<'_>) -> Option<&'a [u8]> {
    let start = part.raw_body_offset() as usize;
    let end = (part.raw_end_offset() as usize).min(message.raw_message.len());
    message.raw_message.get(start..end)
}

fn transfer_encoding(part: &MessagePart<'_>) -> Option<Encoding> {
    match part
        .content_transfer_encoding()?
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "base64" => Some(Encoding::Base64),
        "quoted-printable" => Some(Encoding::QuotedPrintable),
        _ => None,
    }
}

fn declares_charset(part: &MessagePart<'_>) -> bool {
    part.content_type()
        .and_then(|ct| ct.attribute("charset"))
        .is_some()
}

/// An HTML part's markup as a browser would decode it: when MIME names no charset, the one its
/// `<meta>` names (Big5, GB2312, windows-1251... in real mail). None when MIME names one, the
/// markup names none, or the part is not HTML.
pub fn html_with_meta_charset(message: &Message<'_>, part: &MessagePart<'_>) -> Option<String> {
    use mail_parser::decoders::charsets::map::charset_decoder;
    let is_html = matches!(part.body, PartType::Html(_)) || subtype(part) == "html";
    if !is_html || declares_charset(part) {
        return None;
    }
    let bytes = transfer_decoded(message, part)?;
    let head: String = bytes
        .iter()
        .take(4096)
        .map(|&b| (b as char).to_ascii_lowercase())
        .collect();
    let at = head.find("<meta")?;
    let name_at = head[at..]
        .find("charset=")
        .map(|i| at + i + "charset=".len())?;
    let name: String = head[name_at..]
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    if name.is_empty() || name == "utf-8" || name == "us-ascii" {
        return None;
    }
    let decode = charset_decoder(name.as_bytes())?;
    Some(decode(&bytes))
}

/// A part without a declared charset whose bytes are not UTF-8, read as windows-1252.
fn undeclared_8bit(message: &Message<'_>, part: &MessagePart<'_>) -> Option<String> {
    if declares_charset(part) {
        return None;
    }
    let bytes = transfer_decoded(message, part)?;
    if std::str::from_utf8(&bytes).is_ok() {
        return None;
    }
    let decode = mail_parser::decoders::charsets::map::charset_decoder(b"windows-1252")?;
    Some(decode(&bytes))
}

enum Encoding {
    Base64,
    QuotedPrintable,
}

/// The transfer encoding mail-parser did not undo: the part says base64 or quoted-printable and
/// its body is still the bytes of the message as they stand.
fn undecoded_encoding(
    message: &Message<'_>,
    part: &MessagePart<'_>,
    body: &[u8],
) -> Option<Encoding> {
    let wanted = transfer_encoding(part)?;
    let raw = raw_body(message, part)?;
    (raw.trim_ascii() == body.trim_ascii() && !body.is_empty()).then_some(wanted)
}

/// Base64 with whatever is not of its alphabet skipped, and a truncated end decoded as far as it
/// goes.
fn lenient_base64(bytes: &[u8]) -> Vec<u8> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine;
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let mut clean: Vec<u8> = bytes
        .iter()
        .copied()
        .take_while(|&b| b != b'=')
        .filter(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
        .collect();
    if clean.len() % 4 == 1 {
        clean.pop();
    }
    LENIENT.decode(&clean).unwrap_or_default()
}

/// Quoted-printable where a broken escape is kept as it stands.
fn lenient_quoted_printable(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        match (bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(b'\n'), _) => i += 2,
            (Some(b'\r'), Some(b'\n')) => i += 3,
            (Some(&h), Some(&l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                let hex = [h, l];
                let value = std::str::from_utf8(&hex)
                    .ok()
                    .and_then(|s| u8::from_str_radix(s, 16).ok());
                match value {
                    Some(v) => out.push(v),
                    None => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Bytes in the part's declared charset; undeclared text that is not UTF-8 is read as
/// windows-1252, as browsers and mail clients do.
fn decode_charset(part: &MessagePart<'_>, bytes: &[u8]) -> String {
    use mail_parser::decoders::charsets::map::charset_decoder;
    let declared = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .and_then(|name| charset_decoder(name.as_bytes()));
    if let Some(decode) = declared {
        return decode(bytes);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => match charset_decoder(b"windows-1252") {
            Some(decode) => decode(bytes),
            None => String::from_utf8_lossy(bytes).into_owned(),
        },
    }
}

/// A multipart body that mail-parser could not split: split it on the first boundary line its
/// body actually has. Without one, its bytes are read as text.
fn split_again(body: &[u8], depth: usize) -> String {
    let boundary = body.split(|&b| b == b'\n').find_map(|line| {
        let line = line.trim_ascii();
        let name = line.strip_prefix(b"--")?;
        let name = name.strip_suffix(b"--").unwrap_or(name);
        // Boundaries may hold spaces (RFC 2046), but not start with one.
        (!name.is_empty() && !name[0].is_ascii_whitespace()).then_some(name)
    });
    let Some(boundary) = boundary.filter(|_| depth < MAX_DEPTH) else {
        return String::from_utf8_lossy(body).into_owned();
    };
    let mut wrapped = b"Content-Type: multipart/mixed; boundary=\"".to_vec();
    wrapped.extend_from_slice(boundary);
    wrapped.extend_from_slice(b"\"\r\n\r\n");
    wrapped.extend_from_slice(body);
    match MessageParser::default().parse(wrapped.as_slice()) {
        Some(inner) => body_text_at(&inner, depth + 1),
        None => String::from_utf8_lossy(body).into_owned(),
    }
}

/// text/enriched (RFC 1896) as plain text: formatting commands dropped, `<<` is `<`, a single
/// line break is a space and n breaks are n - 1.
fn enriched_text(enriched: &str) -> String {
    let mut out = String::with_capacity(enriched.len());
    let mut chars = enriched.chars().peekable();
    let mut in_param = 0usize;
    let mut newlines = 0usize;
    while let Some(c) = chars.next() {
        if c == '\r' {
            continue;
        }
        if c == '\n' {
            newlines += 1;
            continue;
        }
        if newlines > 0 {
            if in_param == 0 {
                if newlines == 1 {
                    out.push(' ');
                } else {
                    out.push_str(&"\n".repeat(newlines - 1));
                }
            }
            newlines = 0;
        }
        if c == '<' {
            if chars.peek() == Some(&'<') {
                chars.next();
                if in_param == 0 {
                    out.push('<');
                }
                continue;
            }
            let command: String = chars.by_ref().take_while(|&c| c != '>').collect();
            match command.to_ascii_lowercase().as_str() {
                "param" => in_param += 1,
                "/param" => in_param = in_param.saturating_sub(1),
                "nl" => out.push('\n'),
                _ => {}
            }
            continue;
        }
        if in_param == 0 {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> Message<'_> {
        MessageParser::default().parse(raw).expect("a message")
    }

    fn check(name: &str, raw: &[u8], words: &str) {
        let message = parse(raw);
        let text = body_text(&message);
        assert!(text.contains(words), "{name}: {words:?} not in {text:?}");
        assert!(
            attachments(&message).is_empty(),
            "{name}: counted as an attachment"
        );
    }

    #[test]
    fn broken_mime_keeps_its_text() {
        check(
            "base64 with no closing boundary",
            b"Subject: s\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\nSGVsbG8gd29ybGQgZnJvbSBiYXNlNjQ=\n",
            "Hello world from base64",
        );
        check(
            "invalid characters in base64",
            b"Subject: s\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\nSGVsbG8g!d29y*bGQ=\n",
            "Hello world",
        );
        check(
            "quoted-printable with no closing boundary",
            b"Subject: s\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"Q\"\n\n--Q\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9 au lait=\n soft\n",
            "caf\u{e9} au lait soft",
        );
        check(
            "a Content-Type without its semicolon",
            b"Subject: s\nContent-Type: text/plain charset=us-ascii\n\nplain words here\n",
            "plain words here",
        );
        check(
            "a multipart without the semicolon before its boundary",
            b"Subject: s\nContent-Type: multipart/alternative boundary=\"YY\"\n\n--YY\nContent-Type: text/plain\n\nalt words\n--YY--\n",
            "alt words",
        );
        check(
            "a declared boundary that is not the one used",
            b"Subject: s\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"DECLARED\"\n\n--USED\nContent-Type: text/plain\n\nthe readable text\n--USED\nContent-Type: text/html\n\n<p>the html</p>\n--USED--\n",
            "the readable text",
        );
        check(
            "a text/enriched alternative",
            b"Subject: s\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"E\"\n\n--E\nContent-Type: text/enriched\n\n<bold>enriched</bold>\n<param>Times</param>words\n--E--\n",
            "enriched words",
        );
    }

    #[test]
    fn real_attachments_stay_attachments() {
        let raw = b"Subject: s\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nsee the files\n--B\nContent-Type: text/plain; name=notes.txt\n\nnotes\n--B\nContent-Type: text/html\nContent-Disposition: attachment\n\n<p>page</p>\n--B\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERg==\n--B--\n";
        let message = parse(raw);
        assert_eq!(attachments(&message).len(), 3);
        let text = body_text(&message);
        assert!(text.contains("see the files"), "{text:?}");
        assert!(!text.contains("notes"), "{text:?}");
    }

    #[test]
    fn a_correct_body_is_decoded_once() {
        // "Hello" is all base64 alphabet: it must not be decoded a second time.
        let raw = b"Subject: s\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\nSGVsbG8=\n";
        assert_eq!(body_text(&parse(raw)), "Hello\n");
    }

    #[test]
    fn html_without_a_mime_charset_uses_its_meta_charset() {
        let mut raw =
            b"Subject: s\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n\
            <META http-equiv=3DContent-Type content=3D\"text/html; charset=3Dbig5\">\n<p>"
                .to_vec();
        raw.extend_from_slice(b"=A7A=A6n</p>\n");
        let text = body_text(&parse(&raw));
        assert!(text.contains("\u{4f60}\u{597d}"), "{text:?}");
    }

    #[test]
    fn undeclared_8bit_text_is_read_as_windows_1252() {
        let raw = b"Subject: s\n\nCaf\xe9 cr\xe8me \x93quoted\x94\n";
        let text = body_text(&parse(raw));
        assert!(
            text.contains("Caf\u{e9} cr\u{e8}me \u{201c}quoted\u{201d}"),
            "{text:?}"
        );
        let utf8 = "Subject: s\n\nCaf\u{e9}\n".as_bytes();
        assert!(body_text(&parse(utf8)).contains("Caf\u{e9}"));
    }

    #[test]
    fn a_blank_plain_alternative_gives_way_to_the_html_one() {
        let raw = b"Subject: s\nContent-Type: multipart/alternative; boundary=A\n\n--A\nContent-Type: text/plain\n\n \n--A\nContent-Type: text/html\n\n<p>Le dernier sondage</p>\n--A--\n";
        assert_eq!(body_text(&parse(raw)).trim(), "Le dernier sondage");
    }

    #[test]
    fn enriched_text_reads_as_text() {
        assert_eq!(
            enriched_text("<bold>Now</bold> is <<the\ntime\n\nfor <param>x</param>all"),
            "Now is <the time\nfor all"
        );
    }
}
