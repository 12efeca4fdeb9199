//! A mailbox's calendar in the explorer (`/admin/mailbox/calendar`): a month or an agenda with
//! every series expanded, in the mailbox's usual time zone or another, now or as of the instant
//! in the URL; an event opens beside it with its attendees and their answers.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::header::{urlencode, ChooseMailbox, ExplorerHeader, Tab};
use crate::api::calendars::{
    calendar_event, calendar_month, calendar_open, AgendaDay, Chip, DayCell, EventCard, MonthPage,
};
use crate::components::admin_frame::AdminFrame;
use crate::components::Title;

#[component]
pub fn CalendarPage() -> impl IntoView {
    view! {
        <Title text="Calendar" />
        <AdminFrame permission="browse_calendars" section="browse_mail" wide=true>
            <Calendar />
        </AdminFrame>
    }
}

/// Where the reader is on the calendar, read from and written to the URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct CalendarLocation {
    mailbox: Option<i64>,
    at: Option<String>,
    month: String,
    tz: String,
    agenda: bool,
    event: Option<i64>,
    occurrence: String,
}

impl CalendarLocation {
    fn to_url(&self) -> String {
        let mut params: Vec<String> = Vec::new();
        if let Some(m) = self.mailbox {
            params.push(format!("m={m}"));
        }
        if let Some(at) = &self.at {
            params.push(format!("at={}", urlencode(at)));
        }
        for (name, value) in [("month", &self.month), ("tz", &self.tz)] {
            if !value.is_empty() {
                params.push(format!("{name}={}", urlencode(value)));
            }
        }
        if self.agenda {
            params.push("view=agenda".into());
        }
        if let Some(e) = self.event {
            params.push(format!("e={e}"));
            if !self.occurrence.is_empty() {
                params.push(format!("o={}", urlencode(&self.occurrence)));
            }
        }
        format!("/admin/mailbox/calendar?{}", params.join("&"))
    }

    fn with_month(&self, month: &str) -> String {
        CalendarLocation {
            month: month.to_owned(),
            event: None,
            ..self.clone()
        }
        .to_url()
    }

    /// An occurrence opened beside the month it was picked on, in the month's zone (also when
    /// the zone was the mailbox's usual one, not named in the URL).
    fn with_chip(&self, cal: &MonthPage, chip: &Chip) -> String {
        CalendarLocation {
            month: cal.month.clone(),
            tz: cal.zone.clone(),
            event: Some(chip.item_id),
            occurrence: chip.start.clone(),
            ..self.clone()
        }
        .to_url()
    }
}

#[component]
fn Calendar() -> impl IntoView {
    let query = use_query_map();
    let location = Memo::new(move |_| {
        query.with(|q| {
            let text = |k: &str| q.get(k).unwrap_or_default();
            CalendarLocation {
                mailbox: q.get("m").and_then(|m| m.parse().ok()),
                at: q.get("at").filter(|a| !a.is_empty()),
                month: text("month"),
                tz: text("tz"),
                agenda: text("view") == "agenda",
                event: q.get("e").and_then(|e| e.parse().ok()),
                occurrence: text("o"),
            }
        })
    });
    let opened = Resource::new(
        move || {
            let l = location.get();
            (l.mailbox, l.at)
        },
        |(mailbox, at)| async move {
            match mailbox {
                Some(m) => calendar_open(m, at).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let month = Resource::new(
        move || {
            let l = location.get();
            (l.mailbox, l.at, l.month, l.tz)
        },
        |(mailbox, at, month, tz)| async move {
            match mailbox {
                Some(m) => calendar_month(m, at, month, tz).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let event = Resource::new(
        move || {
            let l = location.get();
            (l.mailbox, l.event, l.occurrence, l.tz)
        },
        |(mailbox, event, occurrence, tz)| async move {
            match (mailbox, event) {
                (Some(m), Some(e)) => calendar_event(m, e, occurrence, tz).await.map(Some),
                _ => Ok(None),
            }
        },
    );
    view! {
        <div class="explorer">
            <Suspense fallback=|| view! { <div class="loading">"Opening the calendar…"</div> }>
                {move || Suspend::new(async move {
                    match opened.await {
                        Ok(None) => view! { <ChooseMailbox /> }
                            .into_any(),
                        Ok(Some(o)) => {
                            let l = location.get_untracked();
                            let keep = [("month", l.month.clone()), ("tz", l.tz.clone())]
                                .into_iter()
                                .filter(|(_, v)| !v.is_empty())
                                .chain(l.agenda.then(|| ("view", "agenda".to_owned())))
                                .collect::<Vec<_>>();
                            let empty = o.instant.as_ref().is_some_and(|i| i.before_first_sync);
                            view! {
                                <ExplorerHeader
                                    mailbox_id=o.mailbox_id
                                    display_name=o.display_name.clone()
                                    owner=o.owner.clone()
                                    tab=Tab::Calendar
                                    instant=o.instant.clone()
                                    can_snapshot=o.can_snapshot
                                    can_browse_calendars=true
                                    keep
                                />
                                {if empty {
                                    view! { <p class="empty-note explorer-empty">"Nothing to show at that instant."</p> }.into_any()
                                } else {
                                    view! { <MonthView location month event /> }.into_any()
                                }}
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error page-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

type MonthResource = Resource<Result<Option<MonthPage>, crate::api::error::ApiError>>;
type EventResource = Resource<Result<Option<EventCard>, crate::api::error::ApiError>>;

#[component]
fn MonthView(
    location: Memo<CalendarLocation>,
    month: MonthResource,
    event: EventResource,
) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <div class="loading">"Loading the month…"</div> }>
            {move || Suspend::new(async move {
                match month.await {
                    Ok(Some(cal)) => {
                        let l = location.get();
                        let reading = l.event.is_some();
                        view! {
                            <CalendarToolbar l=l.clone() cal=cal.clone() />
                            <div class="calendar-layout" class:reading=reading>
                                <section class="calendar-main" aria-label=cal.label.clone()>
                                    {if cal.events_total == 0 {
                                        view! {
                                            <p class="empty-note">
                                                "This mailbox has no calendar items at this instant. A sync task with Calendar ticked brings them in."
                                            </p>
                                        }
                                            .into_any()
                                    } else if l.agenda {
                                        view! { <Agenda l=l.clone() cal=cal.clone() /> }.into_any()
                                    } else {
                                        view! { <MonthGrid l=l.clone() cal=cal.clone() /> }.into_any()
                                    }}
                                    <CalendarFootnote cal=cal.clone() />
                                </section>
                                {reading.then(|| view! { <EventPane l=l.clone() event /> })}
                            </div>
                        }
                            .into_any()
                    }
                    Ok(None) => ().into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn CalendarToolbar(l: CalendarLocation, cal: MonthPage) -> impl IntoView {
    let switch_view = CalendarLocation {
        agenda: !l.agenda,
        month: cal.month.clone(),
        event: None,
        ..l.clone()
    }
    .to_url();
    let options = cal
        .zones
        .iter()
        .map(|z| {
            let selected = *z == cal.zone;
            view! { <option value=z.clone() selected=selected>{z.clone()}</option> }
        })
        .collect_view();
    view! {
        <div class="calendar-toolbar">
            <nav class="month-nav" aria-label="Months">
                <a class="button" href=l.with_month(&cal.prev) aria-label="Previous month">"‹"</a>
                <h2>{cal.label.clone()}</h2>
                <a class="button" href=l.with_month(&cal.next) aria-label="Next month">"›"</a>
                {(cal.current != cal.month).then(|| view! {
                    <a class="button" href=l.with_month(&cal.current)>
                        {if l.at.is_some() { "Month of the instant" } else { "This month" }}
                    </a>
                })}
            </nav>
            <a class="button" href=switch_view>{if l.agenda { "Month view" } else { "Agenda view" }}</a>
            <form method="GET" action="/admin/mailbox/calendar" class="zone-form">
                {l.mailbox.map(|m| view! { <input type="hidden" name="m" value=m.to_string() /> })}
                {l.at.clone().map(|at| view! { <input type="hidden" name="at" value=at /> })}
                <input type="hidden" name="month" value=cal.month.clone() />
                {l.agenda.then(|| view! { <input type="hidden" name="view" value="agenda" /> })}
                <label>
                    "Times in "
                    <select name="tz" aria-label="Time zone">{options}</select>
                </label>
                <button type="submit">"Show"</button>
            </form>
        </div>
    }
}

fn chip_view(l: &CalendarLocation, cal: &MonthPage, chip: &Chip) -> impl IntoView {
    let selected =
        l.event == Some(chip.item_id) && (l.occurrence.is_empty() || l.occurrence == chip.start);
    let title = if chip.all_day {
        format!("{} (all day)", chip.subject)
    } else {
        format!("{} {}", chip.time, chip.subject)
    };
    view! {
        <a
            href=l.with_chip(cal, chip)
            class="event-chip"
            class:all-day=chip.all_day
            class:changed=chip.exception
            class:cancelled=chip.cancelled
            class:selected=selected
            title=title
        >
            {(!chip.time.is_empty()).then(|| view! { <span class="chip-time">{chip.time.clone()}</span> })}
            {chip.recurring.then(|| view! { <span class="chip-series" aria-label="Part of a series" title="Part of a series">"↻"</span> })}
            <span class="chip-subject">{chip.subject.clone()}</span>
        </a>
    }
}

#[component]
fn MonthGrid(l: CalendarLocation, cal: MonthPage) -> impl IntoView {
    let heads = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        .into_iter()
        .map(|d| view! { <th scope="col">{d}</th> })
        .collect_view();
    let weeks = cal
        .weeks
        .iter()
        .map(|week| {
            let days = week.iter().map(|d| day_cell(&l, &cal, d)).collect_view();
            view! { <tr>{days}</tr> }
        })
        .collect_view();
    view! {
        <table class="month-grid">
            <thead><tr>{heads}</tr></thead>
            <tbody>{weeks}</tbody>
        </table>
    }
}

fn day_cell(l: &CalendarLocation, cal: &MonthPage, d: &DayCell) -> impl IntoView {
    let chips = d.chips.iter().map(|c| chip_view(l, cal, c)).collect_view();
    view! {
        <td class:other-month=!d.in_month class:today=d.today data-date=d.date.clone()>
            <div class="day-number">{d.day.to_string()}</div>
            <div class="day-events">{chips}</div>
        </td>
    }
}

#[component]
fn Agenda(l: CalendarLocation, cal: MonthPage) -> impl IntoView {
    if cal.agenda.is_empty() {
        return view! { <p class="empty-note">{format!("Nothing in the calendar in {}.", cal.label)}</p> }
            .into_any();
    }
    let days = cal
        .agenda
        .iter()
        .map(|day: &AgendaDay| {
            let entries = day
                .entries
                .iter()
                .map(|e| {
                    view! {
                        <li>
                            <span class="agenda-when">{e.when.clone()}</span>
                            {chip_view(&l, &cal, &e.chip)}
                            {(!e.location.is_empty()).then(|| view! { <span class="muted small">{e.location.clone()}</span> })}
                        </li>
                    }
                })
                .collect_view();
            view! {
                <section class="agenda-day" data-date=day.date.clone()>
                    <h3>{day.label.clone()}</h3>
                    <ul>{entries}</ul>
                </section>
            }
        })
        .collect_view();
    view! { <div class="agenda">{days}</div> }.into_any()
}

#[component]
fn CalendarFootnote(cal: MonthPage) -> impl IntoView {
    let total = match cal.events_total {
        0 => String::new(),
        1 => "1 calendar item in this mailbox.".to_owned(),
        n => format!("{n} calendar items in this mailbox."),
    };
    let partial = (cal.without_details > 0).then(|| {
        format!(
            " {} archived before their properties were kept: they are shown at their start only, without series or attendees.",
            cal.without_details
        )
    });
    view! {
        <p class="muted small calendar-foot">
            {format!("Times in {}. ", cal.zone)}
            {total}
            {partial}
        </p>
    }
}

#[component]
fn EventPane(l: CalendarLocation, event: EventResource) -> impl IntoView {
    let close = CalendarLocation {
        event: None,
        ..l.clone()
    }
    .to_url();
    view! {
        <aside class="event-pane" aria-label="Event">
            <a href=close class="close-pane" aria-label="Close">"×"</a>
            <Transition fallback=|| view! { <div class="loading">"Opening…"</div> }>
                {move || Suspend::new(async move {
                    match event.await {
                        Ok(Some(card)) => view! { <EventCardView card /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </aside>
    }
}

fn field(label: &'static str, value: String) -> impl IntoView {
    (!value.is_empty()).then(|| {
        view! {
            <dt>{label}</dt>
            <dd>{value}</dd>
        }
    })
}

fn list_field(label: &'static str, values: Vec<String>) -> impl IntoView {
    (!values.is_empty()).then(|| {
        let items = values
            .into_iter()
            .map(|v| view! { <li>{v}</li> })
            .collect_view();
        view! {
            <dt>{label}</dt>
            <dd><ul class="plain-list">{items}</ul></dd>
        }
    })
}

#[component]
fn EventCardView(card: EventCard) -> impl IntoView {
    let attendees = (!card.attendees.is_empty()).then(|| {
        let rows = card
            .attendees
            .iter()
            .map(|a| {
                let name = if a.name.is_empty() {
                    a.address.clone()
                } else {
                    a.name.clone()
                };
                let response_class = format!(
                    "response response-{}",
                    a.response.to_lowercase().replace(' ', "-")
                );
                view! {
                    <tr>
                        <td>
                            <div>{name}</div>
                            <div class="muted small">{a.address.clone()}</div>
                        </td>
                        <td class="muted small">{a.role.clone()}</td>
                        <td><span class=response_class>{a.response.clone()}</span></td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <h3>{format!("Attendees ({})", card.attendees.len())}</h3>
            <table class="attendees"><tbody>{rows}</tbody></table>
        }
    });
    view! {
        <article class="event-card">
            <h2>{card.subject.clone()}</h2>
            {card.cancelled.then(|| view! { <p class="reason">"Cancelled"</p> })}
            {(!card.details_kept).then(|| view! {
                <p class="muted small">"Archived before properties were kept: only its start and subject are known here. The item itself is in the archive."</p>
            })}
            {card.details_kept.then(|| view! {
                <p class="card-actions">
                    <a class="button" href=format!("/admin/download/{}/ics", card.item_id) download="" rel="external">"Download .ics"</a>
                </p>
            })}
            <dl class="event-facts">
                {card.occurrence.clone().map(|o| view! { <dt>"This occurrence"</dt><dd>{o}</dd> })}
                {field(if card.series.is_some() { "Series starts" } else { "When" }, card.when.clone())}
                {field("Repeats", card.series.clone().unwrap_or_default())}
                {field("Where", card.location.clone())}
                {field("Organizer", card.organizer.clone().unwrap_or_default())}
                {list_field("Changed", card.changed.clone())}
                {list_field("Deleted", card.deleted.clone())}
                {field("Reminder", card.reminder.clone().unwrap_or_default())}
                {field("Show as", card.show_as.clone())}
                {field("Sensitivity", if card.sensitivity == "Normal" { String::new() } else { card.sensitivity.clone() })}
                {field("Categories", card.categories.join(", "))}
            </dl>
            <p class="muted small">{card.zone_line.clone()}</p>
            {attendees}
            {(!card.body.is_empty()).then(|| view! { <pre class="event-body">{card.body.clone()}</pre> })}
        </article>
    }
}
