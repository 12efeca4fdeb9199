//! iCalendar and vCard read into the `pim` records, for items that have only their content: those
//! archived before records were kept, and files imported. What the format does not say (an EWS
//! calendar item's MIME leaves its attendees out) stays empty; nothing is guessed.
//!
//! [`record_meta`] gives the list columns (subject, organizer, date) of any record.

use archive::{ItemMeta, Timestamp};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use pim::{
    Attendee, AttendeeKind, Contact, ContactEmail, ContactPhone, Day, Event, EventException,
    Pattern, Person, Photo, PostalAddress, Range, Recurrence, Response, WeekIndex, Zone,
};

use crate::content_line::{content_lines, param, strip_mailto};

type Line = (String, String, String);

/// A time as iCalendar writes it: `…Z` (UTC), with `TZID` (local to that zone), floating, or a
/// date (`VALUE=DATE`). Returned local to `zone`, with whether it was a date.
fn ical_time(params: &str, value: &str, zone: Zone) -> Option<(NaiveDateTime, bool)> {
    let v = value.trim();
    let date = NaiveDate::parse_from_str(v.get(..8)?, "%Y%m%d").ok()?;
    if v.len() == 8 || param(params, "VALUE").is_some_and(|p| p.eq_ignore_ascii_case("DATE")) {
        return Some((NaiveDateTime::new(date, NaiveTime::MIN), true));
    }
    let time = NaiveTime::parse_from_str(v.get(9..15)?, "%H%M%S").ok()?;
    let wall = NaiveDateTime::new(date, time);
    if v.ends_with('Z') {
        return Some((zone.to_local(Zone::UTC.to_utc(wall)), false));
    }
    match param(params, "TZID").and_then(|z| pim::zone_from_name(&z)) {
        Some(written) => Some((zone.to_local(written.to_utc(wall)), false)),
        None => Some((wall, false)),
    }
}

/// The event's zone: the TZID of its start (IANA or Windows name), else UTC.
fn event_zone(lines: &[Line]) -> (Zone, String) {
    let named = lines
        .iter()
        .find(|(n, _, _)| n == "DTSTART")
        .and_then(|(_, p, _)| param(p, "TZID"))
        .unwrap_or_default();
    (pim::zone_from_name(&named).unwrap_or(Zone::UTC), named)
}

fn week_index(n: i32) -> Option<WeekIndex> {
    match n {
        1 => Some(WeekIndex::First),
        2 => Some(WeekIndex::Second),
        3 => Some(WeekIndex::Third),
        4 => Some(WeekIndex::Fourth),
        -1 => Some(WeekIndex::Last),
        _ => None,
    }
}

fn ical_day(code: &str) -> Option<Day> {
    Some(match code {
        "MO" => Day::Monday,
        "TU" => Day::Tuesday,
        "WE" => Day::Wednesday,
        "TH" => Day::Thursday,
        "FR" => Day::Friday,
        "SA" => Day::Saturday,
        "SU" => Day::Sunday,
        _ => return None,
    })
}

fn day_of(w: chrono::Weekday) -> Day {
    match w {
        chrono::Weekday::Mon => Day::Monday,
        chrono::Weekday::Tue => Day::Tuesday,
        chrono::Weekday::Wed => Day::Wednesday,
        chrono::Weekday::Thu => Day::Thursday,
        chrono::Weekday::Fri => Day::Friday,
        chrono::Weekday::Sat => Day::Saturday,
        chrono::Weekday::Sun => Day::Sunday,
    }
}

/// An RRULE in the shapes Exchange itself writes (its six patterns); any other is `None`, and
/// the item then shows as its first occurrence rather than as a wrong series.
fn recurrence(rule: &str, start: NaiveDate, zone: Zone) -> Option<Recurrence> {
    let part = |k: &str| {
        rule.split(';')
            .filter_map(|p| p.split_once('='))
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.trim().to_ascii_uppercase())
    };
    // BYDAY entries with an ordinal ("2TU", "-1FR") or BYSETPOS give the week of the month.
    let mut ordinal: Option<i32> = part("BYSETPOS").and_then(|p| p.parse().ok());
    let mut days = Vec::new();
    for d in part("BYDAY")
        .unwrap_or_default()
        .split(',')
        .filter(|d| !d.is_empty())
    {
        let split = d.len().checked_sub(2)?;
        let (n, code) = d.split_at(split);
        if !n.is_empty() {
            ordinal = Some(n.parse().ok()?);
        }
        days.push(ical_day(code)?);
    }
    let num = |k: &str| part(k).and_then(|v| v.parse::<u32>().ok());
    let pattern = match part("FREQ")?.as_str() {
        "DAILY" => Pattern::Daily,
        "WEEKLY" => Pattern::Weekly {
            days: if days.is_empty() {
                vec![day_of(chrono::Datelike::weekday(&start))]
            } else {
                days
            },
        },
        "MONTHLY" => match (num("BYMONTHDAY"), ordinal) {
            (Some(day_of_month), _) => Pattern::AbsoluteMonthly { day_of_month },
            (None, Some(n)) if !days.is_empty() => Pattern::RelativeMonthly {
                days,
                index: week_index(n)?,
            },
            _ => Pattern::AbsoluteMonthly {
                day_of_month: chrono::Datelike::day(&start),
            },
        },
        "YEARLY" => {
            let month = num("BYMONTH").unwrap_or(chrono::Datelike::month(&start));
            match (num("BYMONTHDAY"), ordinal) {
                (None, Some(n)) if !days.is_empty() => Pattern::RelativeYearly {
                    month,
                    days,
                    index: week_index(n)?,
                },
                (day, _) => Pattern::AbsoluteYearly {
                    month,
                    day_of_month: day.unwrap_or(chrono::Datelike::day(&start)),
                },
            }
        }
        _ => return None,
    };
    let range = match (num("COUNT"), part("UNTIL")) {
        (Some(count), _) => Range::Numbered { start, count },
        (None, Some(until)) => Range::EndDate {
            start,
            end: ical_time("", &until, zone)?.0.date(),
        },
        _ => Range::NoEnd { start },
    };
    Some(Recurrence {
        pattern,
        interval: num("INTERVAL").unwrap_or(1).max(1),
        first_day_of_week: part("WKST")
            .and_then(|d| ical_day(&d))
            .unwrap_or(Day::Monday),
        range,
    })
}

/// The VEVENTs of a calendar object, each as its content lines.
fn vevents(data: &[u8]) -> Vec<Vec<Line>> {
    let mut out = Vec::new();
    let mut current: Option<Vec<Line>> = None;
    let mut depth = 0;
    for line in content_lines(data) {
        let (name, _, value) = &line;
        match (name.as_str(), current.is_some()) {
            ("BEGIN", false) if value.eq_ignore_ascii_case("VEVENT") => current = Some(Vec::new()),
            // A VALARM inside the event: its lines are the event's (TRIGGER is the reminder).
            ("BEGIN", true) => {
                depth += 1;
                if let Some(c) = current.as_mut() {
                    c.push(line);
                }
            }
            ("END", true) if depth == 0 && value.eq_ignore_ascii_case("VEVENT") => {
                out.extend(current.take());
            }
            ("END", true) => {
                depth -= 1;
                if let Some(c) = current.as_mut() {
                    c.push(line);
                }
            }
            (_, true) => {
                if let Some(c) = current.as_mut() {
                    c.push(line);
                }
            }
            _ => {}
        }
    }
    out
}

fn first<'a>(lines: &'a [Line], name: &str) -> Option<&'a Line> {
    lines.iter().find(|(n, _, _)| n == name)
}

fn text(lines: &[Line], name: &str) -> String {
    first(lines, name)
        .map(|(_, _, v)| v.trim().to_owned())
        .unwrap_or_default()
}

/// `-PT15M`, `-PT1H`, `-P1D` as minutes before the start.
fn trigger_minutes(v: &str) -> Option<i64> {
    let v = v.trim();
    let rest = v.strip_prefix("-P")?;
    let (days, time) = match rest.split_once('T') {
        Some((d, t)) => (d, t),
        None => (rest, ""),
    };
    let mut minutes = 0i64;
    if let Some(d) = days.strip_suffix('D') {
        minutes += d.parse::<i64>().ok()? * 1440;
    } else if let Some(w) = days.strip_suffix('W') {
        minutes += w.parse::<i64>().ok()? * 10080;
    }
    let mut num = String::new();
    for c in time.chars() {
        match c {
            '0'..='9' => num.push(c),
            'H' => minutes += std::mem::take(&mut num).parse::<i64>().ok()? * 60,
            'M' => minutes += std::mem::take(&mut num).parse::<i64>().ok()?,
            'S' => num.clear(),
            _ => return None,
        }
    }
    Some(minutes)
}

/// A calendar item's iCalendar (one series or single event, with its changed occurrences as
/// further VEVENTs carrying RECURRENCE-ID). `None` without a readable start.
pub fn ics_event(data: &[u8]) -> Option<Event> {
    let all = vevents(data);
    let master = all
        .iter()
        .find(|e| first(e, "RECURRENCE-ID").is_none())
        .or(all.first())?;
    let (zone, source_zone) = event_zone(master);
    let time =
        |lines: &[Line], name: &str| first(lines, name).and_then(|(_, p, v)| ical_time(p, v, zone));
    let (start, all_day) = time(master, "DTSTART")?;
    let end = time(master, "DTEND").map(|t| t.0).unwrap_or(if all_day {
        start + chrono::Duration::days(1)
    } else {
        start
    });
    let organizer = first(master, "ORGANIZER").map(|(_, p, v)| Person {
        name: param(p, "CN").unwrap_or_default(),
        address: strip_mailto(v),
    });
    let attendees = master
        .iter()
        .filter(|(n, _, _)| n == "ATTENDEE")
        .map(|(_, p, v)| Attendee {
            person: Person {
                name: param(p, "CN").unwrap_or_default(),
                address: strip_mailto(v),
            },
            // A room or resource is one whatever its role (Outlook writes rooms as
            // NON-PARTICIPANT).
            kind: if param(p, "CUTYPE").is_some_and(|c| {
                c.eq_ignore_ascii_case("RESOURCE") || c.eq_ignore_ascii_case("ROOM")
            }) {
                AttendeeKind::Resource
            } else {
                match param(p, "ROLE")
                    .unwrap_or_default()
                    .to_ascii_uppercase()
                    .as_str()
                {
                    "OPT-PARTICIPANT" | "NON-PARTICIPANT" => AttendeeKind::Optional,
                    _ => AttendeeKind::Required,
                }
            },
            response: match param(p, "PARTSTAT")
                .unwrap_or_default()
                .to_ascii_uppercase()
                .as_str()
            {
                "ACCEPTED" => Response::Accepted,
                "TENTATIVE" => Response::TentativelyAccepted,
                "DECLINED" => Response::Declined,
                "NEEDS-ACTION" => Response::NotResponded,
                _ => Response::None,
            },
        })
        .collect();
    let rule = text(master, "RRULE");
    let series = (!rule.is_empty())
        .then(|| recurrence(&rule, start.date(), zone))
        .flatten();
    let (exceptions, deleted_occurrences) = if series.is_some() {
        let exceptions = all
            .iter()
            .filter_map(|e| {
                let original = time(e, "RECURRENCE-ID")?.0;
                let s = time(e, "DTSTART").map(|t| t.0).unwrap_or(original);
                let differs = |name: &str, series: &str| {
                    let own = text(e, name);
                    (!own.is_empty() && own != series).then_some(own)
                };
                Some(EventException {
                    original_start: original,
                    start: s,
                    end: time(e, "DTEND").map(|t| t.0).unwrap_or(s + (end - start)),
                    subject: differs("SUMMARY", &text(master, "SUMMARY")),
                    location: differs("LOCATION", &text(master, "LOCATION")),
                })
            })
            .collect();
        let deleted = master
            .iter()
            .filter(|(n, _, _)| n == "EXDATE")
            .flat_map(|(_, p, v)| {
                v.split(',')
                    .filter_map(|one| ical_time(p, one, zone).map(|t| t.0))
                    .collect::<Vec<_>>()
            })
            .collect();
        (exceptions, deleted)
    } else {
        (Vec::new(), Vec::new())
    };
    Some(Event {
        uid: text(master, "UID"),
        subject: text(master, "SUMMARY"),
        location: text(master, "LOCATION"),
        body: text(master, "DESCRIPTION"),
        body_is_html: false,
        organizer,
        attendees,
        start,
        end,
        all_day,
        time_zone: zone.name().to_owned(),
        source_time_zone: source_zone,
        recurrence: series,
        exceptions,
        deleted_occurrences,
        reminder_minutes: first(master, "TRIGGER").and_then(|(_, _, v)| trigger_minutes(v)),
        categories: text(master, "CATEGORIES")
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        show_as: match text(master, "TRANSP").to_ascii_uppercase().as_str() {
            "TRANSPARENT" => "Free".into(),
            _ => "Busy".into(),
        },
        sensitivity: match text(master, "CLASS").to_ascii_uppercase().as_str() {
            "PRIVATE" => "Private".into(),
            "CONFIDENTIAL" => "Confidential".into(),
            _ => "Normal".into(),
        },
        is_cancelled: text(master, "STATUS").eq_ignore_ascii_case("CANCELLED"),
    })
}

fn types(params: &str) -> Vec<String> {
    params
        .split(';')
        .filter_map(|p| p.split_once('='))
        .filter(|(k, _)| k.eq_ignore_ascii_case("TYPE"))
        .flat_map(|(_, v)| {
            v.split(',')
                .map(|t| t.trim_matches('"').to_ascii_uppercase())
        })
        .collect()
}

/// A vCard (3.0 or 4.0). `None` when it is not one.
pub fn vcf_contact(data: &[u8]) -> Option<Contact> {
    let lines = content_lines(data);
    if !lines
        .iter()
        .any(|(n, _, v)| n == "BEGIN" && v.eq_ignore_ascii_case("VCARD"))
    {
        return None;
    }
    let mut c = Contact {
        display_name: text(&lines, "FN"),
        nickname: text(&lines, "NICKNAME"),
        job_title: text(&lines, "TITLE"),
        notes: text(&lines, "NOTE"),
        web_page: text(&lines, "URL"),
        ..Contact::default()
    };
    let n = text(&lines, "N");
    let mut parts = n.split(';').map(str::trim);
    c.surname = parts.next().unwrap_or("").to_owned();
    c.given_name = parts.next().unwrap_or("").to_owned();
    c.middle_name = parts.next().unwrap_or("").to_owned();
    c.title = parts.next().unwrap_or("").to_owned();
    c.suffix = parts.next().unwrap_or("").to_owned();
    let org = text(&lines, "ORG");
    let mut org = org.split(';').map(str::trim);
    c.company = org.next().unwrap_or("").to_owned();
    c.department = org.next().unwrap_or("").to_owned();
    for (name, params, value) in &lines {
        let t = types(params);
        let has = |x: &str| t.iter().any(|t| t == x);
        match name.as_str() {
            "EMAIL" if !value.trim().is_empty() => c.emails.push(ContactEmail {
                label: format!("EmailAddress{}", c.emails.len() + 1),
                address: value.trim().to_owned(),
                name: c.display_name.clone(),
            }),
            "TEL" if !value.trim().is_empty() => c.phones.push(ContactPhone {
                label: if has("CELL") {
                    "MobilePhone"
                } else if has("FAX") {
                    if has("HOME") {
                        "HomeFax"
                    } else {
                        "BusinessFax"
                    }
                } else if has("HOME") {
                    "HomePhone"
                } else {
                    "BusinessPhone"
                }
                .into(),
                number: value.trim().to_owned(),
            }),
            "ADR" => {
                let f: Vec<&str> = value.split(';').map(str::trim).collect();
                let at = |i: usize| f.get(i).copied().unwrap_or("").to_owned();
                c.addresses.push(PostalAddress {
                    label: if has("HOME") {
                        "Home"
                    } else if has("WORK") {
                        "Business"
                    } else {
                        "Other"
                    }
                    .into(),
                    street: [at(1), at(2)]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join("\n"),
                    city: at(3),
                    state: at(4),
                    postal_code: at(5),
                    country: at(6),
                });
            }
            "IMPP" | "X-MS-IMADDRESS" => c.im_addresses.push(value.trim().to_owned()),
            "CATEGORIES" => c.categories.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            ),
            "BDAY" => {
                let digits: String = value.chars().filter(char::is_ascii_digit).collect();
                c.birthday = digits
                    .get(..8)
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok());
            }
            "PHOTO" => {
                // 3.0: ENCODING=b;TYPE=PNG:<base64>; 4.0: data:image/png;base64,<base64>.
                let (kind, b64) = match value.trim().strip_prefix("data:") {
                    Some(uri) => match uri.split_once(";base64,") {
                        Some((kind, b64)) => (kind.to_owned(), b64.to_owned()),
                        None => continue,
                    },
                    None => (
                        format!(
                            "image/{}",
                            t.first()
                                .map(|s| s.to_ascii_lowercase())
                                .unwrap_or("jpeg".into())
                        ),
                        value.trim().to_owned(),
                    ),
                };
                c.photo = Some(Photo {
                    content_type: kind,
                    data: b64,
                });
            }
            _ => {}
        }
    }
    Some(c)
}

/// The list columns of a calendar item or contact from its record, which knows more than its
/// content (EWS MIME leaves the attendees out) and is the same for both protocols and imports.
pub fn record_meta(record: &pim::Record) -> ItemMeta {
    match record {
        pim::Record::Event(e) => {
            let organizer = e.organizer.clone().unwrap_or_default();
            ItemMeta {
                subject: e.subject.clone(),
                sender: if organizer.name.is_empty() {
                    organizer.address.clone()
                } else {
                    organizer.name
                },
                sender_address: organizer.address,
                to: e
                    .attendees
                    .iter()
                    .map(|a| a.person.address.clone())
                    .collect(),
                date: Some(Timestamp::from_unix_seconds(e.start_utc().timestamp())),
                ..ItemMeta::default()
            }
        }
        pim::Record::Contact(c) => {
            let mut emails: Vec<String> = c.emails.iter().map(|e| e.address.clone()).collect();
            let first = if emails.is_empty() {
                String::new()
            } else {
                emails.remove(0)
            };
            ItemMeta {
                subject: c.shown_name(),
                sender: c.shown_name(),
                sender_address: first,
                to: emails,
                ..ItemMeta::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERIES: &[u8] = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:series-1\r\n\
DTSTART;TZID=Europe/Zurich:20250908T100000\r\nDTEND;TZID=Europe/Zurich:20250908T110000\r\n\
RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6\r\nEXDATE;TZID=Europe/Zurich:20250929T100000\r\n\
SUMMARY:Weekly team meeting\r\nLOCATION:Room 3.14\r\nCATEGORIES:Team\r\n\
ORGANIZER;CN=Alice Martin:mailto:alice.martin@example.com\r\n\
ATTENDEE;CN=Emma Lindqvist;ROLE=OPT-PARTICIPANT;PARTSTAT=TENTATIVE:mailto:emma@example.com\r\n\
BEGIN:VALARM\r\nTRIGGER:-PT15M\r\nACTION:DISPLAY\r\nEND:VALARM\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:series-1\r\nRECURRENCE-ID;TZID=Europe/Zurich:20250922T100000\r\n\
DTSTART;TZID=Europe/Zurich:20250923T140000\r\nDTEND;TZID=Europe/Zurich:20250923T150000\r\n\
SUMMARY:Weekly team meeting\r\nLOCATION:Room 1.01\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    fn local(s: &str) -> NaiveDateTime {
        s.parse().unwrap()
    }

    #[test]
    fn a_series_with_a_moved_and_a_deleted_occurrence() {
        let e = ics_event(SERIES).unwrap();
        assert_eq!(e.time_zone, "Europe/Zurich");
        assert_eq!(e.start, local("2025-09-08T10:00:00"));
        assert_eq!(
            e.recurrence.as_ref().unwrap().describe(),
            "Every week on Monday, 6 times"
        );
        assert_eq!(e.deleted_occurrences, vec![local("2025-09-29T10:00:00")]);
        assert_eq!(e.exceptions.len(), 1);
        assert_eq!(e.exceptions[0].original_start, local("2025-09-22T10:00:00"));
        assert_eq!(e.exceptions[0].location.as_deref(), Some("Room 1.01"));
        assert_eq!(e.exceptions[0].subject, None);
        assert_eq!(e.reminder_minutes, Some(15));
        assert_eq!(e.attendees[0].kind, AttendeeKind::Optional);
        assert_eq!(e.attendees[0].response, Response::TentativelyAccepted);
        let from = "2025-09-01T00:00:00Z".parse().unwrap();
        let to = "2025-11-01T00:00:00Z".parse().unwrap();
        assert_eq!(e.occurrences(from, to).len(), 5, "six less the deleted one");
    }

    #[test]
    fn all_day_utc_and_monthly_patterns() {
        let day = ics_event(b"BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20250911\r\nDTEND;VALUE=DATE:20250912\r\nSUMMARY:Founding day\r\nEND:VEVENT\r\n").unwrap();
        assert!(day.all_day);
        let d = NaiveDate::from_ymd_opt(2025, 9, 11).unwrap();
        assert_eq!(day.all_day_dates(), (d, d));
        let utc = ics_event(
            b"BEGIN:VEVENT\r\nDTSTART:20251006T120000Z\r\nSUMMARY:Review\r\nEND:VEVENT\r\n",
        )
        .unwrap();
        assert_eq!(utc.time_zone, "UTC");
        assert_eq!(utc.start, local("2025-10-06T12:00:00"));
        let start = NaiveDate::from_ymd_opt(2026, 1, 13).unwrap();
        assert_eq!(
            recurrence("FREQ=MONTHLY;BYDAY=2TU", start, Zone::UTC)
                .unwrap()
                .pattern,
            Pattern::RelativeMonthly {
                days: vec![Day::Tuesday],
                index: WeekIndex::Second
            }
        );
        assert_eq!(
            recurrence("FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1", start, Zone::UTC)
                .unwrap()
                .pattern,
            Pattern::AbsoluteYearly {
                month: 3,
                day_of_month: 1
            }
        );
        assert_eq!(recurrence("FREQ=HOURLY", start, Zone::UTC), None);
        assert_eq!(
            ics_event(b"BEGIN:VEVENT\r\nSUMMARY:no start\r\nEND:VEVENT\r\n"),
            None
        );
    }

    #[test]
    fn a_vcard_with_two_addresses_and_a_photo() {
        let c = vcf_contact(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Emma Lindqvist\r\nN:Lindqvist;Emma;;;\r\n\
EMAIL;TYPE=INTERNET,WORK:emma.lindqvist@example.com\r\nEMAIL;TYPE=INTERNET,HOME:emma@lindqvist.se\r\n\
TEL;TYPE=WORK:+41 44 555 0101\r\nTEL;TYPE=CELL:+46 70 555 0199\r\n\
ADR;TYPE=WORK:;;Bahnhofstrasse 1;Zürich;;8001;Switzerland\r\nADR;TYPE=HOME:;;Storgatan 5;Stockholm;;111 51;Sweden\r\n\
ORG:Example Partners;Sales\r\nTITLE:Account Manager\r\nBDAY:1985-04-12\r\nNOTE:Met at the Zurich fair.\r\n\
PHOTO;ENCODING=b;TYPE=PNG:iVBORw0KGgo\r\nEND:VCARD\r\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(c.shown_name(), "Emma Lindqvist");
        assert_eq!(
            (c.given_name.as_str(), c.surname.as_str()),
            ("Emma", "Lindqvist")
        );
        assert_eq!(c.emails.len(), 2);
        assert_eq!(c.phones[1].label, "MobilePhone");
        assert_eq!(
            c.addresses[0].lines(),
            vec!["Bahnhofstrasse 1", "8001 Zürich", "Switzerland"]
        );
        assert_eq!(c.addresses[1].label, "Home");
        assert_eq!(
            (c.company.as_str(), c.department.as_str()),
            ("Example Partners", "Sales")
        );
        assert_eq!(c.birthday, NaiveDate::from_ymd_opt(1985, 4, 12));
        assert_eq!(c.photo.unwrap().content_type, "image/png");
        assert_eq!(vcf_contact(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), None);
    }
}
