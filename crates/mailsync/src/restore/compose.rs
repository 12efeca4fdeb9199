//! Graph's JSON shapes of an archived item. Graph creates a message that is not a draft only
//! from JSON with PR_MESSAGE_FLAGS among its extended properties (a MIME upload is always a
//! draft), so the archived MIME is read back into Graph's fields; the MIME itself stays in the
//! archive, whole. Attachments are added after the message exists.

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use mail_parser::{Address, MimeHeaders, PartType};
use serde_json::{json, Value};

use super::graph_stamp_id;

/// A message as Graph creates it: the JSON of the message, then its attachments one by one.
#[derive(Debug, Clone)]
pub struct ComposedMessage {
    pub message: Value,
    pub attachments: Vec<ComposedAttachment>,
}

#[derive(Debug, Clone)]
pub struct ComposedAttachment {
    pub name: String,
    pub content_type: String,
    pub content_id: Option<String>,
    pub is_inline: bool,
    pub bytes: Vec<u8>,
    /// An attached message (`message/rfc822`): added as an item attachment (an Outlook item,
    /// [`graph_item_attachment`]) when Graph can carry it whole, else as an `.eml` file.
    pub is_message: bool,
}

fn recipients(address: Option<&Address<'_>>) -> Value {
    let list: Vec<Value> = address
        .map(|a| {
            a.iter()
                .filter_map(|addr| {
                    let address = addr.address()?.trim();
                    if address.is_empty() {
                        return None;
                    }
                    let name = addr.name().map(str::trim).unwrap_or_default();
                    Some(json!({"emailAddress": {"name": if name.is_empty() { address } else { name }, "address": address}}))
                })
                .collect()
        })
        .unwrap_or_default();
    Value::Array(list)
}

fn graph_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn part_bytes<'a>(part: &'a mail_parser::MessagePart<'_>) -> Cow<'a, [u8]> {
    match &part.body {
        PartType::Text(text) | PartType::Html(text) => Cow::Borrowed(text.as_bytes()),
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => Cow::Borrowed(bytes.as_ref()),
        PartType::Message(message) => Cow::Borrowed(message.raw_message.as_ref()),
        PartType::Multipart(_) => Cow::Borrowed(&[]),
    }
}

/// The message's JSON and attachments. `None` when the bytes cannot be read as a message at all.
pub fn graph_message(
    mime: &[u8],
    stamp: &str,
    is_read: bool,
    received_at: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
) -> Option<ComposedMessage> {
    // Read as the archive read it: broken headers repaired, broken parts as body.
    let mail = mailread::Mail::new(mime);
    let message = mail.message()?;
    // Only a real HTML part counts: mail-parser would render the text body as HTML otherwise.
    let html = message.html_part(0).and_then(|part| match &part.body {
        PartType::Html(html) => Some(html.to_string()),
        _ => None,
    });
    let body = match html {
        Some(h) => json!({"contentType": "html", "content": h}),
        None => {
            json!({"contentType": "text", "content": mailread::body_text(&message)})
        }
    };
    let sent = sent_at
        .or_else(|| mailread::message_date(mime).and_then(|d| DateTime::from_timestamp(d.unix, 0)));
    let mut props = vec![
        // Read (0x01) or unread; never unsent (0x08), which is what makes a draft.
        json!({"id": "Integer 0x0E07", "value": if is_read { "1" } else { "0" }}),
    ];
    // An attached message carries no stamp: it is part of the item that does.
    if !stamp.is_empty() {
        props.push(json!({"id": graph_stamp_id(), "value": stamp}));
    }
    if let Some(t) = received_at.or(sent) {
        props.push(json!({"id": "SystemTime 0x0E06", "value": graph_time(t)}));
    }
    if let Some(t) = sent.or(received_at) {
        props.push(json!({"id": "SystemTime 0x0039", "value": graph_time(t)}));
    }
    let mut json = json!({
        "subject": message.subject().unwrap_or_default(),
        "body": body,
        "toRecipients": recipients(message.to()),
        "ccRecipients": recipients(message.cc()),
        "bccRecipients": recipients(message.bcc()),
        "replyTo": recipients(message.reply_to()),
        "isRead": is_read,
        "singleValueExtendedProperties": props,
    });
    if let Some(from) = recipients(message.from())
        .as_array()
        .and_then(|a| a.first().cloned())
    {
        json["from"] = from.clone();
        json["sender"] = from;
    }
    if let Some(id) = message.message_id() {
        json["internetMessageId"] = Value::String(format!("<{}>", id.trim_matches(['<', '>'])));
    }
    let attachments = mailread::attachments(&message)
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let is_message = matches!(part.body, PartType::Message(_));
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_else(|| "application/octet-stream".to_owned())
                .to_lowercase();
            let name = part
                .attachment_name()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    if is_message {
                        format!("message-{}.eml", i + 1)
                    } else {
                        format!("attachment-{}", i + 1)
                    }
                });
            ComposedAttachment {
                name,
                content_type,
                content_id: part
                    .content_id()
                    .map(|c| c.trim().trim_matches(['<', '>']).to_owned()),
                is_inline: part
                    .content_disposition()
                    .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline")),
                bytes: part_bytes(part).into_owned(),
                is_message,
            }
        })
        .collect();
    Some(ComposedMessage {
        message: json,
        attachments,
    })
}

/// An attached message as Graph's `itemAttachment`: an Outlook message inside the message,
/// read and not a draft, as the original attachment was. `None` when it cannot go that way
/// whole: unreadable as MIME, or with attachments of its own (an item attachment's message is
/// created without any), then it goes as an `.eml` file.
pub fn graph_item_attachment(a: &ComposedAttachment) -> Option<Value> {
    if !a.is_message {
        return None;
    }
    let inner = graph_message(&a.bytes, "", true, None, None)?;
    if !inner.attachments.is_empty() {
        return None;
    }
    let mut item = inner.message;
    item["@odata.type"] = json!("#microsoft.graph.message");
    let subject = item["subject"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let name = if subject.is_empty() {
        a.name.trim_end_matches(".eml").to_owned()
    } else {
        subject
    };
    Some(json!({
        "@odata.type": "#microsoft.graph.itemAttachment",
        "name": name,
        "isInline": false,
        "item": item,
    }))
}

/// A small attachment in one request (`fileAttachment` with its bytes).
pub fn graph_file_attachment(a: &ComposedAttachment) -> Value {
    let mut v = json!({
        "@odata.type": "#microsoft.graph.fileAttachment",
        "name": a.name,
        "contentType": a.content_type,
        "contentBytes": STANDARD.encode(&a.bytes),
        "isInline": a.is_inline,
    });
    if let Some(id) = &a.content_id {
        v["contentId"] = Value::String(id.clone());
    }
    v
}

fn graph_days(days: &[pim::Day]) -> Vec<String> {
    days.iter().map(|d| d.name().to_lowercase()).collect()
}

fn graph_index(i: pim::WeekIndex) -> &'static str {
    match i {
        pim::WeekIndex::First => "first",
        pim::WeekIndex::Second => "second",
        pim::WeekIndex::Third => "third",
        pim::WeekIndex::Fourth => "fourth",
        pim::WeekIndex::Last => "last",
    }
}

fn graph_recurrence(r: &pim::Recurrence, zone: &str) -> Value {
    use pim::Pattern;
    let interval = r.interval.max(1);
    let first = r.first_day_of_week.name().to_lowercase();
    let pattern = match &r.pattern {
        Pattern::Daily => json!({"type": "daily", "interval": interval}),
        Pattern::Weekly { days } => {
            json!({"type": "weekly", "interval": interval, "daysOfWeek": graph_days(days), "firstDayOfWeek": first})
        }
        Pattern::AbsoluteMonthly { day_of_month } => {
            json!({"type": "absoluteMonthly", "interval": interval, "dayOfMonth": day_of_month})
        }
        Pattern::RelativeMonthly { days, index } => {
            json!({"type": "relativeMonthly", "interval": interval, "daysOfWeek": graph_days(days), "index": graph_index(*index)})
        }
        Pattern::AbsoluteYearly {
            month,
            day_of_month,
        } => {
            json!({"type": "absoluteYearly", "interval": 1, "month": month, "dayOfMonth": day_of_month})
        }
        Pattern::RelativeYearly { month, days, index } => {
            json!({"type": "relativeYearly", "interval": 1, "month": month, "daysOfWeek": graph_days(days), "index": graph_index(*index)})
        }
    };
    let range = match &r.range {
        pim::Range::NoEnd { start } => {
            json!({"type": "noEnd", "startDate": start.to_string(), "recurrenceTimeZone": zone})
        }
        pim::Range::EndDate { start, end } => {
            json!({"type": "endDate", "startDate": start.to_string(), "endDate": end.to_string(), "recurrenceTimeZone": zone})
        }
        pim::Range::Numbered { start, count } => {
            json!({"type": "numbered", "startDate": start.to_string(), "numberOfOccurrences": count, "recurrenceTimeZone": zone})
        }
    };
    json!({"pattern": pattern, "range": range})
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An event as Graph creates it. Graph sends invitations to every attendee of an event it
/// creates and has no way to say otherwise, so the attendees are not set: they are listed at
/// the top of the body instead, as the meeting had them, answers included.
pub fn graph_event(e: &pim::Event, stamp: &str) -> Value {
    let zone = if e.source_time_zone.trim().is_empty() {
        "UTC".to_owned()
    } else {
        e.source_time_zone.trim().to_owned()
    };
    let local = |t: chrono::NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let mut body = e.body.clone();
    let mut is_html = e.body_is_html;
    if !e.attendees.is_empty() || e.organizer.is_some() {
        let mut lines = Vec::new();
        if let Some(o) = &e.organizer {
            lines.push(format!("Organizer: {} <{}>", o.name, o.address));
        }
        for a in &e.attendees {
            let kind = match a.kind {
                pim::AttendeeKind::Required => "Required",
                pim::AttendeeKind::Optional => "Optional",
                pim::AttendeeKind::Resource => "Resource",
            };
            lines.push(format!(
                "{kind}: {} <{}> ({:?})",
                a.person.name, a.person.address, a.response
            ));
        }
        let summary = lines.join("\n");
        if is_html {
            body = format!(
                "<p>{}</p>{body}",
                escape_html(&summary).replace('\n', "<br>")
            );
        } else {
            body = if body.is_empty() {
                summary
            } else {
                format!("{summary}\n\n{body}")
            };
            is_html = false;
        }
    }
    let mut v = json!({
        "subject": e.subject,
        "body": {"contentType": if is_html { "html" } else { "text" }, "content": body},
        "start": {"dateTime": local(e.start), "timeZone": zone},
        "end": {"dateTime": local(e.end), "timeZone": zone},
        "isAllDay": e.all_day,
        "location": {"displayName": e.location},
        "categories": e.categories,
        "isReminderOn": e.reminder_minutes.is_some(),
        // Graph drops a repeated POST with the same transactionId instead of creating twice.
        "transactionId": stamp,
        "singleValueExtendedProperties": [{"id": graph_stamp_id(), "value": stamp}],
    });
    if let Some(m) = e.reminder_minutes {
        v["reminderMinutesBeforeStart"] = json!(m);
    }
    if !e.show_as.is_empty() {
        v["showAs"] = json!(lower_first(&e.show_as));
    }
    if !e.sensitivity.is_empty() {
        v["sensitivity"] = json!(lower_first(&e.sensitivity));
    }
    if let Some(r) = &e.recurrence {
        v["recurrence"] = graph_recurrence(r, &zone);
    }
    v
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn graph_address(a: &pim::PostalAddress) -> Value {
    json!({"street": a.street, "city": a.city, "state": a.state, "postalCode": a.postal_code, "countryOrRegion": a.country})
}

/// A contact as Graph creates it, every field the record holds.
pub fn graph_contact(c: &pim::Contact, stamp: &str) -> Value {
    let label = |p: &&pim::ContactPhone, want: &str| p.label.to_ascii_lowercase().contains(want);
    let business: Vec<&str> = c
        .phones
        .iter()
        .filter(|p| !label(p, "home") && !label(p, "mobile") && !label(p, "cell"))
        .map(|p| p.number.as_str())
        .collect();
    let home: Vec<&str> = c
        .phones
        .iter()
        .filter(|p| label(p, "home"))
        .map(|p| p.number.as_str())
        .collect();
    let mobile = c
        .phones
        .iter()
        .find(|p| label(p, "mobile") || label(p, "cell"))
        .map(|p| p.number.clone());
    let mut v = json!({
        "displayName": c.display_name,
        "fileAs": c.file_as,
        "title": c.title,
        "givenName": c.given_name,
        "middleName": c.middle_name,
        "surname": c.surname,
        "generation": c.suffix,
        "nickName": c.nickname,
        "initials": c.initials,
        "companyName": c.company,
        "department": c.department,
        "jobTitle": c.job_title,
        "officeLocation": c.office,
        "manager": c.manager,
        "assistantName": c.assistant,
        "emailAddresses": c.emails.iter().map(|e| json!({"name": if e.name.is_empty() { &e.address } else { &e.name }, "address": e.address})).collect::<Vec<_>>(),
        "businessPhones": business,
        "homePhones": home,
        "imAddresses": c.im_addresses,
        "businessHomePage": c.web_page,
        "personalNotes": c.notes,
        "categories": c.categories,
        "singleValueExtendedProperties": [{"id": graph_stamp_id(), "value": stamp}],
    });
    if let Some(m) = mobile {
        v["mobilePhone"] = json!(m);
    }
    if let Some(b) = c.birthday {
        v["birthday"] = json!(format!("{b}T00:00:00Z"));
    }
    for a in &c.addresses {
        let l = a.label.to_ascii_lowercase();
        let key = if l.contains("home") {
            "homeAddress"
        } else if l.contains("other") {
            "otherAddress"
        } else {
            "businessAddress"
        };
        if v.get(key).is_none() {
            v[key] = graph_address(a);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_read_back_into_graph_fields_and_is_never_a_draft() {
        let mime = b"From: Ann Archer <ann@example.com>\r\nTo: Bob <bob@example.com>, carol@example.com\r\n\
Cc: dan@example.com\r\nSubject: Quarterly figures\r\nMessage-ID: <q1@example.com>\r\n\
Date: Mon, 15 Jan 2024 09:00:00 +0000\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>See <b>attached</b></p>\r\n\
--b\r\nContent-Type: application/pdf; name=\"q1.pdf\"\r\nContent-Disposition: attachment; filename=\"q1.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n";
        let m = graph_message(mime, "sr:7:42", false, None, None).unwrap();
        let j = &m.message;
        assert_eq!(j["subject"], "Quarterly figures");
        assert_eq!(j["from"]["emailAddress"]["address"], "ann@example.com");
        assert_eq!(j["toRecipients"].as_array().unwrap().len(), 2);
        assert_eq!(
            j["toRecipients"][1]["emailAddress"]["name"],
            "carol@example.com"
        );
        assert_eq!(
            j["ccRecipients"][0]["emailAddress"]["address"],
            "dan@example.com"
        );
        assert_eq!(j["internetMessageId"], "<q1@example.com>");
        assert_eq!(j["body"]["contentType"], "html");
        assert!(j["body"]["content"]
            .as_str()
            .unwrap()
            .contains("<b>attached</b>"));
        assert_eq!(j["isRead"], false);
        let props = j["singleValueExtendedProperties"].as_array().unwrap();
        let flags = props.iter().find(|p| p["id"] == "Integer 0x0E07").unwrap();
        assert_eq!(flags["value"], "0", "unread and not unsent: not a draft");
        assert!(props
            .iter()
            .any(|p| p["id"] == graph_stamp_id() && p["value"] == "sr:7:42"));
        let submit = props
            .iter()
            .find(|p| p["id"] == "SystemTime 0x0039")
            .unwrap();
        assert_eq!(submit["value"], "2024-01-15T09:00:00Z");
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].name, "q1.pdf");
        assert_eq!(m.attachments[0].content_type, "application/pdf");
        assert_eq!(m.attachments[0].bytes, b"%PDF-1.4\n");
    }

    #[test]
    fn an_event_keeps_its_attendees_in_the_body_and_sends_nobody_an_invitation() {
        let e = pim::Event {
            uid: "u1".into(),
            subject: "Planning".into(),
            body: "Agenda".into(),
            organizer: Some(pim::Person {
                name: "Ann".into(),
                address: "ann@example.com".into(),
            }),
            attendees: vec![pim::Attendee {
                person: pim::Person {
                    name: "Bob".into(),
                    address: "bob@example.com".into(),
                },
                kind: pim::AttendeeKind::Required,
                response: pim::Response::Accepted,
            }],
            start: chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
                .unwrap()
                .and_hms_opt(14, 0, 0)
                .unwrap(),
            end: chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
                .unwrap()
                .and_hms_opt(15, 0, 0)
                .unwrap(),
            time_zone: "Europe/Berlin".into(),
            source_time_zone: "W. Europe Standard Time".into(),
            ..pim::Event::default()
        };
        let v = graph_event(&e, "sr:1:2");
        assert!(v.get("attendees").is_none());
        let body = v["body"]["content"].as_str().unwrap();
        assert!(body.contains("Required: Bob <bob@example.com>"), "{body}");
        assert!(body.ends_with("Agenda"));
        assert_eq!(v["start"]["dateTime"], "2026-03-02T14:00:00");
        assert_eq!(v["start"]["timeZone"], "W. Europe Standard Time");
        assert_eq!(v["transactionId"], "sr:1:2");
    }
}
