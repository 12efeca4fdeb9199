//! Calendar items as the portal lists them (title, start, organizer, attendees), read from
//! iCalendar or Microsoft Graph event JSON. Lenient: anything unreadable just leaves a field empty.

use archive::{ItemMeta, Timestamp};
use serde_json::Value;
use time::{Date, Month, PrimitiveDateTime, Time};

use crate::content_line::{content_lines, param, strip_mailto};

pub fn ics_meta(data: &[u8]) -> ItemMeta {
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

pub fn graph_event_meta(data: &[u8]) -> ItemMeta {
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
        let m = ics_meta(ics);
        assert_eq!(m.subject, "Budget workshop, Q4");
        assert_eq!(m.sender, "Bruno Keller");
        assert_eq!(m.sender_address, "bruno@example.com");
        assert_eq!(m.date, Some(Timestamp::from_unix_seconds(1_763_632_800)));
    }

    #[test]
    fn graph_event_json_and_short_dates() {
        let e = graph_event_meta(
            br#"{"subject":"Review","start":{"dateTime":"2025-11-20T10:00:00.0000000","timeZone":"UTC"}}"#,
        );
        assert_eq!(e.subject, "Review");
        assert_eq!(e.date, Some(Timestamp::from_unix_seconds(1_763_632_800)));
        assert_eq!(compact_date("2025"), None);
    }
}
