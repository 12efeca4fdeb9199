//! Calendar arithmetic for the restore paths: xs:dateTime and iCalendar forms, RFC 5322 dates,
//! and the UTC offsets of the time zones clients name (Windows ids as EWS uses them, IANA ids
//! as Graph accepts them). Times are Unix seconds in UTC throughout.

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// 0 = Sunday, as iCalendar and EWS count weeks from either end.
fn weekday(days: i64) -> i64 {
    (days + 4).rem_euclid(7)
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn digits(s: &str, a: usize, b: usize) -> Option<i64> {
    let part = s.get(a..b)?;
    if part.bytes().all(|c| c.is_ascii_digit()) {
        part.parse().ok()
    } else {
        None
    }
}

/// `YYYY-MM-DD` at the start of `s`, checked for a real calendar day.
pub fn parse_date(s: &str) -> Option<(i64, i64, i64)> {
    let s = s.trim();
    if s.get(4..5) != Some("-") || s.get(7..8) != Some("-") {
        return None;
    }
    let (y, m, d) = (digits(s, 0, 4)?, digits(s, 5, 7)?, digits(s, 8, 10)?);
    let days = days_from_civil(y, m, d);
    (civil_from_days(days) == (y, m, d)).then_some((y, m, d))
}

/// The offset that follows a date or time (`Z`, `+01:00`, `-0530`), in seconds east of UTC.
fn parse_offset(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = match s.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return None,
    };
    let rest: String = s[1..].chars().filter(|c| *c != ':').collect();
    if rest.len() != 4 {
        return None;
    }
    Some(sign * (digits(&rest, 0, 2)? * 3600 + digits(&rest, 2, 4)? * 60))
}

/// The offset suffix of an xs:date such as EWS's recurrence `StartDate` (`2026-03-02+01:00`).
pub fn date_offset(s: &str) -> Option<i64> {
    let rest = s.trim().get(10..)?;
    if rest.is_empty() {
        return None;
    }
    parse_offset(rest)
}

/// Wall-clock seconds of `YYYY-MM-DDTHH:MM:SS[.fraction]` and what follows the time.
fn parse_wall(s: &str) -> Option<(i64, &str)> {
    let s = s.trim();
    let (y, m, d) = parse_date(s)?;
    if !matches!(s.get(10..11), Some("T" | "t" | " ")) || s.get(13..14) != Some(":") {
        return None;
    }
    let (h, mi) = (digits(s, 11, 13)?, digits(s, 14, 16)?);
    let (sec, mut rest) = if s.get(16..17) == Some(":") {
        (digits(s, 17, 19)?, s.get(19..).unwrap_or(""))
    } else {
        (0, s.get(16..).unwrap_or(""))
    };
    if let Some(frac) = rest.strip_prefix('.') {
        rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    if h > 24 || mi > 59 || sec > 60 {
        return None;
    }
    Some((
        days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + sec,
        rest,
    ))
}

/// An xs:dateTime in UTC seconds. Without an offset it is taken as UTC, as EWS does without a
/// TimeZoneContext.
pub fn parse_xs(s: &str) -> Option<i64> {
    let (wall, rest) = parse_wall(s)?;
    Some(wall - parse_offset(rest)?)
}

/// A wall-clock time without zone (Graph's `dateTimeTimeZone.dateTime`), as seconds of that
/// wall clock counted as if it were UTC.
pub fn parse_wall_clock(s: &str) -> Option<i64> {
    parse_wall(s).map(|(w, _)| w)
}

fn split(t: i64) -> (i64, i64, i64, i64, i64, i64) {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    (y, m, d, s / 3600, s % 3600 / 60, s % 60)
}

/// `2021-02-28T07:15:00Z`.
pub fn xs(t: i64) -> String {
    let (y, m, d, h, mi, s) = split(t);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// iCalendar UTC form `20210228T071500Z`.
pub fn ics_utc(t: i64) -> String {
    format!("{}Z", ics_local(t))
}

/// iCalendar local form `20210228T071500` of a wall-clock time.
pub fn ics_local(t: i64) -> String {
    let (y, m, d, h, mi, s) = split(t);
    format!("{y:04}{m:02}{d:02}T{h:02}{mi:02}{s:02}")
}

/// iCalendar DATE form `20210228` of a wall-clock time.
pub fn ics_date(t: i64) -> String {
    let (y, m, d, ..) = split(t);
    format!("{y:04}{m:02}{d:02}")
}

/// `Sun, 28 Feb 2021 07:15:00 +0000`, the Date header form.
pub fn rfc5322(t: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d, h, mi, s) = split(t);
    let wd = DAYS
        .get(usize::try_from(weekday(t.div_euclid(86_400))).unwrap_or(0))
        .unwrap_or(&"Sun");
    let mon = MONTHS
        .get(usize::try_from(m - 1).unwrap_or(0))
        .unwrap_or(&"Jan");
    format!("{wd}, {d:02} {mon} {y:04} {h:02}:{mi:02}:{s:02} +0000")
}

/// `+01:00` / `-05:30`.
pub fn format_offset(offset: i64) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let a = offset.abs();
    format!("{sign}{:02}:{:02}", a / 3600, a % 3600 / 60)
}

/// An all-day item starts at local midnight: its UTC start gives away the zone's offset. Taken
/// in (-12 h, +14 h], the span real zones use.
pub fn offset_of_midnight(start_utc: i64) -> i64 {
    let mut off = -start_utc.rem_euclid(86_400);
    if off <= -12 * 3600 {
        off += 86_400;
    }
    off
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dst {
    None,
    /// Last Sunday of March to last Sunday of October, at 01:00 UTC.
    Eu,
    /// Second Sunday of March to first Sunday of November, at 02:00 local time.
    Us,
    /// First Sunday of October to first Sunday of April, at 02:00 local standard time.
    AuSouth,
}

/// A time zone the simulator knows: its Windows id, the IANA ids that mean it, the standard
/// offset and the daylight-saving rule.
#[derive(Debug)]
pub struct Zone {
    pub windows: &'static str,
    iana: &'static [&'static str],
    standard: i64,
    dst: Dst,
}

const H: i64 = 3600;

static ZONES: &[Zone] = &[
    Zone {
        windows: "UTC",
        iana: &["UTC", "Etc/UTC", "Etc/GMT"],
        standard: 0,
        dst: Dst::None,
    },
    Zone {
        windows: "GMT Standard Time",
        iana: &["Europe/London", "Europe/Dublin", "Europe/Lisbon"],
        standard: 0,
        dst: Dst::Eu,
    },
    Zone {
        windows: "Greenwich Standard Time",
        iana: &["Atlantic/Reykjavik", "Africa/Abidjan"],
        standard: 0,
        dst: Dst::None,
    },
    Zone {
        windows: "W. Europe Standard Time",
        iana: &[
            "Europe/Berlin",
            "Europe/Zurich",
            "Europe/Amsterdam",
            "Europe/Rome",
            "Europe/Vienna",
            "Europe/Stockholm",
            "Europe/Oslo",
            "Europe/Luxembourg",
        ],
        standard: H,
        dst: Dst::Eu,
    },
    Zone {
        windows: "Romance Standard Time",
        iana: &[
            "Europe/Paris",
            "Europe/Brussels",
            "Europe/Madrid",
            "Europe/Copenhagen",
        ],
        standard: H,
        dst: Dst::Eu,
    },
    Zone {
        windows: "Central Europe Standard Time",
        iana: &[
            "Europe/Budapest",
            "Europe/Prague",
            "Europe/Belgrade",
            "Europe/Bratislava",
            "Europe/Ljubljana",
        ],
        standard: H,
        dst: Dst::Eu,
    },
    Zone {
        windows: "Central European Standard Time",
        iana: &["Europe/Warsaw", "Europe/Zagreb", "Europe/Sarajevo"],
        standard: H,
        dst: Dst::Eu,
    },
    Zone {
        windows: "E. Europe Standard Time",
        iana: &["Europe/Chisinau"],
        standard: 2 * H,
        dst: Dst::Eu,
    },
    Zone {
        windows: "FLE Standard Time",
        iana: &[
            "Europe/Helsinki",
            "Europe/Kiev",
            "Europe/Kyiv",
            "Europe/Riga",
            "Europe/Tallinn",
            "Europe/Vilnius",
            "Europe/Sofia",
        ],
        standard: 2 * H,
        dst: Dst::Eu,
    },
    Zone {
        windows: "GTB Standard Time",
        iana: &["Europe/Athens", "Europe/Bucharest"],
        standard: 2 * H,
        dst: Dst::Eu,
    },
    Zone {
        windows: "Russian Standard Time",
        iana: &["Europe/Moscow"],
        standard: 3 * H,
        dst: Dst::None,
    },
    Zone {
        windows: "India Standard Time",
        iana: &["Asia/Kolkata", "Asia/Calcutta"],
        standard: 5 * H + 1800,
        dst: Dst::None,
    },
    Zone {
        windows: "China Standard Time",
        iana: &["Asia/Shanghai", "Asia/Hong_Kong"],
        standard: 8 * H,
        dst: Dst::None,
    },
    Zone {
        windows: "Singapore Standard Time",
        iana: &["Asia/Singapore", "Asia/Kuala_Lumpur"],
        standard: 8 * H,
        dst: Dst::None,
    },
    Zone {
        windows: "Tokyo Standard Time",
        iana: &["Asia/Tokyo"],
        standard: 9 * H,
        dst: Dst::None,
    },
    Zone {
        windows: "AUS Eastern Standard Time",
        iana: &["Australia/Sydney", "Australia/Melbourne"],
        standard: 10 * H,
        dst: Dst::AuSouth,
    },
    Zone {
        windows: "Eastern Standard Time",
        iana: &["America/New_York", "America/Toronto", "US/Eastern"],
        standard: -5 * H,
        dst: Dst::Us,
    },
    Zone {
        windows: "Central Standard Time",
        iana: &["America/Chicago", "US/Central"],
        standard: -6 * H,
        dst: Dst::Us,
    },
    Zone {
        windows: "Mountain Standard Time",
        iana: &["America/Denver", "US/Mountain"],
        standard: -7 * H,
        dst: Dst::Us,
    },
    Zone {
        windows: "Pacific Standard Time",
        iana: &["America/Los_Angeles", "US/Pacific"],
        standard: -8 * H,
        dst: Dst::Us,
    },
];

/// A zone by its Windows or IANA id, ignoring case.
pub fn zone(name: &str) -> Option<&'static Zone> {
    let name = name.trim();
    ZONES.iter().find(|z| {
        z.windows.eq_ignore_ascii_case(name) || z.iana.iter().any(|i| i.eq_ignore_ascii_case(name))
    })
}

/// Day number of the `n`th (1-based) Sunday of a month, or its last one for `n == 0`.
fn sunday(y: i64, m: i64, n: i64) -> i64 {
    if n == 0 {
        let last = if m == 12 {
            days_from_civil(y + 1, 1, 1) - 1
        } else {
            days_from_civil(y, m + 1, 1) - 1
        };
        last - weekday(last)
    } else {
        let first = days_from_civil(y, m, 1);
        first + (7 - weekday(first)) % 7 + 7 * (n - 1)
    }
}

impl Zone {
    /// The IANA id iCalendar's TZID uses for it.
    pub fn iana_name(&self) -> Option<&'static str> {
        self.iana.first().copied()
    }

    /// The zone's offset east of UTC at a UTC instant.
    pub fn offset_at(&self, utc: i64) -> i64 {
        let (y, ..) = civil_from_days(utc.div_euclid(86_400));
        let summer = match self.dst {
            Dst::None => false,
            Dst::Eu => {
                let from = sunday(y, 3, 0) * 86_400 + H;
                let to = sunday(y, 10, 0) * 86_400 + H;
                (from..to).contains(&utc)
            }
            Dst::Us => {
                let from = sunday(y, 3, 2) * 86_400 + 2 * H - self.standard;
                let to = sunday(y, 11, 1) * 86_400 + 2 * H - self.standard - H;
                (from..to).contains(&utc)
            }
            Dst::AuSouth => {
                let ends = sunday(y, 4, 1) * 86_400 + 2 * H - self.standard;
                let starts = sunday(y, 10, 1) * 86_400 + 2 * H - self.standard;
                utc < ends || utc >= starts
            }
        };
        self.standard + if summer { H } else { 0 }
    }

    /// The offset that applies to a wall-clock time of this zone.
    pub fn offset_for_wall(&self, wall: i64) -> i64 {
        let guess = self.offset_at(wall - self.standard);
        self.offset_at(wall - guess)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xs_round_trip_and_offsets() {
        let t = parse_xs("2021-02-28T07:15:00Z").unwrap();
        assert_eq!(xs(t), "2021-02-28T07:15:00Z");
        assert_eq!(parse_xs("2021-02-28T08:15:00.1234567+01:00"), Some(t));
        assert_eq!(parse_xs("2021-02-30T08:15:00Z"), None);
        assert_eq!(rfc5322(t), "Sun, 28 Feb 2021 07:15:00 +0000");
        assert_eq!(date_offset("2026-03-02+01:00"), Some(3600));
        assert_eq!(date_offset("2026-03-02"), None);
        assert_eq!(
            offset_of_midnight(parse_xs("2025-09-10T15:00:00Z").unwrap()),
            9 * H
        );
        assert_eq!(
            offset_of_midnight(parse_xs("2025-09-11T05:00:00Z").unwrap()),
            -5 * H
        );
    }

    #[test]
    fn daylight_saving_rules() {
        let berlin = zone("Europe/Berlin").unwrap();
        assert_eq!(berlin.windows, "W. Europe Standard Time");
        assert_eq!(
            berlin.offset_at(parse_xs("2026-01-15T12:00:00Z").unwrap()),
            H
        );
        assert_eq!(
            berlin.offset_at(parse_xs("2026-07-15T12:00:00Z").unwrap()),
            2 * H
        );
        // 2026: EU summer time from 29 March 01:00 UTC.
        assert_eq!(
            berlin.offset_at(parse_xs("2026-03-29T00:59:00Z").unwrap()),
            H
        );
        assert_eq!(
            berlin.offset_at(parse_xs("2026-03-29T01:00:00Z").unwrap()),
            2 * H
        );
        let ny = zone("eastern standard time").unwrap();
        // 2026: US daylight time from 8 March 07:00 UTC to 1 November 06:00 UTC.
        assert_eq!(
            ny.offset_at(parse_xs("2026-03-08T06:59:00Z").unwrap()),
            -5 * H
        );
        assert_eq!(
            ny.offset_at(parse_xs("2026-03-08T07:00:00Z").unwrap()),
            -4 * H
        );
        assert_eq!(
            ny.offset_at(parse_xs("2026-11-01T05:59:00Z").unwrap()),
            -4 * H
        );
        assert_eq!(
            ny.offset_at(parse_xs("2026-11-01T06:00:00Z").unwrap()),
            -5 * H
        );
        let sydney = zone("AUS Eastern Standard Time").unwrap();
        assert_eq!(
            sydney.offset_at(parse_xs("2026-01-15T00:00:00Z").unwrap()),
            11 * H
        );
        assert_eq!(
            sydney.offset_at(parse_xs("2026-07-15T00:00:00Z").unwrap()),
            10 * H
        );
        let wall = parse_wall_clock("2026-07-01T09:00:00.0000000").unwrap();
        assert_eq!(berlin.offset_for_wall(wall), 2 * H);
    }
}
