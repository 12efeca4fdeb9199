//! Time zones by the names Exchange uses: Windows names ("W. Europe Standard Time") from EWS and
//! Graph, IANA names ("Europe/Zurich") from iCalendar and Graph's `Prefer` header.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
