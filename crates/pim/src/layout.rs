//! Occurrences laid out on the days of a calendar page, as a reader in one zone sees them: a
//! meeting at 09:00 in Zurich is at 16:00 on a Tokyo reader's page, while an all-day event
//! keeps its dates wherever it is read.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

use crate::event::{Event, Occurrence};
use crate::zones::Zone;

/// One occurrence on one day of the page. A timed occurrence is on the day it starts; an
/// all-day one on each of its dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub date: NaiveDate,
    /// In the reader's zone (for an all-day occurrence: its own dates, at midnight).
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub occurrence: Occurrence,
}

fn midnight(date: NaiveDate) -> NaiveDateTime {
    NaiveDateTime::new(date, NaiveTime::MIN)
}

/// The event's occurrences on the days `first..=last` as seen in `zone`.
pub fn place(event: &Event, zone: Zone, first: NaiveDate, last: NaiveDate) -> Vec<Placed> {
    let from = zone.to_utc(midnight(first));
    let to = zone.to_utc(midnight(last + Duration::days(1)));
    // A day of margin either side: all-day occurrences are compared by date as if in UTC, and
    // the reader's midnight is not UTC's.
    let found = event.occurrences(from - Duration::days(1), to + Duration::days(1));
    let mut placed = Vec::new();
    for o in found {
        if o.all_day {
            let first_date = o.local_start.date();
            let last_date = if o.local_end.date() > first_date {
                o.local_end.date() - Duration::days(1)
            } else {
                first_date
            };
            let mut date = first_date.max(first);
            while date <= last_date.min(last) {
                placed.push(Placed {
                    date,
                    start: o.local_start,
                    end: o.local_end,
                    occurrence: o.clone(),
                });
                date += Duration::days(1);
            }
        } else {
            let start = zone.to_local(o.start);
            if start.date() >= first && start.date() <= last {
                placed.push(Placed {
                    date: start.date(),
                    start,
                    end: zone.to_local(o.end),
                    occurrence: o,
                });
            }
        }
    }
    placed
}

/// The order a day shows its occurrences in: by date, all-day ones first, then by start.
pub fn day_order(a: &Placed, b: &Placed) -> std::cmp::Ordering {
    let key = |p: &Placed| (p.date, !p.occurrence.all_day, p.start);
    key(a)
        .cmp(&key(b))
        .then_with(|| a.occurrence.subject.cmp(&b.occurrence.subject))
}

/// The zone most of these events are in: what a calendar of one person is best read in.
/// Ties go to the name first in order, so the choice does not flicker; no events: UTC.
pub fn usual_zone<'a>(events: impl IntoIterator<Item = &'a Event>) -> Zone {
    let mut counts: std::collections::BTreeMap<&'static str, usize> = Default::default();
    for e in events {
        if !e.all_day {
            *counts.entry(e.zone().name()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .and_then(|(name, _)| crate::zone_from_name(name))
        .unwrap_or(Zone::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recurrence::{Day, Pattern, Range, Recurrence};

    fn local(s: &str) -> NaiveDateTime {
        s.parse().unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn zone(name: &str) -> Zone {
        crate::zone_from_name(name).unwrap()
    }

    fn weekly_zurich() -> Event {
        Event {
            subject: "Team meeting".into(),
            start: local("2026-03-23T09:00:00"),
            end: local("2026-03-23T09:30:00"),
            time_zone: "Europe/Zurich".into(),
            recurrence: Some(Recurrence {
                pattern: Pattern::Weekly {
                    days: vec![Day::Monday],
                },
                interval: 1,
                first_day_of_week: Day::Monday,
                range: Range::Numbered {
                    start: date("2026-03-23"),
                    count: 3,
                },
            }),
            ..Event::default()
        }
    }

    #[test]
    fn a_series_keeps_its_own_hour_and_moves_in_the_readers_zone() {
        let e = weekly_zurich();
        // In Zurich: 09:00 on each Monday, before and after the change to summer time (29 Mar).
        let here = place(
            &e,
            zone("Europe/Zurich"),
            date("2026-03-01"),
            date("2026-04-30"),
        );
        let starts: Vec<NaiveDateTime> = here.iter().map(|p| p.start).collect();
        assert_eq!(
            starts,
            vec![
                local("2026-03-23T09:00:00"),
                local("2026-03-30T09:00:00"),
                local("2026-04-06T09:00:00")
            ]
        );
        // In Tokyo (no summer time) the same meetings are at 17:00, then 16:00.
        let tokyo = place(
            &e,
            zone("Asia/Tokyo"),
            date("2026-03-01"),
            date("2026-04-30"),
        );
        let starts: Vec<NaiveDateTime> = tokyo.iter().map(|p| p.start).collect();
        assert_eq!(
            starts,
            vec![
                local("2026-03-23T17:00:00"),
                local("2026-03-30T16:00:00"),
                local("2026-04-06T16:00:00")
            ]
        );
        // A page that ends before the last one leaves it out.
        assert_eq!(
            place(
                &e,
                zone("Europe/Zurich"),
                date("2026-03-01"),
                date("2026-03-31")
            )
            .len(),
            2
        );
    }

    #[test]
    fn a_late_meeting_lands_on_the_next_day_far_east() {
        let e = Event {
            start: local("2026-06-10T20:00:00"),
            end: local("2026-06-10T21:00:00"),
            time_zone: "America/New_York".into(),
            ..Event::default()
        };
        let placed = place(
            &e,
            zone("Asia/Tokyo"),
            date("2026-06-01"),
            date("2026-06-30"),
        );
        assert_eq!(placed.len(), 1);
        assert_eq!(placed[0].date, date("2026-06-11"));
        assert_eq!(placed[0].start, local("2026-06-11T09:00:00"));
    }

    #[test]
    fn an_all_day_event_keeps_its_dates_in_any_zone_and_covers_each() {
        let e = Event {
            subject: "Conference".into(),
            start: local("2026-05-04T00:00:00"),
            end: local("2026-05-07T00:00:00"),
            all_day: true,
            time_zone: "Asia/Tokyo".into(),
            ..Event::default()
        };
        for reader in ["Asia/Tokyo", "Europe/Zurich", "America/Los_Angeles", "UTC"] {
            let placed = place(&e, zone(reader), date("2026-05-01"), date("2026-05-31"));
            let dates: Vec<NaiveDate> = placed.iter().map(|p| p.date).collect();
            assert_eq!(
                dates,
                vec![date("2026-05-04"), date("2026-05-05"), date("2026-05-06")],
                "read in {reader}"
            );
        }
        // A page that starts on the 5th shows the 5th and 6th only.
        let placed = place(&e, zone("UTC"), date("2026-05-05"), date("2026-05-31"));
        assert_eq!(placed.len(), 2);
    }

    #[test]
    fn a_day_lists_all_day_events_first_then_by_time() {
        let meeting = Event {
            subject: "Standup".into(),
            start: local("2026-05-05T08:00:00"),
            end: local("2026-05-05T08:15:00"),
            time_zone: "UTC".into(),
            ..Event::default()
        };
        let holiday = Event {
            subject: "Holiday".into(),
            start: local("2026-05-05T00:00:00"),
            end: local("2026-05-06T00:00:00"),
            all_day: true,
            ..Event::default()
        };
        let z = zone("UTC");
        let mut day: Vec<Placed> = [meeting, holiday]
            .iter()
            .flat_map(|e| place(e, z, date("2026-05-05"), date("2026-05-05")))
            .collect();
        day.sort_by(day_order);
        let subjects: Vec<&str> = day.iter().map(|p| p.occurrence.subject.as_str()).collect();
        assert_eq!(subjects, vec!["Holiday", "Standup"]);
    }

    #[test]
    fn the_usual_zone_is_the_one_most_meetings_are_in() {
        let at = |zone: &str| Event {
            time_zone: zone.into(),
            ..Event::default()
        };
        let events = [at("Europe/Zurich"), at("Asia/Tokyo"), at("Europe/Zurich")];
        assert_eq!(usual_zone(&events).name(), "Europe/Zurich");
        assert_eq!(usual_zone(&[]).name(), "UTC");
    }
}
