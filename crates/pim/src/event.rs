//! A calendar item (a single meeting or appointment, or the master of a series) and the
//! occurrences it has in a window of time.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use rrule::RRuleSet;
use serde::{Deserialize, Serialize};

use crate::recurrence::Recurrence;
use crate::zones::{zone_from_name, Zone};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub address: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttendeeKind {
    Required,
    Optional,
    Resource,
}

/// An attendee's answer, in Graph's words (EWS `ResponseType` maps onto them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    None,
    Organizer,
    TentativelyAccepted,
    Accepted,
    Declined,
    NotResponded,
}

impl Response {
    /// From EWS `ResponseType` ("Accept", "Tentative", "NoResponseReceived", ...) or Graph
    /// `status.response` ("accepted", "tentativelyAccepted", "notResponded", ...).
    pub fn parse(s: &str) -> Response {
        match s.trim().to_ascii_lowercase().as_str() {
            "organizer" => Response::Organizer,
            "accept" | "accepted" => Response::Accepted,
            "tentative" | "tentativelyaccepted" => Response::TentativelyAccepted,
            "decline" | "declined" => Response::Declined,
            "noresponsereceived" | "notresponded" => Response::NotResponded,
            _ => Response::None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Response::None => "",
            Response::Organizer => "Organizer",
            Response::TentativelyAccepted => "Tentative",
            Response::Accepted => "Accepted",
            Response::Declined => "Declined",
            Response::NotResponded => "No response",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attendee {
    pub person: Person,
    pub kind: AttendeeKind,
    pub response: Response,
}

/// An occurrence of a series that was changed on its own (moved, renamed, relocated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventException {
    /// When the series had it, local to the event's zone: the occurrence it replaces.
    pub original_start: NaiveDateTime,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    /// Set only where the source said the occurrence differs from the series.
    pub subject: Option<String>,
    pub location: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The iCalendar UID (EWS `UID`, Graph `iCalUId`), the same in every attendee's copy.
    pub uid: String,
    pub subject: String,
    pub location: String,
    /// Plain text, or sanitisable HTML when `body_is_html`.
    pub body: String,
    pub body_is_html: bool,
    pub organizer: Option<Person>,
    pub attendees: Vec<Attendee>,
    /// Local wall-clock times in `time_zone`. For an all-day event, midnights.
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub all_day: bool,
    /// IANA name the archive computes with.
    pub time_zone: String,
    /// The zone as the source named it ("Tokyo Standard Time"), for export and restore.
    pub source_time_zone: String,
    pub recurrence: Option<Recurrence>,
    pub exceptions: Vec<EventException>,
    /// Original starts (local) of occurrences deleted from the series.
    pub deleted_occurrences: Vec<NaiveDateTime>,
    pub reminder_minutes: Option<i64>,
    pub categories: Vec<String>,
    /// Free, Tentative, Busy, Oof, WorkingElsewhere, as the source says it.
    pub show_as: String,
    pub sensitivity: String,
    pub is_cancelled: bool,
}

/// One appearance of an event on the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Local to the event's zone; for all-day events the dates are what a reader sees.
    pub local_start: NaiveDateTime,
    pub local_end: NaiveDateTime,
    pub subject: String,
    pub location: String,
    pub all_day: bool,
    pub is_exception: bool,
    pub recurring: bool,
}

/// Occurrences beyond this many per event and window are left out: a daily series over a
/// decade-wide window must not stall a page.
const MAX_PER_WINDOW: u16 = 1000;

impl Event {
    pub fn zone(&self) -> Zone {
        zone_from_name(&self.time_zone).unwrap_or(Zone::UTC)
    }

    pub fn start_utc(&self) -> DateTime<Utc> {
        self.zone().to_utc(self.start)
    }

    fn duration(&self) -> Duration {
        (self.end - self.start).max(Duration::zero())
    }

    /// The dates an all-day event covers, last one included.
    pub fn all_day_dates(&self) -> (NaiveDate, NaiveDate) {
        let first = self.start.date();
        let last = if self.end.date() > first {
            self.end.date().pred_opt().unwrap_or(first)
        } else {
            first
        };
        (first, last)
    }

    fn occurrence_at(&self, local_start: NaiveDateTime, local_end: NaiveDateTime) -> Occurrence {
        let zone = self.zone();
        // All-day events are dates, not instants: the window test below uses them as UTC days.
        let (start, end) = if self.all_day {
            (
                Utc.from_utc_datetime(&local_start),
                Utc.from_utc_datetime(&local_end),
            )
        } else {
            (zone.to_utc(local_start), zone.to_utc(local_end))
        };
        Occurrence {
            start,
            end,
            local_start,
            local_end,
            subject: self.subject.clone(),
            location: self.location.clone(),
            all_day: self.all_day,
            is_exception: false,
            recurring: self.recurrence.is_some(),
        }
    }

    /// The event's occurrences that overlap `[from, to)`, sorted by start. A series is
    /// expanded in its own zone; deleted occurrences are left out and changed ones appear
    /// where they were moved to. All-day occurrences are compared by date, as if in UTC.
    pub fn occurrences(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Occurrence> {
        let overlaps = |o: &Occurrence| o.start < to && (o.end > from || o.start >= from);
        let mut out: Vec<Occurrence> = match &self.recurrence {
            None => vec![self.occurrence_at(self.start, self.end)],
            Some(r) => self.series(r, from, to),
        };
        for x in &self.exceptions {
            let mut o = self.occurrence_at(x.start, x.end);
            o.is_exception = true;
            if let Some(s) = &x.subject {
                o.subject = s.clone();
            }
            if let Some(l) = &x.location {
                o.location = l.clone();
            }
            out.push(o);
        }
        out.retain(overlaps);
        out.sort_by_key(|o| o.start);
        out
    }

    /// The pattern of a series as an rrule set in the event's zone.
    fn rule_set(&self, r: &Recurrence) -> Option<RRuleSet> {
        let zone = self.zone();
        let first = NaiveDateTime::new(r.start_date(), self.start.time());
        let rule = format!(
            "DTSTART;TZID={}:{}\nRRULE:{}",
            zone.name(),
            first.format("%Y%m%dT%H%M%S"),
            r.to_rrule(zone)
        );
        rule.parse::<RRuleSet>().ok()
    }

    /// The 1-based place of the occurrence whose original start (local) is `original` in the
    /// series' pattern, deleted and moved occurrences counted: what EWS calls its
    /// `InstanceIndex`. `None` when the event is no series or the pattern has no such start.
    pub fn instance_index(&self, original: NaiveDateTime) -> Option<u32> {
        let set = self.rule_set(self.recurrence.as_ref()?)?;
        let tz = rrule::Tz::Tz(self.zone().0);
        let until = self
            .zone()
            .to_utc(original + Duration::seconds(1))
            .with_timezone(&tz);
        let found = set.before(until).all(u16::MAX);
        let last = found.dates.last()?;
        (last.naive_local() == original).then_some(found.dates.len() as u32)
    }

    /// Local starts of the series' pattern in `[from, to)`, none left out (deleted and moved
    /// occurrences included), at most `limit`. Empty for a single event.
    pub fn pattern_starts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u16,
    ) -> Vec<NaiveDateTime> {
        let Some(set) = self.recurrence.as_ref().and_then(|r| self.rule_set(r)) else {
            return Vec::new();
        };
        let tz = rrule::Tz::Tz(self.zone().0);
        let zone = self.zone();
        set.after(from.with_timezone(&tz))
            .before(to.with_timezone(&tz))
            .all(limit)
            .dates
            .into_iter()
            .map(|d| d.naive_local())
            .filter(|local| {
                let at = zone.to_utc(*local);
                at >= from && at < to
            })
            .collect()
    }

    fn series(&self, r: &Recurrence, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Occurrence> {
        let zone = self.zone();
        let tz = rrule::Tz::Tz(zone.0);
        let Some(mut set) = self.rule_set(r) else {
            // A pattern rrule refuses (day 31 of February every year): the master still shows.
            return vec![self.occurrence_at(self.start, self.end)];
        };
        let skipped: Vec<NaiveDateTime> = self
            .deleted_occurrences
            .iter()
            .chain(self.exceptions.iter().map(|x| &x.original_start))
            .copied()
            .collect();
        let duration = self.duration();
        // Widen by the duration so an occurrence that began before `from` and is still going
        // is found; for all-day events also by a day either side, dates being zone-less.
        let margin = duration
            + if self.all_day {
                Duration::days(1)
            } else {
                Duration::zero()
            };
        let after = (from - margin).with_timezone(&tz);
        let before = (to + Duration::days(1)).with_timezone(&tz);
        set = set.after(after).before(before);
        let found = set.all(MAX_PER_WINDOW);
        found
            .dates
            .into_iter()
            .map(|d| d.naive_local())
            .filter(|local| !skipped.contains(local))
            .map(|local| self.occurrence_at(local, local + duration))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recurrence::{Day, Pattern, Range};

    fn local(s: &str) -> NaiveDateTime {
        s.parse().unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// Weekly on Monday 09:00 Zurich from 2 March 2026, six times; the 16 March one moved to
    /// Tuesday 14:00 in another room, the 23 March one deleted.
    fn weekly() -> Event {
        Event {
            uid: "040000008200E00074C5B7101A82E008".into(),
            subject: "Team meeting".into(),
            location: "Room 3.14".into(),
            start: local("2026-03-02T09:00:00"),
            end: local("2026-03-02T09:30:00"),
            time_zone: "Europe/Zurich".into(),
            recurrence: Some(Recurrence {
                pattern: Pattern::Weekly {
                    days: vec![Day::Monday],
                },
                interval: 1,
                first_day_of_week: Day::Monday,
                range: Range::Numbered {
                    start: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
                    count: 6,
                },
            }),
            exceptions: vec![EventException {
                original_start: local("2026-03-16T09:00:00"),
                start: local("2026-03-17T14:00:00"),
                end: local("2026-03-17T15:00:00"),
                subject: None,
                location: Some("Room 1.01".into()),
            }],
            deleted_occurrences: vec![local("2026-03-23T09:00:00")],
            ..Event::default()
        }
    }

    #[test]
    fn a_series_with_an_exception_and_a_deletion() {
        let e = weekly();
        let o = e.occurrences(utc("2026-03-01T00:00:00Z"), utc("2026-05-01T00:00:00Z"));
        let starts: Vec<String> = o.iter().map(|o| o.local_start.to_string()).collect();
        assert_eq!(
            starts,
            [
                "2026-03-02 09:00:00",
                "2026-03-09 09:00:00",
                "2026-03-17 14:00:00",
                "2026-03-30 09:00:00",
                "2026-04-06 09:00:00",
            ]
        );
        assert!(o[2].is_exception);
        assert_eq!(o[2].location, "Room 1.01");
        assert_eq!(o[2].subject, "Team meeting");
        // Summer time from 29 March: the same 09:00 is an hour earlier in UTC.
        assert_eq!(o[1].start, utc("2026-03-09T08:00:00Z"));
        assert_eq!(o[3].start, utc("2026-03-30T07:00:00Z"));
        assert_eq!(o[3].end - o[3].start, Duration::minutes(30));
    }

    #[test]
    fn an_occurrence_is_numbered_by_its_place_in_the_pattern() {
        let e = weekly();
        // Moved and deleted occurrences keep their places: 16 March is the third, 23 March
        // the fourth, and 30 March (after the change to summer time) the fifth.
        assert_eq!(e.instance_index(local("2026-03-02T09:00:00")), Some(1));
        assert_eq!(e.instance_index(local("2026-03-16T09:00:00")), Some(3));
        assert_eq!(e.instance_index(local("2026-03-23T09:00:00")), Some(4));
        assert_eq!(e.instance_index(local("2026-03-30T09:00:00")), Some(5));
        assert_eq!(
            e.instance_index(local("2026-03-17T09:00:00")),
            None,
            "no such start"
        );
        assert_eq!(
            e.instance_index(local("2026-04-13T09:00:00")),
            None,
            "after the sixth"
        );
        let single = Event {
            recurrence: None,
            ..weekly()
        };
        assert_eq!(single.instance_index(local("2026-03-02T09:00:00")), None);
    }

    #[test]
    fn a_window_shows_only_what_overlaps_it() {
        let e = weekly();
        let o = e.occurrences(utc("2026-03-09T08:15:00Z"), utc("2026-03-10T00:00:00Z"));
        assert_eq!(
            o.len(),
            1,
            "the 9 March meeting is still going at 08:15 UTC"
        );
        let o = e.occurrences(utc("2026-06-01T00:00:00Z"), utc("2026-07-01T00:00:00Z"));
        assert!(o.is_empty(), "six occurrences end in April");
    }

    #[test]
    fn an_all_day_event_stays_on_its_date() {
        // All-day on 11 March in Tokyo: its instants are 10 March 15:00 to 11 March 15:00 UTC,
        // but it is a day, and shows on 11 March.
        let e = Event {
            subject: "Founding day (Tokyo office)".into(),
            start: local("2026-03-11T00:00:00"),
            end: local("2026-03-12T00:00:00"),
            all_day: true,
            time_zone: "Asia/Tokyo".into(),
            ..Event::default()
        };
        assert_eq!(
            e.all_day_dates(),
            (
                NaiveDate::from_ymd_opt(2026, 3, 11).unwrap(),
                NaiveDate::from_ymd_opt(2026, 3, 11).unwrap()
            )
        );
        let day = |d: &str| {
            e.occurrences(
                utc(&format!("{d}T00:00:00Z")),
                utc(&format!("{d}T23:59:59Z")),
            )
            .len()
        };
        assert_eq!(
            (day("2026-03-10"), day("2026-03-11"), day("2026-03-12")),
            (0, 1, 0)
        );
    }
}
