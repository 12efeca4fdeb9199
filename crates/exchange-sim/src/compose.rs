//! Items created from typed EWS XML or Graph JSON, written in the forms the simulator stores:
//! iCalendar for calendar items and vCard for contacts (with the `X-MS-` properties
//! `properties.rs` reads back), RFC 5322 for messages created from JSON. Both protocols parse
//! their requests into the drafts here, so a later GetItem or Graph read serves what was sent.

use std::fmt::Write as _;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::dates;
use crate::properties::ics_text;
use crate::restore::AttachmentRecord;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub address: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttendeeKind {
    Required,
    Optional,
    Resource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    pub person: Person,
    pub kind: AttendeeKind,
}

/// Recurrence patterns as EWS and Graph both define them. Days are iCalendar codes ("MO").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    Daily,
    Weekly {
        days: Vec<String>,
    },
    AbsoluteMonthly {
        day: u32,
    },
    RelativeMonthly {
        days: Vec<String>,
        index: i32,
    },
    AbsoluteYearly {
        month: u32,
        day: u32,
    },
    RelativeYearly {
        month: u32,
        days: Vec<String>,
        index: i32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Range {
    NoEnd,
    /// The last day, `YYYY-MM-DD`.
    EndDate(String),
    Numbered(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    pub pattern: Pattern,
    pub interval: u32,
    pub first_day: Option<String>,
    pub range: Range,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventDraft {
    pub subject: String,
    pub body: String,
    pub body_html: bool,
    pub categories: Vec<String>,
    pub reminder_minutes: Option<i64>,
    pub uid: Option<String>,
    pub start: i64,
    pub end: i64,
    pub all_day: bool,
    /// As the client named it (Windows or IANA id).
    pub time_zone: Option<String>,
    /// An offset the client stated itself (EWS recurrence StartDate `2026-03-02+01:00`).
    pub offset_hint: Option<i64>,
    /// EWS LegacyFreeBusyStatus / Graph showAs, in EWS spelling ("Busy", "OOF").
    pub free_busy: Option<String>,
    /// EWS Sensitivity spelling ("Normal", "Private").
    pub sensitivity: Option<String>,
    pub location: String,
    pub attendees: Vec<Attendee>,
    pub recurrence: Option<Recurrence>,
}

/// One phone number in an EWS slot ("BusinessPhone", "MobilePhone", ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    pub key: String,
    pub number: String,
}

/// An EWS postal address slot: "Business", "Home" or "Other".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostalAddress {
    pub key: String,
    pub street: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactDraft {
    pub notes: String,
    pub categories: Vec<String>,
    pub file_as: String,
    pub display_name: String,
    pub title: String,
    pub given_name: String,
    pub initials: String,
    pub middle_name: String,
    pub nickname: String,
    pub surname: String,
    pub generation: String,
    pub company: String,
    pub department: String,
    pub job_title: String,
    pub office: String,
    pub manager: String,
    pub assistant: String,
    /// (EWS key "EmailAddress1..3", display name, address).
    pub emails: Vec<(String, String, String)>,
    pub phones: Vec<Phone>,
    pub addresses: Vec<PostalAddress>,
    pub im_addresses: Vec<String>,
    pub home_page: String,
    /// `YYYY-MM-DD`.
    pub birthday: Option<String>,
}

impl ContactDraft {
    /// What Exchange shows when no display name was given.
    pub fn shown_name(&self) -> String {
        if !self.display_name.trim().is_empty() {
            return self.display_name.trim().to_string();
        }
        let joined = [&self.given_name, &self.middle_name, &self.surname]
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if !joined.is_empty() {
            return joined;
        }
        if !self.file_as.trim().is_empty() {
            return self.file_as.trim().to_string();
        }
        self.company.trim().to_string()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageDraft {
    pub subject: String,
    pub body: String,
    pub body_html: bool,
    pub from: Option<Person>,
    pub sender: Option<Person>,
    pub to: Vec<Person>,
    pub cc: Vec<Person>,
    pub bcc: Vec<Person>,
    pub reply_to: Vec<Person>,
    pub message_id: Option<String>,
    pub date: i64,
    pub importance: Option<String>,
    pub categories: Vec<String>,
}

// ---- iCalendar -------------------------------------------------------------------------------

/// A parameter value: the simulator's line reader splits on `;` and `:`, so those (and quotes)
/// cannot appear in one.
fn param(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '"' | ';' | ':' | ',' | '\r' | '\n'))
        .collect::<String>()
        .trim()
        .to_string()
}

fn by_day(days: &[String]) -> String {
    days.join(",")
}

fn rrule(r: &Recurrence, start_wall: i64) -> String {
    let mut rule = match &r.pattern {
        Pattern::Daily => format!("FREQ=DAILY;INTERVAL={}", r.interval.max(1)),
        Pattern::Weekly { days } => {
            let mut s = format!("FREQ=WEEKLY;INTERVAL={}", r.interval.max(1));
            if !days.is_empty() {
                let _ = write!(s, ";BYDAY={}", by_day(days));
            }
            s
        }
        Pattern::AbsoluteMonthly { day } => {
            format!(
                "FREQ=MONTHLY;INTERVAL={};BYMONTHDAY={day}",
                r.interval.max(1)
            )
        }
        Pattern::RelativeMonthly { days, index } => format!(
            "FREQ=MONTHLY;INTERVAL={};BYDAY={};BYSETPOS={index}",
            r.interval.max(1),
            by_day(days)
        ),
        Pattern::AbsoluteYearly { month, day } => {
            format!("FREQ=YEARLY;BYMONTH={month};BYMONTHDAY={day}")
        }
        Pattern::RelativeYearly { month, days, index } => format!(
            "FREQ=YEARLY;BYMONTH={month};BYDAY={};BYSETPOS={index}",
            by_day(days)
        ),
    };
    if let Some(w) = &r.first_day {
        let _ = write!(rule, ";WKST={w}");
    }
    match &r.range {
        Range::NoEnd => {}
        Range::Numbered(n) => {
            let _ = write!(rule, ";COUNT={n}");
        }
        // The simulator reads UNTIL back as a date; the end of that day keeps it the same date
        // whatever offset the item has.
        Range::EndDate(d) => {
            let day: String = d.chars().filter(char::is_ascii_digit).take(8).collect();
            if day.len() == 8 {
                let _ = write!(rule, ";UNTIL={day}T235959Z");
            } else {
                let _ = write!(rule, ";UNTIL={}", dates::ics_date(start_wall));
            }
        }
    }
    rule
}

/// The offset the item's local times are stored in: the client's own statement, else the
/// zone's offset at the start; an all-day item's start must land on local midnight.
fn event_offset(ev: &EventDraft) -> i64 {
    let zone = ev.time_zone.as_deref().and_then(dates::zone);
    let mut off = ev
        .offset_hint
        .or_else(|| zone.map(|z| z.offset_at(ev.start)))
        .unwrap_or(0);
    if ev.all_day && (ev.start + off).rem_euclid(86_400) != 0 {
        off = dates::offset_of_midnight(ev.start);
    }
    off
}

/// The item as an iCalendar VEVENT; the mailbox owner is its organizer.
pub fn event_ics(ev: &EventDraft, owner: &Person, uid_fallback: &str) -> Vec<u8> {
    let zone = ev.time_zone.as_deref().and_then(dates::zone);
    let offset = event_offset(ev);
    let (start_wall, end_wall) = (ev.start + offset, ev.end + offset);
    let mut x = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//exchange-sim//restore//EN\r\nBEGIN:VEVENT\r\n",
    );
    let uid = ev
        .uid
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .unwrap_or(uid_fallback);
    let _ = write!(
        x,
        "UID:{}\r\nDTSTAMP:{}\r\n",
        ics_text(uid),
        dates::ics_utc(dates::now())
    );
    if ev.all_day {
        let _ = write!(
            x,
            "DTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\n",
            dates::ics_date(start_wall),
            dates::ics_date(end_wall.max(start_wall + 86_400))
        );
    } else if let Some(z) = zone.and_then(|z| z.iana_name()) {
        let _ = write!(
            x,
            "DTSTART;TZID={z}:{}\r\nDTEND;TZID={z}:{}\r\n",
            dates::ics_local(start_wall),
            dates::ics_local(end_wall)
        );
    } else {
        let _ = write!(
            x,
            "DTSTART:{}\r\nDTEND:{}\r\n",
            dates::ics_utc(ev.start),
            dates::ics_utc(ev.end)
        );
    }
    let _ = write!(x, "SUMMARY:{}\r\n", ics_text(&ev.subject));
    if !ev.location.is_empty() {
        let _ = write!(x, "LOCATION:{}\r\n", ics_text(&ev.location));
    }
    if ev.body_html {
        if !ev.body.is_empty() {
            let _ = write!(x, "DESCRIPTION:{}\r\n", ics_text(&html_to_text(&ev.body)));
            let _ = write!(x, "X-ALT-DESC;FMTTYPE=text/html:{}\r\n", ics_text(&ev.body));
        }
    } else if !ev.body.is_empty() {
        let _ = write!(x, "DESCRIPTION:{}\r\n", ics_text(&ev.body));
    }
    if !ev.categories.is_empty() {
        let cats: Vec<String> = ev.categories.iter().map(|c| ics_text(c)).collect();
        let _ = write!(x, "CATEGORIES:{}\r\n", cats.join(","));
    }
    let _ = write!(
        x,
        "ORGANIZER;CN={}:mailto:{}\r\n",
        param(&owner.name),
        param(&owner.address)
    );
    for a in &ev.attendees {
        let role = match a.kind {
            AttendeeKind::Required => "ROLE=REQ-PARTICIPANT",
            AttendeeKind::Optional => "ROLE=OPT-PARTICIPANT",
            AttendeeKind::Resource => "CUTYPE=RESOURCE;ROLE=NON-PARTICIPANT",
        };
        let cn = param(&a.person.name);
        let cn = if cn.is_empty() {
            String::new()
        } else {
            format!(";CN={cn}")
        };
        let _ = write!(
            x,
            "ATTENDEE{cn};{role};PARTSTAT=NEEDS-ACTION:mailto:{}\r\n",
            param(&a.person.address)
        );
    }
    if let Some(r) = &ev.recurrence {
        let _ = write!(x, "RRULE:{}\r\n", rrule(r, start_wall));
    }
    if let Some(s) = &ev.sensitivity {
        let class = match s.to_ascii_lowercase().as_str() {
            "private" => "PRIVATE",
            "confidential" => "CONFIDENTIAL",
            _ => "PUBLIC",
        };
        let _ = write!(x, "CLASS:{class}\r\nX-MS-SENSITIVITY:{}\r\n", param(s));
    }
    if let Some(fb) = &ev.free_busy {
        let _ = write!(
            x,
            "X-MICROSOFT-CDO-BUSYSTATUS:{}\r\n",
            param(fb).to_ascii_uppercase()
        );
    }
    let windows = zone
        .map(|z| z.windows.to_string())
        .or_else(|| ev.time_zone.as_deref().map(param))
        .filter(|z| !z.is_empty());
    if let Some(w) = windows {
        let _ = write!(x, "X-MS-TIMEZONE:{w}\r\n");
    }
    let _ = write!(x, "X-MS-UTC-OFFSET:{}\r\n", dates::format_offset(offset));
    if let Some(m) = ev.reminder_minutes {
        let _ = write!(x, "X-MS-REMINDER-MINUTES:{m}\r\n");
    }
    x.push_str("END:VEVENT\r\nEND:VCALENDAR\r\n");
    x.into_bytes()
}

/// The text of an HTML body, for the plain DESCRIPTION next to X-ALT-DESC.
fn html_to_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .trim()
        .to_string()
}

// ---- vCard -------------------------------------------------------------------------------------

/// A structured-value component: `;` separates components, so one cannot hold it.
fn component(s: &str) -> String {
    ics_text(&s.replace(';', ","))
}

/// vCard TYPE values that the simulator's GetItem maps back to the EWS phone slot, with the
/// slot itself kept in `X-MS-KEY` so every one of them round-trips.
fn phone_types(key: &str) -> &'static str {
    match key {
        "MobilePhone" => "CELL,VOICE",
        "HomePhone" | "HomePhone2" => "HOME,VOICE",
        "HomeFax" => "HOME,FAX",
        "BusinessFax" | "OtherFax" => "WORK,FAX",
        "Pager" => "PAGER",
        "CarPhone" => "CAR,VOICE",
        "Isdn" => "ISDN",
        _ => "WORK,VOICE",
    }
}

pub fn contact_vcf(c: &ContactDraft) -> Vec<u8> {
    let mut x = String::from("BEGIN:VCARD\r\nVERSION:3.0\r\n");
    let _ = write!(x, "FN:{}\r\n", ics_text(&c.shown_name()));
    let _ = write!(
        x,
        "N:{};{};{};{};{}\r\n",
        component(&c.surname),
        component(&c.given_name),
        component(&c.middle_name),
        component(&c.title),
        component(&c.generation)
    );
    let simple = [
        ("X-MS-FILEAS", &c.file_as),
        ("NICKNAME", &c.nickname),
        ("X-MS-INITIALS", &c.initials),
        ("TITLE", &c.job_title),
        ("X-MS-OFFICE-LOCATION", &c.office),
        ("X-MS-MANAGER", &c.manager),
        ("X-MS-ASSISTANT", &c.assistant),
        ("URL", &c.home_page),
    ];
    if !c.company.is_empty() || !c.department.is_empty() {
        let _ = write!(
            x,
            "ORG:{};{}\r\n",
            component(&c.company),
            component(&c.department)
        );
    }
    for (name, v) in simple {
        if !v.trim().is_empty() {
            let _ = write!(x, "{name}:{}\r\n", ics_text(v.trim()));
        }
    }
    for (key, name, address) in &c.emails {
        let shown = param(name);
        let shown = if shown.is_empty() {
            String::new()
        } else {
            format!(";X-MS-NAME={shown}")
        };
        let _ = write!(
            x,
            "EMAIL;TYPE=INTERNET;X-MS-KEY={}{shown}:{}\r\n",
            param(key),
            ics_text(address.trim())
        );
    }
    for p in &c.phones {
        let _ = write!(
            x,
            "TEL;TYPE={};X-MS-KEY={}:{}\r\n",
            phone_types(&p.key),
            param(&p.key),
            ics_text(p.number.trim())
        );
    }
    for a in &c.addresses {
        let ty = match a.key.as_str() {
            "Home" => "HOME",
            "Business" => "WORK",
            _ => "OTHER",
        };
        let _ = write!(
            x,
            "ADR;TYPE={ty}:;;{};{};{};{};{}\r\n",
            component(&a.street),
            component(&a.city),
            component(&a.state),
            component(&a.postal_code),
            component(&a.country)
        );
    }
    for im in &c.im_addresses {
        let _ = write!(x, "X-MS-IMADDRESS:{}\r\n", ics_text(im));
    }
    if let Some(b) = &c.birthday {
        let _ = write!(x, "BDAY:{}\r\n", param(b));
    }
    if !c.notes.is_empty() {
        let _ = write!(x, "NOTE:{}\r\n", ics_text(&c.notes));
    }
    if !c.categories.is_empty() {
        let cats: Vec<String> = c.categories.iter().map(|s| ics_text(s)).collect();
        let _ = write!(x, "CATEGORIES:{}\r\n", cats.join(","));
    }
    x.push_str("END:VCARD\r\n");
    x.into_bytes()
}

// ---- RFC 5322 ----------------------------------------------------------------------------------

/// An unstructured header value; non-ASCII as an RFC 2047 encoded word.
fn header_text(s: &str) -> String {
    let s: String = s.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    if s.is_ascii() {
        s
    } else {
        format!("=?UTF-8?B?{}?=", STANDARD.encode(s.as_bytes()))
    }
}

fn mailbox_header(p: &Person) -> String {
    let address: String = p
        .address
        .chars()
        .filter(|c| !matches!(c, '<' | '>' | '\r' | '\n' | ' '))
        .collect();
    let name = p.name.trim();
    if name.is_empty() {
        return format!("<{address}>");
    }
    let shown = if name.is_ascii() {
        let escaped: String = name
            .chars()
            .filter(|c| *c != '\r' && *c != '\n')
            .flat_map(|c| match c {
                '"' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        format!("\"{escaped}\"")
    } else {
        header_text(name)
    };
    format!("{shown} <{address}>")
}

fn list_header(people: &[Person]) -> String {
    people
        .iter()
        .map(mailbox_header)
        .collect::<Vec<_>>()
        .join(", ")
}

fn base64_lines(bytes: &[u8]) -> String {
    let encoded = STANDARD.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 76 * 2 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push_str("\r\n");
    }
    out
}

/// A plain RFC 5322 message of the JSON's fields, so a later sync reads it like any mail.
pub fn message_mime(m: &MessageDraft, fallback_id: &str) -> Vec<u8> {
    let mut x = String::new();
    if let Some(f) = &m.from {
        let _ = write!(x, "From: {}\r\n", mailbox_header(f));
    }
    if let (Some(s), Some(f)) = (&m.sender, &m.from) {
        if !s.address.eq_ignore_ascii_case(&f.address) {
            let _ = write!(x, "Sender: {}\r\n", mailbox_header(s));
        }
    }
    for (name, list) in [
        ("To", &m.to),
        ("Cc", &m.cc),
        ("Bcc", &m.bcc),
        ("Reply-To", &m.reply_to),
    ] {
        if !list.is_empty() {
            let _ = write!(x, "{name}: {}\r\n", list_header(list));
        }
    }
    let _ = write!(x, "Subject: {}\r\n", header_text(&m.subject));
    let _ = write!(x, "Date: {}\r\n", dates::rfc5322(m.date));
    let id = m
        .message_id
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(|i| {
            let bare = i.trim_start_matches('<').trim_end_matches('>');
            format!("<{bare}>")
        })
        .unwrap_or_else(|| format!("<{fallback_id}>"));
    let _ = write!(x, "Message-ID: {}\r\n", header_text(&id));
    match m
        .importance
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("high") => x.push_str("Importance: High\r\nX-Priority: 1\r\n"),
        Some("low") => x.push_str("Importance: Low\r\nX-Priority: 5\r\n"),
        _ => {}
    }
    if !m.categories.is_empty() {
        let _ = write!(x, "Keywords: {}\r\n", header_text(&m.categories.join(", ")));
    }
    let subtype = if m.body_html { "html" } else { "plain" };
    let _ = write!(
        x,
        "MIME-Version: 1.0\r\nContent-Type: text/{subtype}; charset=utf-8\r\n"
    );
    if m.body.is_ascii() {
        let body = m.body.replace("\r\n", "\n").replace('\n', "\r\n");
        let _ = write!(x, "Content-Transfer-Encoding: 7bit\r\n\r\n{body}\r\n");
    } else {
        let _ = write!(
            x,
            "Content-Transfer-Encoding: base64\r\n\r\n{}",
            base64_lines(m.body.as_bytes())
        );
    }
    x.into_bytes()
}

/// The parameter `name` of a header value (`multipart/mixed; boundary="b1"`).
fn header_param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Adds a file as a MIME part: into an existing multipart/mixed, or by wrapping the message's
/// own body as the first part of a new one.
pub fn add_attachment(mime: &[u8], att: &AttachmentRecord, bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(mime).into_owned();
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let sep = format!("{nl}{nl}");
    let (head, body) = match text.find(&sep) {
        Some(i) => (text[..i].to_string(), text[i + sep.len()..].to_string()),
        None => (text.trim_end().to_string(), String::new()),
    };
    let name = header_text(&param(&att.name));
    let disposition = if att.is_inline {
        "inline"
    } else {
        "attachment"
    };
    let mut part = format!(
        "Content-Type: {}; name=\"{name}\"{nl}Content-Disposition: {disposition}; filename=\"{name}\"{nl}",
        param(&att.content_type)
    );
    if let Some(cid) = att
        .content_id
        .as_deref()
        .map(param)
        .filter(|c| !c.is_empty())
    {
        let bare = cid.trim_start_matches('<').trim_end_matches('>');
        let _ = write!(part, "Content-ID: <{bare}>{nl}");
    }
    if att.is_item {
        // An item attachment is rendered as the message it is: RFC 2046 allows no encoding of
        // message/rfc822 beyond 7bit, 8bit or binary.
        let _ = write!(
            part,
            "Content-Transfer-Encoding: 8bit{nl}{nl}{}",
            String::from_utf8_lossy(bytes)
        );
    } else {
        let _ = write!(
            part,
            "Content-Transfer-Encoding: base64{nl}{nl}{}",
            base64_lines(bytes).replace("\r\n", nl)
        );
    }
    let content_type = crate::mailbox::mime_header(mime, "Content-Type").unwrap_or_default();
    let boundary = header_param(&content_type, "boundary");
    if content_type
        .to_ascii_lowercase()
        .starts_with("multipart/mixed")
    {
        if let Some(b) = boundary {
            let close = format!("--{b}--");
            if let Some(at) = body.rfind(&close) {
                let mut out = format!("{head}{sep}{}", &body[..at]);
                if !out.ends_with(nl) {
                    out.push_str(nl);
                }
                let _ = write!(out, "--{b}{nl}{part}{}", &body[at..]);
                return out.into_bytes();
            }
        }
    }
    // Not multipart/mixed yet: the message's own content type and encoding move into the
    // first part; every other header stays where it is.
    let mut kept = Vec::new();
    let mut moved = Vec::new();
    let mut moving = false;
    for line in head.split(nl) {
        let continued = line.starts_with([' ', '\t']);
        if !continued {
            let lower = line.to_ascii_lowercase();
            moving = lower.starts_with("content-type:")
                || lower.starts_with("content-transfer-encoding:")
                || lower.starts_with("content-disposition:");
        }
        if moving {
            moved.push(line);
        } else {
            kept.push(line);
        }
    }
    if !moved
        .iter()
        .any(|l| l.to_ascii_lowercase().starts_with("content-type:"))
    {
        moved.insert(0, "Content-Type: text/plain; charset=us-ascii");
    }
    if !kept
        .iter()
        .any(|l| l.to_ascii_lowercase().starts_with("mime-version:"))
    {
        kept.push("MIME-Version: 1.0");
    }
    let b = format!("sim-attachment-{:016x}", fnv(bytes) ^ fnv(mime));
    let mut out = kept.join(nl);
    let _ = write!(
        out,
        "{nl}Content-Type: multipart/mixed; boundary=\"{b}\"{nl}{nl}--{b}{nl}{}{nl}{nl}{body}",
        moved.join(nl)
    );
    if !out.ends_with(nl) {
        out.push_str(nl);
    }
    let _ = write!(out, "--{b}{nl}{part}--{b}--{nl}");
    out.into_bytes()
}

/// FNV-1a: a boundary that cannot appear in the parts it separates, without a random source.
pub fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties;

    fn att(name: &str) -> AttachmentRecord {
        AttachmentRecord {
            is_item: false,
            name: name.into(),
            size: 3,
            content_type: "text/csv".into(),
            is_inline: false,
            content_id: None,
            via_upload_session: false,
        }
    }

    #[test]
    fn attachment_wraps_a_single_part_message_then_joins_the_multipart() {
        let mime = b"From: <a@example.com>\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n";
        let once = add_attachment(mime, &att("a.csv"), b"1,2");
        let text = String::from_utf8(once.clone()).unwrap();
        assert!(text.contains("Content-Type: multipart/mixed; boundary=\""));
        assert!(text.contains("hello"));
        assert!(text.contains("filename=\"a.csv\""));
        assert_eq!(
            crate::mailbox::mime_header(&once, "Subject").as_deref(),
            Some("x")
        );
        let twice = String::from_utf8(add_attachment(&once, &att("b.csv"), b"3,4")).unwrap();
        assert_eq!(twice.matches("multipart/mixed").count(), 1);
        assert!(twice.contains("filename=\"a.csv\"") && twice.contains("filename=\"b.csv\""));
        assert!(twice.trim_end().ends_with("--"));
    }

    #[test]
    fn event_round_trips_through_the_property_view() {
        let ev = EventDraft {
            subject: "Planning, Q3".into(),
            start: dates::parse_xs("2026-03-02T08:00:00Z").unwrap(),
            end: dates::parse_xs("2026-03-02T09:00:00Z").unwrap(),
            time_zone: Some("W. Europe Standard Time".into()),
            recurrence: Some(Recurrence {
                pattern: Pattern::RelativeMonthly {
                    days: vec!["TU".into()],
                    index: 2,
                },
                interval: 1,
                first_day: None,
                range: Range::EndDate("2026-12-31".into()),
            }),
            ..EventDraft::default()
        };
        let owner = Person {
            name: "Alice".into(),
            address: "alice@example.com".into(),
        };
        let ics = event_ics(&ev, &owner, "uid-1");
        let xml = properties::calendar_item_xml(&ics, "id");
        assert!(
            xml.contains("<t:Start>2026-03-02T08:00:00Z</t:Start>"),
            "{xml}"
        );
        assert!(xml.contains("<t:RelativeMonthlyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Tuesday</t:DaysOfWeek><t:DayOfWeekIndex>Second</t:DayOfWeekIndex></t:RelativeMonthlyRecurrence>"), "{xml}");
        assert!(
            xml.contains("<t:EndDate>2026-12-31+01:00</t:EndDate>"),
            "{xml}"
        );
        assert_eq!(
            crate::mailbox::text_property(&ics, "SUMMARY").as_deref(),
            Some("Planning, Q3")
        );
    }
}
