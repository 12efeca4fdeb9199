//! Dates as people wrote them. Real `Date:` headers lack their zone (`Fri, 23 Aug 2002 19:27:52`),
//! end in AM/PM or a one- or two-letter zone (`03 Jul 01 12:47:50 AM`, `UT`), carry two-, three-
//! or Y2K-broken four-digit years (`0102` is 1900 + 102), or come in ctime order
//! (`Mon Jul  3 00:47:50 2001`). This reads all of them; what it cannot read is `None`, never
//! a guess.

use chrono::{NaiveDate, NaiveDateTime};

/// Where a message's date came from, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateKind {
    /// The `Date:` header with its zone.
    Header,
    /// The `Date:` header without a readable zone, read as UTC.
    HeaderWithoutZone,
    /// The newest `Received:` header that carries a readable date.
    Received,
}

/// What a date said about its zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// A zone that exists (`+0200`, `EST`, `UT`): the instant is known.
    Given,
    /// No zone at all (`Fri, 23 Aug 2002 19:27:52`): read as UTC.
    Missing,
    /// Something in the zone's place that no zone can be (`-1900`, `01800`, `0530`): the
    /// wall-clock time may be right, the instant is not known.
    Impossible,
}

/// A date read from the message itself: seconds since the Unix epoch and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundDate {
    pub unix: i64,
    pub kind: DateKind,
}

/// Dates outside these years are typos or placeholders (`1 Jan 1900`, `2099`), not dates.
const YEARS: std::ops::RangeInclusive<i32> = 1970..=2199;

/// Reads a date header's value. Returns the instant (seconds since the epoch) and what the value
/// said of its zone; without a usable one the time is read as UTC.
pub fn parse_date(value: &str) -> Option<(i64, Zone)> {
    let value = without_comments(value);
    let trimmed = value.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(trimmed) {
        return Some((dt.timestamp(), Zone::Given)).filter(|_| in_years(dt.naive_utc()));
    }
    let mut day: Option<u32> = None;
    let mut month: Option<u32> = None;
    let mut year: Option<i32> = None;
    let mut time: Option<(u32, u32, u32)> = None;
    let mut meridiem: Option<bool> = None; // Some(true) for PM
    let mut offset: Option<i32> = None;
    let mut named: Option<i32> = None;
    let mut impossible = false;
    for token in tokens(&value) {
        let lower = token.to_ascii_lowercase();
        let lower = lower.trim_end_matches('.');
        if lower.is_empty() {
            continue;
        }
        if let Some((h, m, s, pm)) = clock(lower) {
            if time.is_none() {
                time = Some((h, m, s));
                if pm.is_some() {
                    meridiem = pm;
                }
            }
            continue;
        }
        if lower == "am" || (lower == "a" && time.is_some()) {
            meridiem = Some(false);
            continue;
        }
        if lower == "pm" || (lower == "p" && time.is_some()) {
            meridiem = Some(true);
            continue;
        }
        if time.is_some() && lower.starts_with(['+', '-']) {
            // `+-0500` was meant as -0500.
            let signed = lower
                .strip_prefix("+-")
                .map_or(lower.to_owned(), |z| format!("-{z}"));
            match numeric_zone(&signed) {
                Some(east) => {
                    offset.get_or_insert(east);
                }
                None => impossible = true,
            }
            continue;
        }
        if time.is_some()
            && year.is_some()
            && (4..=5).contains(&lower.len())
            && lower.bytes().all(|b| b.is_ascii_digit())
        {
            // An offset without its sign, or with a digit too many.
            impossible = true;
            continue;
        }
        if lower.bytes().all(|b| b.is_ascii_digit()) {
            let n: i32 = lower.parse().ok()?;
            if lower.len() >= 3 {
                year.get_or_insert(n);
            } else if day.is_none() && (1..=31).contains(&n) {
                day = Some(n as u32);
            } else if year.is_none() {
                year = Some(n);
            }
            continue;
        }
        if lower.bytes().all(|b| b.is_ascii_alphabetic()) {
            if let Some(m) = month_of(lower) {
                month.get_or_insert(m);
            } else if let Some(east) = named_zone(lower) {
                named.get_or_insert(east);
            }
            // Weekdays and unknown words carry nothing we need.
        }
    }
    let year = match year? {
        y @ 0..=49 => 2000 + y,
        y @ 50..=999 => 1900 + y,
        y => y,
    };
    let date = NaiveDate::from_ymd_opt(year, month?, day?)?;
    let (mut hour, minute, second) = time.unwrap_or((0, 0, 0));
    match meridiem {
        Some(false) if hour == 12 => hour = 0,
        Some(true) if hour < 12 => hour += 12,
        _ => {}
    }
    // `GMT+0200`: the offset says more than the name.
    let zone = offset.or(named);
    let local = date.and_hms_opt(hour, minute, second.min(59))?;
    if !in_years(local) {
        return None;
    }
    let unix = local.and_utc().timestamp() - i64::from(zone.unwrap_or(0));
    let said = match (zone, impossible) {
        (Some(_), _) => Zone::Given,
        (None, true) => Zone::Impossible,
        (None, false) => Zone::Missing,
    };
    Some((unix, said))
}

/// The date in a `Received:` header's value: what follows its last semicolon.
pub fn received_date(value: &str) -> Option<i64> {
    let (_, date) = value.rsplit_once(';')?;
    parse_date(date).map(|(unix, _)| unix)
}

fn in_years(t: NaiveDateTime) -> bool {
    use chrono::Datelike;
    YEARS.contains(&t.year())
}

fn without_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut depth = 0usize;
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Words of a date: commas and whitespace separate them; `23-Aug-2002` is three of them;
/// `GMT+0200` is a zone name and an offset.
fn tokens(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in value.split(|c: char| c.is_whitespace() || c == ',') {
        if word.is_empty() {
            continue;
        }
        let has_alpha = word.bytes().any(|b| b.is_ascii_alphabetic());
        let dashed = word.contains('-') && !word.starts_with(['-', '+']);
        if dashed && has_alpha {
            // 23-Aug-2002, or GMT-0700.
            let mut rest = word;
            // The next sign after the first character (which may be any character).
            let next_sign = |text: &str| {
                text.char_indices()
                    .skip(1)
                    .find(|(_, c)| matches!(c, '-' | '+'))
                    .map(|(i, _)| i)
            };
            while let Some(at) = next_sign(rest) {
                let (head, tail) = rest.split_at(at);
                out.push(head.trim_matches('-').to_owned());
                rest = tail;
            }
            let last = if out
                .last()
                .is_some_and(|w| month_of(&w.to_ascii_lowercase()).is_some())
            {
                rest.trim_start_matches('-')
            } else {
                rest
            };
            out.push(last.to_owned());
        } else if word.starts_with(|c: char| c.is_ascii_alphabetic()) && word.contains(['+', '-']) {
            let at = word.find(['+', '-']).unwrap_or(word.len());
            out.push(word[..at].to_owned());
            out.push(word[at..].to_owned());
        } else {
            out.push(word.to_owned());
        }
    }
    out
}

/// `19:27:52`, `19:27`, `12:47:50am`, `7.30`-free: hours and minutes with colons only.
fn clock(token: &str) -> Option<(u32, u32, u32, Option<bool>)> {
    if !token.contains(':') {
        return None;
    }
    let (digits, pm) = if let Some(t) = token.strip_suffix("am") {
        (t, Some(false))
    } else if let Some(t) = token.strip_suffix("pm") {
        (t, Some(true))
    } else {
        (token, None)
    };
    let mut parts = digits.split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let s: u32 = match parts.next() {
        Some(s) => s.split('.').next()?.parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some((h, m, s, pm))
}

/// `+0200`, `-0700`, `+02:00`, `+02`: seconds east of UTC.
fn numeric_zone(token: &str) -> Option<i32> {
    let sign = match token.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = token[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        3 | 4 => {
            let n: i32 = digits.parse().ok()?;
            (n / 100, n % 100)
        }
        _ => return None,
    };
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// Zone names seen in real mail. Military letters other than Z were so often wrong that
/// RFC 5322 reads them as unknown: so do we (None, read as UTC but not as a known zone).
fn named_zone(name: &str) -> Option<i32> {
    let hours = match name {
        "ut" | "utc" | "gmt" | "z" | "wet" => 0,
        "bst" | "cet" | "met" | "mez" | "west" => 1,
        "cest" | "mest" | "mesz" | "eet" | "sast" => 2,
        "eest" | "msk" => 3,
        "edt" => -4,
        "est" | "cdt" => -5,
        "cst" | "mdt" => -6,
        "mst" | "pdt" => -7,
        "pst" | "akdt" => -8,
        "akst" => -9,
        "hst" => -10,
        "hkt" | "awst" | "sgt" => 8,
        "jst" | "kst" => 9,
        "aest" => 10,
        "aedt" => 11,
        "nzst" => 12,
        "nzdt" => 13,
        _ => return None,
    };
    Some(hours * 3600)
}

fn month_of(word: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    if word.len() < 3 {
        return None;
    }
    let position = MONTHS.iter().position(|m| word.starts_with(m))?;
    // "march", "sept": a month's own longer name, not any word that starts like one.
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    (FULL[position].starts_with(word) || word == "sept").then_some(position as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(value: &str) -> Option<(String, bool)> {
        parse_date(value).map(|(unix, zone)| {
            let t = chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default();
            (
                t.format("%Y-%m-%d %H:%M:%S").to_string(),
                zone == Zone::Given,
            )
        })
    }

    fn ok(value: &str, expected: &str, zoned: bool) {
        assert_eq!(
            at(value),
            Some((expected.to_owned(), zoned)),
            "reading {value:?}"
        );
    }

    #[test]
    fn rfc_and_obsolete_forms() {
        ok(
            "Tue, 1 Jul 2003 10:52:37 +0200",
            "2003-07-01 08:52:37",
            true,
        );
        ok("1 Jul 2003 10:52 -0000", "2003-07-01 10:52:00", true);
        ok(
            "Fri, 23 Aug 2002 19:27:52 -0700 (PDT)",
            "2002-08-24 02:27:52",
            true,
        );
        ok("Fri, 23 Aug 2002 19:27:52 UT", "2002-08-23 19:27:52", true);
        ok("Fri, 23 Aug 2002 19:27:52 EST", "2002-08-24 00:27:52", true);
        ok(
            "Fri, 23 Aug 2002 19:27:52 GMT+0200",
            "2002-08-23 17:27:52",
            true,
        );
        ok("23-Aug-2002 19:27:52 +0100", "2002-08-23 18:27:52", true);
        ok("2002-08-23T19:27:52Z", "2002-08-23 19:27:52", true);
    }

    #[test]
    fn what_real_mail_gets_wrong() {
        // No zone: read as UTC, and said so.
        ok("Fri, 23 Aug 2002 19:27:52", "2002-08-23 19:27:52", false);
        // Two-digit year and a 12-hour clock.
        ok("03 Jul 01 12:47:50 AM", "2001-07-03 00:47:50", false);
        ok(
            "Tue, 03 Jul 01 1:05:00 PM +0100",
            "2001-07-03 12:05:00",
            true,
        );
        // Y2K-broken years: 102 and 0102 are 1900 + 102.
        ok(
            "Wed, 16 Jan 0102 10:00:00 +0000",
            "2002-01-16 10:00:00",
            true,
        );
        ok(
            "Wed, 16 Jan 102 10:00:00 +0000",
            "2002-01-16 10:00:00",
            true,
        );
        ok("16 Jan 99 10:00:00 GMT", "1999-01-16 10:00:00", true);
        // ctime order, as mbox From lines and some mailers write it.
        ok("Mon Jul  3 00:47:50 2001", "2001-07-03 00:47:50", false);
        // Military letters other than Z are read as unknown.
        ok("Fri, 23 Aug 2002 19:27:52 A", "2002-08-23 19:27:52", false);
        ok(
            "Sunday, September 1, 2002 8:00 PM",
            "2002-09-01 20:00:00",
            false,
        );
    }

    #[test]
    fn impossible_zones_are_told_apart_from_missing_ones() {
        for value in [
            "Wed, 21 Aug 2002 20:31:57 -1600",
            "Sun, 25 Aug 2002 19:21:44 01800",
            "Fri, 02 Aug 2002 23:37:59 0530",
        ] {
            assert_eq!(
                parse_date(value).map(|(_, z)| z),
                Some(Zone::Impossible),
                "{value}"
            );
        }
        assert_eq!(
            parse_date("Fri, 23 Aug 2002 19:27:52").map(|(_, z)| z),
            Some(Zone::Missing)
        );
        ok(
            "Mon, 2 Sep 2002 10:00:00 +-0500",
            "2002-09-02 15:00:00",
            true,
        );
    }

    #[test]
    fn words_that_are_not_ascii_are_read_past() {
        ok("\u{e9}-x1 23 Aug 2002", "2002-08-23 00:00:00", false);
        ok(
            "Fr\u{e9}, 23-Aug-2002 10:00:00 +0000",
            "2002-08-23 10:00:00",
            true,
        );
    }

    #[test]
    fn unreadable_dates_are_none() {
        for bad in [
            "",
            "yesterday",
            "32 Aug 2002 10:00:00",
            "Fri, 23 Foo 2002 19:27:52",
            "Fri, 1 Jan 1900 00:00:00 +0000",
            "31 Feb 2002 10:00",
            "Aug 2002",
        ] {
            assert_eq!(at(bad), None, "reading {bad:?}");
        }
    }

    #[test]
    fn received_headers_are_dated_after_their_last_semicolon() {
        let value = "from mx.example.org (mx [10.0.0.1]) by mail.example.com; \
                     Fri, 23 Aug 2002 19:27:52 +0100";
        assert_eq!(received_date(value), Some(1030127272));
        assert_eq!(received_date("from a by b"), None);
    }
}
