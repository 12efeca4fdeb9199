//! A PST's calendar items and contacts read into the `pim` records, the same form the sync
//! keeps, so the explorer, ICS/VCF export and restore treat imported items like synced ones.
//!
//! Outlook keeps most of these fields as named properties (MS-OXPROPS `PidLid…`): their ids
//! differ per file and are looked up in the store's name-to-id map ([`Named`]).

use std::collections::HashMap;

use base64::Engine;
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use outlook_pst::ltp::prop_context::PropertyValue;
use outlook_pst::messaging::named_prop::{NamedPropertyGuid, NamedPropertyId, NamedPropertyMap};
use pim::{
    Attendee, AttendeeKind, Contact, ContactEmail, ContactPhone, Event, Person, Photo,
    PostalAddress, Response, Zone,
};

use super::{binary, recur, text, utc, Recipient};

/// A property of the message by id.
pub(super) type Props<'a> = &'a dyn Fn(u16) -> Option<PropertyValue>;

type Guid = (u32, u16, u16, [u8; 8]);

const fn mapi_guid(data1: u32) -> Guid {
    (data1, 0, 0, [0xC0, 0, 0, 0, 0, 0, 0, 0x46])
}
const PS_MAPI: Guid = mapi_guid(0x0002_0328);
const PS_PUBLIC_STRINGS: Guid = mapi_guid(0x0002_0329);
const PSETID_APPOINTMENT: Guid = mapi_guid(0x0006_2002);
const PSETID_ADDRESS: Guid = mapi_guid(0x0006_2004);
const PSETID_COMMON: Guid = mapi_guid(0x0006_2008);
const PSETID_MEETING: Guid = (
    0x6ED8_DA90,
    0x450B,
    0x101B,
    [0x98, 0xDA, 0x00, 0xAA, 0x00, 0x3F, 0x13, 0x05],
);

/// The store's named properties: (property set, number) or a string name to the id this file
/// gave it.
#[derive(Default)]
pub(super) struct Named {
    numbers: HashMap<(Guid, u32), u16>,
    strings: HashMap<(Guid, String), u16>,
}

impl Named {
    /// A file without a readable map has no named properties: its items keep what the plain
    /// properties say.
    pub(super) fn read(map: Option<&dyn NamedPropertyMap>) -> Named {
        let mut named = Named::default();
        let Some(map) = map else {
            return named;
        };
        let properties = map.properties();
        let guids = properties.stream_guid().unwrap_or_default();
        let Ok(entries) = properties.stream_entry() else {
            return named;
        };
        for entry in entries {
            let guid = match entry.guid() {
                NamedPropertyGuid::None => continue,
                NamedPropertyGuid::Mapi => PS_MAPI,
                NamedPropertyGuid::PublicStrings => PS_PUBLIC_STRINGS,
                NamedPropertyGuid::GuidIndex(i) => match guids.get(usize::from(i)) {
                    Some(g) => (g.data1(), g.data2(), g.data3(), *g.data4()),
                    None => continue,
                },
            };
            match entry.id() {
                NamedPropertyId::Number(lid) => {
                    named.numbers.insert((guid, lid), entry.prop_id());
                }
                NamedPropertyId::StringOffset(offset) => {
                    if let Ok(name) = properties.lookup_string(offset) {
                        let units: Vec<u16> = name
                            .buffer()
                            .chunks_exact(2)
                            .map(|c| u16::from_le_bytes([c[0], c[1]]))
                            .collect();
                        let name = String::from_utf16_lossy(&units).to_ascii_lowercase();
                        named.strings.insert((guid, name), entry.prop_id());
                    }
                }
            }
        }
        named
    }

    fn get(&self, props: Props<'_>, guid: Guid, lid: u32) -> Option<PropertyValue> {
        props(*self.numbers.get(&(guid, lid))?)
    }

    fn text(&self, props: Props<'_>, guid: Guid, lid: u32) -> Option<String> {
        text(self.get(props, guid, lid).as_ref())
    }

    /// Categories ("Keywords"): a multi-valued string named by name.
    fn keywords(&self, props: Props<'_>) -> Vec<String> {
        let Some(id) = self
            .strings
            .get(&(PS_PUBLIC_STRINGS, "keywords".to_string()))
        else {
            return Vec::new();
        };
        match props(*id) {
            Some(PropertyValue::MultipleUnicode(values)) => values
                .iter()
                .map(|v| String::from_utf16_lossy(v.buffer()))
                .collect(),
            Some(PropertyValue::MultipleString8(values)) => values
                .iter()
                .map(|v| encoding_rs::WINDOWS_1252.decode(v.buffer()).0.into_owned())
                .collect(),
            _ => Vec::new(),
        }
        .into_iter()
        .map(|s| s.trim_end_matches('\0').to_string())
        .filter(|s| !s.is_empty())
        .collect()
    }
}

fn flag(value: Option<PropertyValue>) -> bool {
    match value {
        Some(PropertyValue::Boolean(b)) => b,
        Some(PropertyValue::Integer32(n)) => n != 0,
        _ => false,
    }
}

fn int(value: Option<PropertyValue>) -> Option<i32> {
    match value? {
        PropertyValue::Integer32(n) => Some(n),
        PropertyValue::Integer16(n) => Some(i32::from(n)),
        _ => None,
    }
}

/// The Windows zone name of a TZDEFINITION (MS-OXOCAL 2.2.1.41): version bytes, header size,
/// reserved word, then the key name's length in characters and the name in UTF-16.
fn tz_definition_key(blob: &[u8]) -> Option<String> {
    let n = usize::from(u16::from_le_bytes([*blob.get(6)?, *blob.get(7)?]));
    let bytes = blob.get(8..8 + n * 2)?;
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let name = String::from_utf16_lossy(&units);
    (!name.trim().is_empty()).then_some(name)
}

/// The iCalendar UID of a meeting from its global object id (MS-OXCICAL 2.1.3.1.1.20.26): the
/// text an iCalendar import kept in it, else the id in upper-case hexadecimal.
fn uid_of(id: &[u8]) -> Option<String> {
    if id.len() < 20 {
        return None;
    }
    let data = id.get(40..).unwrap_or_default();
    if let Some(rest) = data.strip_prefix(b"vCal-Uid") {
        let text = rest.get(4..).unwrap_or_default();
        let text = String::from_utf8_lossy(text)
            .trim_end_matches('\0')
            .to_string();
        if !text.is_empty() {
            return Some(text);
        }
    }
    // The instance date (bytes 16..20) belongs to one occurrence, not to the meeting.
    let mut clean = id.to_vec();
    clean[16..20].fill(0);
    Some(clean.iter().map(|b| format!("{b:02X}")).collect())
}

fn response(track_status: i32) -> Response {
    match track_status {
        1 => Response::Organizer,
        2 => Response::TentativelyAccepted,
        3 => Response::Accepted,
        4 => Response::Declined,
        5 => Response::NotResponded,
        _ => Response::None,
    }
}

/// An all-day event's day: Outlook stores local midnight in UTC, so a day seen a few hours
/// either side of midnight is that day.
fn day_of(t: NaiveDateTime) -> NaiveDateTime {
    let rounded = t + Duration::hours(12);
    rounded.date().and_time(NaiveTime::MIN)
}

/// One appointment (`IPM.Appointment`). `fallback_uid` names it when Outlook gave it no global
/// id. Returns the event and, when its series could not be read, why (it is kept as one event).
pub(super) fn event(
    props: Props<'_>,
    named: &Named,
    recipients: &[Recipient],
    fallback_uid: &str,
) -> Result<(Event, Option<String>), String> {
    let appt = |lid| named.get(props, PSETID_APPOINTMENT, lid);
    let source_time_zone = [0x825E, 0x8260, 0x825F]
        .into_iter()
        .find_map(|lid| binary(appt(lid).as_ref()).and_then(tz_definition_key))
        .or_else(|| text(appt(0x8234).as_ref()))
        .unwrap_or_default();
    let zone = pim::zone_from_name(&source_time_zone).unwrap_or(Zone::UTC);
    let start = utc(appt(0x820D).as_ref()).or_else(|| utc(props(0x0060).as_ref()));
    let end = utc(appt(0x820E).as_ref()).or_else(|| utc(props(0x0061).as_ref()));
    let start = start
        .map(|t| zone.to_local(t))
        .ok_or("the appointment has no start time")?;
    let end = end.map(|t| zone.to_local(t)).unwrap_or(start);
    let all_day = flag(appt(0x8215));
    let (start, end) = if all_day {
        (day_of(start), day_of(end).max(day_of(start)))
    } else {
        (start, end.max(start))
    };

    let mut organizer = None;
    let mut attendees = Vec::new();
    for r in recipients {
        let person = Person {
            name: r.name.clone(),
            address: r.address.clone(),
        };
        // recipOrganizer in PidTagRecipientFlags.
        if r.flags & 0x0002 != 0 {
            organizer = Some(person);
            continue;
        }
        let kind = match r.kind {
            2 => AttendeeKind::Optional,
            3 => AttendeeKind::Resource,
            _ => AttendeeKind::Required,
        };
        attendees.push(Attendee {
            person,
            kind,
            response: response(r.track_status),
        });
    }
    let organizer = organizer.or_else(|| {
        let name = text(props(0x0042).as_ref()).or_else(|| text(props(0x0C1A).as_ref()));
        let address = text(props(0x5D02).as_ref())
            .or_else(|| text(props(0x0065).as_ref()))
            .or_else(|| text(props(0x5D01).as_ref()))
            .or_else(|| text(props(0x0C1F).as_ref()))
            .filter(|a| a.contains('@'));
        (name.is_some() || address.is_some()).then(|| Person {
            name: name.unwrap_or_default(),
            address: address.unwrap_or_default(),
        })
    });

    let uid = [0x0023, 0x0003]
        .into_iter()
        .find_map(|lid| binary(named.get(props, PSETID_MEETING, lid).as_ref()).and_then(uid_of))
        .unwrap_or_else(|| fallback_uid.to_string());
    let (body, body_is_html) = match text(props(0x1000).as_ref()) {
        Some(plain) => (plain, false),
        None => match super::html(props) {
            Some(html) => (html, true),
            None => (String::new(), false),
        },
    };
    let reminder_minutes = flag(named.get(props, PSETID_COMMON, 0x8503))
        .then(|| int(named.get(props, PSETID_COMMON, 0x8501)).map(i64::from))
        .flatten();
    let show_as = match int(appt(0x8205)) {
        Some(0) => "Free",
        Some(1) => "Tentative",
        Some(3) => "Oof",
        Some(4) => "WorkingElsewhere",
        Some(_) => "Busy",
        None => "",
    };
    let sensitivity = match int(props(0x0036)) {
        Some(1) => "Personal",
        Some(2) => "Private",
        Some(3) => "Confidential",
        _ => "Normal",
    };
    let mut event = Event {
        uid,
        subject: text(props(0x0037).as_ref()).unwrap_or_default(),
        location: text(appt(0x8208).as_ref()).unwrap_or_default(),
        body,
        body_is_html,
        organizer,
        attendees,
        start,
        end,
        all_day,
        time_zone: zone.name().to_string(),
        source_time_zone,
        recurrence: None,
        exceptions: Vec::new(),
        deleted_occurrences: Vec::new(),
        reminder_minutes,
        categories: named.keywords(props),
        show_as: show_as.to_string(),
        sensitivity: sensitivity.to_string(),
        is_cancelled: int(appt(0x8217)).is_some_and(|f| f & 0x4 != 0),
    };
    let mut problem = None;
    if let Some(blob) = binary(appt(0x8216).as_ref()) {
        match recur::parse(blob) {
            Ok(series) => {
                // The series' own first occurrence, in case the start is that of another one.
                let first = series.recurrence.start_date().and_time(NaiveTime::MIN);
                if !all_day && event.start.date() != first.date() {
                    let length = event.end - event.start;
                    event.start = first + Duration::minutes(series.start_offset);
                    event.end = event.start + length;
                } else if !all_day && event.start.num_seconds_from_midnight() == 0 {
                    event.end = first + Duration::minutes(series.end_offset);
                }
                event.recurrence = Some(series.recurrence);
                event.exceptions = series.exceptions;
                event.deleted_occurrences = series.deleted;
            }
            Err(why) => problem = Some(format!("{why}; kept as a single event")),
        }
    }
    Ok((event, problem))
}

/// One contact (`IPM.Contact`); `photo` is the attachment Outlook marked as its picture.
pub(super) fn contact(
    props: Props<'_>,
    named: &Named,
    photo: Option<(String, Vec<u8>)>,
) -> Contact {
    let t = |id: u16| text(props(id).as_ref()).unwrap_or_default();
    let address = |lid| named.text(props, PSETID_ADDRESS, lid).unwrap_or_default();

    let mut emails = Vec::new();
    for (n, (name, kind, addr, original)) in [
        (0x8080, 0x8082, 0x8083, 0x8084),
        (0x8090, 0x8092, 0x8093, 0x8094),
        (0x80A0, 0x80A2, 0x80A3, 0x80A4),
    ]
    .into_iter()
    .enumerate()
    {
        let mut value = address(addr);
        // An Exchange (X.500) address: the original display name holds the SMTP one when known.
        if address(kind).eq_ignore_ascii_case("EX") && !value.contains('@') {
            value = address(original);
        }
        if value.trim().is_empty() {
            continue;
        }
        emails.push(ContactEmail {
            label: format!("EmailAddress{}", n + 1),
            address: value.trim().to_string(),
            name: address(name),
        });
    }
    let phones = [
        (0x3A08, "BusinessPhone"),
        (0x3A1B, "BusinessPhone2"),
        (0x3A09, "HomePhone"),
        (0x3A2F, "HomePhone2"),
        (0x3A1C, "MobilePhone"),
        (0x3A24, "BusinessFax"),
        (0x3A25, "HomeFax"),
        (0x3A23, "OtherFax"),
        (0x3A21, "Pager"),
        (0x3A1E, "CarPhone"),
        (0x3A57, "CompanyMainPhone"),
        (0x3A2E, "AssistantPhone"),
        (0x3A2D, "Isdn"),
        (0x3A1F, "OtherTelephone"),
        (0x3A1A, "PrimaryPhone"),
    ]
    .into_iter()
    .filter_map(|(id, label)| {
        let number = t(id);
        (!number.trim().is_empty()).then(|| ContactPhone {
            label: label.to_string(),
            number: number.trim().to_string(),
        })
    })
    .collect();
    let work = |lid: u32, tag: u16| {
        let v = address(lid);
        if v.is_empty() {
            t(tag)
        } else {
            v
        }
    };
    let addresses = [
        PostalAddress {
            label: "Business".into(),
            street: work(0x8045, 0x3A29),
            city: work(0x8046, 0x3A27),
            state: work(0x8047, 0x3A28),
            postal_code: work(0x8048, 0x3A2A),
            country: work(0x8049, 0x3A26),
        },
        PostalAddress {
            label: "Home".into(),
            street: t(0x3A5D),
            city: t(0x3A59),
            state: t(0x3A5C),
            postal_code: t(0x3A5B),
            country: t(0x3A5A),
        },
        PostalAddress {
            label: "Other".into(),
            street: t(0x3A63),
            city: t(0x3A5F),
            state: t(0x3A62),
            postal_code: t(0x3A61),
            country: t(0x3A60),
        },
    ]
    .into_iter()
    .filter(|a| !a.lines().is_empty())
    .collect();
    let birthday = utc(props(0x3A42).as_ref())
        .map(|b| day_of(b.naive_utc()).date())
        .filter(|d| *d > NaiveDate::from_ymd_opt(1601, 1, 2).unwrap_or_default());
    let web_page = [t(0x3A51), t(0x3A50), address(0x802B)]
        .into_iter()
        .find(|w| !w.trim().is_empty())
        .unwrap_or_default();
    let im = address(0x8062);
    Contact {
        display_name: t(0x3001),
        file_as: address(0x8005),
        title: t(0x3A45),
        given_name: t(0x3A06),
        middle_name: t(0x3A44),
        surname: t(0x3A11),
        suffix: t(0x3A05),
        nickname: t(0x3A4F),
        initials: t(0x3A0A),
        company: t(0x3A16),
        department: t(0x3A18),
        job_title: t(0x3A17),
        office: t(0x3A19),
        manager: t(0x3A4E),
        assistant: t(0x3A30),
        emails,
        phones,
        addresses,
        im_addresses: if im.trim().is_empty() {
            Vec::new()
        } else {
            vec![im]
        },
        web_page,
        birthday,
        notes: t(0x1000),
        categories: named.keywords(props),
        photo: photo.map(|(content_type, bytes)| Photo {
            content_type,
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_key_from_a_tz_definition() {
        let mut blob = vec![0x02, 0x01, 0x00, 0x00, 0x02, 0x00];
        let name: Vec<u16> = "W. Europe Standard Time".encode_utf16().collect();
        blob.extend_from_slice(&(name.len() as u16).to_le_bytes());
        for u in name {
            blob.extend_from_slice(&u.to_le_bytes());
        }
        blob.extend_from_slice(&[1, 0]);
        assert_eq!(
            tz_definition_key(&blob).as_deref(),
            Some("W. Europe Standard Time")
        );
        assert_eq!(tz_definition_key(&blob[..10]), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: testkit::corpus::cases(256), failure_persistence: None, ..Default::default() })]

        #[test]
        fn no_zone_definition_or_object_id_makes_them_panic(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120),
        ) {
            let _ = tz_definition_key(&data);
            let _ = uid_of(&data);
        }
    }

    #[test]
    fn a_uid_from_a_global_object_id() {
        let mut id = vec![0u8; 40];
        id[16] = 7; // an occurrence's date: not part of the UID
        id.extend_from_slice(b"vCal-Uid\x01\x00\x00\x00abc-123@example.org\0");
        assert_eq!(uid_of(&id).as_deref(), Some("abc-123@example.org"));
        let plain = vec![0xABu8; 24];
        let uid = uid_of(&plain).unwrap();
        assert_eq!(&uid[..8], "ABABABAB");
        assert_eq!(&uid[32..40], "00000000");
        assert_eq!(uid_of(&[1, 2, 3]), None);
    }
}
