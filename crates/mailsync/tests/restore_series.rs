//! What CreateItem and a Graph POST cannot carry, written through both connectors against the
//! simulator: a series' changed and deleted occurrences (EWS UpdateItem/DeleteItem on
//! `OccurrenceItemId`, Graph PATCH/DELETE of instances) and a contact's photo (EWS
//! CreateAttachment with IsContactPhoto, Graph PUT photo). When one of them is refused, the
//! item is taken away again: no half series or contact without its photo is left for the next
//! run to skip as restored.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{NaiveDate, NaiveDateTime};
use common::{ews_config, graph_config, sim, Proto, ALICE};
use mailsync::restore::{MailboxWriter, RestoreItem};
use mailsync::{EwsSource, FolderKind, GraphSource, MailboxCtx, RetryPolicy};

fn local(s: &str) -> NaiveDateTime {
    s.parse().unwrap()
}

fn writer(proto: Proto, sim: &exchange_sim::RunningSim) -> Box<dyn MailboxWriter> {
    match proto {
        Proto::Ews => Box::new(EwsSource::new(ews_config(sim)).unwrap()),
        Proto::Graph => Box::new(GraphSource::new(graph_config(sim)).unwrap()),
    }
}

/// Weekly on Mondays at 10:00 in Zurich, six times from 8 September 2025: the 22 September
/// meeting moved to Tuesday 14:00 in another room, the 29 September one cancelled.
fn series(subject: &str) -> pim::Event {
    pim::Event {
        uid: format!("{subject}@example.com"),
        subject: subject.into(),
        location: "Room 3.14".into(),
        start: local("2025-09-08T10:00:00"),
        end: local("2025-09-08T11:00:00"),
        time_zone: "Europe/Zurich".into(),
        source_time_zone: "W. Europe Standard Time".into(),
        recurrence: Some(pim::Recurrence {
            pattern: pim::Pattern::Weekly {
                days: vec![pim::Day::Monday],
            },
            interval: 1,
            first_day_of_week: pim::Day::Monday,
            range: pim::Range::Numbered {
                start: NaiveDate::from_ymd_opt(2025, 9, 8).unwrap(),
                count: 6,
            },
        }),
        exceptions: vec![pim::EventException {
            original_start: local("2025-09-22T10:00:00"),
            start: local("2025-09-23T14:00:00"),
            end: local("2025-09-23T15:00:00"),
            subject: Some(format!("{subject} (moved)")),
            location: Some("Room 1.01".into()),
        }],
        deleted_occurrences: vec![local("2025-09-29T10:00:00")],
        ..pim::Event::default()
    }
}

fn item(kind: FolderKind, stamp: &str, record: pim::Record) -> RestoreItem {
    RestoreItem {
        stamp: stamp.into(),
        kind,
        content: Vec::new(),
        record: Some(record),
        is_read: true,
        message_id: None,
        received_at: None,
        sent_at: None,
    }
}

/// The value of the line `name` (parameters aside) in each VEVENT of a stored calendar item.
fn event_lines(ics: &[u8], name: &str) -> Vec<String> {
    String::from_utf8_lossy(ics)
        .lines()
        .filter(|l| {
            l.split([';', ':'])
                .next()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .filter_map(|l| l.rsplit_once(':').map(|(_, v)| v.trim().to_owned()))
        .collect()
}

async fn occurrences_and_photos_are_written_whole_or_not_at_all(proto: Proto) {
    let sim = sim().await;
    let handle = sim.handle();
    let w = writer(proto, &sim);
    let mb = MailboxCtx::new(ALICE, 4, RetryPolicy::default());
    let calendar = w.top_folder(&mb, FolderKind::Calendar).await.unwrap();

    let made = w
        .create(
            &mb,
            &calendar,
            &item(
                FolderKind::Calendar,
                "sr-series-1",
                pim::Record::Event(series("Planning")),
            ),
        )
        .await
        .unwrap();
    assert!(!made.is_empty());
    let restored = handle.restored(ALICE);
    let planning = restored
        .iter()
        .find(|r| r.stamp.as_deref() == Some("sr-series-1"))
        .unwrap();
    let ics = &planning.data;
    // The change is the 22 September occurrence (by its original start), now on the 23rd.
    assert_eq!(event_lines(ics, "RECURRENCE-ID"), ["20250922T100000"]);
    assert_eq!(
        event_lines(ics, "DTSTART"),
        ["20250908T100000", "20250923T140000"]
    );
    assert_eq!(
        event_lines(ics, "LOCATION"),
        ["Room 3.14", "Room 1.01"],
        "{}",
        String::from_utf8_lossy(ics)
    );
    assert!(event_lines(ics, "SUMMARY").contains(&"Planning (moved)".to_owned()));
    assert_eq!(event_lines(ics, "EXDATE"), ["20250929T100000"]);
    let c = handle.counters();
    assert_eq!(c.items_deleted, 1, "one occurrence, nothing else");
    assert_eq!(c.cancellations_sent + c.invitations_sent, 0);

    // A change that moves the occurrence past the next one is refused by the server (as
    // Outlook's rule says): the series is taken away again, the error is the server's.
    let mut crossing = series("Crossing");
    crossing.exceptions[0].start = local("2025-10-07T14:00:00");
    crossing.exceptions[0].end = local("2025-10-07T15:00:00");
    let refused = w
        .create(
            &mb,
            &calendar,
            &item(
                FolderKind::Calendar,
                "sr-series-2",
                pim::Record::Event(crossing),
            ),
        )
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("ErrorOccurrenceCrossingBoundary"),
        "{refused}"
    );
    assert!(
        handle
            .restored(ALICE)
            .iter()
            .all(|r| r.stamp.as_deref() != Some("sr-series-2")),
        "no half series is left behind"
    );

    // A contact with its photo; one whose photo cannot be written is not left without it.
    let contacts = w.top_folder(&mb, FolderKind::Contacts).await.unwrap();
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGPQz98MRAwQCgAi2gVF99OtxwAAAABJRU5ErkJggg==";
    let person = |name: &str, photo: &str| pim::Contact {
        display_name: name.into(),
        given_name: name.into(),
        photo: Some(pim::Photo {
            content_type: "image/png".into(),
            data: photo.into(),
        }),
        ..pim::Contact::default()
    };
    w.create(
        &mb,
        &contacts,
        &item(
            FolderKind::Contacts,
            "sr-contact-1",
            pim::Record::Contact(person("Ingrid", png)),
        ),
    )
    .await
    .unwrap();
    let ingrid = handle
        .restored(ALICE)
        .into_iter()
        .find(|r| r.stamp.as_deref() == Some("sr-contact-1"))
        .unwrap();
    let vcf = String::from_utf8_lossy(&ingrid.data).to_string();
    assert!(
        vcf.lines()
            .any(|l| l.starts_with("PHOTO;") && l.ends_with(png)),
        "{vcf}"
    );
    assert_eq!(handle.counters().photos_set, 1);
    let broken = w
        .create(
            &mb,
            &contacts,
            &item(
                FolderKind::Contacts,
                "sr-contact-2",
                pim::Record::Contact(person("Jonas", "not base64 at all!")),
            ),
        )
        .await;
    assert!(broken.is_err());
    assert!(
        handle
            .restored(ALICE)
            .iter()
            .all(|r| r.stamp.as_deref() != Some("sr-contact-2")),
        "no contact without its photo is left behind"
    );
    assert_eq!(handle.counters().duplicates_created, 0);
}

#[tokio::test]
async fn ews_writes_occurrences_and_photos_whole_or_not_at_all() {
    occurrences_and_photos_are_written_whole_or_not_at_all(Proto::Ews).await
}

#[tokio::test]
async fn graph_writes_occurrences_and_photos_whole_or_not_at_all() {
    occurrences_and_photos_are_written_whole_or_not_at_all(Proto::Graph).await
}
