//! A calendar item's or contact's properties from GetItem with `AllProperties`, read into the
//! archive's record. EWS times are UTC instants; the record keeps local times in the item's
//! own zone (`StartTimeZone Id`, a Windows name), so they are converted here once.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use pim::{
    zone_from_name, Attendee, AttendeeKind, Contact, ContactEmail, ContactPhone, Day, Event,
    EventException, Pattern, Person, PostalAddress, Range, Recurrence, Response, WeekIndex, Zone,
};

use crate::xml::{Element, TYPES_NS as T};

fn text(el: &Element, name: &str) -> String {
    el.child(T, name)
        .map(|e| e.text().to_string())
        .unwrap_or_default()
}

fn flag(el: &Element, name: &str) -> bool {
    el.child(T, name)
        .is_some_and(|e| e.text().eq_ignore_ascii_case("true"))
}

fn instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `xs:date` as EWS writes it in a recurrence range: "2026-03-02", "2026-03-02Z" or
/// "2026-03-02+01:00". The offset only says which zone the date was meant in.
fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim().get(..10)?, "%Y-%m-%d").ok()
}

fn person(mailbox: Option<&Element>) -> Option<Person> {
    let m = mailbox?;
    let p = Person {
        name: text(m, "Name"),
        address: text(m, "EmailAddress"),
    };
    (!p.name.is_empty() || !p.address.is_empty()).then_some(p)
}

fn strings(el: &Element, name: &str) -> Vec<String> {
    el.child(T, name)
        .map(|c| {
            c.children_named(T, "String")
                .map(|s| s.text().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn attendees(el: &Element, list: &str, kind: AttendeeKind) -> Vec<Attendee> {
    let Some(l) = el.child(T, list) else {
        return Vec::new();
    };
    l.children_named(T, "Attendee")
        .filter_map(|a| {
            Some(Attendee {
                person: person(a.child(T, "Mailbox"))?,
                kind,
                response: Response::parse(&text(a, "ResponseType")),
            })
        })
        .collect()
}

fn recurrence(el: &Element) -> Option<Recurrence> {
    let r = el.child(T, "Recurrence")?;
    let mut pattern = None;
    let mut range = None;
    let mut interval = 1;
    let mut first_day_of_week = Day::Sunday;
    for p in &r.children {
        let days = || Day::parse_list(&text(p, "DaysOfWeek"));
        let index = || WeekIndex::parse(&text(p, "DayOfWeekIndex"));
        let day_of_month = || text(p, "DayOfMonth").parse::<u32>().ok();
        let month = || pim::month_from_name(&text(p, "Month"));
        if let Ok(n) = text(p, "Interval").parse::<u32>() {
            interval = n.max(1);
        }
        if let Some(d) = Day::parse(&text(p, "FirstDayOfWeek")) {
            first_day_of_week = d;
        }
        match p.name.as_str() {
            "DailyRecurrence" => pattern = Some(Pattern::Daily),
            "WeeklyRecurrence" => pattern = Some(Pattern::Weekly { days: days() }),
            "AbsoluteMonthlyRecurrence" => {
                pattern = day_of_month().map(|d| Pattern::AbsoluteMonthly { day_of_month: d })
            }
            "RelativeMonthlyRecurrence" => {
                pattern = index().map(|index| Pattern::RelativeMonthly {
                    days: days(),
                    index,
                })
            }
            "AbsoluteYearlyRecurrence" => {
                pattern = month().zip(day_of_month()).map(|(month, day_of_month)| {
                    Pattern::AbsoluteYearly {
                        month,
                        day_of_month,
                    }
                })
            }
            "RelativeYearlyRecurrence" => {
                pattern = month()
                    .zip(index())
                    .map(|(month, index)| Pattern::RelativeYearly {
                        month,
                        days: days(),
                        index,
                    })
            }
            "NoEndRecurrence" => {
                range = date(&text(p, "StartDate")).map(|start| Range::NoEnd { start })
            }
            "EndDateRecurrence" => {
                range = date(&text(p, "StartDate"))
                    .zip(date(&text(p, "EndDate")))
                    .map(|(start, end)| Range::EndDate { start, end })
            }
            "NumberedRecurrence" => {
                range = date(&text(p, "StartDate"))
                    .zip(text(p, "NumberOfOccurrences").parse::<u32>().ok())
                    .map(|(start, count)| Range::Numbered { start, count })
            }
            _ => {}
        }
    }
    // A yearly pattern carries no interval in EWS: it is every year.
    Some(Recurrence {
        pattern: pattern?,
        interval,
        first_day_of_week,
        range: range?,
    })
}

/// The zone of a calendar item: `StartTimeZone Id` (Exchange 2010 and later), else the
/// Exchange 2007 display string in `TimeZone`, else UTC.
fn zone_of(el: &Element) -> (Zone, String) {
    let named = el
        .child(T, "StartTimeZone")
        .and_then(|z| z.attr("Id"))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| text(el, "TimeZone"));
    (zone_from_name(&named).unwrap_or(Zone::UTC), named)
}

/// A `t:CalendarItem` read with `AllProperties`. `None` without a readable start.
pub fn calendar_item(el: &Element) -> Option<Event> {
    let (zone, source_zone) = zone_of(el);
    let local = |s: &str| instant(s).map(|t| zone.to_local(t));
    let start = local(&text(el, "Start"))?;
    let end = local(&text(el, "End")).unwrap_or(start);
    let body = el.child(T, "Body");
    let mut attendees_all = attendees(el, "RequiredAttendees", AttendeeKind::Required);
    attendees_all.extend(attendees(el, "OptionalAttendees", AttendeeKind::Optional));
    attendees_all.extend(attendees(el, "Resources", AttendeeKind::Resource));
    let exceptions = el
        .child(T, "ModifiedOccurrences")
        .map(|m| {
            m.children_named(T, "Occurrence")
                .filter_map(|o| {
                    let start = local(&text(o, "Start"))?;
                    Some(EventException {
                        original_start: local(&text(o, "OriginalStart")).unwrap_or(start),
                        start,
                        end: local(&text(o, "End")).unwrap_or(start),
                        subject: None,
                        location: None,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let deleted_occurrences = el
        .child(T, "DeletedOccurrences")
        .map(|d| {
            d.children_named(T, "DeletedOccurrence")
                .filter_map(|o| local(&text(o, "Start")))
                .collect()
        })
        .unwrap_or_default();
    let reminder_minutes = flag(el, "ReminderIsSet")
        .then(|| text(el, "ReminderMinutesBeforeStart").parse::<i64>().ok())
        .flatten();
    Some(Event {
        uid: text(el, "UID"),
        subject: text(el, "Subject"),
        location: text(el, "Location"),
        body: body.map(|b| b.raw_text().to_string()).unwrap_or_default(),
        body_is_html: body
            .and_then(|b| b.attr("BodyType"))
            .is_some_and(|t| t.eq_ignore_ascii_case("HTML")),
        organizer: person(el.path(&[(T, "Organizer"), (T, "Mailbox")])),
        attendees: attendees_all,
        start,
        end,
        all_day: flag(el, "IsAllDayEvent"),
        time_zone: zone.name().to_string(),
        source_time_zone: source_zone,
        recurrence: recurrence(el),
        exceptions,
        deleted_occurrences,
        reminder_minutes,
        categories: strings(el, "Categories"),
        show_as: text(el, "LegacyFreeBusyStatus"),
        sensitivity: text(el, "Sensitivity"),
        is_cancelled: flag(el, "IsCancelled"),
    })
}

fn entries<'a>(el: &'a Element, list: &str) -> Vec<(&'a str, &'a Element)> {
    el.child(T, list)
        .map(|l| {
            l.children_named(T, "Entry")
                .map(|e| (e.attr("Key").unwrap_or("").trim(), e))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a `t:Contact` came with its properties (not an IdOnly answer).
pub fn has_contact_fields(el: &Element) -> bool {
    [
        "DisplayName",
        "FileAs",
        "CompleteName",
        "EmailAddresses",
        "GivenName",
        "Surname",
    ]
    .iter()
    .any(|n| el.child(T, n).is_some())
}

/// A `t:Contact` read with `AllProperties`. The photo is fetched on its own (GetAttachment).
pub fn contact(el: &Element) -> Contact {
    let complete = el.child(T, "CompleteName");
    let from_complete = |name: &str| complete.map(|c| text(c, name)).unwrap_or_default();
    let or = |a: String, b: String| if a.is_empty() { b } else { a };
    let emails = entries(el, "EmailAddresses")
        .into_iter()
        .filter(|(_, e)| !e.text().is_empty())
        .map(|(key, e)| ContactEmail {
            label: key.to_string(),
            // Exchange may give a non-SMTP form ("SMTP:x@y", an X500 DN): keep the SMTP part.
            address: e
                .text()
                .strip_prefix("SMTP:")
                .or_else(|| e.text().strip_prefix("smtp:"))
                .unwrap_or(e.text())
                .to_string(),
            name: e.attr("Name").unwrap_or("").trim().to_string(),
        })
        .collect();
    let phones = entries(el, "PhoneNumbers")
        .into_iter()
        .filter(|(_, e)| !e.text().is_empty())
        .map(|(key, e)| ContactPhone {
            label: key.to_string(),
            number: e.text().to_string(),
        })
        .collect();
    let addresses = entries(el, "PhysicalAddresses")
        .into_iter()
        .map(|(key, e)| PostalAddress {
            label: key.to_string(),
            street: e
                .child(T, "Street")
                .map(|s| s.raw_text().trim().to_string())
                .unwrap_or_default(),
            city: text(e, "City"),
            state: text(e, "State"),
            postal_code: text(e, "PostalCode"),
            country: text(e, "CountryOrRegion"),
        })
        .filter(|a| !a.lines().is_empty())
        .collect();
    let im_addresses = entries(el, "ImAddresses")
        .into_iter()
        .map(|(_, e)| e.text().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    Contact {
        display_name: or(text(el, "DisplayName"), from_complete("FullName")),
        file_as: text(el, "FileAs"),
        title: from_complete("Title"),
        given_name: or(text(el, "GivenName"), from_complete("FirstName")),
        middle_name: or(text(el, "MiddleName"), from_complete("MiddleName")),
        surname: or(text(el, "Surname"), from_complete("LastName")),
        suffix: or(text(el, "Generation"), from_complete("Suffix")),
        nickname: or(text(el, "Nickname"), from_complete("Nickname")),
        initials: or(text(el, "Initials"), from_complete("Initials")),
        company: text(el, "CompanyName"),
        department: text(el, "Department"),
        job_title: text(el, "JobTitle"),
        office: text(el, "OfficeLocation"),
        manager: text(el, "Manager"),
        assistant: text(el, "AssistantName"),
        emails,
        phones,
        addresses,
        im_addresses,
        web_page: text(el, "BusinessHomePage"),
        // Stored as the midnight of whoever typed it, within half a day of UTC's midnight.
        birthday: instant(&text(el, "Birthday")).map(|t| (t + Duration::hours(12)).date_naive()),
        notes: el
            .child(T, "Body")
            .map(|b| b.raw_text().trim().to_string())
            .unwrap_or_default(),
        categories: strings(el, "Categories"),
        photo: None,
    }
}

/// The ItemIds of a series' changed occurrences, with their original starts as the record's
/// exceptions have them: ModifiedOccurrences gives only times, so an occurrence's own subject
/// and location come from a GetItem of its id.
pub fn modified_occurrence_ids(el: &Element) -> Vec<(NaiveDateTime, String)> {
    let (zone, _) = zone_of(el);
    let Some(list) = el.child(T, "ModifiedOccurrences") else {
        return Vec::new();
    };
    list.children_named(T, "Occurrence")
        .filter_map(|o| {
            let id = o.child(T, "ItemId")?.attr("Id")?.trim().to_string();
            let original = instant(&text(o, "OriginalStart"))
                .or_else(|| instant(&text(o, "Start")))
                .map(|t| zone.to_local(t))?;
            (!id.is_empty()).then_some((original, id))
        })
        .collect()
}

/// The attachment id of a contact's photo (`IsContactPhoto`), when it has one.
pub fn contact_photo_id(el: &Element) -> Option<String> {
    el.child(T, "Attachments")?
        .children_named(T, "FileAttachment")
        .find(|a| flag(a, "IsContactPhoto"))
        .and_then(|a| a.child(T, "AttachmentId"))
        .and_then(|id| id.attr("Id"))
        .map(|s| s.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml;

    fn parse(xml_text: &str) -> Element {
        let doc = format!(
            "<t:Root xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\">{xml_text}</t:Root>"
        );
        let root = xml::parse(doc.as_bytes()).expect("xml");
        root.children.into_iter().next().expect("child")
    }

    /// The shape of Microsoft's GetItem (AllProperties) answer for a recurring master, trimmed
    /// to the properties the record keeps.
    const RECURRING_MASTER: &str = r#"<t:CalendarItem>
      <t:ItemId Id="AAMkAD" ChangeKey="DwAAAB"/>
      <t:Subject>Team meeting</t:Subject>
      <t:Sensitivity>Normal</t:Sensitivity>
      <t:Body BodyType="HTML">&lt;p&gt;Agenda&lt;/p&gt;</t:Body>
      <t:Categories><t:String>Blue category</t:String></t:Categories>
      <t:ReminderIsSet>true</t:ReminderIsSet>
      <t:ReminderMinutesBeforeStart>15</t:ReminderMinutesBeforeStart>
      <t:UID>040000008200E00074C5B7101A82E00800000000</t:UID>
      <t:Start>2026-03-02T08:00:00Z</t:Start>
      <t:End>2026-03-02T08:30:00Z</t:End>
      <t:IsAllDayEvent>false</t:IsAllDayEvent>
      <t:LegacyFreeBusyStatus>Busy</t:LegacyFreeBusyStatus>
      <t:Location>Room 3.14</t:Location>
      <t:IsCancelled>false</t:IsCancelled>
      <t:CalendarItemType>RecurringMaster</t:CalendarItemType>
      <t:Organizer><t:Mailbox><t:Name>Chloé Dubois</t:Name><t:EmailAddress>chloe.dubois@example.com</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType></t:Mailbox></t:Organizer>
      <t:RequiredAttendees>
        <t:Attendee><t:Mailbox><t:Name>Daniel Okafor</t:Name><t:EmailAddress>daniel.okafor@example.com</t:EmailAddress></t:Mailbox><t:ResponseType>Accept</t:ResponseType></t:Attendee>
      </t:RequiredAttendees>
      <t:OptionalAttendees>
        <t:Attendee><t:Mailbox><t:Name>Emma Lindqvist</t:Name><t:EmailAddress>emma.lindqvist@example.com</t:EmailAddress></t:Mailbox><t:ResponseType>Tentative</t:ResponseType></t:Attendee>
      </t:OptionalAttendees>
      <t:Recurrence>
        <t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday</t:DaysOfWeek><t:FirstDayOfWeek>Monday</t:FirstDayOfWeek></t:WeeklyRecurrence>
        <t:NumberedRecurrence><t:StartDate>2026-03-02+01:00</t:StartDate><t:NumberOfOccurrences>6</t:NumberOfOccurrences></t:NumberedRecurrence>
      </t:Recurrence>
      <t:ModifiedOccurrences>
        <t:Occurrence><t:ItemId Id="AAMkAE" ChangeKey="DwAAAC"/><t:Start>2026-03-17T13:00:00Z</t:Start><t:End>2026-03-17T14:00:00Z</t:End><t:OriginalStart>2026-03-16T08:00:00Z</t:OriginalStart></t:Occurrence>
      </t:ModifiedOccurrences>
      <t:DeletedOccurrences><t:DeletedOccurrence><t:Start>2026-03-23T08:00:00Z</t:Start></t:DeletedOccurrence></t:DeletedOccurrences>
      <t:StartTimeZone Id="W. Europe Standard Time" Name="(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"/>
    </t:CalendarItem>"#;

    #[test]
    fn a_recurring_master_with_an_exception() {
        let e = calendar_item(&parse(RECURRING_MASTER)).expect("event");
        assert_eq!(e.subject, "Team meeting");
        assert_eq!(e.time_zone, "Europe/Berlin");
        assert_eq!(e.source_time_zone, "W. Europe Standard Time");
        assert_eq!(e.start.to_string(), "2026-03-02 09:00:00");
        assert_eq!(
            e.organizer.as_ref().map(|p| p.name.as_str()),
            Some("Chloé Dubois")
        );
        assert_eq!(e.attendees.len(), 2);
        assert_eq!(e.attendees[0].response, Response::Accepted);
        assert_eq!(e.attendees[1].kind, AttendeeKind::Optional);
        assert_eq!(e.attendees[1].response, Response::TentativelyAccepted);
        assert_eq!(e.reminder_minutes, Some(15));
        assert!(e.body_is_html);
        assert_eq!(e.categories, ["Blue category"]);
        let r = e.recurrence.as_ref().expect("recurrence");
        assert_eq!(
            r.pattern,
            Pattern::Weekly {
                days: vec![Day::Monday]
            }
        );
        assert_eq!(
            r.range,
            Range::Numbered {
                start: NaiveDate::from_ymd_opt(2026, 3, 2).expect("date"),
                count: 6
            }
        );
        assert_eq!(e.exceptions.len(), 1);
        assert_eq!(
            e.exceptions[0].original_start.to_string(),
            "2026-03-16 09:00:00"
        );
        assert_eq!(e.exceptions[0].start.to_string(), "2026-03-17 14:00:00");
        assert_eq!(e.deleted_occurrences[0].to_string(), "2026-03-23 09:00:00");
        let from = instant("2026-03-01T00:00:00Z").expect("t");
        let to = instant("2026-04-30T00:00:00Z").expect("t");
        assert_eq!(e.occurrences(from, to).len(), 5);
    }

    #[test]
    fn an_all_day_event_in_tokyo() {
        let e = calendar_item(&parse(
            r#"<t:CalendarItem><t:Subject>Founding day</t:Subject>
            <t:Start>2026-03-10T15:00:00Z</t:Start><t:End>2026-03-11T15:00:00Z</t:End>
            <t:IsAllDayEvent>true</t:IsAllDayEvent>
            <t:StartTimeZone Id="Tokyo Standard Time" Name="(UTC+09:00) Osaka, Sapporo, Tokyo"/>
            </t:CalendarItem>"#,
        ))
        .expect("event");
        assert!(e.all_day);
        assert_eq!(e.time_zone, "Asia/Tokyo");
        let d = NaiveDate::from_ymd_opt(2026, 3, 11).expect("date");
        assert_eq!(e.all_day_dates(), (d, d));
    }

    #[test]
    fn a_contact_with_several_addresses() {
        let c = contact(&parse(
            r#"<t:Contact><t:Subject>Emma Lindqvist</t:Subject>
            <t:Body BodyType="Text">Met at the Zurich fair.</t:Body>
            <t:Attachments><t:FileAttachment><t:AttachmentId Id="AAMkPhoto"/><t:Name>ContactPicture.jpg</t:Name><t:IsContactPhoto>true</t:IsContactPhoto></t:FileAttachment></t:Attachments>
            <t:FileAs>Lindqvist, Emma</t:FileAs><t:DisplayName>Emma Lindqvist</t:DisplayName>
            <t:GivenName>Emma</t:GivenName>
            <t:CompleteName><t:FirstName>Emma</t:FirstName><t:LastName>Lindqvist</t:LastName><t:FullName>Emma Lindqvist</t:FullName></t:CompleteName>
            <t:CompanyName>Example Partners</t:CompanyName>
            <t:EmailAddresses><t:Entry Key="EmailAddress1" Name="Emma Lindqvist">emma.lindqvist@example.com</t:Entry><t:Entry Key="EmailAddress2">SMTP:emma@lindqvist.se</t:Entry><t:Entry Key="EmailAddress3"/></t:EmailAddresses>
            <t:PhysicalAddresses><t:Entry Key="Business"><t:Street>Bahnhofstrasse 1</t:Street><t:City>Zürich</t:City><t:CountryOrRegion>Switzerland</t:CountryOrRegion><t:PostalCode>8001</t:PostalCode></t:Entry><t:Entry Key="Home"><t:Street>Storgatan 5</t:Street><t:City>Stockholm</t:City><t:CountryOrRegion>Sweden</t:CountryOrRegion><t:PostalCode>111 51</t:PostalCode></t:Entry></t:PhysicalAddresses>
            <t:PhoneNumbers><t:Entry Key="BusinessPhone">+41 44 555 0100</t:Entry><t:Entry Key="MobilePhone">+46 70 555 0199</t:Entry><t:Entry Key="HomeFax"/></t:PhoneNumbers>
            <t:Birthday>1985-04-12T00:00:00Z</t:Birthday>
            <t:JobTitle>Account Manager</t:JobTitle><t:Surname>Lindqvist</t:Surname>
            </t:Contact>"#,
        ));
        let el = parse(
            r#"<t:Contact><t:Attachments><t:FileAttachment><t:AttachmentId Id="AAMkPhoto"/><t:IsContactPhoto>true</t:IsContactPhoto></t:FileAttachment></t:Attachments></t:Contact>"#,
        );
        assert_eq!(contact_photo_id(&el).as_deref(), Some("AAMkPhoto"));
        assert_eq!(c.display_name, "Emma Lindqvist");
        assert_eq!(c.surname, "Lindqvist");
        let emails: Vec<&str> = c.emails.iter().map(|e| e.address.as_str()).collect();
        assert_eq!(emails, ["emma.lindqvist@example.com", "emma@lindqvist.se"]);
        assert_eq!(c.emails[0].name, "Emma Lindqvist");
        assert_eq!(c.addresses.len(), 2);
        assert_eq!(c.addresses[1].label, "Home");
        assert_eq!(
            c.addresses[1].lines(),
            ["Storgatan 5", "111 51 Stockholm", "Sweden"]
        );
        assert_eq!(c.phones.len(), 2);
        assert_eq!(c.birthday, NaiveDate::from_ymd_opt(1985, 4, 12));
        assert_eq!(c.notes, "Met at the Zurich fair.");
    }
}
