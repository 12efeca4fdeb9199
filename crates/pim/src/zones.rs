//! Time zones by the names Exchange uses: Windows names ("W. Europe Standard Time") from EWS and
//! Graph, IANA names ("Europe/Zurich") from iCalendar and Graph's `Prefer` header.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use windows_timezones::WindowsTimezone;

/// A zone the archive can compute with. Unknown names fall back to UTC, and say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(pub Tz);

/// The IANA zone for a Windows or IANA zone name; `None` when neither knows it.
pub fn zone_from_name(name: &str) -> Option<Zone> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    if let Ok(tz) = name.parse::<Tz>() {
        return Some(Zone(tz));
    }
    if name.eq_ignore_ascii_case("utc") || name.eq_ignore_ascii_case("tzone://Microsoft/Utc") {
        return Some(Zone(Tz::UTC));
    }
    name.parse::<WindowsTimezone>()
        .ok()
        .map(|w| Zone(Tz::from(w)))
}

impl Zone {
    pub const UTC: Zone = Zone(Tz::UTC);

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The instant of a local wall-clock time. A time skipped by a daylight-saving change is
    /// taken an hour later, as Outlook does; an ambiguous one is the earlier of the two.
    pub fn to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.0.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            LocalResult::None => {
                let later = local + chrono::Duration::hours(1);
                match self.0.from_local_datetime(&later) {
                    LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
                    LocalResult::None => Utc.from_utc_datetime(&local),
                }
            }
        }
    }

    pub fn to_local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.with_timezone(&self.0).naive_local()
    }

    /// The zone's rule in force at an instant: what an iCalendar VTIMEZONE writes.
    pub fn rule_at(&self, at: DateTime<Utc>) -> ZoneRule {
        let offset = self.0.offset_from_utc_datetime(&at.naive_utc());
        ZoneRule {
            offset_seconds: offset.fix().local_minus_utc(),
            daylight: !offset.dst_offset().is_zero(),
            abbreviation: offset.abbreviation().unwrap_or_default().to_owned(),
        }
    }

    /// Every change of the zone's offset in the years `first..=last`, in order. Found by
    /// comparing days and then narrowing to the second, since chrono-tz does not list them.
    pub fn transitions(&self, first: i32, last: i32) -> Vec<Transition> {
        let (Some(from), Some(to)) = (
            NaiveDate::from_ymd_opt(first, 1, 1),
            NaiveDate::from_ymd_opt(last.max(first), 12, 31),
        ) else {
            return Vec::new();
        };
        let at = |d: NaiveDate| Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN));
        let mut out = Vec::new();
        let mut day = from;
        let mut before = self.rule_at(at(day));
        while day < to {
            let Some(next) = day.succ_opt() else { break };
            let after = self.rule_at(at(next));
            if after != before {
                // The change lies in (day, next]: halve the interval down to the second.
                let (mut lo, mut hi) = (at(day).timestamp(), at(next).timestamp());
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    let probe = DateTime::from_timestamp(mid, 0).unwrap_or_default();
                    if self.rule_at(probe) == before {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                let instant = DateTime::from_timestamp(hi, 0).unwrap_or_default();
                out.push(Transition {
                    at: instant,
                    before: before.clone(),
                    after: after.clone(),
                });
                before = after;
            }
            day = next;
        }
        out
    }
}

/// An offset from UTC and whether it is daylight-saving time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneRule {
    pub offset_seconds: i32,
    pub daylight: bool,
    pub abbreviation: String,
}

/// A change of a zone's rule at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub at: DateTime<Utc>,
    pub before: ZoneRule,
    pub after: ZoneRule,
}

impl Transition {
    /// The wall-clock time the change happens at, as clocks showed it just before.
    pub fn local_start(&self) -> NaiveDateTime {
        self.at.naive_utc() + chrono::Duration::seconds(i64::from(self.before.offset_seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_are_found_to_the_second() {
        let berlin = zone_from_name("Europe/Berlin").unwrap();
        let changes = berlin.transitions(2026, 2026);
        assert_eq!(changes.len(), 2);
        // 29 March 2026, 02:00 CET becomes 03:00 CEST; 25 October, 03:00 CEST becomes 02:00.
        assert_eq!(
            changes[0].at,
            Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap()
        );
        assert_eq!(changes[0].local_start().to_string(), "2026-03-29 02:00:00");
        assert_eq!(changes[0].before.offset_seconds, 3600);
        assert_eq!(changes[0].after.offset_seconds, 7200);
        assert!(changes[0].after.daylight);
        assert_eq!(changes[0].after.abbreviation, "CEST");
        assert_eq!(changes[1].local_start().to_string(), "2026-10-25 03:00:00");
        assert!(!changes[1].after.daylight);
        assert!(zone_from_name("Asia/Tokyo")
            .unwrap()
            .transitions(2020, 2030)
            .is_empty());
    }

    #[test]
    fn windows_and_iana_names() {
        assert_eq!(
            zone_from_name("Tokyo Standard Time").map(|z| z.name()),
            Some("Asia/Tokyo")
        );
        assert_eq!(
            zone_from_name("W. Europe Standard Time").map(|z| z.name()),
            Some("Europe/Berlin")
        );
        assert_eq!(
            zone_from_name("Europe/Zurich").map(|z| z.name()),
            Some("Europe/Zurich")
        );
        assert_eq!(zone_from_name("UTC").map(|z| z.name()), Some("UTC"));
        assert_eq!(zone_from_name("Mars Standard Time"), None);
        assert_eq!(zone_from_name(""), None);
    }

    #[test]
    fn local_times_across_daylight_saving() {
        let z = Zone(chrono_tz::Europe::Zurich);
        let winter = "2026-03-23T09:00:00".parse::<NaiveDateTime>().unwrap();
        let summer = "2026-03-30T09:00:00".parse::<NaiveDateTime>().unwrap();
        assert_eq!(z.to_utc(winter).to_rfc3339(), "2026-03-23T08:00:00+00:00");
        assert_eq!(z.to_utc(summer).to_rfc3339(), "2026-03-30T07:00:00+00:00");
        // 02:30 on 29 March 2026 does not exist in Zurich.
        let skipped = "2026-03-29T02:30:00".parse::<NaiveDateTime>().unwrap();
        assert_eq!(z.to_utc(skipped).to_rfc3339(), "2026-03-29T01:30:00+00:00");
    }
}
