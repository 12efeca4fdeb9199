//! The Graph requests that change items already there: the instances of a series
//! (`GET /events/{id}/instances`, event-list-instances.md) and `PATCH`/`DELETE` of one of them,
//! `DELETE` of an event, a message or a contact, and `PUT .../contacts/{id}/photo/$value`
//! (profilephoto-update.md).
//!
//! An instance id is the series' id, a dot and the occurrence's place in the pattern; Graph's
//! own are opaque too, and a client must take them from the instances list.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::dates;
use crate::ews_change::{attendee_count, set_contact_photo};
use crate::graph::{find_item, graph_item_id, item_not_found, Body, GraphResponse, Req};
use crate::graph_restore::{collection_page, graph_time};
use crate::mailbox::{self, Item, ItemKind, Mailbox};
use crate::occurrences::{self, Instance, OccurrenceChange, OccurrenceError};
use crate::state::SimState;

/// The id of the occurrence at 1-based `index` of the series `master`.
pub(crate) fn instance_id(master: &str, index: usize) -> String {
    format!("{master}.{index}")
}

/// The series' id and the occurrence's index, from an [`instance_id`].
fn parse_instance_id(id: &str) -> Option<(&str, usize)> {
    let (master, index) = id.rsplit_once('.')?;
    Some((master, index.parse().ok()?))
}

/// Graph's `dateTimeTimeZone` of a UTC instant, as Graph writes it without a Prefer zone.
fn utc_time(t: i64) -> Value {
    json!({"dateTime": format!("{}.0000000", dates::xs(t).trim_end_matches('Z')), "timeZone": "UTC"})
}

fn instance_json(master_id: &str, subject: &str, location: &str, i: &Instance) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.event",
        "id": instance_id(master_id, i.index),
        "seriesMasterId": master_id,
        "type": if i.is_exception { "exception" } else { "occurrence" },
        "originalStart": dates::xs(i.original_start),
        "start": utc_time(i.start),
        "end": utc_time(i.end),
        "subject": i.subject.as_deref().unwrap_or(subject),
        "location": {"displayName": i.location.as_deref().unwrap_or(location)},
    })
}

fn occurrence_error(e: OccurrenceError) -> GraphResponse {
    match e {
        OccurrenceError::OutOfRange | OccurrenceError::Deleted => item_not_found(),
        OccurrenceError::CrossesBoundary => GraphResponse::error(
            StatusCode::BAD_REQUEST,
            "ErrorOccurrenceCrossingBoundary",
            "An occurrence cannot be moved to or before the previous occurrence, or to or after the next one.",
        ),
    }
}

/// `GET /events/{id}/instances?startDateTime=...&endDateTime=...`: the occurrences and
/// exceptions of a series in the window, paged by `@odata.nextLink` (`$top`, or the
/// `odata.maxpagesize` preference; Graph's default page is 10).
pub(crate) fn instances(mb: &Mailbox, req: &Req, id: &str, link: &str) -> GraphResponse {
    let window = |name: &str| req.query.get(name).and_then(|v| dates::parse_xs(v));
    let (Some(from), Some(to)) = (window("startDateTime"), window("endDateTime")) else {
        return GraphResponse::error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
        );
    };
    let Some(item) = find_item(mb, id).filter(|i| i.kind == ItemKind::CalendarItem) else {
        return item_not_found();
    };
    let master_id = graph_item_id(mb, item, req.immutable_ids());
    let text = |name: &str| mailbox::text_property(&item.data, name).unwrap_or_default();
    let (subject, location) = (text("SUMMARY"), text("LOCATION"));
    // A single event has no instances: Graph answers with an empty list.
    let all = occurrences::instances(&item.data, from, to).unwrap_or_default();
    let top = req
        .query
        .get("$top")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or_else(|| req.page_size())
        .max(1);
    let skip = req
        .query
        .get("$skip")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    let value: Vec<Value> = all
        .iter()
        .skip(skip)
        .take(top)
        .map(|i| instance_json(&master_id, &subject, &location, i))
        .collect();
    collection_page(req, "events", value, skip, top, all.len(), link)
}

/// `PATCH /events/{instance id}`: the occurrence's start, end, subject or location.
pub(crate) fn patch_event(
    state: &SimState,
    req: &Req,
    mb: &mut Mailbox,
    id: &str,
) -> GraphResponse {
    let Some((master, index)) = parse_instance_id(id) else {
        return match find_item(mb, id) {
            Some(i) if i.kind == ItemKind::CalendarItem => GraphResponse::error(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidRequest",
                "The simulator updates single occurrences of a series only.",
            ),
            _ => item_not_found(),
        };
    };
    let Some(n) = find_item(mb, master)
        .filter(|i| i.kind == ItemKind::CalendarItem)
        .map(|i| i.n)
    else {
        return item_not_found();
    };
    let body: Value = match serde_json::from_slice(req.body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return GraphResponse::error(
                StatusCode::BAD_REQUEST,
                "RequestBodyRead",
                "The request body is not a JSON object.",
            )
        }
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let change = OccurrenceChange {
        start: graph_time(&body, "start").map(|(t, _)| t),
        end: graph_time(&body, "end").map(|(t, _)| t),
        subject: text(body.get("subject")),
        location: text(body.get("location").and_then(|l| l.get("displayName"))),
    };
    let Some(item) = mb.items.get(&n) else {
        return item_not_found();
    };
    let data = match occurrences::modify(&item.data, index, &change) {
        Ok(d) => d,
        Err(e) => return occurrence_error(e),
    };
    if mb.replace_data(n, data).is_err() {
        return item_not_found();
    }
    state.bump(|c| c.items_updated += 1);
    let Some(item) = mb.items.get(&n) else {
        return item_not_found();
    };
    let now = occurrences::instances(&item.data, i64::MIN, i64::MAX).unwrap_or_default();
    let (subject, location) = (
        mailbox::text_property(&item.data, "SUMMARY").unwrap_or_default(),
        mailbox::text_property(&item.data, "LOCATION").unwrap_or_default(),
    );
    match now.iter().find(|i| i.index == index) {
        Some(i) => GraphResponse::json(
            StatusCode::OK,
            instance_json(master, &subject, &location, i),
        ),
        None => item_not_found(),
    }
}

/// `DELETE` of an event, an instance of a series, a message or a contact. Deleting a meeting
/// on the organizer's calendar sends its attendees a cancellation, as Graph documents.
pub(crate) fn delete(
    state: &SimState,
    mb: &mut Mailbox,
    id: &str,
    kind: ItemKind,
) -> GraphResponse {
    let (target, index) = match parse_instance_id(id) {
        Some((master, index)) if kind == ItemKind::CalendarItem => (master, Some(index)),
        _ => (id, None),
    };
    let Some(item) = find_item(mb, target).filter(|i| i.kind == kind) else {
        return item_not_found();
    };
    let n = item.n;
    let attendees = attendee_count(&item.data);
    let done = match index {
        Some(index) => match occurrences::delete(&item.data, index) {
            Ok(data) => mb.replace_data(n, data).map_err(|_| item_not_found()),
            Err(e) => Err(occurrence_error(e)),
        },
        None => mb.delete_item(n).map_err(|_| item_not_found()),
    };
    if let Err(e) = done {
        return e;
    }
    state.bump(|c| {
        c.items_deleted += 1;
        c.cancellations_sent += attendees;
    });
    GraphResponse {
        status: StatusCode::NO_CONTENT,
        headers: Vec::new(),
        body: Body::Empty,
    }
}

/// `PUT .../contacts/{id}/photo/$value` with the image bytes as the body.
pub(crate) fn put_contact_photo(
    state: &SimState,
    req: &Req,
    mb: &mut Mailbox,
    id: &str,
) -> GraphResponse {
    let Some(n) = find_item(mb, id)
        .filter(|i| i.kind == ItemKind::Contact)
        .map(|i| i.n)
    else {
        return item_not_found();
    };
    let content_type = req.content_type.as_deref().unwrap_or("");
    if req.body.is_empty() || !content_type.starts_with("image/") {
        return GraphResponse::error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidRequest",
            "The photo must be sent as the body, with an image content type.",
        );
    }
    match set_contact_photo(state, mb, n, content_type, req.body) {
        Some(()) => GraphResponse {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: Body::Empty,
        },
        None => item_not_found(),
    }
}

/// An instance as a whole event: the master's fields with the instance's own id, times and
/// (for an exception) subject and location, and no pattern.
fn instance_event(master: &Value, master_id: &str, i: &Instance) -> Value {
    let mut v = master.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("recurrence");
        o.insert("id".into(), json!(instance_id(master_id, i.index)));
        o.insert("seriesMasterId".into(), json!(master_id));
        o.insert(
            "type".into(),
            json!(if i.is_exception {
                "exception"
            } else {
                "occurrence"
            }),
        );
        o.insert("originalStart".into(), json!(dates::xs(i.original_start)));
        o.insert("start".into(), utc_time(i.start));
        o.insert("end".into(), utc_time(i.end));
        if let Some(s) = &i.subject {
            o.insert("subject".into(), json!(s));
        }
        if let Some(l) = &i.location {
            o.insert("location".into(), json!({"displayName": l}));
        }
    }
    v
}

fn removed(id: String) -> Value {
    json!({"@odata.type": "#microsoft.graph.event", "id": id, "@removed": {"reason": "deleted"}})
}

/// Whether a calendar item shows in a calendarView window: a series when one of its instances
/// does, a single event when its own time does.
pub(crate) fn in_view(ics: &[u8], from: i64, to: i64) -> Option<bool> {
    occurrences::instances(ics, from, to).map(|list| !list.is_empty())
}

/// What calendarView delta reports for one change in the window (event-delta.md: "the events
/// returned may include single instances, or occurrences and exceptions of a recurring
/// series"): a single event as itself; a series never as its master but as its instances,
/// with the occurrences deleted from it removed; a removed series as each instance removed.
pub(crate) fn calendar_view_entries(
    mb: &Mailbox,
    change: &mailbox::ItemChange,
    (from, to): (i64, i64),
    immutable: bool,
    single: impl Fn(&Item) -> Value,
) -> Vec<Value> {
    let id = if immutable {
        mailbox::immutable_item_id(mb.index, change.n)
    } else {
        mailbox::rest_item_id(mb.index, change.n, change.move_gen)
    };
    if change.kind == mailbox::ChangeType::Delete {
        let gone = change
            .removed_calendar
            .as_deref()
            .and_then(|data| occurrences::instances(data, from, to));
        return match gone {
            Some(list) => list
                .iter()
                .map(|i| removed(instance_id(&id, i.index)))
                .collect(),
            None => vec![removed(id)],
        };
    }
    let Some(item) = mb.items.get(&change.n) else {
        return Vec::new();
    };
    let mut master = single(item);
    let Some(list) = occurrences::instances(&item.data, from, to) else {
        master["type"] = json!("singleInstance");
        return vec![master];
    };
    master["type"] = json!("seriesMaster");
    let mut out: Vec<Value> = list
        .iter()
        .map(|i| instance_event(&master, &id, i))
        .collect();
    if change.kind != mailbox::ChangeType::Create {
        out.extend(
            occurrences::deleted_indexes(&item.data, from, to)
                .into_iter()
                .map(|index| removed(instance_id(&id, index))),
        );
    }
    out
}

/// `GET /events/{id}`: a series master or single event whole, or one instance.
pub(crate) fn get_event(
    mb: &Mailbox,
    req: &Req,
    id: &str,
    single: impl Fn(&Item) -> Value,
) -> GraphResponse {
    if let Some((master, index)) = parse_instance_id(id) {
        let Some(item) = find_item(mb, master).filter(|i| i.kind == ItemKind::CalendarItem) else {
            return item_not_found();
        };
        let master_id = graph_item_id(mb, item, req.immutable_ids());
        let mut base = single(item);
        base["type"] = json!("seriesMaster");
        let all = occurrences::instances(&item.data, i64::MIN, i64::MAX).unwrap_or_default();
        return match all.iter().find(|i| i.index == index) {
            Some(i) => GraphResponse::json(StatusCode::OK, instance_event(&base, &master_id, i)),
            None => item_not_found(),
        };
    }
    match find_item(mb, id).filter(|i| i.kind == ItemKind::CalendarItem) {
        Some(item) => {
            let mut v = single(item);
            v["type"] = json!(if in_view(&item.data, i64::MIN, i64::MAX).is_some() {
                "seriesMaster"
            } else {
                "singleInstance"
            });
            GraphResponse::json(StatusCode::OK, v)
        }
        None => item_not_found(),
    }
}
