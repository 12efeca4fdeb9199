#![allow(clippy::unwrap_used)]
//! Records read afterwards from archived content: an EWS calendar item's iCalendar (its series,
//! moved and deleted occurrences), a vCard, Graph event JSON; unreadable content left as it is;
//! a record already kept never replaced. On SQLite and PostgreSQL.

use archive::*;

const SERIES: &[u8] =
    include_bytes!("../../exchange-sim/seed/alice.martin@example.com/Calendar/01-event.ics");
const EMMA: &[u8] =
    include_bytes!("../../exchange-sim/seed/alice.martin@example.com/Contacts/02-emma.vcf");

fn put(mailbox: MailboxId, folder: &str, source: &str, kind: ItemKind, raw: &[u8]) -> PutItem {
    PutItem {
        mailbox_id: mailbox,
        folder_source_id: folder.into(),
        source_id: source.into(),
        kind,
        raw: raw.to_vec(),
        is_read: true,
        flags: Vec::new(),
        meta: None,
        properties: None,
        fallback_date: None,
        at: Timestamp::now(),
    }
}

testkit::each_backend!(records_are_read_from_content_once_and_never_replace_kept_ones);
async fn records_are_read_from_content_once_and_never_replace_kept_ones(kit: &testkit::TestDb) {
    let a = Archive::new(
        kit.db.clone(),
        Blobs::local(kit.dir().join("blobs"), None).unwrap(),
    );
    let m = a
        .ensure_mailbox(&NewMailbox {
            name: "old@example.com".into(),
            owner_address: "old@example.com".into(),
            display_name: "Old".into(),
        })
        .await
        .unwrap()
        .id;
    for (source, name, kind) in [
        ("cal", "Calendar", FolderKind::Calendar),
        ("con", "Contacts", FolderKind::Contacts),
    ] {
        a.upsert_folder(
            m,
            &FolderSpec {
                source_id: source.into(),
                parent_source_id: None,
                name: name.into(),
                kind,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    }
    let graph_event = br#"{"subject":"Review","start":{"dateTime":"2025-10-06T12:00:00.0000000","timeZone":"UTC"},
        "end":{"dateTime":"2025-10-06T13:00:00.0000000","timeZone":"UTC"},"originalStartTimeZone":"Tokyo Standard Time",
        "attendees":[{"type":"required","status":{"response":"accepted"},"emailAddress":{"name":"Bruno","address":"bruno@example.com"}}]}"#;
    a.put_item(put(m, "cal", "series", ItemKind::Calendar, SERIES))
        .await
        .unwrap();
    a.put_item(put(m, "cal", "graph", ItemKind::Calendar, graph_event))
        .await
        .unwrap();
    a.put_item(put(m, "con", "emma", ItemKind::Contact, EMMA))
        .await
        .unwrap();
    a.put_item(put(m, "con", "junk", ItemKind::Contact, b"not a card"))
        .await
        .unwrap();
    let kept = pim::Record::Contact(pim::Contact {
        display_name: "Kept as it was".into(),
        ..pim::Contact::default()
    });
    a.put_item(PutItem {
        properties: Some(kept.to_json()),
        ..put(m, "con", "kept", ItemKind::Contact, EMMA)
    })
    .await
    .unwrap();

    let report = syncer::backfill_records(&a).await.unwrap();
    assert_eq!(
        report,
        syncer::BackfillReport {
            filled: 3,
            unreadable: 1
        }
    );
    let record = |source: &'static str| {
        let a = &a;
        async move {
            let id = a.item_by_source_id(m, source).await.unwrap().unwrap().id;
            a.read_properties(id)
                .await
                .unwrap()
                .map(|p| pim::Record::from_json(&p).unwrap())
        }
    };
    let Some(pim::Record::Event(series)) = record("series").await else {
        panic!("the series has its record");
    };
    assert_eq!(series.time_zone, "Europe/Zurich");
    assert!(series.recurrence.is_some());
    assert_eq!(series.exceptions[0].location.as_deref(), Some("Room 1.01"));
    assert_eq!(series.deleted_occurrences.len(), 1);
    let Some(pim::Record::Event(review)) = record("graph").await else {
        panic!("the Graph event has its record");
    };
    assert_eq!(review.time_zone, "Asia/Tokyo");
    assert_eq!(review.attendees.len(), 1);
    let Some(pim::Record::Contact(emma)) = record("emma").await else {
        panic!("Emma has her record");
    };
    assert_eq!(emma.addresses.len(), 2);
    assert!(emma.photo.is_some());
    assert_eq!(
        record("junk").await,
        None,
        "unreadable content keeps no record"
    );
    assert_eq!(
        record("kept").await,
        Some(kept),
        "a kept record is not replaced"
    );

    // Again: nothing new to fill, the unreadable one is still unreadable.
    let again = syncer::backfill_records(&a).await.unwrap();
    assert_eq!(again.filled, 0);
    assert_eq!(again.unreadable, 1);
}
