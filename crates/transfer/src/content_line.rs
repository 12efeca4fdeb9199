//! The content-line syntax iCalendar (RFC 5545) and vCard (RFC 6350) share: folded lines,
//! `NAME;PARAM=x:value`, backslash escapes. Read leniently: a line without a colon is skipped.

/// Unfolded content lines as (name, params, value), names upper-cased.
pub(crate) fn content_lines(data: &[u8]) -> Vec<(String, String, String)> {
    let text = String::from_utf8_lossy(data);
    let mut unfolded: Vec<String> = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(rest) = line.strip_prefix([' ', '\t']) {
            if let Some(last) = unfolded.last_mut() {
                last.push_str(rest);
                continue;
            }
        }
        unfolded.push(line.to_string());
    }
    unfolded
        .into_iter()
        .filter_map(|l| {
            let (head, value) = l.split_once(':')?;
            let (name, params) = head.split_once(';').unwrap_or((head, ""));
            Some((
                name.to_ascii_uppercase(),
                params.to_string(),
                unescape(value),
            ))
        })
        .collect()
}

fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn strip_mailto(v: &str) -> String {
    let t = v.trim();
    t.strip_prefix("mailto:")
        .or_else(|| t.strip_prefix("MAILTO:"))
        .unwrap_or(t)
        .to_string()
}

pub(crate) fn param(params: &str, name: &str) -> Option<String> {
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.eq_ignore_ascii_case(name)
            .then(|| v.trim_matches('"').to_string())
    })
}

/// A TEXT value with RFC 5545 / 6350 escapes: backslash, `;`, `,` and line breaks.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value: quoted when it holds `:`, `;` or `,`; quotes and line breaks dropped.
pub(crate) fn param_value(value: &str) -> String {
    let clean: String = value
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    if clean.contains([':', ';', ',']) {
        format!("\"{clean}\"")
    } else {
        clean
    }
}

/// Appends one content line, folded at 75 octets (never inside a UTF-8 character), CRLF ended.
pub(crate) fn push_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod writing_tests {
    use super::*;

    #[test]
    fn text_escapes_and_folding_round_trip_through_the_reader() {
        let text = "Budget; Q3, final\\draft\r\nsecond line — with ümlauts ".repeat(4);
        let mut out = String::new();
        push_line(&mut out, &format!("DESCRIPTION:{}", escape(&text)));
        assert!(out.split("\r\n").all(|l| l.len() <= 75));
        let lines = content_lines(out.as_bytes());
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].2, text.replace("\r\n", "\n"));
        assert_eq!(param_value("Smith, Ann"), "\"Smith, Ann\"");
        assert_eq!(param_value("Ann \"A\""), "Ann A");
    }
}
