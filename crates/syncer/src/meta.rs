//! What the portal lists for a calendar item or contact: title, date, people. Read leniently
//! from iCalendar, vCard or Graph JSON; anything unreadable just leaves a field empty.

use archive::{ItemMeta, Timestamp};
use mailsync::ContentFormat;
use serde_json::Value;
use time::{Date, Month, PrimitiveDateTime, Time};

pub fn item_meta(format: ContentFormat, data: &[u8]) -> ItemMeta {
    match format {
        ContentFormat::Ics => ics_meta(data),
        ContentFormat::Vcf => vcf_meta(data),
        ContentFormat::GraphEventJson => graph_event_meta(data),
        ContentFormat::GraphContactJson => graph_contact_meta(data),
        ContentFormat::Mime => ItemMeta::default(),
    }
}

/// Unfolded content lines as (name, params, value), names upper-cased.
fn content_lines(data: &[u8]) -> Vec<(String, String, String)> {
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

fn strip_mailto(v: &str) -> String {
    let t = v.trim();
    t.strip_prefix("mailto:")
        .or_else(|| t.strip_prefix("MAILTO:"))
        .unwrap_or(t)
        .to_string()
}

fn param(params: &str, name: &str) -> Option<String> {
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.eq_ignore_ascii_case(name)
            .then(|| v.trim_matches('"').to_string())
    })
}

fn ics_meta(data: &[u8]) -> ItemMeta {
    let mut meta = ItemMeta::default();
    let mut in_event = false;
    for (name, params, value) in content_lines(data) {
        match name.as_str() {
            "BEGIN" if value.eq_ignore_ascii_case("VEVENT") => in_event = true,
            // The first event is the item; later ones are exceptions of a series.
            "END" if in_event && value.eq_ignore_ascii_case("VEVENT") => break,
            "SUMMARY" if in_event && meta.subject.is_empty() => meta.subject = value,
            "DTSTART" if in_event && meta.date.is_none() => meta.date = compact_date(&value),
            "ORGANIZER" if in_event && meta.sender_address.is_empty() => {
                meta.sender_address = strip_mailto(&value);
                meta.sender = param(&params, "CN").unwrap_or_else(|| meta.sender_address.clone());
            }
            "ATTENDEE" if in_event => meta.to.push(strip_mailto(&value)),
            _ => {}
        }
    }
    meta
}

fn vcf_meta(data: &[u8]) -> ItemMeta {
    let mut meta = ItemMeta::default();
    let mut structured = String::new();
    for (name, _, value) in content_lines(data) {
        match name.as_str() {
            "FN" if meta.subject.is_empty() => meta.subject = value,
            "N" if structured.is_empty() => {
                // Family;Given;Additional;Prefix;Suffix -> "Given Family"
                let parts: Vec<&str> = value.split(';').collect();
                let given = parts.get(1).copied().unwrap_or("");
                let family = parts.first().copied().unwrap_or("");
                structured = format!("{given} {family}").trim().to_string();
            }
            "EMAIL" => {
                let address = strip_mailto(&value);
                if meta.sender_address.is_empty() {
                    meta.sender_address = address;
                } else {
                    meta.to.push(address);
                }
            }
            _ => {}
        }
    }
    if meta.subject.is_empty() {
        meta.subject = structured;
    }
    meta.sender = meta.subject.clone();
    meta
}

fn graph_event_meta(data: &[u8]) -> ItemMeta {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return ItemMeta::default();
    };
    let s = |v: &Value, path: &[&str]| -> String {
        let mut cur = v;
        for p in path {
            match cur.get(p) {
                Some(n) => cur = n,
                None => return String::new(),
            }
        }
        cur.as_str().unwrap_or_default().to_string()
    };
    let to = v
        .get("attendees")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|x| s(x, &["emailAddress", "address"]))
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default();
    ItemMeta {
        subject: s(&v, &["subject"]),
        sender: s(&v, &["organizer", "emailAddress", "name"]),
        sender_address: s(&v, &["organizer", "emailAddress", "address"]),
        to,
        date: iso_date(&s(&v, &["start", "dateTime"])),
        ..ItemMeta::default()
    }
}

fn graph_contact_meta(data: &[u8]) -> ItemMeta {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return ItemMeta::default();
    };
    let name = v
        .get("displayName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut emails: Vec<String> = v
        .get("emailAddresses")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| e.get("address").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let first = if emails.is_empty() {
        String::new()
    } else {
        emails.remove(0)
    };
    ItemMeta {
        subject: name.clone(),
        sender: name,
        sender_address: first,
        to: emails,
        ..ItemMeta::default()
    }
}

fn civil(y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> Option<Timestamp> {
    let date = Date::from_calendar_date(y, Month::try_from(mo).ok()?, d).ok()?;
    let time = Time::from_hms(h, mi, s).ok()?;
    let at = PrimitiveDateTime::new(date, time).assume_utc();
    Some(Timestamp::from_unix_seconds(at.unix_timestamp()))
}

fn digits(s: &str, from: usize, len: usize) -> Option<u32> {
    s.get(from..from + len)?.parse().ok()
}

/// `20251120T100000Z`, `20251120T100000` (local time, read as UTC) or `20251120`.
fn compact_date(v: &str) -> Option<Timestamp> {
    let v = v.trim();
    let y = digits(v, 0, 4)? as i32;
    let (mo, d) = (digits(v, 4, 2)? as u8, digits(v, 6, 2)? as u8);
    let (h, mi, s) = if v.get(8..9) == Some("T") {
        (
            digits(v, 9, 2)? as u8,
            digits(v, 11, 2)? as u8,
            digits(v, 13, 2)? as u8,
        )
    } else {
        (0, 0, 0)
    };
    civil(y, mo, d, h, mi, s)
}

/// `2025-11-20T10:00:00.0000000` as Graph writes it (its zone is given separately; read as UTC).
fn iso_date(v: &str) -> Option<Timestamp> {
    let y = digits(v, 0, 4)? as i32;
    civil(
        y,
        digits(v, 5, 2)? as u8,
        digits(v, 8, 2)? as u8,
        digits(v, 11, 2)? as u8,
        digits(v, 14, 2)? as u8,
        digits(v, 17, 2)? as u8,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ics_summary_date_and_organizer() {
        let ics = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Budget\r\n  workshop\\, Q4\r\n\
ORGANIZER;CN=Bruno Keller:mailto:bruno@example.com\r\nDTSTART:20251120T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let m = item_meta(ContentFormat::Ics, ics);
        assert_eq!(m.subject, "Budget workshop, Q4");
        assert_eq!(m.sender, "Bruno Keller");
        assert_eq!(m.sender_address, "bruno@example.com");
        assert_eq!(m.date, Some(Timestamp::from_unix_seconds(1_763_632_800)));
    }

    #[test]
    fn vcard_and_graph_json() {
        let m = item_meta(
            ContentFormat::Vcf,
            b"BEGIN:VCARD\r\nN:Sato;Hana;;;\r\nEMAIL:hana@example.org\r\nEND:VCARD\r\n",
        );
        assert_eq!(
            (m.subject.as_str(), m.sender_address.as_str()),
            ("Hana Sato", "hana@example.org")
        );
        let e = item_meta(
            ContentFormat::GraphEventJson,
            br#"{"subject":"Review","start":{"dateTime":"2025-11-20T10:00:00.0000000","timeZone":"UTC"}}"#,
        );
        assert_eq!(e.subject, "Review");
        assert_eq!(e.date, Some(Timestamp::from_unix_seconds(1_763_632_800)));
        let c = item_meta(
            ContentFormat::GraphContactJson,
            br#"{"displayName":"Hana Sato","emailAddresses":[{"address":"hana@example.org"}]}"#,
        );
        assert_eq!(c.subject, "Hana Sato");
        assert_eq!(
            item_meta(ContentFormat::GraphContactJson, b"{broken").subject,
            ""
        );
        assert_eq!(compact_date("2025"), None);
    }
}
