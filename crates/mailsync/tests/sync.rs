//! The sync engine against the simulator, every scenario for both EWS and Graph.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use exchange_sim::{ItemFault, ThrottleRule};
use mailsync::source::{ContentFormat, FolderKind};
use mailsync::{sync_mailbox, sync_mailboxes, MailboxJob, MailboxStatus, MemoryTarget, SyncTarget};

macro_rules! both {
    ($name:ident) => {
        mod $name {
            use super::*;
            #[tokio::test]
            async fn ews() {
                super::$name(Proto::Ews).await
            }
            #[tokio::test]
            async fn graph() {
                super::$name(Proto::Graph).await
            }
        }
    };
}

/// The target holds exactly what the simulator's mailbox holds, folder by folder.
fn assert_mirrors(
    sim: &exchange_sim::RunningSim,
    address: &str,
    target: &MemoryTarget,
    paths: &[&str],
) {
    let h = sim.handle();
    let snap = target.snapshot();
    let (messages, events, contacts) = h.item_counts(address).unwrap();
    assert_eq!(snap.live_count(FolderKind::Mail), messages, "messages");
    assert_eq!(
        snap.live_count(FolderKind::Calendar),
        events,
        "calendar items"
    );
    assert_eq!(snap.live_count(FolderKind::Contacts), contacts, "contacts");
    for path in paths {
        assert_eq!(
            snap.items_in_path(path).len(),
            h.list_items(address, path).unwrap().len(),
            "items in {path}"
        );
    }
}

/// What the calendar and contact records say, read from the properties each protocol gives
/// (EWS GetItem AllProperties, Graph JSON), not from the MIME, which has no attendees.
fn assert_records(snap: &mailsync::target::MemoryState) {
    let events: Vec<pim::Event> = snap
        .live_items()
        .filter_map(|(_, i)| match &i.record {
            Some(pim::Record::Event(e)) => Some(e.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 3, "every calendar item has its record");
    let weekly = events
        .iter()
        .find(|e| e.subject == "Weekly team meeting")
        .expect("the series");
    assert_eq!(weekly.time_zone, "Europe/Berlin", "W. Europe Standard Time");
    let answers: Vec<(&str, pim::AttendeeKind, pim::Response)> = weekly
        .attendees
        .iter()
        .map(|a| (a.person.name.as_str(), a.kind, a.response))
        .collect();
    assert_eq!(
        answers,
        [
            (
                "Daniel Okafor",
                pim::AttendeeKind::Required,
                pim::Response::Accepted
            ),
            (
                "Emma Lindqvist",
                pim::AttendeeKind::Optional,
                pim::Response::TentativelyAccepted
            ),
        ]
    );
    let from = "2025-09-01T00:00:00Z".parse().expect("t");
    let to = "2025-11-01T00:00:00Z".parse().expect("t");
    let starts: Vec<String> = weekly
        .occurrences(from, to)
        .iter()
        .map(|o| o.local_start.to_string())
        .collect();
    // EWS names the moved and the deleted occurrence on the master; Graph lists the series'
    // instances, one moved and one missing.
    assert_eq!(
        starts,
        [
            "2025-09-08 10:00:00",
            "2025-09-15 10:00:00",
            "2025-09-23 14:00:00",
            "2025-10-06 10:00:00",
            "2025-10-13 10:00:00",
        ]
    );
    assert_eq!(
        weekly.deleted_occurrences,
        ["2025-09-29T10:00:00"
            .parse::<chrono::NaiveDateTime>()
            .expect("t")]
    );
    // The moved occurrence's own room: from a GetItem of its id (EWS), from the exception
    // instance (Graph).
    let moved = &weekly.exceptions[0];
    assert_eq!(moved.original_start.to_string(), "2025-09-22 10:00:00");
    assert_eq!(moved.location.as_deref(), Some("Room 1.01"));
    assert_eq!(moved.subject, None, "the same subject as the series");
    let tokyo = events
        .iter()
        .find(|e| e.subject == "Founding day (Tokyo office)")
        .expect("the all-day event");
    let day = chrono::NaiveDate::from_ymd_opt(2025, 9, 11).expect("date");
    assert!(tokyo.all_day);
    assert_eq!(tokyo.all_day_dates(), (day, day));
    assert_eq!(tokyo.time_zone, "Asia/Tokyo");

    let emma = snap
        .live_items()
        .find_map(|(_, i)| match &i.record {
            Some(pim::Record::Contact(c)) if c.display_name == "Emma Lindqvist" => Some(c.clone()),
            _ => None,
        })
        .expect("Emma's contact");
    let cities: Vec<(&str, &str)> = emma
        .addresses
        .iter()
        .map(|a| (a.label.as_str(), a.city.as_str()))
        .collect();
    assert_eq!(cities, [("Business", "Zürich"), ("Home", "Stockholm")]);
    let emails: Vec<&str> = emma.emails.iter().map(|e| e.address.as_str()).collect();
    assert_eq!(emails, ["emma.lindqvist@example.com", "emma@lindqvist.se"]);
    assert_eq!(emma.phones.len(), 2);
    assert_eq!(emma.birthday, chrono::NaiveDate::from_ymd_opt(1985, 4, 12));
    // EWS: GetAttachment of the contact's photo attachment; Graph: its photo/$value.
    let photo = emma.photo.as_ref().expect("the photo");
    assert!(photo.data.starts_with("iVBOR"), "a PNG");
}

async fn first_sync(proto: Proto) {
    let sim = sim().await;
    let source = source(proto, &sim);
    let target = MemoryTarget::new();
    let report = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!(report.status, MailboxStatus::Healthy, "{report:?}");
    let (messages, read) = seed_message_counts(ALICE);
    assert_eq!(report.counts.new_items as usize, messages);
    assert_eq!(report.counts.calendar_items, 3);
    assert_eq!(report.counts.contacts, 3);
    assert!(report.requests > 0);
    assert_mirrors(
        &sim,
        ALICE,
        &target,
        &[
            "Inbox",
            "Inbox/Projects",
            "Inbox/Projects/Harbour",
            "Sent Items",
            "Newsletters",
        ],
    );

    let snap = target.snapshot();
    assert_eq!(snap.items_in_path("Inbox/Projects/Harbour").len(), 2);
    let read_in_target = snap
        .live_items()
        .filter(|(_, i)| i.kind == FolderKind::Mail && i.is_read)
        .count();
    assert_eq!(read_in_target, read);
    // Raw MIME arrives byte for byte, attachments included.
    let seed = std::fs::read(
        exchange_sim::default_seed_dir()
            .join(ALICE)
            .join("Inbox/01-quarterly-figures-for-review.read.eml"),
    )
    .unwrap();
    assert!(snap.live_items().any(|(_, i)| i.data == seed));
    let (cal_format, contact_format) = match proto {
        Proto::Ews => (ContentFormat::Ics, ContentFormat::Vcf),
        Proto::Graph => (
            ContentFormat::GraphEventJson,
            ContentFormat::GraphContactJson,
        ),
    };
    assert!(snap
        .live_items()
        .filter(|(_, i)| i.kind == FolderKind::Calendar)
        .all(|(_, i)| i.format == cal_format));
    assert!(snap
        .live_items()
        .filter(|(_, i)| i.kind == FolderKind::Contacts)
        .all(|(_, i)| i.format == contact_format));
    assert_records(&snap);

    // Nothing changed: a second run writes nothing and downloads nothing.
    let before = sim.handle().counters();
    let again = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!(again.status, MailboxStatus::Healthy);
    assert_eq!(
        (
            again.counts.new_items,
            again.counts.moved_items,
            again.counts.deleted_items,
            again.counts.read_changes
        ),
        (0, 0, 0, 0)
    );
    let after = sim.handle().counters();
    // Graph downloads are the `$value` sub-requests: every run also sends one `$batch` that
    // resolves the well-known folders, which downloads nothing.
    let downloads = |c: &exchange_sim::Counters| {
        c.endpoint("ews:GetItem") + c.endpoint("batch:graph:messages.$value")
    };
    assert_eq!(downloads(&after), downloads(&before));
    if proto == Proto::Ews {
        assert_eq!(
            after.anchor_mismatches, 0,
            "X-AnchorMailbox must name the impersonated mailbox"
        );
    }
}
both!(first_sync);

/// A series changed after the first sync: one more occurrence moved and one deleted, then the
/// whole series deleted. Graph says so only through instances (removed ones without their
/// series); the archived series follows each step.
async fn a_changed_series_is_followed(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    // Two entries a page: on Graph the series' instances run over several pages.
    let source = paged_source(proto, &sim, 2);
    let target = MemoryTarget::new();
    let synced = |target: &MemoryTarget| {
        target
            .snapshot()
            .live_items()
            .find_map(|(id, i)| match &i.record {
                Some(pim::Record::Event(e)) if e.recurrence.is_some() => {
                    Some((id.clone(), e.clone()))
                }
                _ => None,
            })
    };
    let r = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    let (_, before) = synced(&target).expect("the series");
    assert_eq!(before.deleted_occurrences.len(), 1);
    if proto == Proto::Graph {
        // Read whole once in the round, not once per page or per instance.
        assert_eq!(h.counters().endpoint("graph:events.get"), 1);
    }

    let series = h
        .list_items(ALICE, "calendar")
        .unwrap()
        .into_iter()
        .find(|i| String::from_utf8_lossy(&h.item_data(ALICE, *i).unwrap()).contains("RRULE"))
        .unwrap();
    // The second (15 September) deleted, the sixth (13 October) moved to the 14th at 09:00.
    h.delete_occurrence(ALICE, series, 2).unwrap();
    h.move_occurrence(
        ALICE,
        series,
        6,
        "2025-10-14T07:00:00Z",
        "2025-10-14T08:00:00Z",
    )
    .unwrap();
    let r = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    let (_, after) = synced(&target).expect("the series");
    let mut deleted: Vec<String> = after
        .deleted_occurrences
        .iter()
        .map(|d| d.to_string())
        .collect();
    deleted.sort();
    assert_eq!(deleted, ["2025-09-15 10:00:00", "2025-09-29 10:00:00"]);
    let mut moved: Vec<(String, String)> = after
        .exceptions
        .iter()
        .map(|x| (x.original_start.to_string(), x.start.to_string()))
        .collect();
    moved.sort();
    assert_eq!(
        moved,
        [
            ("2025-09-22 10:00:00".into(), "2025-09-23 14:00:00".into()),
            ("2025-10-13 10:00:00".into(), "2025-10-14 09:00:00".into()),
        ]
    );

    h.delete_item(ALICE, series).unwrap();
    let r = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    assert!(synced(&target).is_none(), "the deleted series is gone");
    assert_eq!(r.counts.deleted_items, 1, "{r:?}");
}
both!(a_changed_series_is_followed);

async fn incremental(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    let source = source(proto, &sim);
    let target = MemoryTarget::new();
    assert_eq!(
        sync_mailbox(source.as_ref(), &target, ALICE, &options())
            .await
            .status,
        MailboxStatus::Healthy
    );

    let inbox = h.list_items(ALICE, "Inbox").unwrap();
    let sent = h.list_items(ALICE, "Sent Items").unwrap();
    h.add_message(ALICE, "Inbox", &mime("Brand new"), false)
        .unwrap();
    h.move_item(ALICE, inbox[0], "Inbox/Projects").unwrap();
    h.delete_item(ALICE, sent[0]).unwrap();
    h.set_read(ALICE, inbox[1], true).unwrap(); // was unread in the seed
    h.add_folder(ALICE, "msgfolderroot", "Receipts").unwrap();
    h.add_message(ALICE, "Receipts", &mime("Receipt 42"), true)
        .unwrap();
    h.remove_folder(ALICE, "Newsletters").unwrap();
    let downloads_before = h.counters();

    let r = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    assert_eq!(r.counts.read_changes, 1);
    assert_eq!((r.counts.folders_added, r.counts.folders_removed), (1, 1));
    // A move is a move for both: EWS reports it as a delete and a create with a new id, and
    // the engine pairs the two by content; Graph's immutable ids keep the id.
    assert_eq!(
        (
            r.counts.new_items,
            r.counts.moved_items,
            r.counts.deleted_items
        ),
        (2, 1, 1),
        "{r:?}"
    );
    if proto == Proto::Graph {
        // Immutable ids: the moved message is not downloaded again.
        let after = h.counters();
        assert_eq!(
            after.endpoint("batch:graph:messages.$value")
                - downloads_before.endpoint("batch:graph:messages.$value"),
            2
        );
    }
    assert_mirrors(
        &sim,
        ALICE,
        &target,
        &["Inbox", "Inbox/Projects", "Sent Items", "Receipts"],
    );
    let snap = target.snapshot();
    assert!(snap.folder_by_path("Newsletters").is_none());
    assert!(snap
        .items_in_path("Receipts")
        .iter()
        .all(|(_, i)| i.is_read));
}
both!(incremental);

async fn calendar_and_contacts(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    let source = source(proto, &sim);
    let target = MemoryTarget::new();
    sync_mailbox(source.as_ref(), &target, BRUNO, &options()).await;
    let ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:new-event@example.com\r\n\
DTSTART:20251120T100000Z\r\nDTEND:20251120T110000Z\r\nSUMMARY:Budget workshop\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    h.add_calendar_item(BRUNO, ics).unwrap();
    h.add_contact(BRUNO, b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Hana Sato\r\nN:Sato;Hana;;;\r\nEMAIL:hana.sato@example.org\r\nEND:VCARD\r\n")
        .unwrap();
    let old_event = h.list_items(BRUNO, "calendar").unwrap()[0];
    h.delete_item(BRUNO, old_event).unwrap();

    let r = sync_mailbox(source.as_ref(), &target, BRUNO, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    assert_eq!(
        (
            r.counts.calendar_items,
            r.counts.contacts,
            r.counts.deleted_items,
            r.counts.new_items
        ),
        (1, 1, 1, 0)
    );
    assert_mirrors(&sim, BRUNO, &target, &[]);
    let snap = target.snapshot();
    let needle: &[u8] = match proto {
        Proto::Ews => b"SUMMARY:Budget workshop",
        Proto::Graph => b"\"subject\":\"Budget workshop\"",
    };
    assert!(snap
        .live_items()
        .any(|(_, i)| i.kind == FolderKind::Calendar
            && i.data.windows(needle.len()).any(|w| w == needle)));
    let hana: &[u8] = b"Hana Sato";
    assert!(snap
        .live_items()
        .any(|(_, i)| i.kind == FolderKind::Contacts
            && i.data.windows(hana.len()).any(|w| w == hana)));
}
both!(calendar_and_contacts);

async fn throttling_survived(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    match proto {
        Proto::Ews => h.set_ews_server_busy(Some(3), 30),
        Proto::Graph => h.set_graph_throttle(Some(ThrottleRule::EveryNth {
            n: 3,
            retry_after_secs: 0.03,
        })),
    }
    let source = paged_source(proto, &sim, 5);
    let target = MemoryTarget::new();
    let r = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    assert!(r.throttled > 0, "{r:?}");
    let c = h.counters();
    let refused = c.server_busy + c.throttled;
    assert_eq!(r.throttled, refused, "every refusal is seen and counted");
    // Each refusal was waited out (30 ms each, at most 4 waiting at once).
    assert!(
        r.duration >= Duration::from_millis(30 * refused / 4),
        "{r:?}"
    );
    assert_mirrors(&sim, ALICE, &target, &["Inbox", "Inbox/Projects/Harbour"]);
}
both!(throttling_survived);

/// Throttling of one request while others are in flight: once the server has said "wait", no
/// request of that mailbox reaches it before the wait is over, and per-item throttling inside a
/// batch pauses the mailbox just the same. Nothing is lost.
async fn throttling_pauses_the_whole_mailbox(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    let bulk = "bulk@example.com";
    h.add_synthetic_mailbox(bulk, 400).unwrap();
    // Requests take a while, so that others are in flight when one is throttled.
    h.set_latency(Duration::from_millis(15));
    match proto {
        Proto::Ews => h.set_ews_server_busy(Some(9), 150),
        Proto::Graph => h.set_graph_throttle(Some(ThrottleRule::EveryNth {
            n: 9,
            retry_after_secs: 0.15,
        })),
    }
    for item in h.list_items(bulk, "Inbox").unwrap().into_iter().step_by(17) {
        h.fail_item(bulk, item, ItemFault::ServerBusy { backoff_ms: 150 }, 1);
    }
    let source = paged_source(proto, &sim, 40);
    let target = MemoryTarget::new();
    let r = sync_mailbox(source.as_ref(), &target, bulk, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    let c = h.counters();
    assert!(
        c.item_faults > 0 && r.throttled > c.item_faults,
        "{r:?} {c:?}"
    );
    assert_eq!(c.sent_during_backoff, 0, "{c:?}");
    assert_eq!(target.snapshot().live_count(FolderKind::Mail), 400);
}
both!(throttling_pauses_the_whole_mailbox);

/// The follow-up request an item's record needs (EWS: GetItem of a series' changed occurrence;
/// Graph: a contact's photo) throttled, then failing inside: the item is asked for again and
/// stored whole, never without it.
async fn a_follow_up_that_fails_is_asked_again(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    let item = match proto {
        Proto::Ews => h.list_items(ALICE, "calendar").unwrap()[0],
        Proto::Graph => h.list_items(ALICE, "contacts").unwrap()[1],
    };
    h.fail_follow_ups(ALICE, item, ItemFault::ServerBusy { backoff_ms: 50 }, 1);
    h.fail_follow_ups(ALICE, item, ItemFault::InternalError, 1);
    let target = MemoryTarget::new();
    let r = sync_mailbox(source(proto, &sim).as_ref(), &target, ALICE, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    assert!(r.throttled > 0, "{r:?}");
    assert_eq!(h.counters().item_faults, 2);
    let snap = target.snapshot();
    match proto {
        Proto::Ews => {
            let weekly = snap
                .live_items()
                .find_map(|(_, i)| match &i.record {
                    Some(pim::Record::Event(e)) if !e.exceptions.is_empty() => Some(e.clone()),
                    _ => None,
                })
                .expect("the series");
            assert_eq!(weekly.exceptions[0].location.as_deref(), Some("Room 1.01"));
        }
        Proto::Graph => {
            let emma = snap
                .live_items()
                .find_map(|(_, i)| match &i.record {
                    Some(pim::Record::Contact(c)) if c.display_name == "Emma Lindqvist" => {
                        Some(c.clone())
                    }
                    _ => None,
                })
                .expect("Emma");
            assert!(emma.photo.is_some(), "stored with her photo");
        }
    }
}
both!(a_follow_up_that_fails_is_asked_again);

async fn budget_throttling(proto: Proto) {
    if proto == Proto::Ews {
        return; // a request budget per window is a Graph behaviour
    }
    let sim = sim().await;
    sim.handle().set_graph_throttle(Some(ThrottleRule::Budget {
        requests: 15,
        window: Duration::from_millis(150),
    }));
    let target = MemoryTarget::new();
    let r = sync_mailbox(source(proto, &sim).as_ref(), &target, CHLOE, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    assert!(r.throttled > 0);
    assert_mirrors(&sim, CHLOE, &target, &["Inbox/Clients/Acme"]);
}
both!(budget_throttling);

async fn invalid_sync_state_full_resync(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    let source = paged_source(proto, &sim, 4);
    let target = MemoryTarget::new();
    sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    let puts_before = target.snapshot().puts;

    h.invalidate_sync_states(Some(ALICE));
    h.add_message(ALICE, "Inbox/Projects", &mime("After the reset"), false)
        .unwrap();
    let gone = h.list_items(ALICE, "Inbox").unwrap()[2];
    h.delete_item(ALICE, gone).unwrap();

    let r = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    assert!(
        r.counts.full_resyncs >= 2,
        "folders and at least one folder's items: {r:?}"
    );
    assert_eq!(
        (r.counts.new_items, r.counts.deleted_items),
        (1, 1),
        "{r:?}"
    );
    // No duplicates: only the one new message was written.
    assert_eq!(
        target.snapshot().puts - puts_before,
        1 + r.counts.calendar_items + r.counts.contacts
    );
    assert_mirrors(&sim, ALICE, &target, &["Inbox", "Inbox/Projects"]);

    // The fresh states work incrementally again.
    let quiet = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!((quiet.counts.full_resyncs, quiet.counts.new_items), (0, 0));
}
both!(invalid_sync_state_full_resync);

async fn crash_then_resume(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    let big = "bulk.user@example.com";
    h.add_synthetic_mailbox(big, 120).unwrap();
    let source = paged_source(proto, &sim, 10);
    let target = MemoryTarget::new();
    // Folder state + 3 item pages saved, then the "process dies" on the next save.
    target.fail_after_saves(Some(4));
    let first = sync_mailbox(source.as_ref(), &target, big, &options()).await;
    assert_eq!(first.status, MailboxStatus::Failed, "{first:?}");
    assert!(first.reason.unwrap().contains("simulated crash"));
    let written = target.snapshot().live_count(FolderKind::Mail);
    assert!(written > 0 && written < 120, "{written}");

    target.fail_after_saves(None);
    let second = sync_mailbox(source.as_ref(), &target, big, &options()).await;
    assert_eq!(second.status, MailboxStatus::Healthy, "{second:?}");
    let snap = target.snapshot();
    assert_eq!(snap.live_count(FolderKind::Mail), 120);
    // Every message written exactly once across the crash: nothing lost, nothing twice.
    assert_eq!(snap.puts, 120);
    assert_eq!(first.counts.new_items + second.counts.new_items, 120);
    assert_mirrors(&sim, big, &target, &["Inbox", "Sent Items", "Archive/2025"]);
}
both!(crash_then_resume);

async fn denied_or_missing_mailbox_needs_attention(proto: Proto) {
    let sim = sim().await;
    sim.handle().set_access_granted(BRUNO, false).unwrap();
    let alice = Arc::new(MemoryTarget::new());
    let jobs = vec![
        MailboxJob {
            mailbox: BRUNO.into(),
            target: Arc::new(MemoryTarget::new()),
        },
        MailboxJob {
            mailbox: "nobody@example.com".into(),
            target: Arc::new(MemoryTarget::new()),
        },
        MailboxJob {
            mailbox: ALICE.into(),
            target: alice.clone() as Arc<dyn SyncTarget>,
        },
    ];
    let reports = sync_mailboxes(source(proto, &sim), jobs, &options()).await;
    assert_eq!(reports[0].mailbox, BRUNO);
    assert_eq!(reports[0].status, MailboxStatus::Attention);
    assert!(
        reports[0].reason.as_deref().unwrap().contains("denied"),
        "{:?}",
        reports[0]
    );
    assert_eq!(reports[1].status, MailboxStatus::Attention);
    assert!(
        reports[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("does not exist"),
        "{:?}",
        reports[1]
    );
    assert_eq!(reports[2].status, MailboxStatus::Healthy);
    assert_mirrors(&sim, ALICE, &alice, &["Inbox"]);
}
both!(denied_or_missing_mailbox_needs_attention);

async fn wrong_credentials_need_attention(proto: Proto) {
    let sim = sim().await;
    let source: Arc<dyn mailsync::MailboxSource> = match proto {
        Proto::Ews => {
            let mut c = ews_config(&sim);
            c.password = "wrong".into();
            Arc::new(mailsync::EwsSource::new(c).unwrap())
        }
        Proto::Graph => {
            let mut c = graph_config(&sim);
            c.client_secret = "wrong".into();
            Arc::new(mailsync::GraphSource::new(c).unwrap())
        }
    };
    let r = sync_mailbox(source.as_ref(), &MemoryTarget::new(), ALICE, &options()).await;
    assert_eq!(r.status, MailboxStatus::Attention, "{r:?}");
    assert!(r.reason.unwrap().contains("authentication failed"));
}
both!(wrong_credentials_need_attention);

#[tokio::test]
async fn ews_keeps_at_most_four_requests_in_flight_per_mailbox() {
    let sim = sim().await;
    let h = sim.handle();
    h.add_synthetic_mailbox("wide@example.com", 200).unwrap();
    h.set_latency(Duration::from_millis(15));
    let target = MemoryTarget::new();
    let r = sync_mailbox(
        source(Proto::Ews, &sim).as_ref(),
        &target,
        "wide@example.com",
        &options(),
    )
    .await;
    assert_eq!(r.status, MailboxStatus::Healthy);
    let max = h.counters().max_in_flight["wide@example.com"];
    assert!((2..=4).contains(&max), "max in flight {max}");
}

#[tokio::test]
async fn graph_token_is_cached_and_refreshed_after_expiry() {
    let sim = sim().await;
    let source = mailsync::GraphSource::new(graph_config(&sim)).unwrap();
    let target = MemoryTarget::new();
    sync_mailbox(&source, &target, ALICE, &options()).await;
    assert_eq!(
        source.client().token_requests(),
        1,
        "one token for the whole run"
    );
    sim.handle().expire_tokens();
    sim.handle()
        .add_message(ALICE, "Inbox", &mime("After expiry"), false)
        .unwrap();
    let r = sync_mailbox(&source, &target, ALICE, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    assert_eq!(r.counts.new_items, 1);
    assert_eq!(
        source.client().token_requests(),
        2,
        "refreshed once after the 401"
    );
    assert!(sim.handle().counters().endpoint("graph:unauthorized") >= 1);
}

#[tokio::test]
async fn ews_restore_creates_a_non_draft_item() {
    let sim = sim().await;
    let source = mailsync::EwsSource::new(ews_config(&sim)).unwrap();
    let ctx = mailsync::MailboxCtx::new(CHLOE, 4, mailsync::RetryPolicy::default());
    let before = sim.handle().list_items(CHLOE, "Inbox").unwrap().len();
    let id = source
        .client()
        .create_item_mime(
            &ctx,
            &mailsync::ews::FolderRef::Distinguished("inbox".into()),
            &mime("Restored"),
            true,
        )
        .await
        .unwrap();
    assert!(!id.is_empty());
    assert_eq!(
        sim.handle().list_items(CHLOE, "Inbox").unwrap().len(),
        before + 1
    );
    assert_eq!(sim.handle().counters().created_items, 1);
}

/// A folder hidden after it was archived is closed with its subfolders; subfolders created
/// below it later are not archived. The skipped set survives into the next run.
#[tokio::test]
async fn ews_folder_hidden_later_is_closed_with_its_subfolders() {
    let sim = sim().await;
    let h = sim.handle();
    let source = source(Proto::Ews, &sim);
    let target = MemoryTarget::new();
    let r = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    let projects = h.folder_id(ALICE, "Inbox/Projects").unwrap();
    let harbour = h.folder_id(ALICE, "Inbox/Projects/Harbour").unwrap();
    assert!(target.snapshot().folders[&harbour].live);

    h.set_folder_hidden(ALICE, "Inbox/Projects", true).unwrap();
    let r = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    assert_eq!(
        (r.counts.folders_added, r.counts.folders_removed),
        (0, 2),
        "{r:?}"
    );
    let snap = target.snapshot();
    assert!(!snap.folders[&projects].live && !snap.folders[&harbour].live);
    let mut skipped: Vec<&str> = snap.states["ews/folders-skipped"].lines().collect();
    skipped.sort_unstable();
    let mut want = vec![projects.as_str(), harbour.as_str()];
    want.sort_unstable();
    assert_eq!(skipped, want);
    // Items of the closed folders stay archived, just no longer in a folder.
    assert!(snap.items_in_path("Inbox/Projects/Harbour").is_empty());

    let later = h
        .add_folder(ALICE, "Inbox/Projects/Harbour", "Later")
        .unwrap();
    let r = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!(
        (r.counts.folders_added, r.counts.folders_removed),
        (0, 0),
        "{r:?}"
    );
    assert!(!target.snapshot().folders.contains_key(&later));
}

#[tokio::test]
async fn ews_find_folder_pages_through_the_tree() {
    let sim = sim().await;
    let source = mailsync::EwsSource::new(ews_config(&sim)).unwrap();
    let ctx = mailsync::MailboxCtx::new(ALICE, 4, mailsync::RetryPolicy::default());
    let root = mailsync::ews::FolderRef::Distinguished("msgfolderroot".into());
    let mut names = Vec::new();
    let mut offset = 0;
    loop {
        let page = source
            .client()
            .find_folder(&ctx, &root, true, offset, 4)
            .await
            .unwrap();
        assert_eq!(page.total_in_view, 9);
        offset += page.folders.len();
        names.extend(page.folders.into_iter().filter_map(|f| f.display_name));
        if page.includes_last {
            break;
        }
    }
    assert_eq!(names.len(), 9);
    assert!(names.iter().any(|n| n == "Harbour"));
    let shallow = source
        .client()
        .find_folder(&ctx, &root, false, 0, 100)
        .await
        .unwrap();
    assert_eq!(
        shallow.total_in_view, 7,
        "Inbox, Sent, Deleted, Drafts, Calendar, Contacts, Newsletters"
    );
}

#[test]
fn graph_path_segments_are_escaped() {
    assert_eq!(
        mailsync::graph::path_segment("a+b@example.com"),
        "a%2Bb@example.com"
    );
    assert_eq!(mailsync::graph::path_segment("AAk/x="), "AAk%2Fx%3D");
}
