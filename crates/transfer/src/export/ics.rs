//! iCalendar (RFC 5545) from the `pim` records: one VCALENDAR per calendar folder, a VTIMEZONE
//! for every zone used (with its real transitions over the years the events span), a VEVENT
//! per item with organizer, attendees and answers, the series rule, deleted occurrences as
//! EXDATE, and every changed occurrence as its own VEVENT with RECURRENCE-ID.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDateTime, Utc};
use pim::{AttendeeKind, Event, Range, Response, Zone};

use crate::content_line::{escape, param_value, push_line};

const PRODID: &str = "-//Sync & Recover//Archive export//EN";

/// Years of zone rules written for a series without an end.
const OPEN_SERIES_YEARS: i32 = 10;

fn local(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

fn date(t: NaiveDateTime) -> String {
    t.format("%Y%m%d").to_string()
}

/// `DTSTART;TZID=Europe/Berlin:20261008T140000`, or a date for an all-day event, or UTC.
fn time_line(name: &str, event: &Event, t: NaiveDateTime) -> String {
    if event.all_day {
        return format!("{name};VALUE=DATE:{}", date(t));
    }
    let zone = event.zone();
    if zone == Zone::UTC {
        return format!("{name}:{}Z", local(t));
    }
    format!("{name};TZID={}:{}", zone.name(), local(t))
}

fn offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    format!("{sign}{:02}{:02}", s / 3600, (s % 3600) / 60)
}

/// The VTIMEZONE of a zone with every change in `first..=last`, plus the rule in force at the
/// start so that times before the first change resolve too.
fn vtimezone(out: &mut String, zone: Zone, first: i32, last: i32) {
    push_line(out, "BEGIN:VTIMEZONE");
    push_line(out, &format!("TZID:{}", zone.name()));
    let start = chrono::NaiveDate::from_ymd_opt(first, 1, 1)
        .unwrap_or_default()
        .and_time(chrono::NaiveTime::MIN);
    let initial = zone.rule_at(chrono::TimeZone::from_utc_datetime(&Utc, &start));
    let component = |out: &mut String, starts: NaiveDateTime, from: i32, to: &pim::ZoneRule| {
        let kind = if to.daylight { "DAYLIGHT" } else { "STANDARD" };
        push_line(out, &format!("BEGIN:{kind}"));
        push_line(out, &format!("DTSTART:{}", local(starts)));
        push_line(out, &format!("TZOFFSETFROM:{}", offset(from)));
        push_line(out, &format!("TZOFFSETTO:{}", offset(to.offset_seconds)));
        if !to.abbreviation.is_empty() && !to.abbreviation.starts_with(['+', '-']) {
            push_line(out, &format!("TZNAME:{}", escape(&to.abbreviation)));
        }
        push_line(out, &format!("END:{kind}"));
    };
    component(out, start, initial.offset_seconds, &initial);
    for change in zone.transitions(first, last) {
        component(
            out,
            change.local_start(),
            change.before.offset_seconds,
            &change.after,
        );
    }
    push_line(out, "END:VTIMEZONE");
}

/// The years an event needs zone rules for.
fn years(event: &Event) -> (i32, i32) {
    let first = event.start.year();
    let mut last = event.end.year().max(first);
    if let Some(series) = &event.recurrence {
        last = match series.range {
            Range::EndDate { end, .. } => end.year(),
            Range::NoEnd { .. } => first + OPEN_SERIES_YEARS,
            // Counted series: a daily one of a few hundred still ends within a couple of years;
            // a yearly one of n runs n years.
            Range::Numbered { count, .. } => first + i32::try_from(count).unwrap_or(50).min(50),
        }
        .max(last);
    }
    for x in &event.exceptions {
        last = last.max(x.start.year());
    }
    (first, last.min(first + 50))
}

fn partstat(response: Response) -> &'static str {
    match response {
        Response::Accepted | Response::Organizer => "ACCEPTED",
        Response::TentativelyAccepted => "TENTATIVE",
        Response::Declined => "DECLINED",
        Response::None | Response::NotResponded => "NEEDS-ACTION",
    }
}

fn common_lines(out: &mut String, event: &Event, stamp: &str) {
    push_line(out, &format!("UID:{}", escape(&event.uid)));
    push_line(out, &format!("DTSTAMP:{stamp}"));
}

fn master(out: &mut String, event: &Event, stamp: &str) {
    push_line(out, "BEGIN:VEVENT");
    common_lines(out, event, stamp);
    push_line(out, &time_line("DTSTART", event, event.start));
    push_line(out, &time_line("DTEND", event, event.end));
    push_line(out, &format!("SUMMARY:{}", escape(&event.subject)));
    if !event.location.is_empty() {
        push_line(out, &format!("LOCATION:{}", escape(&event.location)));
    }
    if !event.body.trim().is_empty() {
        let text = if event.body_is_html {
            archive::meta::html_text(&event.body)
        } else {
            event.body.clone()
        };
        push_line(out, &format!("DESCRIPTION:{}", escape(text.trim())));
        if event.body_is_html {
            push_line(
                out,
                &format!("X-ALT-DESC;FMTTYPE=text/html:{}", escape(&event.body)),
            );
        }
    }
    if let Some(series) = &event.recurrence {
        push_line(out, &format!("RRULE:{}", series.to_rrule(event.zone())));
        for deleted in &event.deleted_occurrences {
            push_line(out, &time_line("EXDATE", event, *deleted));
        }
    }
    if let Some(organizer) = &event.organizer {
        let cn = if organizer.name.is_empty() {
            String::new()
        } else {
            format!(";CN={}", param_value(&organizer.name))
        };
        push_line(out, &format!("ORGANIZER{cn}:mailto:{}", organizer.address));
    }
    for attendee in &event.attendees {
        let mut params = String::new();
        if !attendee.person.name.is_empty() {
            params.push_str(&format!(";CN={}", param_value(&attendee.person.name)));
        }
        let (cutype, role) = match attendee.kind {
            AttendeeKind::Required => ("INDIVIDUAL", "REQ-PARTICIPANT"),
            AttendeeKind::Optional => ("INDIVIDUAL", "OPT-PARTICIPANT"),
            AttendeeKind::Resource => ("RESOURCE", "NON-PARTICIPANT"),
        };
        params.push_str(&format!(
            ";CUTYPE={cutype};ROLE={role};PARTSTAT={}",
            partstat(attendee.response)
        ));
        push_line(
            out,
            &format!("ATTENDEE{params}:mailto:{}", attendee.person.address),
        );
    }
    if !event.categories.is_empty() {
        let list: Vec<String> = event.categories.iter().map(|c| escape(c)).collect();
        push_line(out, &format!("CATEGORIES:{}", list.join(",")));
    }
    let free = event.show_as.eq_ignore_ascii_case("free");
    push_line(
        out,
        &format!("TRANSP:{}", if free { "TRANSPARENT" } else { "OPAQUE" }),
    );
    if !event.show_as.is_empty() {
        push_line(
            out,
            &format!(
                "X-MICROSOFT-CDO-BUSYSTATUS:{}",
                escape(&event.show_as.to_ascii_uppercase())
            ),
        );
    }
    let class = match event.sensitivity.to_ascii_lowercase().as_str() {
        "private" | "personal" => "PRIVATE",
        "confidential" => "CONFIDENTIAL",
        _ => "PUBLIC",
    };
    push_line(out, &format!("CLASS:{class}"));
    if event.is_cancelled {
        push_line(out, "STATUS:CANCELLED");
    }
    if let Some(minutes) = event.reminder_minutes {
        push_line(out, "BEGIN:VALARM");
        push_line(out, "ACTION:DISPLAY");
        push_line(out, &format!("DESCRIPTION:{}", escape(&event.subject)));
        push_line(out, &format!("TRIGGER:-PT{}M", minutes.max(0)));
        push_line(out, "END:VALARM");
    }
    push_line(out, "END:VEVENT");
}

/// A calendar of events: what an `.ics` file holds. `stamp` is when it was written.
pub fn calendar(events: &[Event], stamp: chrono::DateTime<Utc>) -> String {
    let stamp = stamp.format("%Y%m%dT%H%M%SZ").to_string();
    let mut out = String::new();
    push_line(&mut out, "BEGIN:VCALENDAR");
    push_line(&mut out, "VERSION:2.0");
    push_line(&mut out, &format!("PRODID:{PRODID}"));
    push_line(&mut out, "CALSCALE:GREGORIAN");
    let mut zones: BTreeMap<&'static str, (Zone, i32, i32)> = BTreeMap::new();
    for event in events
        .iter()
        .filter(|e| !e.all_day && e.zone() != Zone::UTC)
    {
        let (first, last) = years(event);
        let entry = zones
            .entry(event.zone().name())
            .or_insert((event.zone(), first, last));
        entry.1 = entry.1.min(first);
        entry.2 = entry.2.max(last);
    }
    for (zone, first, last) in zones.values() {
        vtimezone(&mut out, *zone, *first, *last);
    }
    for event in events {
        master(&mut out, event, &stamp);
        if event.recurrence.is_none() {
            continue;
        }
        for x in &event.exceptions {
            push_line(&mut out, "BEGIN:VEVENT");
            common_lines(&mut out, event, &stamp);
            push_line(
                &mut out,
                &time_line("RECURRENCE-ID", event, x.original_start),
            );
            push_line(&mut out, &time_line("DTSTART", event, x.start));
            push_line(&mut out, &time_line("DTEND", event, x.end));
            let subject = x.subject.as_deref().unwrap_or(&event.subject);
            push_line(&mut out, &format!("SUMMARY:{}", escape(subject)));
            let location = x.location.as_deref().unwrap_or(&event.location);
            if !location.is_empty() {
                push_line(&mut out, &format!("LOCATION:{}", escape(location)));
            }
            push_line(&mut out, "END:VEVENT");
        }
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};
    use pim::{Attendee, Day, EventException, Pattern, Person, Recurrence};

    use super::*;
    use crate::records::ics_event;

    fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    fn weekly_review() -> Event {
        Event {
            uid: "040000008200E00074C5B7101A82E008-review".into(),
            subject: "Weekly review".into(),
            location: "Room 4.12, Paris".into(),
            body: "Agenda:\n1. numbers; 2. plans".into(),
            organizer: Some(Person {
                name: "Alice Martin".into(),
                address: "alice@contoso.com".into(),
            }),
            attendees: vec![
                Attendee {
                    person: Person {
                        name: "Bob, Jr.".into(),
                        address: "bob@contoso.com".into(),
                    },
                    kind: AttendeeKind::Required,
                    response: Response::Accepted,
                },
                Attendee {
                    person: Person {
                        name: "Carol".into(),
                        address: "carol@contoso.com".into(),
                    },
                    kind: AttendeeKind::Optional,
                    response: Response::TentativelyAccepted,
                },
                Attendee {
                    person: Person {
                        name: "Room 4.12".into(),
                        address: "room412@contoso.com".into(),
                    },
                    kind: AttendeeKind::Resource,
                    response: Response::Declined,
                },
            ],
            start: at(2026, 9, 7, 14),
            end: at(2026, 9, 7, 15),
            time_zone: "Europe/Berlin".into(),
            source_time_zone: "W. Europe Standard Time".into(),
            recurrence: Some(Recurrence {
                pattern: Pattern::Weekly {
                    days: vec![Day::Monday],
                },
                interval: 1,
                first_day_of_week: Day::Monday,
                range: Range::Numbered {
                    start: NaiveDate::from_ymd_opt(2026, 9, 7).unwrap(),
                    count: 8,
                },
            }),
            exceptions: vec![EventException {
                original_start: at(2026, 9, 21, 14),
                start: at(2026, 9, 23, 14),
                end: at(2026, 9, 23, 15),
                subject: Some("Weekly review (moved)".into()),
                location: None,
            }],
            deleted_occurrences: vec![at(2026, 9, 28, 14)],
            reminder_minutes: Some(15),
            categories: vec!["Team".into(), "Finance".into()],
            show_as: "Busy".into(),
            sensitivity: "Private".into(),
            ..Event::default()
        }
    }

    #[test]
    fn a_series_reads_back_with_its_exception_deletion_and_attendees() {
        let written = calendar(&[weekly_review()], Utc::now());
        assert!(written.split("\r\n").all(|l| l.len() <= 75));
        assert!(written.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"));
        // The zone rules cover the series: summer time ends on 25 October 2026.
        assert!(
            written.contains("DTSTART:20261025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100")
        );
        assert!(written.contains("RECURRENCE-ID;TZID=Europe/Berlin:20260921T140000\r\n"));
        assert!(written.contains("EXDATE;TZID=Europe/Berlin:20260928T140000\r\n"));
        assert!(written.contains(
            "ATTENDEE;CN=\"Bob, Jr.\";CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACC"
        ));

        let back = ics_event(written.as_bytes()).expect("our own calendar reads back");
        let want = weekly_review();
        assert_eq!(back.uid, want.uid);
        assert_eq!(back.subject, want.subject);
        assert_eq!(back.location, want.location);
        assert_eq!(back.body, want.body);
        assert_eq!((back.start, back.end), (want.start, want.end));
        assert_eq!(back.time_zone, "Europe/Berlin");
        assert_eq!(back.recurrence, want.recurrence);
        assert_eq!(back.exceptions, want.exceptions);
        assert_eq!(back.deleted_occurrences, want.deleted_occurrences);
        assert_eq!(back.organizer, want.organizer);
        assert_eq!(back.attendees, want.attendees);
        assert_eq!(back.reminder_minutes, Some(15));
        assert_eq!(back.categories, want.categories);
        assert_eq!(
            (back.show_as.as_str(), back.sensitivity.as_str()),
            ("Busy", "Private")
        );
        // The occurrences a reader computes from the file are the archive's.
        let window = (
            Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
        );
        assert_eq!(
            back.occurrences(window.0, window.1),
            want.occurrences(window.0, window.1)
        );
    }

    #[test]
    fn an_all_day_event_is_written_as_dates_without_a_zone() {
        let tokyo = Event {
            uid: "tokyo-offsite".into(),
            subject: "Offsite".into(),
            start: at(2026, 3, 10, 0),
            end: at(2026, 3, 13, 0),
            all_day: true,
            time_zone: "Asia/Tokyo".into(),
            ..Event::default()
        };
        let written = calendar(std::slice::from_ref(&tokyo), Utc::now());
        assert!(written.contains("DTSTART;VALUE=DATE:20260310\r\nDTEND;VALUE=DATE:20260313\r\n"));
        assert!(!written.contains("VTIMEZONE"));
        let back = ics_event(written.as_bytes()).unwrap();
        assert!(back.all_day);
        assert_eq!(back.all_day_dates(), tokyo.all_day_dates());
    }
}
