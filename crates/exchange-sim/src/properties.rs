//! A calendar item's or contact's properties as Exchange answers GetItem with `AllProperties`,
//! rendered from the seed's iCalendar and vCard. The simulator keeps the seed as the store;
//! this is its MAPI-property view of it, in the shapes of Microsoft's GetItem samples.
//!
//! Seed conventions (what Exchange would know and an iCalendar file does not say): a
//! calendar item's zone is `X-MS-TIMEZONE` (a Windows name) with its offset from UTC in
//! `X-MS-UTC-OFFSET` ("+09:00"); the simulator applies that one offset, so seeded series stay
//! within one daylight-saving period.

use std::fmt::Write as _;

use soapxml::escape;

/// One content line: name, parameters, value (folded lines joined).
pub struct Line {
    pub name: String,
    pub params: Vec<(String, String)>,
    pub value: String,
}

impl Line {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim_matches('"'))
    }
}

pub fn lines(data: &[u8]) -> Vec<Line> {
    let text = String::from_utf8_lossy(data);
    let mut unfolded: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix([' ', '\t']) {
            if let Some(last) = unfolded.last_mut() {
                last.push_str(rest);
                continue;
            }
        }
        unfolded.push(raw.to_string());
    }
    unfolded
        .into_iter()
        .filter_map(|l| {
            let (head, value) = l.split_once(':')?;
            let mut parts = head.split(';');
            let name = parts.next()?.trim().to_ascii_uppercase();
            let params = parts
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect();
            Some(Line {
                name,
                params,
                value: value.trim().replace("\\n", "\n").replace("\\,", ","),
            })
        })
        .collect()
}

/// The VEVENT blocks of a calendar: the first is the item (the master of a series), later
/// ones with RECURRENCE-ID are its changed occurrences.
fn events(data: &[u8]) -> Vec<Vec<Line>> {
    let mut out = Vec::new();
    let mut cur: Option<Vec<Line>> = None;
    for l in lines(data) {
        match (l.name.as_str(), l.value.to_ascii_uppercase().as_str()) {
            ("BEGIN", "VEVENT") => cur = Some(Vec::new()),
            ("END", "VEVENT") => out.extend(cur.take()),
            _ => {
                if let Some(c) = cur.as_mut() {
                    c.push(l);
                }
            }
        }
    }
    out
}

fn get<'a>(ev: &'a [Line], name: &str) -> Option<&'a Line> {
    ev.iter().find(|l| l.name == name)
}

fn value(ev: &[Line], name: &str) -> String {
    get(ev, name).map(|l| l.value.clone()).unwrap_or_default()
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
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

/// "+09:00" as seconds east of UTC.
fn offset_seconds(s: &str) -> i64 {
    let s = s.trim();
    let sign = if s.starts_with('-') { -1 } else { 1 };
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let h: i64 = digits.get(0..2).and_then(|v| v.parse().ok()).unwrap_or(0);
    let m: i64 = digits.get(2..4).and_then(|v| v.parse().ok()).unwrap_or(0);
    sign * (h * 3600 + m * 60)
}

/// An iCalendar date or date-time (`20260302T090000Z`, local `20260302T090000`, or a date)
/// as EWS's UTC `2026-03-02T08:00:00Z`; local times are in the item's offset.
fn utc(v: &str, offset: i64) -> Option<String> {
    let n = |a: usize, b: usize| v.get(a..b).and_then(|s| s.parse::<i64>().ok());
    let (y, mo, d) = (n(0, 4)?, n(4, 6)?, n(6, 8)?);
    let (h, mi, s) = if v.len() >= 15 {
        (n(9, 11)?, n(11, 13)?, n(13, 15)?)
    } else {
        (0, 0, 0)
    };
    let local = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s;
    let at = if v.ends_with('Z') {
        local
    } else {
        local - offset
    };
    let (y, mo, d) = civil_from_days(at.div_euclid(86_400));
    let t = at.rem_euclid(86_400);
    Some(format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t % 3600 / 60,
        t % 60
    ))
}

fn response_type(partstat: Option<&str>) -> &'static str {
    match partstat.unwrap_or("").to_ascii_uppercase().as_str() {
        "ACCEPTED" => "Accept",
        "TENTATIVE" => "Tentative",
        "DECLINED" => "Decline",
        _ => "NoResponseReceived",
    }
}

fn mailbox_xml(name: &str, address: &str) -> String {
    format!(
        "<t:Mailbox><t:Name>{}</t:Name><t:EmailAddress>{}</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox>",
        escape(name),
        escape(address)
    )
}

fn address_of(l: &Line) -> String {
    let v = l.value.as_str();
    v.strip_prefix("mailto:")
        .or_else(|| v.strip_prefix("MAILTO:"))
        .unwrap_or(v)
        .to_string()
}

const DAYS: [(&str, &str); 7] = [
    ("MO", "Monday"),
    ("TU", "Tuesday"),
    ("WE", "Wednesday"),
    ("TH", "Thursday"),
    ("FR", "Friday"),
    ("SA", "Saturday"),
    ("SU", "Sunday"),
];

/// `t:Recurrence` from an RRULE of the kinds the seed uses (daily, weekly, monthly by day).
fn recurrence_xml(rule: &str, start_date: &str, offset: i64) -> String {
    let part = |k: &str| {
        rule.split(';')
            .filter_map(|p| p.split_once('='))
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.to_string())
    };
    let interval = part("INTERVAL").unwrap_or_else(|| "1".into());
    let days = part("BYDAY")
        .map(|d| {
            d.split(',')
                .filter_map(|x| DAYS.iter().find(|(c, _)| x.ends_with(c)).map(|(_, n)| *n))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let pattern = match part("FREQ").unwrap_or_default().as_str() {
        "DAILY" => format!("<t:DailyRecurrence><t:Interval>{interval}</t:Interval></t:DailyRecurrence>"),
        "MONTHLY" => format!(
            "<t:AbsoluteMonthlyRecurrence><t:Interval>{interval}</t:Interval><t:DayOfMonth>{}</t:DayOfMonth></t:AbsoluteMonthlyRecurrence>",
            part("BYMONTHDAY").unwrap_or_else(|| start_date[8..10].trim_start_matches('0').to_string())
        ),
        _ => format!(
            "<t:WeeklyRecurrence><t:Interval>{interval}</t:Interval><t:DaysOfWeek>{days}</t:DaysOfWeek><t:FirstDayOfWeek>Monday</t:FirstDayOfWeek></t:WeeklyRecurrence>"
        ),
    };
    let sign = if offset < 0 { '-' } else { '+' };
    let zone = format!(
        "{sign}{:02}:{:02}",
        offset.abs() / 3600,
        offset.abs() % 3600 / 60
    );
    let range = if let Some(count) = part("COUNT") {
        format!("<t:NumberedRecurrence><t:StartDate>{start_date}{zone}</t:StartDate><t:NumberOfOccurrences>{count}</t:NumberOfOccurrences></t:NumberedRecurrence>")
    } else if let Some(until) = part("UNTIL") {
        let end = utc(&until, offset).unwrap_or_default();
        format!(
            "<t:EndDateRecurrence><t:StartDate>{start_date}{zone}</t:StartDate><t:EndDate>{}{zone}</t:EndDate></t:EndDateRecurrence>",
            end.get(..10).unwrap_or("")
        )
    } else {
        format!(
            "<t:NoEndRecurrence><t:StartDate>{start_date}{zone}</t:StartDate></t:NoEndRecurrence>"
        )
    };
    format!("<t:Recurrence>{pattern}{range}</t:Recurrence>")
}

/// The id GetItem takes for the `n`th changed occurrence of the series `item_id`.
pub fn occurrence_id(item_id: &str, n: usize) -> String {
    format!("occurrence:{n}:{item_id}")
}

/// The series' item id and the occurrence's number, from an [`occurrence_id`].
pub fn parse_occurrence_id(id: &str) -> Option<(&str, usize)> {
    let (n, item) = id.strip_prefix("occurrence:")?.split_once(':')?;
    Some((item, n.parse().ok()?))
}

/// The changed occurrences of a series: the events after the master with a RECURRENCE-ID.
fn changed_occurrences(all: &[Vec<Line>]) -> Vec<&Vec<Line>> {
    all.iter()
        .skip(1)
        .filter(|e| get(e, "RECURRENCE-ID").is_some())
        .collect()
}

/// The `AllProperties` children of the `n`th changed occurrence as GetItem of its id answers
/// (CalendarItemType `Exception`, its own subject, location and times), after its ItemId.
pub fn occurrence_xml(ics: &[u8], n: usize) -> Option<String> {
    let all = events(ics);
    let master = all.first()?;
    let changed = changed_occurrences(&all);
    let c = changed.get(n)?;
    let offset = offset_seconds(&value(master, "X-MS-UTC-OFFSET"));
    let at = |name: &str| {
        get(c, name)
            .and_then(|l| utc(&l.value, offset))
            .unwrap_or_default()
    };
    let or_master = |name: &str| {
        let own = value(c, name);
        if own.is_empty() {
            value(master, name)
        } else {
            own
        }
    };
    let zone_name = value(master, "X-MS-TIMEZONE");
    let mut x = format!(
        "<t:ItemClass>IPM.Appointment</t:ItemClass><t:Subject>{}</t:Subject><t:Sensitivity>Normal</t:Sensitivity>\
<t:UID>{}</t:UID><t:Start>{}</t:Start><t:End>{}</t:End><t:IsAllDayEvent>false</t:IsAllDayEvent>\
<t:LegacyFreeBusyStatus>Busy</t:LegacyFreeBusyStatus><t:Location>{}</t:Location>\
<t:IsRecurring>true</t:IsRecurring><t:CalendarItemType>Exception</t:CalendarItemType><t:OriginalStart>{}</t:OriginalStart>",
        escape(&or_master("SUMMARY")),
        escape(&value(master, "UID")),
        at("DTSTART"),
        at("DTEND"),
        escape(&or_master("LOCATION")),
        at("RECURRENCE-ID"),
    );
    if !zone_name.is_empty() {
        let _ = write!(
            x,
            "<t:StartTimeZone Id=\"{0}\" Name=\"{0}\"/><t:EndTimeZone Id=\"{0}\" Name=\"{0}\"/>",
            escape(&zone_name)
        );
    }
    Some(x)
}

/// The `AllProperties` children of a `t:CalendarItem`, in schema order, after its ItemClass and
/// Subject (written by the caller). `item_id` names its changed occurrences.
pub fn calendar_item_xml(ics: &[u8], item_id: &str) -> String {
    let all = events(ics);
    let Some(ev) = all.first() else {
        return String::new();
    };
    let zone_name = value(ev, "X-MS-TIMEZONE");
    let offset = offset_seconds(&value(ev, "X-MS-UTC-OFFSET"));
    let dtstart = get(ev, "DTSTART");
    let all_day = dtstart.is_some_and(|l| l.param("VALUE") == Some("DATE"));
    let start = dtstart
        .and_then(|l| utc(&l.value, offset))
        .unwrap_or_default();
    let end = get(ev, "DTEND")
        .and_then(|l| utc(&l.value, offset))
        .unwrap_or_else(|| start.clone());
    let mut x = String::new();
    let desc = value(ev, "DESCRIPTION");
    let _ = write!(
        x,
        "<t:Sensitivity>Normal</t:Sensitivity><t:Body BodyType=\"Text\">{}</t:Body>",
        escape(&desc)
    );
    let cats = value(ev, "CATEGORIES");
    if !cats.is_empty() {
        x.push_str("<t:Categories>");
        for c in cats.split(',') {
            let _ = write!(x, "<t:String>{}</t:String>", escape(c.trim()));
        }
        x.push_str("</t:Categories>");
    }
    x.push_str("<t:Importance>Normal</t:Importance>");
    let reminder = value(ev, "X-MS-REMINDER-MINUTES");
    if reminder.is_empty() {
        x.push_str("<t:ReminderIsSet>false</t:ReminderIsSet>");
    } else {
        let _ = write!(
            x,
            "<t:ReminderIsSet>true</t:ReminderIsSet><t:ReminderMinutesBeforeStart>{reminder}</t:ReminderMinutesBeforeStart>"
        );
    }
    let _ = write!(
        x,
        "<t:UID>{}</t:UID><t:Start>{start}</t:Start><t:End>{end}</t:End><t:IsAllDayEvent>{all_day}</t:IsAllDayEvent>\
<t:LegacyFreeBusyStatus>{}</t:LegacyFreeBusyStatus><t:Location>{}</t:Location>",
        escape(&value(ev, "UID")),
        if all_day { "Free" } else { "Busy" },
        escape(&value(ev, "LOCATION"))
    );
    let rule = value(ev, "RRULE");
    let attendees: Vec<&Line> = ev.iter().filter(|l| l.name == "ATTENDEE").collect();
    let _ = write!(
        x,
        "<t:IsMeeting>{}</t:IsMeeting><t:IsCancelled>false</t:IsCancelled><t:IsRecurring>{}</t:IsRecurring>\
<t:CalendarItemType>{}</t:CalendarItemType><t:MyResponseType>Organizer</t:MyResponseType>",
        !attendees.is_empty(),
        !rule.is_empty(),
        if rule.is_empty() { "Single" } else { "RecurringMaster" }
    );
    if let Some(o) = get(ev, "ORGANIZER") {
        let _ = write!(
            x,
            "<t:Organizer>{}</t:Organizer>",
            mailbox_xml(o.param("CN").unwrap_or(""), &address_of(o))
        );
    }
    for (list, optional) in [("RequiredAttendees", false), ("OptionalAttendees", true)] {
        let of_kind: Vec<&&Line> = attendees
            .iter()
            .filter(|a| (a.param("ROLE") == Some("OPT-PARTICIPANT")) == optional)
            .collect();
        if of_kind.is_empty() {
            continue;
        }
        let _ = write!(x, "<t:{list}>");
        for a in of_kind {
            let _ = write!(
                x,
                "<t:Attendee>{}<t:ResponseType>{}</t:ResponseType></t:Attendee>",
                mailbox_xml(a.param("CN").unwrap_or(""), &address_of(a)),
                response_type(a.param("PARTSTAT"))
            );
        }
        let _ = write!(x, "</t:{list}>");
    }
    if !rule.is_empty() {
        let start_date = start.get(..10).unwrap_or("").to_string();
        // The range's start date is the local one.
        let local_date = dtstart
            .map(|l| format!("{}-{}-{}", &l.value[0..4], &l.value[4..6], &l.value[6..8]))
            .unwrap_or(start_date);
        x.push_str(&recurrence_xml(&rule, &local_date, offset));
        let changed = changed_occurrences(&all);
        if !changed.is_empty() {
            x.push_str("<t:ModifiedOccurrences>");
            for (n, c) in changed.iter().enumerate() {
                let s = get(c, "DTSTART")
                    .and_then(|l| utc(&l.value, offset))
                    .unwrap_or_default();
                let e = get(c, "DTEND")
                    .and_then(|l| utc(&l.value, offset))
                    .unwrap_or_default();
                let o = get(c, "RECURRENCE-ID")
                    .and_then(|l| utc(&l.value, offset))
                    .unwrap_or_default();
                let _ = write!(
                    x,
                    "<t:Occurrence><t:ItemId Id=\"{}\" ChangeKey=\"DwAAAA==\"/><t:Start>{s}</t:Start><t:End>{e}</t:End><t:OriginalStart>{o}</t:OriginalStart></t:Occurrence>",
                    escape(&occurrence_id(item_id, n))
                );
            }
            x.push_str("</t:ModifiedOccurrences>");
        }
        let deleted: Vec<String> = ev
            .iter()
            .filter(|l| l.name == "EXDATE")
            .flat_map(|l| l.value.split(',').map(str::to_string).collect::<Vec<_>>())
            .filter_map(|v| utc(&v, offset))
            .collect();
        if !deleted.is_empty() {
            x.push_str("<t:DeletedOccurrences>");
            for d in deleted {
                let _ = write!(
                    x,
                    "<t:DeletedOccurrence><t:Start>{d}</t:Start></t:DeletedOccurrence>"
                );
            }
            x.push_str("</t:DeletedOccurrences>");
        }
    }
    if !zone_name.is_empty() {
        let _ = write!(
            x,
            "<t:StartTimeZone Id=\"{0}\" Name=\"{0}\"/><t:EndTimeZone Id=\"{0}\" Name=\"{0}\"/>",
            escape(&zone_name)
        );
    }
    x
}

/// Exchange's MIME of a calendar item: "many properties are not exported with the MIME stream,
/// including attendees". The seed's own X- properties are the simulator's, not Exchange's.
pub fn calendar_mime(ics: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(ics);
    let mut out = String::new();
    let mut skipping = false;
    for line in text.split_inclusive('\n') {
        let continued = line.starts_with([' ', '\t']);
        if !continued {
            let upper = line.to_ascii_uppercase();
            skipping = upper.starts_with("ATTENDEE") || upper.starts_with("X-MS-");
        }
        if !skipping {
            out.push_str(line);
        }
    }
    out.into_bytes()
}

/// vCard TYPE values of a line, upper case.
fn types(l: &Line) -> Vec<String> {
    l.params
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("TYPE"))
        .flat_map(|(_, v)| {
            v.split(',')
                .map(|t| t.trim().to_ascii_uppercase())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The `AllProperties` children of a `t:Contact` after its ItemClass and Subject.
pub fn contact_xml(vcf: &[u8], photo_id: &str) -> String {
    let ls = lines(vcf);
    let v = |n: &str| value(&ls, n);
    let n = v("N");
    let mut parts = n.split(';');
    let surname = parts.next().unwrap_or("").to_string();
    let given = parts.next().unwrap_or("").to_string();
    let middle = parts.next().unwrap_or("").to_string();
    let org = v("ORG");
    let mut org_parts = org.split(';');
    let company = org_parts.next().unwrap_or("").to_string();
    let department = org_parts.next().unwrap_or("").to_string();
    let mut x = String::new();
    let note = v("NOTE");
    let _ = write!(x, "<t:Body BodyType=\"Text\">{}</t:Body>", escape(&note));
    if get(&ls, "PHOTO").is_some() {
        let _ = write!(
            x,
            "<t:HasAttachments>true</t:HasAttachments><t:Attachments><t:FileAttachment><t:AttachmentId Id=\"{}\"/>\
<t:Name>ContactPicture.jpg</t:Name><t:ContentType>image/jpeg</t:ContentType><t:IsContactPhoto>true</t:IsContactPhoto></t:FileAttachment></t:Attachments>",
            escape(photo_id)
        );
    }
    let fn_ = v("FN");
    let _ = write!(
        x,
        "<t:FileAs>{}</t:FileAs><t:DisplayName>{}</t:DisplayName><t:GivenName>{}</t:GivenName><t:MiddleName>{}</t:MiddleName>\
<t:CompleteName><t:FirstName>{}</t:FirstName><t:MiddleName>{}</t:MiddleName><t:LastName>{}</t:LastName><t:FullName>{}</t:FullName></t:CompleteName>\
<t:CompanyName>{}</t:CompanyName>",
        escape(&if surname.is_empty() { fn_.clone() } else { format!("{surname}, {given}") }),
        escape(&fn_),
        escape(&given),
        escape(&middle),
        escape(&given),
        escape(&middle),
        escape(&surname),
        escape(&fn_),
        escape(&company)
    );
    let emails: Vec<&Line> = ls.iter().filter(|l| l.name == "EMAIL").take(3).collect();
    if !emails.is_empty() {
        x.push_str("<t:EmailAddresses>");
        for (i, e) in emails.iter().enumerate() {
            let _ = write!(
                x,
                "<t:Entry Key=\"EmailAddress{}\" Name=\"{}\">{}</t:Entry>",
                i + 1,
                escape(&fn_),
                escape(&e.value)
            );
        }
        x.push_str("</t:EmailAddresses>");
    }
    let addresses: Vec<&Line> = ls.iter().filter(|l| l.name == "ADR").collect();
    if !addresses.is_empty() {
        x.push_str("<t:PhysicalAddresses>");
        let mut used = Vec::new();
        for a in addresses {
            let t = types(a);
            let key = if t.iter().any(|t| t == "HOME") {
                "Home"
            } else if t.iter().any(|t| t == "WORK") {
                "Business"
            } else {
                "Other"
            };
            if used.contains(&key) {
                continue;
            }
            used.push(key);
            // ADR: PO box; extended; street; city; region; postal code; country.
            let f: Vec<&str> = a.value.split(';').collect();
            let at = |i: usize| escape(f.get(i).copied().unwrap_or("").trim());
            let _ = write!(
                x,
                "<t:Entry Key=\"{key}\"><t:Street>{}</t:Street><t:City>{}</t:City><t:State>{}</t:State><t:CountryOrRegion>{}</t:CountryOrRegion><t:PostalCode>{}</t:PostalCode></t:Entry>",
                at(2), at(3), at(4), at(6), at(5)
            );
        }
        x.push_str("</t:PhysicalAddresses>");
    }
    let phones: Vec<&Line> = ls.iter().filter(|l| l.name == "TEL").collect();
    if !phones.is_empty() {
        x.push_str("<t:PhoneNumbers>");
        let mut used = Vec::new();
        for p in phones {
            let t = types(p);
            let key = if t.iter().any(|t| t == "CELL") {
                "MobilePhone"
            } else if t.iter().any(|t| t == "HOME") {
                "HomePhone"
            } else if t.iter().any(|t| t == "FAX") {
                "BusinessFax"
            } else {
                "BusinessPhone"
            };
            if used.contains(&key) {
                continue;
            }
            used.push(key);
            let _ = write!(x, "<t:Entry Key=\"{key}\">{}</t:Entry>", escape(&p.value));
        }
        x.push_str("</t:PhoneNumbers>");
    }
    let bday = v("BDAY");
    if bday.len() >= 8 {
        let digits: String = bday.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 8 {
            let _ = write!(
                x,
                "<t:Birthday>{}-{}-{}T00:00:00Z</t:Birthday>",
                &digits[0..4],
                &digits[4..6],
                &digits[6..8]
            );
        }
    }
    let _ = write!(
        x,
        "<t:BusinessHomePage>{}</t:BusinessHomePage><t:Department>{}</t:Department><t:JobTitle>{}</t:JobTitle><t:Surname>{}</t:Surname><t:HasPicture>{}</t:HasPicture>",
        escape(&v("URL")),
        escape(&department),
        escape(&v("TITLE")),
        escape(&surname),
        get(&ls, "PHOTO").is_some()
    );
    x
}

/// A contact's photo bytes (the vCard `PHOTO`, base64), for GetAttachment.
pub fn contact_photo(vcf: &[u8]) -> Option<String> {
    let ls = lines(vcf);
    let p = get(&ls, "PHOTO")?;
    let b64 = p.value.rsplit(',').next().unwrap_or(&p.value).to_string();
    Some(b64)
}

/// The time, attendee and series fields of a Graph `event` (the caller adds the rest): times
/// in UTC as Graph writes them by default, an all-day event as its midnights.
pub fn graph_event_fields(ics: &[u8]) -> serde_json::Value {
    use serde_json::json;
    let all = events(ics);
    let Some(ev) = all.first() else {
        return json!({});
    };
    let offset = offset_seconds(&value(ev, "X-MS-UTC-OFFSET"));
    let dtstart = get(ev, "DTSTART");
    let all_day = dtstart.is_some_and(|l| l.param("VALUE") == Some("DATE"));
    let time = |name: &str| -> String {
        let Some(l) = get(ev, name) else {
            return String::new();
        };
        let at = if all_day {
            utc(&l.value, 0)
        } else {
            utc(&l.value, offset)
        };
        at.map(|t| format!("{}.0000000", t.trim_end_matches('Z')))
            .unwrap_or_default()
    };
    let attendees: Vec<serde_json::Value> = ev
        .iter()
        .filter(|l| l.name == "ATTENDEE")
        .map(|a| {
            let response = match a.param("PARTSTAT").unwrap_or("").to_ascii_uppercase().as_str() {
                "ACCEPTED" => "accepted",
                "TENTATIVE" => "tentativelyAccepted",
                "DECLINED" => "declined",
                _ => "notResponded",
            };
            json!({
                "type": if a.param("ROLE") == Some("OPT-PARTICIPANT") { "optional" } else { "required" },
                "status": {"response": response, "time": "0001-01-01T00:00:00Z"},
                "emailAddress": {"name": a.param("CN").unwrap_or(""), "address": address_of(a)},
            })
        })
        .collect();
    let rule = value(ev, "RRULE");
    let recurrence = if rule.is_empty() {
        serde_json::Value::Null
    } else {
        let part = |k: &str| {
            rule.split(';')
                .filter_map(|p| p.split_once('='))
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.to_string())
        };
        let days: Vec<String> = part("BYDAY")
            .unwrap_or_default()
            .split(',')
            .filter_map(|x| DAYS.iter().find(|(c, _)| x.ends_with(c)))
            .map(|(_, n)| n.to_ascii_lowercase())
            .collect();
        let start_date = dtstart
            .map(|l| format!("{}-{}-{}", &l.value[0..4], &l.value[4..6], &l.value[6..8]))
            .unwrap_or_default();
        let (kind, count) = match part("COUNT") {
            Some(c) => ("numbered", c.parse::<u32>().unwrap_or(1)),
            None => ("noEnd", 0),
        };
        json!({
            "pattern": {
                "type": match part("FREQ").as_deref() { Some("DAILY") => "daily", _ => "weekly" },
                "interval": part("INTERVAL").and_then(|i| i.parse::<u32>().ok()).unwrap_or(1),
                "daysOfWeek": days, "firstDayOfWeek": "monday", "index": "first",
                "month": 0, "dayOfMonth": 0,
            },
            "range": {"type": kind, "startDate": start_date, "endDate": "0001-01-01",
                "numberOfOccurrences": count, "recurrenceTimeZone": value(ev, "X-MS-TIMEZONE")},
        })
    };
    json!({
        "start": {"dateTime": time("DTSTART"), "timeZone": "UTC"},
        "end": {"dateTime": time("DTEND"), "timeZone": "UTC"},
        "isAllDay": all_day,
        "originalStartTimeZone": value(ev, "X-MS-TIMEZONE"),
        "originalEndTimeZone": value(ev, "X-MS-TIMEZONE"),
        "attendees": attendees,
        "recurrence": recurrence,
        "type": if rule.is_empty() { "singleInstance" } else { "seriesMaster" },
    })
}

/// A Graph `contact`'s phones by kind, postal addresses and notes (the caller adds names and
/// e-mail addresses).
pub fn graph_contact_fields(vcf: &[u8]) -> serde_json::Value {
    use serde_json::json;
    let ls = lines(vcf);
    let mut business = Vec::new();
    let mut home = Vec::new();
    let mut mobile = String::new();
    for p in ls.iter().filter(|l| l.name == "TEL") {
        let t = types(p);
        if t.iter().any(|t| t == "CELL") {
            mobile = p.value.clone();
        } else if t.iter().any(|t| t == "HOME") {
            home.push(p.value.clone());
        } else {
            business.push(p.value.clone());
        }
    }
    let mut v = json!({
        "businessPhones": business, "homePhones": home, "mobilePhone": mobile,
        "personalNotes": value(&ls, "NOTE"),
        "homeAddress": {}, "businessAddress": {}, "otherAddress": {},
    });
    for a in ls.iter().filter(|l| l.name == "ADR") {
        let t = types(a);
        let key = if t.iter().any(|t| t == "HOME") {
            "homeAddress"
        } else if t.iter().any(|t| t == "WORK") {
            "businessAddress"
        } else {
            "otherAddress"
        };
        let f: Vec<&str> = a.value.split(';').collect();
        let at = |i: usize| f.get(i).copied().unwrap_or("").trim().to_string();
        v[key] = json!({"street": at(2), "city": at(3), "state": at(4), "postalCode": at(5), "countryOrRegion": at(6)});
    }
    let bday: String = value(&ls, "BDAY")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if bday.len() >= 8 {
        v["birthday"] = json!(format!(
            "{}-{}-{}T11:59:00Z",
            &bday[0..4],
            &bday[4..6],
            &bday[6..8]
        ));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_to_utc() {
        assert_eq!(
            utc("20260311", 9 * 3600).as_deref(),
            Some("2026-03-10T15:00:00Z")
        );
        assert_eq!(
            utc("20260302T090000", 3600).as_deref(),
            Some("2026-03-02T08:00:00Z")
        );
        assert_eq!(
            utc("20260302T090000Z", 3600).as_deref(),
            Some("2026-03-02T09:00:00Z")
        );
        assert_eq!(offset_seconds("-05:30"), -(5 * 3600 + 1800));
    }

    #[test]
    fn mime_loses_attendees_as_exchange_does() {
        let ics = b"BEGIN:VEVENT\r\nSUMMARY:x\r\nATTENDEE;CN=A:mailto:a@example.com\r\n \tfolded\r\nX-MS-TIMEZONE:Tokyo Standard Time\r\nEND:VEVENT\r\n";
        let out = String::from_utf8(calendar_mime(ics)).unwrap_or_default();
        assert_eq!(out, "BEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\n");
    }
}
