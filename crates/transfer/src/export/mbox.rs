//! mboxrd: each message starts with a `From ` line (envelope sender, date); a body line that
//! starts with `From `, after any number of `>`, gets one more `>`, so a reader that removes
//! one gets the original back. Lines end in LF, as Unix mail tools expect.

use chrono::{DateTime, Utc};

/// The separator line of one message. The sender is the envelope's (`MAILER-DAEMON` when
/// unknown); the date is asctime in UTC, as `From ` lines have always carried it.
pub fn from_line(sender: &str, date: DateTime<Utc>) -> String {
    let sender: String = sender
        .trim()
        .trim_matches(|c| c == '<' || c == '>')
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    let sender = if sender.is_empty() {
        "MAILER-DAEMON".to_owned()
    } else {
        sender
    };
    format!("From {sender} {}\n", date.format("%a %b %e %H:%M:%S %Y"))
}

fn is_from_line(line: &[u8]) -> bool {
    let quoted = line.iter().take_while(|&&b| b == b'>').count();
    line[quoted..].starts_with(b"From ")
}

/// One message as it goes into an mbox: its `From ` line, the content with CRLF turned into LF
/// and `From ` lines quoted, and the blank line that ends it.
pub fn message(sender: &str, date: DateTime<Utc>, raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 50 + 64);
    out.extend_from_slice(from_line(sender, date).as_bytes());
    let mut lines = raw.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if lines.peek().is_none() && line.is_empty() {
            break;
        }
        if is_from_line(line) {
            out.push(b'>');
        }
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn from_lines_in_the_body_are_quoted_reversibly() {
        let date = Utc.with_ymd_and_hms(2026, 3, 5, 9, 7, 1).unwrap();
        let raw = b"From: Alice <a@x.org>\r\nSubject: s\r\n\r\nFrom here on\r\n>From there\r\nFromage\r\n";
        let out = String::from_utf8(message("<a@x.org>", date, raw)).unwrap();
        assert_eq!(
            out,
            "From a@x.org Thu Mar  5 09:07:01 2026\nFrom: Alice <a@x.org>\nSubject: s\n\n\
             >From here on\n>>From there\nFromage\n\n"
        );
        assert!(from_line("", date).starts_with("From MAILER-DAEMON Thu Mar  5"));
        assert!(from_line("a b@c", date).starts_with("From ab@c "));
    }

    #[test]
    fn a_message_without_a_final_line_break_still_ends_with_a_blank_line() {
        let date = Utc.with_ymd_and_hms(2026, 3, 5, 9, 7, 1).unwrap();
        let out = message("a@x", date, b"Subject: s\n\nlast");
        assert!(out.ends_with(b"\nlast\n\n"));
    }
}
