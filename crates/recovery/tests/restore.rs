//! Restore jobs end to end against the Exchange simulator, over EWS and Graph, on SQLite and
//! PostgreSQL: a mailbox is synced into the archive, mail is deleted in the source, and the
//! restore puts it back where it was (a removed folder recreated), not as drafts, read state as
//! it was, nothing twice, whether it is run again or its worker dies halfway. The simulator
//! records what a real server would do wrong (a draft, an invitation sent, a duplicate) and
//! the tests assert none of it happened.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use archive::{Archive, Blobs, ItemKind, MailboxId};
use exchange_sim::{RunningSim, SimConfig};
use jobs::{Job, JobState, Jobs, OutcomeKind};
use mailsync::{ConnectionSettings, RetryPolicy};
use recovery::{
    ItemSource, Placement, RecoveryError, RestoreRequest, RestoreSummary, RestoreTarget, Restorer,
    Worker,
};
use syncer::{NewConnection, NewTask, ServiceOptions, SyncService, SyncStore};

const ALICE: &str = "alice.martin@example.com";
const BRUNO: &str = "bruno.keller@example.com";
const KEY: [u8; 32] = [0x17; 32];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Ews,
    Graph,
}

struct World {
    kit: testkit::TestDb,
    sim: RunningSim,
    archive: Archive,
    restorer: Restorer,
    exporter: recovery::Exporter,
    connection: i64,
    alice: MailboxId,
}

fn settings(proto: Proto, sim: &RunningSim) -> (ConnectionSettings, String) {
    let d = SimConfig::default();
    match proto {
        Proto::Ews => (
            ConnectionSettings::Ews {
                url: sim.ews_url(),
                username: d.service_account,
            },
            d.service_password,
        ),
        Proto::Graph => (
            ConnectionSettings::Graph {
                tenant_id: d.tenant.clone(),
                client_id: d.client_id,
                graph_endpoint: Some(sim.graph_url()),
                token_endpoint: Some(sim.token_url(&d.tenant)),
            },
            d.client_secret,
        ),
    }
}

/// Alice and Bruno synced from the simulator into a fresh archive.
async fn world(kit: testkit::TestDb, proto: Proto) -> World {
    world_with(kit, proto, |_| {}).await
}

/// [`world`] with the source mailboxes changed before the sync.
async fn world_with(
    kit: testkit::TestDb,
    proto: Proto,
    prepare: impl FnOnce(&exchange_sim::SimHandle),
) -> World {
    let sim = exchange_sim::start(SimConfig::for_tests()).await.unwrap();
    prepare(&sim.handle());
    let archive = Archive::new(
        kit.db.clone(),
        Blobs::local(kit.dir().join("blobs"), None).unwrap(),
    );
    let store = SyncStore::new(kit.db.clone(), KEY);
    let sync = SyncService::new(
        store.clone(),
        archive.clone(),
        ServiceOptions {
            retry: RetryPolicy {
                max_attempts: 12,
                base_backoff: Duration::from_millis(5),
                max_backoff: Duration::from_millis(50),
                max_server_wait: Duration::from_secs(2),
            },
            ..ServiceOptions::default()
        },
    );
    let (settings, secret) = settings(proto, &sim);
    let connection = store
        .create_connection(&NewConnection {
            name: format!("{proto:?}"),
            settings,
            secret,
        })
        .await
        .unwrap()
        .id;
    assert!(store.test_connection(connection, None).await.unwrap().ok);
    let task = store
        .create_task(&NewTask::new("Everyone", connection))
        .await
        .unwrap()
        .id;
    store
        .add_mailboxes(task, &[ALICE.to_owned(), BRUNO.to_owned()])
        .await
        .unwrap();
    for who in [ALICE, BRUNO] {
        let run = sync.sync_mailbox_now(task, who).await.unwrap().unwrap();
        assert_eq!(run.status.as_str(), "healthy", "{who}: {:?}", run.error);
    }
    let alice = archive.mailbox_by_name(ALICE).await.unwrap().unwrap().id;
    let jobs = Jobs::new(kit.db.clone());
    let restorer = Restorer::new(archive.clone(), jobs.clone(), store);
    let exporter = recovery::Exporter::new(
        archive.clone(),
        jobs,
        kit.dir().join("exports"),
        64 * 1024 * 1024,
    );
    World {
        kit,
        sim,
        archive,
        restorer,
        exporter,
        connection,
        alice,
    }
}

impl World {
    fn request(&self, kinds: &[ItemKind], placement: Placement) -> RestoreRequest {
        RestoreRequest {
            source: ItemSource::Mailbox {
                mailbox: self.alice,
                at: None,
            },
            kinds: kinds.to_vec(),
            target: RestoreTarget {
                connection_id: self.connection,
                address: ALICE.to_owned(),
            },
            placement,
            dry_run: true,
            after_dry_run: None,
        }
    }

    fn worker(&self, name: &str) -> Worker {
        Worker::new(name, self.exporter.clone()).with_restorer(self.restorer.clone())
    }

    /// Queues the request and runs it to its end here.
    async fn run(&self, request: &RestoreRequest) -> Job {
        let (job, _) = self.restorer.enqueue(request, "tester").await.unwrap();
        self.worker("test").run_this(job.id).await.unwrap().unwrap()
    }

    /// A dry run, then the restore it shows; returns both jobs as they ended.
    async fn dry_then_real(&self, request: &RestoreRequest) -> (Job, Job) {
        let dry = self.run(request).await;
        assert_eq!(dry.state, JobState::Done, "{:?}", dry.error);
        let real = self
            .run(&RestoreRequest {
                dry_run: false,
                after_dry_run: Some(dry.id),
                ..request.clone()
            })
            .await;
        assert_eq!(real.state, JobState::Done, "{:?}", real.error);
        (dry, real)
    }

    async fn finish(self) {
        drop(self.sim);
        self.kit.finish().await;
    }
}

fn subject(r: &exchange_sim::RestoredItem) -> &str {
    r.subject.as_deref().unwrap_or_default()
}

fn summary(job: &Job) -> RestoreSummary {
    RestoreSummary::of(job).unwrap()
}

/// Nothing the simulator counts as a real server's mistake happened.
fn no_mistakes(sim: &RunningSim) {
    let c = sim.handle().counters();
    assert_eq!(c.drafts_created, 0, "messages created as drafts");
    assert_eq!(c.invitations_sent, 0, "meeting invitations sent");
    assert_eq!(c.duplicates_created, 0, "duplicates created");
    assert_eq!(c.messages_sent, 0, "messages sent");
    assert_eq!(c.read_receipts_sent, 0, "read receipts sent");
    assert_eq!(c.cancellations_sent, 0, "meeting cancellations sent");
}

async fn deleted_mail_comes_back_where_it_was_and_nothing_twice(
    kit: testkit::TestDb,
    proto: Proto,
) {
    let w = world(kit, proto).await;
    let sim = w.sim.handle();
    // In the source: two messages of the Inbox deleted, the folder Inbox/Projects/Harbour gone
    // with its two messages.
    let inbox = sim.list_items(ALICE, "Inbox").unwrap();
    let inbox_before = inbox.len();
    sim.delete_item(ALICE, inbox[0]).unwrap();
    sim.delete_item(ALICE, inbox[1]).unwrap();
    sim.remove_folder(ALICE, "Inbox/Projects/Harbour").unwrap();
    let request = w.request(&[ItemKind::Message], Placement::Original);
    let dry = w.run(&request).await;
    assert_eq!(dry.state, JobState::Done, "{:?}", dry.error);
    let s = summary(&dry);
    assert!(s.dry_run);
    assert_eq!(s.created, 4, "the four deleted messages would come back");
    assert!(s.skipped >= 5, "the rest is still there: {s:?}");
    assert_eq!(s.failed, 0);
    assert_eq!(s.folders_created, vec!["Inbox/Projects/Harbour".to_owned()]);
    assert!(sim.restored(ALICE).is_empty(), "a dry run writes nothing");
    assert_eq!(
        sim.counters().folders_created,
        0,
        "a dry run creates no folder"
    );
    // Per folder, with the reason for the skipped ones.
    let tally = w.restorer.jobs().tally(dry.id).await.unwrap();
    let harbour = tally
        .iter()
        .find(|t| t.target_path == "Inbox/Projects/Harbour")
        .unwrap();
    assert_eq!((harbour.kind, harbour.count), (OutcomeKind::Created, 2));
    assert!(tally
        .iter()
        .any(|t| t.kind == OutcomeKind::Skipped && t.reason.contains("Internet-Message-Id")));

    // A real run is refused until its dry run has finished.
    let refused = w
        .restorer
        .enqueue(
            &RestoreRequest {
                dry_run: false,
                ..request.clone()
            },
            "tester",
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("dry run"), "{refused}");

    let real = w
        .run(&RestoreRequest {
            dry_run: false,
            after_dry_run: Some(dry.id),
            ..request.clone()
        })
        .await;
    assert_eq!(real.state, JobState::Done, "{:?}", real.error);
    let s = summary(&real);
    assert_eq!((s.created, s.failed), (4, 0), "{s:?}");
    assert_eq!(s.folders_created, vec!["Inbox/Projects/Harbour".to_owned()]);
    assert_eq!(sim.list_items(ALICE, "Inbox").unwrap().len(), inbox_before);
    assert_eq!(
        sim.list_items(ALICE, "Inbox/Projects/Harbour")
            .unwrap()
            .len(),
        2
    );
    let restored = sim.restored(ALICE);
    assert_eq!(restored.len(), 4);
    for r in &restored {
        assert!(!r.is_draft, "{} is a draft", subject(r));
        assert!(
            r.stamp.as_deref().is_some_and(|s| s.starts_with("sr-")),
            "{:?}",
            r.stamp
        );
    }
    // The read state is the archived one: the seed marks read messages by their file name.
    let budget = restored
        .iter()
        .find(|r| subject(r).contains("budget approved"))
        .unwrap();
    assert!(budget.is_read);
    let shortlist = restored
        .iter()
        .find(|r| subject(r).contains("supplier shortlist"))
        .unwrap();
    assert!(!shortlist.is_read);
    no_mistakes(&w.sim);

    // Run again: everything is there, nothing is created.
    let (_, again) = w.dry_then_real(&request).await;
    let s = summary(&again);
    assert_eq!((s.created, s.failed), (0, 0), "{s:?}");
    assert!(s.folders_created.is_empty());
    assert_eq!(sim.restored(ALICE).len(), 4);
    let outcomes = w
        .restorer
        .jobs()
        .outcomes(again.id, Some(OutcomeKind::Skipped), 0, 100)
        .await
        .unwrap();
    assert!(outcomes
        .iter()
        .any(|o| o.outcome.detail == "already restored into this folder"));
    no_mistakes(&w.sim);
    w.finish().await;
}

async fn calendar_and_contacts_into_a_new_folder(kit: testkit::TestDb, proto: Proto) {
    let w = world(kit, proto).await;
    let sim = w.sim.handle();
    let request = w.request(
        &[ItemKind::Calendar, ItemKind::Contact],
        Placement::NewFolder {
            name: "Recovered 2026-12-03".into(),
        },
    );
    let (_, real) = w.dry_then_real(&request).await;
    let s = summary(&real);
    assert_eq!(s.failed, 0, "{s:?}");
    assert_eq!(
        s.created, 6,
        "three calendar items and three contacts: {s:?}"
    );
    let restored = sim.restored(ALICE);
    let events: Vec<_> = restored
        .iter()
        .filter(|r| r.kind == exchange_sim::mailbox::ItemKind::CalendarItem)
        .collect();
    let contacts: Vec<_> = restored
        .iter()
        .filter(|r| r.kind == exchange_sim::mailbox::ItemKind::Contact)
        .collect();
    assert_eq!((events.len(), contacts.len()), (3, 3));
    for r in events.iter().chain(contacts.iter()) {
        assert!(
            r.folder_path.ends_with("Recovered 2026-12-03"),
            "{}",
            r.folder_path
        );
        assert!(r.stamp.is_some());
    }
    // The weekly series keeps its attendees: typed on EWS (saved without sending anything);
    // Graph would invite them, so they are written into the body instead.
    let series = events
        .iter()
        .find(|r| String::from_utf8_lossy(&r.data).contains("RRULE"))
        .unwrap();
    let stored = String::from_utf8_lossy(&series.data).to_string();
    assert!(
        series.attendees_invited.is_empty(),
        "{:?}",
        series.attendees_invited
    );
    match proto {
        Proto::Ews => assert!(stored.contains("ATTENDEE"), "{stored}"),
        Proto::Graph => {
            assert!(!stored.contains("ATTENDEE"), "{stored}");
            assert!(stored.contains("Required:"), "{stored}");
        }
    }
    let emma = contacts
        .iter()
        .find(|r| String::from_utf8_lossy(&r.data).contains("Emma"))
        .unwrap();
    assert!(String::from_utf8_lossy(&emma.data).contains('@'));
    // Her photo comes back as her picture, byte for byte.
    let seed_photo = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGPQz98MRAwQCgAi2gVF99OtxwAAAABJRU5ErkJggg==";
    assert!(
        String::from_utf8_lossy(&emma.data)
            .lines()
            .any(|l| l.starts_with("PHOTO;") && l.ends_with(seed_photo)),
        "{}",
        String::from_utf8_lossy(&emma.data)
    );
    // The series' 22 September meeting was moved to the 23rd at 14:00 in Room 1.01 and the
    // 29 September one cancelled; both come back.
    let lines: Vec<&str> = stored.lines().collect();
    let has = |name: &str, value: &str| {
        lines
            .iter()
            .any(|l| l.starts_with(name) && l.trim_end().ends_with(value))
    };
    assert!(has("RECURRENCE-ID", ":20250922T100000"), "{stored}");
    assert!(has("DTSTART", ":20250923T140000"), "{stored}");
    assert!(has("LOCATION", ":Room 1.01"), "{stored}");
    assert!(has("EXDATE", ":20250929T100000"), "{stored}");
    no_mistakes(&w.sim);

    // Into the original calendar, where the three never left: known by their UID, skipped.
    let (_, again) = w
        .dry_then_real(&w.request(&[ItemKind::Calendar], Placement::Original))
        .await;
    let s = summary(&again);
    assert_eq!((s.created, s.skipped, s.failed), (0, 3, 0), "{s:?}");
    let skipped = w
        .restorer
        .jobs()
        .outcomes(again.id, Some(OutcomeKind::Skipped), 0, 10)
        .await
        .unwrap();
    assert!(skipped
        .iter()
        .all(|o| o.outcome.detail.contains("same UID")));
    assert_eq!(sim.restored(ALICE).len(), 6, "nothing more created");

    // Into the original contacts folder, where the three never left: a contact has no UID, so
    // it is known by its display name with one of its e-mail addresses.
    let (_, again) = w
        .dry_then_real(&w.request(&[ItemKind::Contact], Placement::Original))
        .await;
    let s = summary(&again);
    assert_eq!((s.created, s.skipped, s.failed), (0, 3, 0), "{s:?}");
    let skipped = w
        .restorer
        .jobs()
        .outcomes(again.id, Some(OutcomeKind::Skipped), 0, 10)
        .await
        .unwrap();
    assert!(
        skipped
            .iter()
            .all(|o| o.outcome.detail.contains("same name and e-mail address")),
        "{skipped:?}"
    );
    assert_eq!(sim.restored(ALICE).len(), 6, "no contact created twice");
    no_mistakes(&w.sim);
    w.finish().await;
}

async fn refusals_say_one_sentence_and_write_nothing(kit: testkit::TestDb, proto: Proto) {
    let w = world(kit, proto).await;
    let sim = w.sim.handle();
    let invalid = |e: RecoveryError| match e {
        RecoveryError::Invalid(why) => why,
        other => panic!("not a refusal: {other}"),
    };
    let mut r = w.request(&[ItemKind::Message], Placement::Original);
    r.kinds.clear();
    let why = invalid(w.restorer.enqueue(&r, "t").await.unwrap_err());
    assert!(why.contains("at least one"), "{why}");

    let r = w.request(
        &[ItemKind::Message],
        Placement::NewFolder {
            name: "Recovered/today".into(),
        },
    );
    let why = invalid(w.restorer.enqueue(&r, "t").await.unwrap_err());
    assert!(why.contains("slash"), "{why}");

    let mut r = w.request(&[ItemKind::Message], Placement::Original);
    r.source = ItemSource::Items {
        mailbox: w.alice,
        items: Vec::new(),
    };
    let why = invalid(w.restorer.enqueue(&r, "t").await.unwrap_err());
    assert!(why.contains("nothing to restore"), "{why}");

    // The connection may not reach the target mailbox.
    match proto {
        Proto::Ews => sim.set_access_granted(ALICE, false).unwrap(),
        Proto::Graph => sim.set_graph_roles(vec!["Mail.Read".into()]),
    }
    let r = w.request(&[ItemKind::Message], Placement::Original);
    let why = invalid(w.restorer.enqueue(&r, "t").await.unwrap_err());
    match proto {
        Proto::Ews => assert!(why.contains("ApplicationImpersonation"), "{why}"),
        Proto::Graph => assert!(why.contains("Mail.ReadWrite"), "{why}"),
    }
    assert!(sim.restored(ALICE).is_empty());
    w.finish().await;
}

async fn one_bad_item_never_stops_the_rest(kit: testkit::TestDb, proto: Proto) {
    let w = world(kit, proto).await;
    let sim = w.sim.handle();
    for item in sim.list_items(ALICE, "Inbox").unwrap() {
        sim.delete_item(ALICE, item).unwrap();
    }
    sim.fail_creates(
        ALICE,
        "Lunch on Thursday",
        exchange_sim::ItemFault::MimeConversionFailed,
        usize::MAX,
    );
    // Throttling in the middle is waited out, not failed.
    sim.fail_creates(
        ALICE,
        "Contract draft",
        exchange_sim::ItemFault::ServerBusy { backoff_ms: 20 },
        1,
    );
    let mut request = w.request(&[ItemKind::Message], Placement::Original);
    let inbox = w
        .archive
        .folder_tree(w.alice, None)
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.path == ["Inbox"])
        .unwrap();
    request.source = ItemSource::Folders {
        mailbox: w.alice,
        folders: vec![inbox.id],
        at: None,
    };
    let (_, real) = w.dry_then_real(&request).await;
    let s = summary(&real);
    assert_eq!(s.failed, 1, "{s:?}");
    assert!(s.created >= 5, "{s:?}");
    let failed = w
        .restorer
        .jobs()
        .outcomes(real.id, Some(OutcomeKind::Failed), 0, 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].outcome.source_path.contains("Lunch on Thursday"));
    assert!(!failed[0].outcome.detail.is_empty());
    assert!(sim
        .restored(ALICE)
        .iter()
        .any(|r| subject(r).contains("Contract draft")));
    no_mistakes(&w.sim);
    w.finish().await;
}

/// A worker that dies halfway (its task aborted, as a killed process would stop) leaves the
/// job to another once its lease runs out; the second creates only what the first did not,
/// even the item the first created but had not recorded yet.
async fn a_dead_worker_is_taken_over_and_nothing_is_duplicated(kit: testkit::TestDb, proto: Proto) {
    let w = world(kit, proto).await;
    let sim = w.sim.handle();
    for folder in ["Inbox", "Inbox/Projects", "Sent Items"] {
        for item in sim.list_items(ALICE, folder).unwrap() {
            sim.delete_item(ALICE, item).unwrap();
        }
    }
    let request = w.request(&[ItemKind::Message], Placement::Original);
    let dry = w.run(&request).await;
    let to_create = summary(&dry).created;
    assert!(to_create >= 10, "{to_create}");
    let (job, _) = w
        .restorer
        .enqueue(
            &RestoreRequest {
                dry_run: false,
                after_dry_run: Some(dry.id),
                ..request.clone()
            },
            "tester",
        )
        .await
        .unwrap();
    sim.set_latency(Duration::from_millis(40));
    let first = w.worker("doomed").with_lease(Duration::from_millis(600));
    let id = job.id;
    let running = tokio::spawn(async move { first.run_this(id).await });
    // Killed after a few items are created.
    let started = std::time::Instant::now();
    while sim.restored(ALICE).len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nothing created"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    running.abort();
    let _ = running.await;
    sim.set_latency(Duration::ZERO);
    let half = w.restorer.jobs().get(id).await.unwrap().unwrap();
    assert_eq!(
        half.state,
        JobState::Running,
        "the dead worker ended nothing"
    );
    assert!((half.processed as u64) < to_create);

    // Another worker takes over once the lease has run out.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let ended = w.worker("survivor").run_this(id).await.unwrap().unwrap();
    assert_eq!(ended.state, JobState::Done, "{:?}", ended.error);
    let s = summary(&ended);
    assert_eq!(s.failed, 0, "{s:?}");
    let restored = sim.restored(ALICE);
    assert_eq!(
        restored.len() as u64,
        to_create,
        "every missing message created exactly once"
    );
    let mut stamps: Vec<_> = restored.iter().filter_map(|r| r.stamp.clone()).collect();
    let n = stamps.len();
    stamps.sort();
    stamps.dedup();
    assert_eq!(stamps.len(), n, "a stamp created twice");
    no_mistakes(&w.sim);
    w.finish().await;
}

/// A message with a 4 MB attachment and an attached message: through Graph the file is added
/// after the message in an upload session (one request cannot carry it) and the attached
/// message as an item attachment (an Outlook message, not an `.eml` file, and not a draft);
/// through EWS both are part of the MIME.
async fn a_large_attachment_comes_back_whole(kit: testkit::TestDb, proto: Proto) {
    let pdf: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let request = testkit::mime::Mail::new("Original request")
        .from("harbour.office@example.com")
        .to("bruno.keller@example.com")
        .message_id("<original.request@example.com>")
        .text("Please sign the contract by Friday.")
        .build();
    let mime = testkit::mime::Mail::new("Signed contract")
        .from("bruno.keller@example.com")
        .to(ALICE)
        .message_id("<signed.contract@example.com>")
        .text("The signed contract is attached.")
        .attach("contract.pdf", "application/pdf", &pdf)
        .attach("Original request.eml", "message/rfc822", &request)
        .build();
    let w = world_with(kit, proto, |sim| {
        sim.add_message(ALICE, "Inbox", &mime, true).unwrap();
    })
    .await;
    let sim = w.sim.handle();
    let inbox = sim.list_items(ALICE, "Inbox").unwrap();
    let big = *inbox.last().unwrap();
    sim.delete_item(ALICE, big).unwrap();
    let (_, real) = w
        .dry_then_real(&w.request(&[ItemKind::Message], Placement::Original))
        .await;
    let s = summary(&real);
    assert_eq!((s.created, s.failed), (1, 0), "{s:?}");
    let restored = sim.restored(ALICE);
    assert_eq!(restored.len(), 1);
    let r = &restored[0];
    assert_eq!(subject(r), "Signed contract");
    assert!(r.is_read && !r.is_draft);
    match proto {
        Proto::Graph => {
            assert_eq!(r.attachment_records.len(), 2, "{:?}", r.attachment_records);
            let a = &r.attachment_records[0];
            assert_eq!(
                (a.name.as_str(), a.size),
                ("contract.pdf", pdf.len() as u64)
            );
            assert!(a.via_upload_session && !a.is_item);
            assert_eq!(sim.counters().upload_sessions, 1);
            let m = &r.attachment_records[1];
            assert!(m.is_item, "an Outlook item, not an .eml file: {m:?}");
            assert_eq!(
                (m.name.as_str(), m.content_type.as_str()),
                ("Original request", "message/rfc822")
            );
            let stored = String::from_utf8_lossy(&r.data);
            assert!(
                stored.contains("Please sign the contract by Friday."),
                "{stored}"
            );
        }
        Proto::Ews => {
            assert!(r.data.len() > pdf.len(), "the MIME carries it whole");
            assert!(String::from_utf8_lossy(&r.data).contains("Original request"));
        }
    }
    no_mistakes(&w.sim);
    w.finish().await;
}

/// Mail that never left but whose read state changed since it was archived: the restore sets
/// the archived state back ("merged", as Veeam reports it) instead of skipping it, sends no
/// read receipt for a message that asked for one, and a second run has nothing left to merge.
async fn a_changed_read_state_is_merged_back(kit: testkit::TestDb, proto: Proto) {
    let mime = testkit::mime::Mail::new("Please confirm")
        .from("bruno.keller@example.com")
        .to(ALICE)
        .message_id("<please.confirm@example.com>")
        .header("Disposition-Notification-To", "bruno.keller@example.com")
        .text("Let me know when you have read this.")
        .build();
    let w = world_with(kit, proto, |sim| {
        sim.add_message(ALICE, "Inbox", &mime, true).unwrap();
    })
    .await;
    let sim = w.sim.handle();
    let inbox = sim.list_items(ALICE, "Inbox").unwrap();
    let asks = *inbox.last().unwrap();
    let other = inbox[0];
    let other_was = sim.is_read(ALICE, other).unwrap();
    sim.set_read(ALICE, asks, false).unwrap();
    sim.set_read(ALICE, other, !other_was).unwrap();
    let updated_before = sim.counters().items_updated;

    let (dry, real) = w
        .dry_then_real(&w.request(&[ItemKind::Message], Placement::Original))
        .await;
    let d = summary(&dry);
    assert_eq!((d.created, d.merged, d.failed), (0, 2, 0), "{d:?}");
    let s = summary(&real);
    assert_eq!((s.created, s.merged, s.failed), (0, 2, 0), "{s:?}");
    assert!(s.skipped > 0, "the rest is there as it was: {s:?}");
    assert!(sim.is_read(ALICE, asks).unwrap(), "read again, as archived");
    assert_eq!(sim.is_read(ALICE, other).unwrap(), other_was);
    assert_eq!(sim.counters().items_updated - updated_before, 2);
    assert!(sim.restored(ALICE).is_empty(), "nothing created");
    let merged = w
        .restorer
        .jobs()
        .outcomes(real.id, Some(OutcomeKind::Merged), 0, 10)
        .await
        .unwrap();
    let details: Vec<&str> = merged.iter().map(|o| o.outcome.detail.as_str()).collect();
    assert!(details.contains(&"marked read, as archived"), "{details:?}");

    let (_, again) = w
        .dry_then_real(&w.request(&[ItemKind::Message], Placement::Original))
        .await;
    let s = summary(&again);
    assert_eq!((s.created, s.merged, s.failed), (0, 0, 0), "{s:?}");
    no_mistakes(&w.sim);
    w.finish().await;
}

macro_rules! everywhere {
    ($name:ident) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ews_sqlite() {
                super::$name(testkit::TestDb::sqlite().await, Proto::Ews).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn graph_sqlite() {
                super::$name(testkit::TestDb::sqlite().await, Proto::Graph).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ews_postgres() {
                if let Some(kit) = testkit::TestDb::postgres().await {
                    super::$name(kit, Proto::Ews).await
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn graph_postgres() {
                if let Some(kit) = testkit::TestDb::postgres().await {
                    super::$name(kit, Proto::Graph).await
                }
            }
        }
    };
}

everywhere!(deleted_mail_comes_back_where_it_was_and_nothing_twice);
everywhere!(calendar_and_contacts_into_a_new_folder);
everywhere!(refusals_say_one_sentence_and_write_nothing);
everywhere!(one_bad_item_never_stops_the_rest);
everywhere!(a_dead_worker_is_taken_over_and_nothing_is_duplicated);
everywhere!(a_large_attachment_comes_back_whole);
everywhere!(a_changed_read_state_is_merged_back);
