//! The explorer's Calendar and Contacts tabs: any mailbox's calendar as a month and an agenda
//! with its series expanded, and its address book with a card per contact, now or as of an
//! instant. Everything needs `browse_calendars`; opening a tab and opening an item are audited.
//! The records are the ones the sync stored (`pim`), so both protocols look the same here.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::explorer::InstantView;

/// What the tab's header shows: whose mailbox, at which instant, and the tabs the caller has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PimOpened {
    pub mailbox_id: i64,
    pub display_name: String,
    pub owner: String,
    pub instant: Option<InstantView>,
    pub can_snapshot: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chip {
    pub item_id: i64,
    /// The occurrence's start (RFC 3339, UTC): which occurrence of a series was picked.
    pub start: String,
    /// "09:00", empty for an all-day occurrence.
    pub time: String,
    pub subject: String,
    pub all_day: bool,
    pub recurring: bool,
    pub exception: bool,
    pub cancelled: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCell {
    /// `2025-09-08`.
    pub date: String,
    pub day: u32,
    pub in_month: bool,
    pub today: bool,
    pub chips: Vec<Chip>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaEntry {
    pub chip: Chip,
    /// "09:00–10:00" or "All day".
    pub when: String,
    pub location: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaDay {
    pub date: String,
    /// "Mon 8 September".
    pub label: String,
    pub entries: Vec<AgendaEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthPage {
    /// `2025-09`: the month shown, for links.
    pub month: String,
    /// "September 2025".
    pub label: String,
    pub prev: String,
    pub next: String,
    /// The month of the instant shown (today when "now"), for the "Today" link.
    pub current: String,
    /// The IANA zone the page shows times in, and the ones it may be switched to.
    pub zone: String,
    pub zones: Vec<String>,
    pub weeks: Vec<Vec<DayCell>>,
    pub agenda: Vec<AgendaDay>,
    /// Calendar items of the mailbox at that instant, in every calendar folder.
    pub events_total: usize,
    /// Of them, archived before their properties were kept: placed by their start only.
    pub without_details: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttendeeLine {
    pub name: String,
    pub address: String,
    /// "Required", "Optional", "Resource".
    pub role: String,
    /// "Accepted", "Declined", ... empty when unknown.
    pub response: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCard {
    pub item_id: i64,
    pub subject: String,
    /// The event (or the first of its series) in the page's zone.
    pub when: String,
    /// The occurrence picked on the page, when it is one of a series.
    pub occurrence: Option<String>,
    /// "Set in Europe/Zurich (W. Europe Standard Time)".
    pub zone_line: String,
    pub location: String,
    pub organizer: Option<String>,
    pub attendees: Vec<AttendeeLine>,
    pub series: Option<String>,
    /// "Mon 22 Sep 09:00 moved to Tue 23 Sep 14:00–15:00, Room 1.01".
    pub changed: Vec<String>,
    pub deleted: Vec<String>,
    pub reminder: Option<String>,
    pub categories: Vec<String>,
    pub show_as: String,
    pub sensitivity: String,
    pub cancelled: bool,
    /// Plain text (an HTML body reduced to its text).
    pub body: String,
    /// False for an item archived before properties were kept: only its list columns exist.
    pub details_kept: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactLine {
    pub item_id: i64,
    pub name: String,
    pub email: String,
    pub company: String,
    pub initials: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressBookPage {
    pub contacts: Vec<ContactLine>,
    pub without_details: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labelled {
    pub label: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressBlock {
    pub label: String,
    pub lines: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactView {
    pub item_id: i64,
    pub name: String,
    pub initials: String,
    /// "Head of Finance · Finance · Example AG".
    pub work: String,
    /// A `data:` URL of the photo (PNG, JPEG, GIF, BMP or WebP only).
    pub photo: Option<String>,
    pub emails: Vec<Labelled>,
    pub phones: Vec<Labelled>,
    pub addresses: Vec<AddressBlock>,
    pub other: Vec<Labelled>,
    /// An http(s) address only; anything else is shown as text in `other`.
    pub web_page: Option<String>,
    pub notes: String,
    pub categories: Vec<String>,
    pub details_kept: bool,
}

/// Opens the calendar tab: checks the grant and the instant, and writes the audit entry.
#[server(endpoint = "explorer/calendar_open", output = super::codec::Json)]
pub async fn calendar_open(mailbox: i64, at: Option<String>) -> Result<PimOpened, ApiError> {
    let caller = super::access::caller().await?;
    let at = super::explorer::ssr::instant(at.as_deref())?;
    let (mailbox, instant) = caller
        .browse_calendars()?
        .open(mailbox, archive::ItemKind::Calendar, at)
        .await?;
    Ok(ssr::opened(&caller, &mailbox, instant.as_ref()))
}

/// One month of a mailbox's calendar. `month`: `2025-09` (empty: the month of the instant, or
/// the latest month with events before it); `tz`: an IANA zone (empty: the mailbox's usual
/// zone).
#[server(endpoint = "explorer/calendar_month", output = super::codec::Json)]
pub async fn calendar_month(
    mailbox: i64,
    at: Option<String>,
    #[server(default)] month: String,
    #[server(default)] tz: String,
) -> Result<MonthPage, ApiError> {
    let caller = super::access::caller().await?;
    let at = super::explorer::ssr::instant(at.as_deref())?;
    let (_, events) = caller.browse_calendars()?.events(mailbox, at).await?;
    ssr::calendar_month(&events, at, &month, &tz)
}

/// One calendar item, opened (audited). `occurrence`: the start picked on the page, RFC 3339.
#[server(endpoint = "explorer/calendar_event", output = super::codec::Json)]
pub async fn calendar_event(
    mailbox: i64,
    item: i64,
    #[server(default)] occurrence: String,
    #[server(default)] tz: String,
) -> Result<EventCard, ApiError> {
    let caller = super::access::caller().await?;
    let opened = caller.browse_calendars()?.item(mailbox, item).await?;
    ssr::event_card(&opened, &occurrence, &tz)
}

#[server(endpoint = "explorer/contacts_open", output = super::codec::Json)]
pub async fn contacts_open(mailbox: i64, at: Option<String>) -> Result<PimOpened, ApiError> {
    let caller = super::access::caller().await?;
    let at = super::explorer::ssr::instant(at.as_deref())?;
    let (mailbox, instant) = caller
        .browse_calendars()?
        .open(mailbox, archive::ItemKind::Contact, at)
        .await?;
    Ok(ssr::opened(&caller, &mailbox, instant.as_ref()))
}

#[server(endpoint = "explorer/contacts", output = super::codec::Json)]
pub async fn contact_list(mailbox: i64, at: Option<String>) -> Result<AddressBookPage, ApiError> {
    let caller = super::access::caller().await?;
    let at = super::explorer::ssr::instant(at.as_deref())?;
    let (_, contacts) = caller.browse_calendars()?.contacts(mailbox, at).await?;
    Ok(ssr::contact_list(&contacts))
}

/// One contact, opened (audited).
#[server(endpoint = "explorer/contact", output = super::codec::Json)]
pub async fn contact_card(mailbox: i64, item: i64) -> Result<ContactView, ApiError> {
    let caller = super::access::caller().await?;
    let opened = caller.browse_calendars()?.item(mailbox, item).await?;
    Ok(ssr::contact_card(&opened))
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Laying out the stored records for the pages.
    use access::{
        Caller, KnownInstant, OpenedPimItem, ReadableMailbox, StoredContact, StoredEvent,
    };
    use archive::Timestamp;
    use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
    use pim::layout::{day_order, place, usual_zone, Placed};
    use pim::{AttendeeKind, Event, Zone};

    use super::*;

    pub fn opened(caller: &Caller, m: &ReadableMailbox, i: Option<&KnownInstant>) -> PimOpened {
        PimOpened {
            mailbox_id: m.id(),
            display_name: m.mailbox().display_name.clone(),
            owner: m.mailbox().owner_address.clone(),
            instant: i.map(super::super::explorer::ssr::instant_view),
            can_snapshot: caller.holds(access::Permission::Snapshots),
        }
    }

    fn invalid(field: &str, message: String) -> ApiError {
        ApiError::Invalid {
            field: field.into(),
            message,
        }
    }

    /// The page's zone: the one asked for, or the mailbox's usual one.
    pub fn display_zone<'a>(
        tz: &str,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<Zone, ApiError> {
        if tz.trim().is_empty() {
            return Ok(usual_zone(events));
        }
        pim::zone_from_name(tz).ok_or_else(|| {
            invalid(
                "tz",
                format!("“{tz}” is not a time zone: pick one from the list."),
            )
        })
    }

    fn parse_month(text: &str) -> Option<NaiveDate> {
        let (y, m) = text.trim().split_once('-')?;
        NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
    }

    fn month_key(d: NaiveDate) -> String {
        format!("{:04}-{:02}", d.year(), d.month())
    }

    fn add_months(first: NaiveDate, n: i32) -> NaiveDate {
        let total = first.year() * 12 + first.month0() as i32 + n;
        NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1)
            .unwrap_or(first)
    }

    fn first_of(d: NaiveDate) -> NaiveDate {
        d.with_day(1).unwrap_or(d)
    }

    fn utc_of(t: Timestamp) -> DateTime<Utc> {
        DateTime::from_timestamp(t.unix_seconds(), 0).unwrap_or_default()
    }

    /// Where a calendar item sits when only its list columns are known.
    fn start_only(s: &StoredEvent) -> Event {
        let start = utc_of(s.item.date).naive_utc();
        Event {
            subject: s.item.subject.clone(),
            start,
            end: start,
            time_zone: "UTC".into(),
            ..Event::default()
        }
    }

    fn shown(s: &StoredEvent) -> std::borrow::Cow<'_, Event> {
        match &s.event {
            Some(e) => std::borrow::Cow::Borrowed(e),
            None => std::borrow::Cow::Owned(start_only(s)),
        }
    }

    fn subject_or_none(s: &str) -> String {
        if s.trim().is_empty() {
            "(no subject)".into()
        } else {
            s.to_owned()
        }
    }

    fn chip(s: &StoredEvent, p: &Placed) -> Chip {
        Chip {
            item_id: s.item.id,
            start: p.occurrence.start.to_rfc3339(),
            time: if p.occurrence.all_day {
                String::new()
            } else {
                p.start.format("%H:%M").to_string()
            },
            subject: subject_or_none(&p.occurrence.subject),
            all_day: p.occurrence.all_day,
            recurring: p.occurrence.recurring,
            exception: p.occurrence.is_exception,
            cancelled: s.event.as_ref().is_some_and(|e| e.is_cancelled),
        }
    }

    /// The default month: the instant's own when it has events, else the latest month with an
    /// event before it, else the first one after it, within ten years either side.
    fn default_month(events: &[StoredEvent], zone: Zone, today: NaiveDate) -> NaiveDate {
        let this = first_of(today);
        let at = |d: NaiveDate| zone.to_utc(NaiveDateTime::new(d, chrono::NaiveTime::MIN));
        let (month_from, month_to) = (at(this), at(add_months(this, 1)));
        let shown: Vec<_> = events.iter().map(shown).collect();
        if shown
            .iter()
            .any(|e| !e.occurrences(month_from, month_to).is_empty())
        {
            return this;
        }
        let mut before: Option<DateTime<Utc>> = None;
        let mut after: Option<DateTime<Utc>> = None;
        for e in &shown {
            for o in e.occurrences(at(add_months(this, -120)), at(add_months(this, 120))) {
                if o.start < month_from {
                    before = before.max(Some(o.start));
                } else if after.is_none_or(|a| o.start < a) {
                    after = Some(o.start);
                }
            }
        }
        before
            .or(after)
            .map(|t| first_of(zone.to_local(t).date()))
            .unwrap_or(this)
    }

    pub fn calendar_month(
        events: &[StoredEvent],
        at: Option<Timestamp>,
        month: &str,
        tz: &str,
    ) -> Result<MonthPage, ApiError> {
        let zone = display_zone(tz, events.iter().filter_map(|s| s.event.as_ref()))?;
        let today = zone
            .to_local(at.map(utc_of).unwrap_or_else(Utc::now))
            .date();
        let first = if month.trim().is_empty() {
            default_month(events, zone, today)
        } else {
            parse_month(month).ok_or_else(|| {
                invalid(
                    "month",
                    format!("“{month}” is not a month: write it like 2026-03."),
                )
            })?
        };
        let next = add_months(first, 1);
        let last = next - Duration::days(1);
        // Weeks from Monday, as Exchange's default first day of the week in most of Europe.
        let grid_first = first - Duration::days(first.weekday().num_days_from_monday() as i64);
        let grid_last = last + Duration::days(6 - last.weekday().num_days_from_monday() as i64);
        let mut placed: Vec<(usize, Placed)> = Vec::new();
        for (n, s) in events.iter().enumerate() {
            for p in place(&shown(s), zone, grid_first, grid_last) {
                placed.push((n, p));
            }
        }
        placed.sort_by(|a, b| day_order(&a.1, &b.1));
        let mut weeks = Vec::new();
        let mut day = grid_first;
        while day <= grid_last {
            let mut week = Vec::with_capacity(7);
            for _ in 0..7 {
                week.push(DayCell {
                    date: day.to_string(),
                    day: day.day(),
                    in_month: day >= first && day <= last,
                    today: day == today,
                    chips: placed
                        .iter()
                        .filter(|(_, p)| p.date == day)
                        .map(|(n, p)| chip(&events[*n], p))
                        .collect(),
                });
                day += Duration::days(1);
            }
            weeks.push(week);
        }
        let mut agenda: Vec<AgendaDay> = Vec::new();
        for (n, p) in placed
            .iter()
            .filter(|(_, p)| p.date >= first && p.date <= last)
        {
            let entry = AgendaEntry {
                chip: chip(&events[*n], p),
                when: if p.occurrence.all_day {
                    "All day".into()
                } else {
                    time_range(p.start, p.end)
                },
                location: p.occurrence.location.clone(),
            };
            let date = p.date.to_string();
            match agenda.last_mut() {
                Some(d) if d.date == date => d.entries.push(entry),
                _ => agenda.push(AgendaDay {
                    label: p.date.format("%a %-d %B").to_string(),
                    date,
                    entries: vec![entry],
                }),
            }
        }
        let mut zones: Vec<String> = events
            .iter()
            .filter_map(|s| s.event.as_ref())
            .map(|e| e.zone().name().to_owned())
            .chain([zone.name().to_owned(), "UTC".to_owned()])
            .collect();
        zones.sort();
        zones.dedup();
        Ok(MonthPage {
            month: month_key(first),
            label: first.format("%B %Y").to_string(),
            prev: month_key(add_months(first, -1)),
            next: month_key(next),
            current: month_key(first_of(today)),
            zone: zone.name().to_owned(),
            zones,
            weeks,
            agenda,
            events_total: events.len(),
            without_details: events.iter().filter(|s| s.event.is_none()).count(),
        })
    }

    fn time_range(start: NaiveDateTime, end: NaiveDateTime) -> String {
        if end.date() == start.date() || end <= start {
            format!("{}–{}", start.format("%H:%M"), end.format("%H:%M"))
        } else {
            format!(
                "{}–{}",
                start.format("%H:%M"),
                end.format("%a %-d %b %H:%M")
            )
        }
    }

    fn local_when(start: NaiveDateTime, end: NaiveDateTime) -> String {
        format!(
            "{} {}",
            start.format("%a %-d %b %Y"),
            time_range(start, end)
        )
    }

    fn all_day_when(e: &Event) -> String {
        let (first, last) = e.all_day_dates();
        if first == last {
            format!("{}, all day", first.format("%a %-d %b %Y"))
        } else {
            format!(
                "{} – {}, all day",
                first.format("%a %-d %b"),
                last.format("%a %-d %b %Y")
            )
        }
    }

    fn person(name: &str, address: &str) -> String {
        match (name.trim().is_empty(), address.trim().is_empty()) {
            (false, false) if name.trim() != address.trim() => format!("{name} <{address}>"),
            (false, _) => name.to_owned(),
            _ => address.to_owned(),
        }
    }

    pub fn event_card(
        opened: &OpenedPimItem,
        occurrence: &str,
        tz: &str,
    ) -> Result<EventCard, ApiError> {
        let detail = opened.item.detail();
        let Some(pim::Record::Event(e)) = &opened.record else {
            return Ok(EventCard {
                item_id: detail.id,
                subject: subject_or_none(&detail.subject),
                when: crate::format::full_date(detail.date),
                occurrence: None,
                zone_line: String::new(),
                location: String::new(),
                organizer: (!detail.sender.is_empty() || !detail.sender_address.is_empty())
                    .then(|| person(&detail.sender, &detail.sender_address)),
                attendees: Vec::new(),
                series: None,
                changed: Vec::new(),
                deleted: Vec::new(),
                reminder: None,
                categories: Vec::new(),
                show_as: String::new(),
                sensitivity: String::new(),
                cancelled: false,
                body: String::new(),
                details_kept: false,
            });
        };
        let zone = display_zone(tz, [e])?;
        let own = e.zone();
        let in_zone = |local: NaiveDateTime| zone.to_local(own.to_utc(local));
        let when = if e.all_day {
            all_day_when(e)
        } else {
            local_when(in_zone(e.start), in_zone(e.end))
        };
        // A changed occurrence may be somewhere else than its series.
        let mut picked_location: Option<String> = None;
        let occurrence = match occurrence.trim() {
            "" => None,
            text => {
                let start: DateTime<Utc> = text.parse().map_err(|_| {
                    invalid("occurrence", format!("“{text}” is not an occurrence."))
                })?;
                e.occurrences(start, start + Duration::seconds(1))
                    .into_iter()
                    .find(|o| o.start == start)
                    .filter(|_| e.recurrence.is_some())
                    .inspect(|o| {
                        if o.location != e.location && !o.location.is_empty() {
                            picked_location = Some(o.location.clone());
                        }
                    })
                    .map(|o| {
                        let text = if o.all_day {
                            format!("{}, all day", o.local_start.format("%a %-d %b %Y"))
                        } else {
                            local_when(zone.to_local(o.start), zone.to_local(o.end))
                        };
                        if o.is_exception {
                            format!("{text} (changed from the series)")
                        } else {
                            text
                        }
                    })
            }
        };
        let zone_line = if e.all_day {
            "All-day events keep their dates in every time zone.".to_owned()
        } else if e.source_time_zone.is_empty() || e.source_time_zone == e.time_zone {
            format!("Times in {}; set in {}.", zone.name(), e.time_zone)
        } else {
            format!(
                "Times in {}; set in {} ({}).",
                zone.name(),
                e.time_zone,
                e.source_time_zone
            )
        };
        let moment = |local: NaiveDateTime| {
            if e.all_day {
                local.format("%a %-d %b %Y").to_string()
            } else {
                in_zone(local).format("%a %-d %b %Y %H:%M").to_string()
            }
        };
        let changed = e
            .exceptions
            .iter()
            .map(|x| {
                let mut text = format!(
                    "{} moved to {}",
                    moment(x.original_start),
                    if e.all_day {
                        moment(x.start)
                    } else {
                        local_when(in_zone(x.start), in_zone(x.end))
                    }
                );
                if let Some(s) = &x.subject {
                    text.push_str(&format!(", “{s}”"));
                }
                if let Some(l) = &x.location {
                    text.push_str(&format!(", {l}"));
                }
                text
            })
            .collect();
        let body = if e.body_is_html {
            archive::meta::html_text(&e.body)
        } else {
            e.body.clone()
        };
        Ok(EventCard {
            item_id: detail.id,
            subject: subject_or_none(&e.subject),
            when,
            occurrence,
            zone_line,
            location: match picked_location {
                Some(here) if e.location.is_empty() => here,
                Some(here) => format!("{here} (the series: {})", e.location),
                None => e.location.clone(),
            },
            organizer: e.organizer.as_ref().map(|o| person(&o.name, &o.address)),
            attendees: e
                .attendees
                .iter()
                .map(|a| AttendeeLine {
                    name: a.person.name.clone(),
                    address: a.person.address.clone(),
                    role: match a.kind {
                        AttendeeKind::Required => "Required",
                        AttendeeKind::Optional => "Optional",
                        AttendeeKind::Resource => "Resource",
                    }
                    .into(),
                    response: a.response.label().into(),
                })
                .collect(),
            series: e.recurrence.as_ref().map(|r| r.describe()),
            changed,
            deleted: e.deleted_occurrences.iter().map(|d| moment(*d)).collect(),
            reminder: e.reminder_minutes.map(reminder),
            categories: e.categories.clone(),
            show_as: e.show_as.clone(),
            sensitivity: e.sensitivity.clone(),
            cancelled: e.is_cancelled,
            body: body.trim().to_owned(),
            details_kept: true,
        })
    }

    fn reminder(minutes: i64) -> String {
        match minutes {
            0 => "At the start".into(),
            m if m % 1440 == 0 => plural(m / 1440, "day"),
            m if m % 60 == 0 => plural(m / 60, "hour"),
            m => plural(m, "minute"),
        }
    }

    fn plural(n: i64, unit: &str) -> String {
        if n == 1 {
            format!("1 {unit} before")
        } else {
            format!("{n} {unit}s before")
        }
    }

    fn initials(name: &str) -> String {
        name.split_whitespace()
            .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
            .take(2)
            .flat_map(char::to_uppercase)
            .collect()
    }

    pub fn contact_list(contacts: &[StoredContact]) -> AddressBookPage {
        let mut lines: Vec<ContactLine> = contacts
            .iter()
            .map(|s| match &s.contact {
                Some(c) => {
                    let name = c.shown_name();
                    ContactLine {
                        item_id: s.item.id,
                        initials: initials(&name),
                        email: c
                            .emails
                            .first()
                            .map(|e| e.address.clone())
                            .unwrap_or_default(),
                        company: c.company.clone(),
                        name: if name.is_empty() {
                            "(no name)".into()
                        } else {
                            name
                        },
                    }
                }
                None => ContactLine {
                    item_id: s.item.id,
                    initials: initials(&s.item.subject),
                    name: subject_or_none(&s.item.subject),
                    email: s.item.sender_address.clone(),
                    company: String::new(),
                },
            })
            .collect();
        lines.sort_by_key(|l| (l.name.to_lowercase(), l.item_id));
        AddressBookPage {
            contacts: lines,
            without_details: contacts.iter().filter(|s| s.contact.is_none()).count(),
        }
    }

    /// Exchange's slot names, as a card says them.
    fn phone_label(label: &str) -> String {
        let mut out = String::new();
        for (i, ch) in label.chars().enumerate() {
            if i > 0 && ch.is_uppercase() {
                out.push(' ');
                out.extend(ch.to_lowercase());
            } else {
                out.push(ch);
            }
        }
        if out.is_empty() {
            "Phone".into()
        } else {
            out
        }
    }

    fn email_label(label: &str, n: usize) -> String {
        match label {
            "EmailAddress1" | "" if n == 0 => "E-mail".into(),
            l if l.starts_with("EmailAddress") => format!("E-mail {}", n + 1),
            l => l.to_owned(),
        }
    }

    /// The photo as a `data:` URL, typed by its first bytes: Exchange calls every contact
    /// photo JPEG, and a browser must not be handed anything but an image it can show.
    fn photo_url(p: &pim::Photo) -> Option<String> {
        let data: String = p.data.chars().filter(|c| !c.is_whitespace()).collect();
        if !data
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "+/=".contains(ch))
        {
            return None;
        }
        // Base64 of each format's signature.
        let kind = [
            ("iVBORw0KGgo", "image/png"),
            ("/9j/", "image/jpeg"),
            ("R0lGOD", "image/gif"),
            ("Qk", "image/bmp"),
            ("UklGR", "image/webp"),
        ]
        .into_iter()
        .find(|(signature, _)| data.starts_with(signature))
        .map(|(_, kind)| kind)?;
        Some(format!("data:{kind};base64,{data}"))
    }

    pub fn contact_card(opened: &OpenedPimItem) -> ContactView {
        let detail = opened.item.detail();
        let Some(pim::Record::Contact(c)) = &opened.record else {
            return ContactView {
                item_id: detail.id,
                name: subject_or_none(&detail.subject),
                initials: initials(&detail.subject),
                work: String::new(),
                photo: None,
                emails: (!detail.sender_address.is_empty())
                    .then(|| Labelled {
                        label: "E-mail".into(),
                        value: detail.sender_address.clone(),
                    })
                    .into_iter()
                    .collect(),
                phones: Vec::new(),
                addresses: Vec::new(),
                other: Vec::new(),
                web_page: None,
                notes: String::new(),
                categories: Vec::new(),
                details_kept: false,
            };
        };
        let name = c.shown_name();
        let work = [c.job_title.trim(), c.department.trim(), c.company.trim()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" · ");
        let photo = c.photo.as_ref().and_then(photo_url);
        let mut other = Vec::new();
        let mut add = |label: &str, value: &str| {
            if !value.trim().is_empty() {
                other.push(Labelled {
                    label: label.into(),
                    value: value.trim().to_owned(),
                });
            }
        };
        add("Nickname", &c.nickname);
        add("File as", if c.file_as != name { &c.file_as } else { "" });
        add("Office", &c.office);
        add("Manager", &c.manager);
        add("Assistant", &c.assistant);
        for im in &c.im_addresses {
            add("Instant messaging", im);
        }
        if let Some(b) = c.birthday {
            add("Birthday", &b.format("%-d %B %Y").to_string());
        }
        let web = c.web_page.trim();
        let web_page =
            (web.starts_with("https://") || web.starts_with("http://")).then(|| web.to_owned());
        if web_page.is_none() {
            add("Web page", web);
        }
        ContactView {
            item_id: detail.id,
            initials: initials(&name),
            name,
            work,
            photo,
            emails: c
                .emails
                .iter()
                .enumerate()
                .map(|(n, e)| Labelled {
                    label: email_label(&e.label, n),
                    value: person(&e.name, &e.address),
                })
                .collect(),
            phones: c
                .phones
                .iter()
                .map(|p| Labelled {
                    label: phone_label(&p.label),
                    value: p.number.clone(),
                })
                .collect(),
            addresses: c
                .addresses
                .iter()
                .map(|a| AddressBlock {
                    label: if a.label.is_empty() {
                        "Address".into()
                    } else {
                        format!("{} address", a.label)
                    },
                    lines: a.lines(),
                })
                .filter(|a| !a.lines.is_empty())
                .collect(),
            other,
            web_page,
            notes: c.notes.trim().to_owned(),
            categories: c.categories.clone(),
            details_kept: true,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn labels_of_slots_and_reminders() {
            assert_eq!(phone_label("BusinessPhone"), "Business phone");
            assert_eq!(phone_label("MobilePhone"), "Mobile phone");
            assert_eq!(phone_label("BusinessFax"), "Business fax");
            assert_eq!(phone_label(""), "Phone");
            assert_eq!(email_label("EmailAddress1", 0), "E-mail");
            assert_eq!(email_label("EmailAddress2", 1), "E-mail 2");
            assert_eq!(reminder(15), "15 minutes before");
            assert_eq!(reminder(60), "1 hour before");
            assert_eq!(reminder(2880), "2 days before");
            assert_eq!(initials("Emma van der Berg"), "EV");
            let photo = |data: &str| {
                photo_url(&pim::Photo {
                    content_type: "image/jpeg".into(),
                    data: data.into(),
                })
            };
            assert_eq!(
                photo("iVBORw0KGgoAAAA\nNSUhEUg==").as_deref(),
                Some("data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==")
            );
            assert_eq!(
                photo("PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"),
                None,
                "an SVG is not shown"
            );
            assert_eq!(photo("/9j/4AAQ\"><script>"), None);
            assert_eq!(
                add_months(NaiveDate::from_ymd_opt(2025, 12, 1).expect("date"), 1).to_string(),
                "2026-01-01"
            );
            assert_eq!(
                add_months(NaiveDate::from_ymd_opt(2025, 1, 1).expect("date"), -1).to_string(),
                "2024-12-01"
            );
        }
    }
}
