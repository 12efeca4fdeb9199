//! Graph `event` and `contact` JSON read into the archive's record. Graph gives a `dateTime`
//! with the zone it was written in (UTC unless asked otherwise) and names the event's own zone
//! in `originalStartTimeZone`; the record keeps local times in the event's own zone.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use pim::{
    zone_from_name, Attendee, AttendeeKind, Contact, ContactEmail, ContactPhone, Day, Event,
    Pattern, Person, PostalAddress, Range, Recurrence, Response, WeekIndex, Zone,
};
use serde_json::Value;

fn s(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(n) => cur = n,
            None => return String::new(),
        }
    }
    cur.as_str().unwrap_or_default().trim().to_string()
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn flag(v: &Value, key: &str) -> bool {
    match v.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Graph's `dateTime` ("2026-03-02T08:00:00.0000000"): seven fraction digits, no offset.
fn wall_clock(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    let s = s.split_once('.').map_or(s, |(head, _)| head);
    NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S").ok()
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim().get(..10)?, "%Y-%m-%d").ok()
}

fn person(v: Option<&Value>) -> Option<Person> {
    let e = v?.get("emailAddress")?;
    let p = Person {
        name: s(e, &["name"]),
        address: s(e, &["address"]),
    };
    (!p.name.is_empty() || !p.address.is_empty()).then_some(p)
}

fn recurrence(v: &Value) -> Option<Recurrence> {
    let r = v.get("recurrence").filter(|r| !r.is_null())?;
    let p = r.get("pattern")?;
    let days: Vec<Day> = strings(p, "daysOfWeek")
        .iter()
        .filter_map(|d| Day::parse(d))
        .collect();
    let num = |k: &str| p.get(k).and_then(Value::as_u64).map(|n| n as u32);
    let index = WeekIndex::parse(&s(p, &["index"])).unwrap_or(WeekIndex::First);
    let pattern = match s(p, &["type"]).as_str() {
        "daily" => Pattern::Daily,
        "weekly" => Pattern::Weekly { days },
        "absoluteMonthly" => Pattern::AbsoluteMonthly {
            day_of_month: num("dayOfMonth")?,
        },
        "relativeMonthly" => Pattern::RelativeMonthly { days, index },
        "absoluteYearly" => Pattern::AbsoluteYearly {
            month: num("month")?,
            day_of_month: num("dayOfMonth")?,
        },
        "relativeYearly" => Pattern::RelativeYearly {
            month: num("month")?,
            days,
            index,
        },
        _ => return None,
    };
    let g = r.get("range")?;
    let start = date(&s(g, &["startDate"]))?;
    let range = match s(g, &["type"]).as_str() {
        "endDate" => Range::EndDate {
            start,
            end: date(&s(g, &["endDate"]))?,
        },
        "numbered" => Range::Numbered {
            start,
            count: g.get("numberOfOccurrences").and_then(Value::as_u64)? as u32,
        },
        _ => Range::NoEnd { start },
    };
    Some(Recurrence {
        pattern,
        interval: num("interval").unwrap_or(1).max(1),
        first_day_of_week: Day::parse(&s(p, &["firstDayOfWeek"])).unwrap_or(Day::Sunday),
        range,
    })
}

/// An instant as Graph writes `originalStart` (an ISO 8601 date-time with offset).
fn instant(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The names under which a stored series keeps what Graph tells only through its instances:
/// the changed occurrences (instance events) and the original starts of the deleted ones.
/// They are Graph beta's property names on a series master.
pub const EXCEPTIONS: &str = "exceptionOccurrences";
pub const CANCELLED: &str = "cancelledOccurrences";

/// A series master with its instances in `[from, to)` folded in: every `exception` instance
/// under [`EXCEPTIONS`], and under [`CANCELLED`] the pattern's starts in the window that no
/// instance has (Graph lists a deleted occurrence nowhere: it is simply missing).
pub fn fold_instances(
    master: &Value,
    instances: &[Value],
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Value {
    let mut v = master.clone();
    let Some(e) = event(master) else {
        return v;
    };
    let zone = e.zone();
    let present: Vec<chrono::DateTime<chrono::Utc>> = instances
        .iter()
        .filter_map(|i| instant(&s(i, &["originalStart"])))
        .collect();
    let cancelled: Vec<Value> = e
        .pattern_starts(from, to, MAX_OCCURRENCES)
        .into_iter()
        .map(|local| zone.to_utc(local))
        .filter(|at| !present.contains(at))
        .map(|at| Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .collect();
    let exceptions: Vec<Value> = instances
        .iter()
        .filter(|i| s(i, &["type"]) == "exception")
        .cloned()
        .collect();
    if let Some(o) = v.as_object_mut() {
        o.insert(EXCEPTIONS.into(), Value::Array(exceptions));
        o.insert(CANCELLED.into(), Value::Array(cancelled));
    }
    v
}

/// Occurrences of one series read per sync at most: a daily series without end is read for
/// about thirteen years.
pub const MAX_OCCURRENCES: u16 = 5000;

/// A Graph `event`. `None` without a readable start.
pub fn event(v: &Value) -> Option<Event> {
    let source_zone = s(v, &["originalStartTimeZone"]);
    let zone = zone_from_name(&source_zone)
        .or_else(|| zone_from_name(&s(v, &["start", "timeZone"])))
        .unwrap_or(Zone::UTC);
    let all_day = flag(v, "isAllDay");
    // From the zone Graph wrote the time in to the event's own. All-day events are dates,
    // written as midnights in whatever zone was asked for: they are taken as they are.
    let local = |key: &str| -> Option<NaiveDateTime> {
        let wall = wall_clock(&s(v, &[key, "dateTime"]))?;
        if all_day {
            return Some(wall);
        }
        let written = zone_from_name(&s(v, &[key, "timeZone"])).unwrap_or(Zone::UTC);
        Some(zone.to_local(written.to_utc(wall)))
    };
    let start = local("start")?;
    let end = local("end").unwrap_or(start + Duration::minutes(30));
    let subject = s(v, &["subject"]);
    let location = s(v, &["location", "displayName"]);
    let exceptions = v
        .get(EXCEPTIONS)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|x| {
                    let own = event(x)?;
                    let original = zone.to_local(instant(&s(x, &["originalStart"]))?);
                    // The instance's times in the series' zone, not the one it was written in.
                    let moved = |t: NaiveDateTime| zone.to_local(own.zone().to_utc(t));
                    Some(pim::EventException {
                        original_start: original,
                        start: moved(own.start),
                        end: moved(own.end),
                        subject: (own.subject != subject).then_some(own.subject),
                        location: (own.location != location).then_some(own.location),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let deleted_occurrences = v
        .get(CANCELLED)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .filter_map(instant)
                .map(|t| zone.to_local(t))
                .collect()
        })
        .unwrap_or_default();
    let attendees = v
        .get("attendees")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    Some(Attendee {
                        person: person(Some(x))?,
                        kind: match s(x, &["type"]).as_str() {
                            "optional" => AttendeeKind::Optional,
                            "resource" => AttendeeKind::Resource,
                            _ => AttendeeKind::Required,
                        },
                        response: Response::parse(&s(x, &["status", "response"])),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Event {
        uid: s(v, &["iCalUId"]),
        subject,
        location,
        body: v
            .pointer("/body/content")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        body_is_html: s(v, &["body", "contentType"]).eq_ignore_ascii_case("html"),
        organizer: person(v.get("organizer")),
        attendees,
        start,
        end,
        all_day,
        time_zone: zone.name().to_string(),
        source_time_zone: source_zone,
        recurrence: recurrence(v),
        exceptions,
        deleted_occurrences,
        reminder_minutes: flag(v, "isReminderOn")
            .then(|| v.get("reminderMinutesBeforeStart").and_then(Value::as_i64))
            .flatten(),
        categories: strings(v, "categories"),
        show_as: s(v, &["showAs"]),
        sensitivity: s(v, &["sensitivity"]),
        is_cancelled: flag(v, "isCancelled"),
    })
}

fn address(v: &Value, key: &str, label: &str) -> Option<PostalAddress> {
    let a = v.get(key)?;
    let p = PostalAddress {
        label: label.to_string(),
        street: s(a, &["street"]),
        city: s(a, &["city"]),
        state: s(a, &["state"]),
        postal_code: s(a, &["postalCode"]),
        country: s(a, &["countryOrRegion"]),
    };
    (!p.lines().is_empty()).then_some(p)
}

/// A Graph `contact`.
pub fn contact(v: &Value) -> Contact {
    let emails = v
        .get("emailAddresses")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .enumerate()
                .map(|(i, e)| ContactEmail {
                    label: format!("EmailAddress{}", i + 1),
                    address: s(e, &["address"]),
                    name: s(e, &["name"]),
                })
                .filter(|e| !e.address.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut phones = Vec::new();
    for (key, label) in [
        ("businessPhones", "BusinessPhone"),
        ("homePhones", "HomePhone"),
    ] {
        phones.extend(strings(v, key).into_iter().map(|number| ContactPhone {
            label: label.into(),
            number,
        }));
    }
    let mobile = s(v, &["mobilePhone"]);
    if !mobile.is_empty() {
        phones.push(ContactPhone {
            label: "MobilePhone".into(),
            number: mobile,
        });
    }
    let addresses = [
        ("businessAddress", "Business"),
        ("homeAddress", "Home"),
        ("otherAddress", "Other"),
    ]
    .into_iter()
    .filter_map(|(k, l)| address(v, k, l))
    .collect();
    Contact {
        display_name: s(v, &["displayName"]),
        file_as: s(v, &["fileAs"]),
        title: s(v, &["title"]),
        given_name: s(v, &["givenName"]),
        middle_name: s(v, &["middleName"]),
        surname: s(v, &["surname"]),
        suffix: s(v, &["generation"]),
        nickname: s(v, &["nickName"]),
        initials: s(v, &["initials"]),
        company: s(v, &["companyName"]),
        department: s(v, &["department"]),
        job_title: s(v, &["jobTitle"]),
        office: s(v, &["officeLocation"]),
        manager: s(v, &["manager"]),
        assistant: s(v, &["assistantName"]),
        emails,
        phones,
        addresses,
        im_addresses: strings(v, "imAddresses"),
        web_page: s(v, &["businessHomePage"]),
        // Outlook stores a birthday near noon or midnight of its day; half a day either way.
        birthday: chrono::DateTime::parse_from_rfc3339(&s(v, &["birthday"]))
            .ok()
            .map(|t| (t.naive_utc() + Duration::hours(12)).date()),
        notes: s(v, &["personalNotes"]),
        categories: strings(v, "categories"),
        photo: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_recurring_series_master_in_utc() {
        let e = event(&json!({
            "iCalUId": "040000008200E00074C5B7101A82E008",
            "subject": "Team meeting",
            "type": "seriesMaster",
            "isAllDay": false,
            "start": {"dateTime": "2026-03-02T08:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-02T08:30:00.0000000", "timeZone": "UTC"},
            "originalStartTimeZone": "W. Europe Standard Time",
            "organizer": {"emailAddress": {"name": "Chloé Dubois", "address": "chloe.dubois@example.com"}},
            "attendees": [
                {"type": "required", "status": {"response": "accepted"}, "emailAddress": {"name": "Daniel Okafor", "address": "daniel.okafor@example.com"}},
                {"type": "optional", "status": {"response": "tentativelyAccepted"}, "emailAddress": {"name": "Emma Lindqvist", "address": "emma.lindqvist@example.com"}}
            ],
            "recurrence": {
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "firstDayOfWeek": "monday", "index": "first"},
                "range": {"type": "numbered", "startDate": "2026-03-02", "endDate": "0001-01-01", "numberOfOccurrences": 6, "recurrenceTimeZone": "W. Europe Standard Time"}
            },
            "isReminderOn": true, "reminderMinutesBeforeStart": 15,
            "showAs": "busy"
        }))
        .expect("event");
        assert_eq!(e.time_zone, "Europe/Berlin");
        assert_eq!(e.start.to_string(), "2026-03-02 09:00:00");
        assert_eq!(e.attendees[1].response, Response::TentativelyAccepted);
        assert_eq!(e.reminder_minutes, Some(15));
        let r = e.recurrence.expect("recurrence");
        assert_eq!(
            r.range,
            Range::Numbered {
                start: NaiveDate::from_ymd_opt(2026, 3, 2).expect("d"),
                count: 6
            }
        );
    }

    #[test]
    fn an_all_day_event_keeps_its_date() {
        let e = event(&json!({
            "subject": "Founding day",
            "isAllDay": true,
            "start": {"dateTime": "2026-03-11T00:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-12T00:00:00.0000000", "timeZone": "UTC"},
            "originalStartTimeZone": "Tokyo Standard Time"
        }))
        .expect("event");
        let d = NaiveDate::from_ymd_opt(2026, 3, 11).expect("d");
        assert_eq!(e.all_day_dates(), (d, d));
        assert_eq!(e.time_zone, "Asia/Tokyo");
    }

    #[test]
    fn a_contact_with_several_addresses() {
        let c = contact(&json!({
            "displayName": "Emma Lindqvist", "givenName": "Emma", "surname": "Lindqvist",
            "emailAddresses": [{"name": "Emma Lindqvist", "address": "emma.lindqvist@example.com"}, {"name": "", "address": "emma@lindqvist.se"}],
            "businessPhones": ["+41 44 555 0100"], "homePhones": [], "mobilePhone": "+46 70 555 0199",
            "businessAddress": {"street": "Bahnhofstrasse 1", "city": "Zürich", "postalCode": "8001", "countryOrRegion": "Switzerland"},
            "homeAddress": {"street": "Storgatan 5", "city": "Stockholm", "postalCode": "111 51", "countryOrRegion": "Sweden"},
            "otherAddress": {},
            "birthday": "1985-04-12T11:59:00Z"
        }));
        assert_eq!(c.emails.len(), 2);
        assert_eq!(c.addresses.len(), 2);
        assert_eq!(c.addresses[1].city, "Stockholm");
        assert_eq!(c.phones.len(), 2);
        assert_eq!(c.birthday, NaiveDate::from_ymd_opt(1985, 4, 12));
    }
}
