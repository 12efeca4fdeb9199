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

use crate::dates::days_from_civil;

/// One content line: name, parameters, value (folded lines joined).
pub struct Line {
    pub name: String,
    pub params: Vec<(String, String)>,
    pub value: String,
}

impl Line {
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim_matches('"'))
    }
}

/// Undoes iCalendar/vCard TEXT escaping (`\n`, `\,`, `\;`, `\\`) in one pass.
pub fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(e @ (',' | ';' | '\\')) => out.push(e),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The content lines of an iCalendar or vCard text, folded lines joined, as written.
pub(crate) fn unfold(data: &[u8]) -> Vec<String> {
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
}

/// One unfolded content line as name, parameters and (unescaped) value.
pub(crate) fn parse_line(l: &str) -> Option<Line> {
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
        value: unescape(value.trim()),
    })
}

/// TEXT escaping (RFC 5545 3.3.11); CR is dropped so a line stays one line.
pub(crate) fn ics_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

pub fn lines(data: &[u8]) -> Vec<Line> {
    unfold(data).iter().filter_map(|l| parse_line(l)).collect()
}

/// The VEVENT blocks of a calendar: the first is the item (the master of a series), later
/// ones with RECURRENCE-ID are its changed occurrences.
pub(crate) fn events(data: &[u8]) -> Vec<Vec<Line>> {
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

pub(crate) fn get<'a>(ev: &'a [Line], name: &str) -> Option<&'a Line> {
    ev.iter().find(|l| l.name == name)
}

pub(crate) fn value(ev: &[Line], name: &str) -> String {
    get(ev, name).map(|l| l.value.clone()).unwrap_or_default()
}

/// "+09:00" as seconds east of UTC.
pub(crate) fn offset_seconds(s: &str) -> i64 {
    let s = s.trim();
    let sign = if s.starts_with('-') { -1 } else { 1 };
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let h: i64 = digits.get(0..2).and_then(|v| v.parse().ok()).unwrap_or(0);
    let m: i64 = digits.get(2..4).and_then(|v| v.parse().ok()).unwrap_or(0);
    sign * (h * 3600 + m * 60)
}

/// An iCalendar date or date-time (`20260302T090000Z`, local `20260302T090000`, or a date)
/// as UTC seconds; local times (and dates) are in the item's offset.
pub(crate) fn ics_instant(v: &str, offset: i64) -> Option<i64> {
    let n = |a: usize, b: usize| v.get(a..b).and_then(|s| s.parse::<i64>().ok());
    let (y, mo, d) = (n(0, 4)?, n(4, 6)?, n(6, 8)?);
    let (h, mi, s) = if v.len() >= 15 {
        (n(9, 11)?, n(11, 13)?, n(13, 15)?)
    } else {
        (0, 0, 0)
    };
    let local = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s;
    Some(if v.ends_with('Z') {
        local
    } else {
        local - offset
    })
}

/// [`ics_instant`] as EWS's UTC `2026-03-02T08:00:00Z`.
fn utc(v: &str, offset: i64) -> Option<String> {
    ics_instant(v, offset).map(crate::dates::xs)
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

/// An RRULE's parts as the two property views need them.
struct Rule {
    freq: String,
    interval: String,
    /// Indexes into [`DAYS`].
    days: Vec<usize>,
    /// BYSETPOS, or the ordinal a BYDAY entry carried ("2TU").
    setpos: Option<i64>,
    month_day: Option<String>,
    month: Option<usize>,
    week_start: Option<usize>,
    count: Option<String>,
    until: Option<String>,
}

fn parse_rule(rule: &str) -> Rule {
    let part = |k: &str| {
        rule.split(';')
            .filter_map(|p| p.split_once('='))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(k))
            .map(|(_, v)| v.trim().to_string())
    };
    let day_index = |code: &str| DAYS.iter().position(|(c, _)| code.eq_ignore_ascii_case(c));
    let mut ordinal = None;
    let days = part("BYDAY")
        .map(|d| {
            d.split(',')
                .filter_map(|x| {
                    let x = x.trim();
                    let code = x.get(x.len().saturating_sub(2)..).unwrap_or("");
                    let prefix = x.get(..x.len().saturating_sub(2)).unwrap_or("");
                    if let Ok(n) = prefix.trim_start_matches('+').parse::<i64>() {
                        ordinal = Some(n);
                    }
                    day_index(code)
                })
                .collect()
        })
        .unwrap_or_default();
    Rule {
        freq: part("FREQ").unwrap_or_default().to_ascii_uppercase(),
        interval: part("INTERVAL").unwrap_or_else(|| "1".into()),
        days,
        setpos: part("BYSETPOS").and_then(|p| p.parse().ok()).or(ordinal),
        month_day: part("BYMONTHDAY"),
        month: part("BYMONTH")
            .and_then(|m| m.parse::<usize>().ok())
            .filter(|m| (1..=12).contains(m)),
        week_start: part("WKST").and_then(|w| day_index(&w)),
        count: part("COUNT"),
        until: part("UNTIL"),
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn index_name(n: Option<i64>) -> &'static str {
    match n {
        Some(2) => "Second",
        Some(3) => "Third",
        Some(4) => "Fourth",
        Some(n) if n < 0 => "Last",
        _ => "First",
    }
}

/// EWS's names for a relative pattern's day set: one day, or the groups DayOfWeekType has.
fn relative_days(days: &[usize]) -> String {
    let mut sorted = days.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    match sorted.as_slice() {
        [0, 1, 2, 3, 4, 5, 6] => "Day".into(),
        [0, 1, 2, 3, 4] => "Weekday".into(),
        [5, 6] => "WeekendDay".into(),
        _ => sorted
            .iter()
            .filter_map(|i| DAYS.get(*i).map(|(_, n)| *n))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// `t:Recurrence` from an RRULE: daily, weekly, monthly and yearly, absolute or relative.
fn recurrence_xml(rule: &str, start_date: &str, offset: i64) -> String {
    let r = parse_rule(rule);
    let interval = &r.interval;
    let names = |days: &[usize]| {
        days.iter()
            .filter_map(|i| DAYS.get(*i).map(|(_, n)| *n))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let start_day = start_date
        .get(8..10)
        .map(|d| d.trim_start_matches('0').to_string())
        .unwrap_or_else(|| "1".into());
    let start_month = start_date
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(1);
    let month = MONTHS
        .get(r.month.unwrap_or(start_month).saturating_sub(1))
        .copied()
        .unwrap_or("January");
    let day_of_month = r.month_day.clone().unwrap_or(start_day);
    let pattern = match r.freq.as_str() {
        "DAILY" => format!("<t:DailyRecurrence><t:Interval>{interval}</t:Interval></t:DailyRecurrence>"),
        "MONTHLY" if !r.days.is_empty() => format!(
            "<t:RelativeMonthlyRecurrence><t:Interval>{interval}</t:Interval><t:DaysOfWeek>{}</t:DaysOfWeek><t:DayOfWeekIndex>{}</t:DayOfWeekIndex></t:RelativeMonthlyRecurrence>",
            relative_days(&r.days),
            index_name(r.setpos)
        ),
        "MONTHLY" => format!(
            "<t:AbsoluteMonthlyRecurrence><t:Interval>{interval}</t:Interval><t:DayOfMonth>{day_of_month}</t:DayOfMonth></t:AbsoluteMonthlyRecurrence>"
        ),
        "YEARLY" if !r.days.is_empty() => format!(
            "<t:RelativeYearlyRecurrence><t:DaysOfWeek>{}</t:DaysOfWeek><t:DayOfWeekIndex>{}</t:DayOfWeekIndex><t:Month>{month}</t:Month></t:RelativeYearlyRecurrence>",
            relative_days(&r.days),
            index_name(r.setpos)
        ),
        "YEARLY" => format!(
            "<t:AbsoluteYearlyRecurrence><t:DayOfMonth>{day_of_month}</t:DayOfMonth><t:Month>{month}</t:Month></t:AbsoluteYearlyRecurrence>"
        ),
        _ => format!(
            "<t:WeeklyRecurrence><t:Interval>{interval}</t:Interval><t:DaysOfWeek>{}</t:DaysOfWeek><t:FirstDayOfWeek>{}</t:FirstDayOfWeek></t:WeeklyRecurrence>",
            names(&r.days),
            r.week_start.and_then(|i| DAYS.get(i)).map_or("Monday", |(_, n)| *n)
        ),
    };
    let zone = crate::dates::format_offset(offset);
    let range = if let Some(count) = r.count {
        format!("<t:NumberedRecurrence><t:StartDate>{start_date}{zone}</t:StartDate><t:NumberOfOccurrences>{count}</t:NumberOfOccurrences></t:NumberedRecurrence>")
    } else if let Some(until) = r.until {
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

/// The local start date (`YYYY-MM-DD`) of an iCalendar DTSTART value.
fn local_date(v: &str) -> Option<String> {
    Some(format!(
        "{}-{}-{}",
        v.get(0..4)?,
        v.get(4..6)?,
        v.get(6..8)?
    ))
}

/// "required", "optional" or "resource", as Graph names an attendee's type.
fn attendee_kind(a: &Line) -> &'static str {
    if a.param("CUTYPE")
        .is_some_and(|c| c.eq_ignore_ascii_case("RESOURCE"))
    {
        "resource"
    } else if a.param("ROLE") == Some("OPT-PARTICIPANT") {
        "optional"
    } else {
        "required"
    }
}

/// EWS LegacyFreeBusyStatus from Outlook's X-MICROSOFT-CDO-BUSYSTATUS.
fn free_busy(ev: &[Line]) -> Option<&'static str> {
    Some(
        match value(ev, "X-MICROSOFT-CDO-BUSYSTATUS")
            .to_ascii_uppercase()
            .as_str()
        {
            "FREE" => "Free",
            "TENTATIVE" => "Tentative",
            "BUSY" => "Busy",
            "OOF" => "OOF",
            "WORKINGELSEWHERE" => "WorkingElsewhere",
            "NODATA" => "NoData",
            _ => return None,
        },
    )
}

fn sensitivity(ev: &[Line]) -> &'static str {
    match value(ev, "X-MS-SENSITIVITY").to_ascii_lowercase().as_str() {
        "personal" => "Personal",
        "private" => "Private",
        "confidential" => "Confidential",
        _ => "Normal",
    }
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
    let (body_type, body) = match get(ev, "X-ALT-DESC") {
        Some(html) => ("HTML", html.value.clone()),
        None => ("Text", value(ev, "DESCRIPTION")),
    };
    let _ = write!(
        x,
        "<t:Sensitivity>{}</t:Sensitivity><t:Body BodyType=\"{body_type}\">{}</t:Body>",
        sensitivity(ev),
        escape(&body)
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
        free_busy(ev).unwrap_or(if all_day { "Free" } else { "Busy" }),
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
    for (list, kind) in [
        ("RequiredAttendees", "required"),
        ("OptionalAttendees", "optional"),
        ("Resources", "resource"),
    ] {
        let of_kind: Vec<&&Line> = attendees
            .iter()
            .filter(|a| attendee_kind(a) == kind)
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
            .and_then(|l| local_date(&l.value))
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

/// The EWS slot a vCard TEL line fills: the one a restore recorded (`X-MS-KEY`), else the one
/// its TYPE values suggest.
fn phone_key(p: &Line) -> String {
    if let Some(k) = p.param("X-MS-KEY").filter(|k| !k.is_empty()) {
        return k.to_string();
    }
    let t = types(p);
    if t.iter().any(|t| t == "CELL") {
        "MobilePhone"
    } else if t.iter().any(|t| t == "HOME") {
        "HomePhone"
    } else if t.iter().any(|t| t == "FAX") {
        "BusinessFax"
    } else {
        "BusinessPhone"
    }
    .to_string()
}

fn address_key(a: &Line) -> &'static str {
    let t = types(a);
    if t.iter().any(|t| t == "HOME") {
        "Home"
    } else if t.iter().any(|t| t == "WORK") {
        "Business"
    } else {
        "Other"
    }
}

/// (EWS key, display name, address) of each EMAIL line, at most the three EWS has slots for.
fn emails(ls: &[Line]) -> Vec<(String, String, String)> {
    let shown = value(ls, "FN");
    ls.iter()
        .filter(|l| l.name == "EMAIL")
        .take(3)
        .enumerate()
        .map(|(i, e)| {
            let key = e
                .param("X-MS-KEY")
                .filter(|k| !k.is_empty())
                .map_or_else(|| format!("EmailAddress{}", i + 1), str::to_string);
            let name = e
                .param("X-MS-NAME")
                .map_or_else(|| shown.clone(), str::to_string);
            (key, name, e.value.clone())
        })
        .collect()
}

/// The address in the contact's n-th e-mail slot (0 to 2), as PidLidEmail{n+1}EmailAddress.
pub fn contact_email(vcf: &[u8], n: usize) -> Option<String> {
    emails(&lines(vcf))
        .into_iter()
        .nth(n)
        .map(|(_, _, address)| address)
}

/// The `AllProperties` children of a `t:Contact` after its ItemClass and Subject.
pub fn contact_xml(vcf: &[u8], photo_id: &str) -> String {
    let ls = lines(vcf);
    let v = |n: &str| value(&ls, n);
    let opt = |x: &mut String, el: &str, prop: &str| {
        let val = value(&ls, prop);
        if !val.is_empty() {
            let _ = write!(x, "<t:{el}>{}</t:{el}>", escape(&val));
        }
    };
    let n = v("N");
    let parts: Vec<&str> = n.split(';').collect();
    let at = |i: usize| parts.get(i).copied().unwrap_or("").to_string();
    let (surname, given, middle, suffix) = (at(0), at(1), at(2), at(4));
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
    let cats = v("CATEGORIES");
    if !cats.is_empty() {
        x.push_str("<t:Categories>");
        for c in cats.split(',') {
            let _ = write!(x, "<t:String>{}</t:String>", escape(c.trim()));
        }
        x.push_str("</t:Categories>");
    }
    let fn_ = v("FN");
    let file_as = match v("X-MS-FILEAS") {
        f if !f.is_empty() => f,
        _ if surname.is_empty() => fn_.clone(),
        _ => format!("{surname}, {given}"),
    };
    let _ = write!(
        x,
        "<t:FileAs>{}</t:FileAs><t:DisplayName>{}</t:DisplayName><t:GivenName>{}</t:GivenName>",
        escape(&file_as),
        escape(&fn_),
        escape(&given)
    );
    opt(&mut x, "Initials", "X-MS-INITIALS");
    let _ = write!(x, "<t:MiddleName>{}</t:MiddleName>", escape(&middle));
    opt(&mut x, "Nickname", "NICKNAME");
    let _ = write!(
        x,
        "<t:CompleteName><t:FirstName>{}</t:FirstName><t:MiddleName>{}</t:MiddleName><t:LastName>{}</t:LastName><t:FullName>{}</t:FullName></t:CompleteName>\
<t:CompanyName>{}</t:CompanyName>",
        escape(&given),
        escape(&middle),
        escape(&surname),
        escape(&fn_),
        escape(&company)
    );
    let mail = emails(&ls);
    if !mail.is_empty() {
        x.push_str("<t:EmailAddresses>");
        for (key, name, address) in &mail {
            let _ = write!(
                x,
                "<t:Entry Key=\"{}\" Name=\"{}\">{}</t:Entry>",
                escape(key),
                escape(name),
                escape(address)
            );
        }
        x.push_str("</t:EmailAddresses>");
    }
    let addresses: Vec<&Line> = ls.iter().filter(|l| l.name == "ADR").collect();
    if !addresses.is_empty() {
        x.push_str("<t:PhysicalAddresses>");
        let mut used = Vec::new();
        for a in addresses {
            let key = address_key(a);
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
            let key = phone_key(p);
            if used.contains(&key) {
                continue;
            }
            let _ = write!(
                x,
                "<t:Entry Key=\"{}\">{}</t:Entry>",
                escape(&key),
                escape(&p.value)
            );
            used.push(key);
        }
        x.push_str("</t:PhoneNumbers>");
    }
    opt(&mut x, "AssistantName", "X-MS-ASSISTANT");
    let bday = v("BDAY");
    if bday.len() >= 8 {
        let digits: String = bday.chars().filter(char::is_ascii_digit).collect();
        if let (Some(y), Some(m), Some(d)) = (digits.get(0..4), digits.get(4..6), digits.get(6..8))
        {
            let _ = write!(x, "<t:Birthday>{y}-{m}-{d}T00:00:00Z</t:Birthday>");
        }
    }
    let _ = write!(
        x,
        "<t:BusinessHomePage>{}</t:BusinessHomePage><t:Department>{}</t:Department>",
        escape(&v("URL")),
        escape(&department)
    );
    if !suffix.is_empty() {
        let _ = write!(x, "<t:Generation>{}</t:Generation>", escape(&suffix));
    }
    let ims: Vec<&Line> = ls
        .iter()
        .filter(|l| l.name == "X-MS-IMADDRESS")
        .take(3)
        .collect();
    if !ims.is_empty() {
        x.push_str("<t:ImAddresses>");
        for (i, im) in ims.iter().enumerate() {
            let _ = write!(
                x,
                "<t:Entry Key=\"ImAddress{}\">{}</t:Entry>",
                i + 1,
                escape(&im.value)
            );
        }
        x.push_str("</t:ImAddresses>");
    }
    let _ = write!(x, "<t:JobTitle>{}</t:JobTitle>", escape(&v("TITLE")));
    opt(&mut x, "Manager", "X-MS-MANAGER");
    opt(&mut x, "OfficeLocation", "X-MS-OFFICE-LOCATION");
    let _ = write!(
        x,
        "<t:Surname>{}</t:Surname><t:HasPicture>{}</t:HasPicture>",
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
            let response = match a
                .param("PARTSTAT")
                .unwrap_or("")
                .to_ascii_uppercase()
                .as_str()
            {
                "ACCEPTED" => "accepted",
                "TENTATIVE" => "tentativelyAccepted",
                "DECLINED" => "declined",
                _ => "notResponded",
            };
            json!({
                "type": attendee_kind(a),
                "status": {"response": response, "time": "0001-01-01T00:00:00Z"},
                "emailAddress": {"name": a.param("CN").unwrap_or(""), "address": address_of(a)},
            })
        })
        .collect();
    let rule = value(ev, "RRULE");
    let recurrence = if rule.is_empty() {
        serde_json::Value::Null
    } else {
        let r = parse_rule(&rule);
        let days: Vec<String> = r
            .days
            .iter()
            .filter_map(|i| DAYS.get(*i))
            .map(|(_, n)| n.to_ascii_lowercase())
            .collect();
        let start_date = dtstart
            .and_then(|l| local_date(&l.value))
            .unwrap_or_default();
        let (kind, count, end_date) = match (&r.count, &r.until) {
            (Some(c), _) => (
                "numbered",
                c.parse::<u32>().unwrap_or(1),
                "0001-01-01".to_string(),
            ),
            (None, Some(u)) => (
                "endDate",
                0,
                utc(u, offset)
                    .and_then(|e| e.get(..10).map(str::to_string))
                    .unwrap_or_default(),
            ),
            (None, None) => ("noEnd", 0, "0001-01-01".to_string()),
        };
        let num = |v: &Option<String>| v.as_deref().and_then(|d| d.parse::<u32>().ok());
        let start_day = start_date.get(8..10).and_then(|d| d.parse::<u32>().ok());
        let start_month = start_date.get(5..7).and_then(|m| m.parse::<u32>().ok());
        let month = r.month.map(|m| m as u32).or(start_month).unwrap_or(0);
        let day_of_month = num(&r.month_day).or(start_day).unwrap_or(0);
        let (kind_name, month, day_of_month) = match (r.freq.as_str(), r.days.is_empty()) {
            ("DAILY", _) => ("daily", 0, 0),
            ("MONTHLY", false) => ("relativeMonthly", 0, 0),
            ("MONTHLY", true) => ("absoluteMonthly", 0, day_of_month),
            ("YEARLY", false) => ("relativeYearly", month, 0),
            ("YEARLY", true) => ("absoluteYearly", month, day_of_month),
            _ => ("weekly", 0, 0),
        };
        json!({
            "pattern": {
                "type": kind_name,
                "interval": r.interval.parse::<u32>().unwrap_or(1),
                "daysOfWeek": days,
                "firstDayOfWeek": r.week_start.and_then(|i| DAYS.get(i)).map_or("monday".to_string(), |(_, n)| n.to_ascii_lowercase()),
                "index": index_name(r.setpos).to_ascii_lowercase(),
                "month": month, "dayOfMonth": day_of_month,
            },
            "range": {"type": kind, "startDate": start_date, "endDate": end_date,
                "numberOfOccurrences": count, "recurrenceTimeZone": value(ev, "X-MS-TIMEZONE")},
        })
    };
    let mut extra = serde_json::Map::new();
    if let Some(html) = get(ev, "X-ALT-DESC") {
        extra.insert(
            "body".into(),
            json!({"contentType": "html", "content": html.value}),
        );
    }
    if let Some(fb) = free_busy(ev) {
        let show_as = match fb {
            "OOF" => "oof".to_string(),
            "NoData" => "unknown".to_string(),
            "WorkingElsewhere" => "workingElsewhere".to_string(),
            other => other.to_ascii_lowercase(),
        };
        extra.insert("showAs".into(), json!(show_as));
    }
    if get(ev, "X-MS-SENSITIVITY").is_some() {
        extra.insert(
            "sensitivity".into(),
            json!(sensitivity(ev).to_ascii_lowercase()),
        );
    }
    let cats = value(ev, "CATEGORIES");
    if !cats.is_empty() {
        let list: Vec<&str> = cats.split(',').map(str::trim).collect();
        extra.insert("categories".into(), json!(list));
    }
    let reminder = value(ev, "X-MS-REMINDER-MINUTES");
    if let Ok(m) = reminder.trim().parse::<i64>() {
        extra.insert("isReminderOn".into(), json!(true));
        extra.insert("reminderMinutesBeforeStart".into(), json!(m));
    }
    let mut out = json!({
        "start": {"dateTime": time("DTSTART"), "timeZone": "UTC"},
        "end": {"dateTime": time("DTEND"), "timeZone": "UTC"},
        "isAllDay": all_day,
        "originalStartTimeZone": value(ev, "X-MS-TIMEZONE"),
        "originalEndTimeZone": value(ev, "X-MS-TIMEZONE"),
        "attendees": attendees,
        "recurrence": recurrence,
        "type": if rule.is_empty() { "singleInstance" } else { "seriesMaster" },
    });
    if let Some(obj) = out.as_object_mut() {
        obj.extend(extra);
    }
    out
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
        // Graph has fields for business, home and mobile numbers only; EWS's other slots
        // (fax, pager, ...) do not show there.
        match phone_key(p).as_str() {
            "MobilePhone" => mobile = p.value.clone(),
            "HomePhone" | "HomePhone2" => home.push(p.value.clone()),
            "BusinessPhone" | "BusinessPhone2" => business.push(p.value.clone()),
            _ if p.param("X-MS-KEY").is_none() => business.push(p.value.clone()),
            _ => {}
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
    if let (Some(y), Some(m), Some(d)) = (bday.get(0..4), bday.get(4..6), bday.get(6..8)) {
        v["birthday"] = json!(format!("{y}-{m}-{d}T11:59:00Z"));
    }
    // Fields the seed's vCards do not carry appear only where a contact has them.
    let n = value(&ls, "N");
    let parts: Vec<&str> = n.split(';').collect();
    let mut extra = serde_json::Map::new();
    for (key, i) in [("middleName", 2), ("title", 3), ("generation", 4)] {
        if let Some(p) = parts.get(i).filter(|p| !p.trim().is_empty()) {
            extra.insert(key.into(), json!(p.trim()));
        }
    }
    for (key, prop) in [
        ("nickName", "NICKNAME"),
        ("initials", "X-MS-INITIALS"),
        ("officeLocation", "X-MS-OFFICE-LOCATION"),
        ("manager", "X-MS-MANAGER"),
        ("assistantName", "X-MS-ASSISTANT"),
        ("businessHomePage", "URL"),
        ("fileAs", "X-MS-FILEAS"),
    ] {
        let val = value(&ls, prop);
        if !val.is_empty() {
            extra.insert(key.into(), json!(val));
        }
    }
    let org = value(&ls, "ORG");
    if let Some((company, department)) = org.split_once(';') {
        if !department.trim().is_empty() {
            extra.insert("companyName".into(), json!(company.trim()));
            extra.insert("department".into(), json!(department.trim()));
        }
    }
    let cats = value(&ls, "CATEGORIES");
    if !cats.is_empty() {
        let list: Vec<&str> = cats.split(',').map(str::trim).collect();
        extra.insert("categories".into(), json!(list));
    }
    let ims: Vec<String> = ls
        .iter()
        .filter(|l| l.name == "X-MS-IMADDRESS")
        .map(|l| l.value.clone())
        .collect();
    if !ims.is_empty() {
        extra.insert("imAddresses".into(), json!(ims));
    }
    let mail: Vec<serde_json::Value> = emails(&ls)
        .into_iter()
        .map(|(_, name, address)| json!({"name": name, "address": address}))
        .collect();
    if !mail.is_empty() {
        extra.insert("emailAddresses".into(), json!(mail));
    }
    if let Some(obj) = v.as_object_mut() {
        obj.extend(extra);
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
