//! Export jobs end to end on both backends: a mailbox with a folder tree, a calendar series and
//! a contact is exported as an EML bag and as mbox; the bag is checked entry by entry against
//! its manifest and, where the machine has them (scripts/setup.sh installs them), by PyPI
//! `bagit`, `icalendar` and `vobject`; refusals say one clear sentence; a worker that dies
//! leaves the job to another; a cancel stops the job and keeps nothing.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use archive::*;
use jobs::{JobState, Jobs, OutcomeKind};
use recovery::{
    ExportFile, ExportRequest, Exporter, ItemSource, MailFormat, RecoveryError, Worker,
};
use sha2::{Digest, Sha256};

const SERIES: &[u8] =
    include_bytes!("../../exchange-sim/seed/alice.martin@example.com/Calendar/01-event.ics");
const EMMA: &[u8] =
    include_bytes!("../../exchange-sim/seed/alice.martin@example.com/Contacts/02-emma.vcf");

struct Fixture {
    archive: Archive,
    exporter: Exporter,
    mailbox: MailboxId,
    inbox: FolderId,
    dir: PathBuf,
}

fn mail(subject: &str, body: &str) -> Vec<u8> {
    testkit::mime::Mail::new(subject)
        .from("bruno@example.com")
        .to("alice@example.com")
        .date("Tue, 06 Oct 2026 09:30:00 +0200")
        .message_id(&format!("<{}@test>", subject.replace(' ', ".")))
        .text(body)
        .build()
}

fn put(mailbox: MailboxId, folder: &str, source: &str, kind: ItemKind, raw: Vec<u8>) -> PutItem {
    PutItem {
        mailbox_id: mailbox,
        folder_source_id: folder.into(),
        source_id: source.into(),
        kind,
        raw,
        is_read: true,
        flags: Vec::new(),
        meta: None,
        properties: None,
        fallback_date: None,
        at: Timestamp::now(),
    }
}

/// Alice: Inbox (3 messages, one of them with a `From ` line in its body and one with a large
/// attachment), Inbox/Projects (2), Calendar (the seed's weekly series), Contacts (Emma).
async fn fixture(kit: &testkit::TestDb, part_size: u64) -> Fixture {
    let archive = Archive::new(
        kit.db.clone(),
        Blobs::local(kit.dir().join("blobs"), None).unwrap(),
    );
    let mailbox = archive
        .ensure_mailbox(&NewMailbox {
            name: "alice@example.com".into(),
            owner_address: "alice@example.com".into(),
            display_name: "Alice".into(),
        })
        .await
        .unwrap()
        .id;
    for (source, parent, name, kind) in [
        ("inbox", None, "Inbox", FolderKind::Inbox),
        ("projects", Some("inbox"), "Projects", FolderKind::Other),
        ("cal", None, "Calendar", FolderKind::Calendar),
        ("con", None, "Contacts", FolderKind::Contacts),
    ] {
        archive
            .upsert_folder(
                mailbox,
                &FolderSpec {
                    source_id: source.into(),
                    parent_source_id: parent.map(str::to_owned),
                    name: name.into(),
                    kind,
                },
                Timestamp::now(),
            )
            .await
            .unwrap();
    }
    // Noise that deflate cannot shrink, so that the file needs several parts.
    let mut noise = String::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while noise.len() < 300_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.push_str(&format!("{x:016x}"));
    }
    let items = [
        ("inbox", "m1", mail("Quarterly numbers", "See the figures.")),
        (
            "inbox",
            "m2",
            mail("Forwarded", "From the top:\nFrom here on it is quoted.\n"),
        ),
        ("inbox", "m3", mail("Large scan", &noise)),
        ("projects", "p1", mail("Project kickoff", "Monday 10:00.")),
        ("projects", "p2", mail("Project plan", "Attached.")),
    ];
    for (folder, source, raw) in items {
        archive
            .put_item(put(mailbox, folder, source, ItemKind::Message, raw))
            .await
            .unwrap();
    }
    archive
        .put_item(put(
            mailbox,
            "cal",
            "series",
            ItemKind::Calendar,
            SERIES.to_vec(),
        ))
        .await
        .unwrap();
    archive
        .put_item(put(
            mailbox,
            "con",
            "emma",
            ItemKind::Contact,
            EMMA.to_vec(),
        ))
        .await
        .unwrap();
    syncer_free_backfill(&archive).await;
    let inbox = archive.folder_id(mailbox, "inbox").await.unwrap().unwrap();
    let dir = kit.dir().to_path_buf();
    let exporter = Exporter::new(
        archive.clone(),
        Jobs::new(kit.db.clone()),
        dir.join("scratch"),
        part_size,
    );
    Fixture {
        archive,
        exporter,
        mailbox,
        inbox,
        dir,
    }
}

/// The calendar item and contact get their records the way the server does at start.
async fn syncer_free_backfill(archive: &Archive) {
    let ids = archive.items_without_properties(0, 100).await.unwrap();
    assert_eq!(ids.len(), 2);
    for item in archive.items(&ids).await.unwrap() {
        let raw = archive.read_raw(item.id).await.unwrap();
        let record = match item.kind {
            ItemKind::Calendar => transfer::records::ics_event(&raw).map(pim::Record::Event),
            ItemKind::Contact => transfer::records::vcf_contact(&raw).map(pim::Record::Contact),
            ItemKind::Message => None,
        };
        if let Some(record) = record {
            archive
                .set_missing_properties(item.id, &record.to_json())
                .await
                .unwrap();
        }
    }
}

fn everything(mailbox: MailboxId, format: MailFormat) -> ExportRequest {
    ExportRequest {
        source: ItemSource::Mailbox { mailbox, at: None },
        format,
        kinds: vec![ItemKind::Message, ItemKind::Calendar, ItemKind::Contact],
    }
}

async fn download(f: &Fixture, file: &ExportFile) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (part, chunk) in file.chunks() {
        let mut stream = f.exporter.read_chunk(file, part, chunk).await.unwrap();
        while let Some(piece) = futures::StreamExt::next(&mut stream).await {
            bytes.extend_from_slice(&piece.unwrap());
        }
    }
    assert_eq!(bytes.len() as u64, file.size);
    bytes
}

fn entries(zip_bytes: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(zip_bytes)).unwrap();
    let mut out = HashMap::new();
    for n in 0..zip.len() {
        let mut entry = zip.by_index(n).unwrap();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.insert(entry.name().to_owned(), data);
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every payload file is in the manifest with its digest, and nothing else is.
fn check_manifest(files: &HashMap<String, Vec<u8>>, root: &str) -> usize {
    let manifest =
        String::from_utf8(files[&format!("{root}/manifest-sha256.txt")].clone()).unwrap();
    let mut listed = 0;
    for line in manifest.lines() {
        let (digest, path) = line.split_once("  ").unwrap();
        let data = &files[&format!("{root}/{path}")];
        assert_eq!(hex(data), digest, "{path}");
        listed += 1;
    }
    let payload = files
        .keys()
        .filter(|k| k.starts_with(&format!("{root}/data/")))
        .count();
    assert_eq!(listed, payload);
    listed
}

/// Python tools from scripts/setup.sh; the tests need them (setup installs them with the rest).
fn python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh",
        python.display()
    );
    python
}

fn unpack(zip_bytes: &[u8], into: &Path) {
    let mut zip = zip::ZipArchive::new(Cursor::new(zip_bytes)).unwrap();
    zip.extract(into).unwrap();
}

fn run_python(script: &str, args: &[&Path]) -> String {
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

testkit::each_backend!(an_eml_bag_holds_the_folder_tree_calendar_and_contacts);
async fn an_eml_bag_holds_the_folder_tree_calendar_and_contacts(kit: &testkit::TestDb) {
    let f = fixture(kit, 64 * 1024).await;
    let (job, plan) = f
        .exporter
        .enqueue(&everything(f.mailbox, MailFormat::Eml), "admin")
        .await
        .unwrap();
    assert_eq!(plan.counts(), (5, 1, 1));
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.label, "Whole mailbox of alice@example.com, as EML");

    let ended = Worker::new("test-1", f.exporter.clone())
        .run_once()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.state, JobState::Done, "{:?}", ended.error);
    assert_eq!((ended.total, ended.processed, ended.failed), (7, 7, 0));
    let file = ExportFile::of(&ended).unwrap();
    assert!(file.parts.len() >= 3, "a 300 KB export in 64 KB parts");
    assert!(file.parts.iter().rev().skip(1).all(|p| p.size == 64 * 1024));
    assert_eq!(file.files, 7);
    assert!(!f
        .dir
        .join("scratch")
        .join(format!("export-{}.zip", job.id))
        .exists());

    let bytes = download(&f, &file).await;
    let files = entries(&bytes);
    let root = format!("export-{}-alice@example.com", job.id);
    assert_eq!(check_manifest(&files, &root), 7);
    let names: Vec<&String> = files.keys().filter(|k| k.ends_with(".eml")).collect();
    assert_eq!(names.len(), 5);
    let inbox = format!("{root}/data/Inbox/2026-10-06 0730 Quarterly numbers.eml");
    assert!(files.contains_key(&inbox), "{names:?}");
    assert!(files.contains_key(&format!(
        "{root}/data/Inbox/Projects/2026-10-06 0730 Project plan.eml"
    )));
    let calendar = String::from_utf8(files[&format!("{root}/data/Calendar.ics")].clone()).unwrap();
    assert!(calendar.contains("RRULE:FREQ=WEEKLY"));
    assert!(calendar.contains("ATTENDEE;"));
    assert!(calendar.contains("RECURRENCE-ID"));
    let cards = String::from_utf8(files[&format!("{root}/data/Contacts.vcf")].clone()).unwrap();
    assert!(cards.contains("FN:Emma"), "{cards}");
    let info = String::from_utf8(files[&format!("{root}/bag-info.txt")].clone()).unwrap();
    assert!(info.contains("Source-Mailbox: alice@example.com"));
    assert_eq!(
        file.manifest_sha256,
        hex(&files[&format!("{root}/manifest-sha256.txt")])
    );

    // The report names every item with where it went.
    let report = f
        .exporter
        .jobs()
        .outcomes(job.id, None, 0, 100)
        .await
        .unwrap();
    assert_eq!(report.len(), 7);
    assert!(report
        .iter()
        .all(|o| o.outcome.kind == OutcomeKind::Created));
    let quarterly = report
        .iter()
        .find(|o| o.outcome.source_path == "Inbox/Quarterly numbers")
        .unwrap();
    assert_eq!(
        quarterly.outcome.target_path,
        "data/Inbox/2026-10-06 0730 Quarterly numbers.eml"
    );

    // Other implementations agree: the bag validates, the calendar and the cards parse.
    let unpacked = f.dir.join("unpacked");
    unpack(&bytes, &unpacked);
    let bag = unpacked.join(&root);
    let validated = run_python(
        "import bagit, sys; b = bagit.Bag(sys.argv[1]); b.validate(); print(len(list(b.payload_files())))",
        &[&bag],
    );
    assert_eq!(validated.trim(), "7");
    let parsed = run_python(
        "import icalendar, sys\n\
         cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())\n\
         ev = [c for c in cal.walk('VEVENT')]\n\
         master = [e for e in ev if 'RECURRENCE-ID' not in e][0]\n\
         print(len(ev), master['DTSTART'].dt.tzinfo, len(master.get('ATTENDEE', [])))",
        &[&bag.join("data/Calendar.ics")],
    );
    assert!(parsed.contains("Europe/"), "{parsed}");
    run_python(
        "import vobject, sys\n\
         cards = list(vobject.readComponents(open(sys.argv[1]).read()))\n\
         assert len(cards) == 1, cards\n\
         c = cards[0]\n\
         assert c.fn.value.startswith('Emma'), c.fn.value\n\
         assert len(c.contents.get('email', [])) >= 1\n\
         print(c.fn.value)",
        &[&bag.join("data/Contacts.vcf")],
    );
}

testkit::each_backend!(an_mbox_export_writes_one_file_per_folder_in_mboxrd);
async fn an_mbox_export_writes_one_file_per_folder_in_mboxrd(kit: &testkit::TestDb) {
    let f = fixture(kit, 8 * 1024 * 1024).await;
    let request = ExportRequest {
        source: ItemSource::Folders {
            mailbox: f.mailbox,
            folders: vec![f.inbox],
            at: None,
        },
        format: MailFormat::Mbox,
        kinds: vec![ItemKind::Message],
    };
    let (job, plan) = f.exporter.enqueue(&request, "admin").await.unwrap();
    assert_eq!(plan.counts(), (5, 0, 0), "the folder and the one below it");
    let ended = Worker::new("test-1", f.exporter.clone())
        .run_once()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.state, JobState::Done, "{:?}", ended.error);
    let file = ExportFile::of(&ended).unwrap();
    assert_eq!(file.parts.len(), 1);
    let files = entries(&download(&f, &file).await);
    let root = format!("export-{}-alice@example.com", job.id);
    assert_eq!(check_manifest(&files, &root), 2);
    let inbox = String::from_utf8(files[&format!("{root}/data/Inbox.mbox")].clone()).unwrap();
    assert_eq!(inbox.matches("\nFrom bruno@example.com ").count() + 1, 3);
    assert!(inbox.starts_with("From bruno@example.com Tue Oct  6 07:30:00 2026\n"));
    assert!(inbox.contains("\n>From here on it is quoted.\n"));
    assert!(!inbox.contains('\r'));

    // Python's mailbox module (an independent mbox reader) finds the same messages.
    let unpacked = f.dir.join("unpacked");
    unpack(&download(&f, &file).await, &unpacked);
    let read = run_python(
        "import mailbox, sys\n\
         box = mailbox.mbox(sys.argv[1])\n\
         print(sorted(m['Subject'] for m in box))",
        &[&unpacked.join(&root).join("data/Inbox/Projects.mbox")],
    );
    assert!(
        read.contains("['Project kickoff', 'Project plan']"),
        "{read}"
    );
}

testkit::each_backend!(what_cannot_be_exported_is_refused_with_one_sentence);
async fn what_cannot_be_exported_is_refused_with_one_sentence(kit: &testkit::TestDb) {
    let f = fixture(kit, 8 * 1024 * 1024).await;
    let refusal = |request: ExportRequest| {
        let exporter = f.exporter.clone();
        async move {
            match exporter.enqueue(&request, "admin").await {
                Err(RecoveryError::Invalid(message)) => message,
                other => panic!("expected a refusal, got {other:?}"),
            }
        }
    };
    let mut none = everything(f.mailbox, MailFormat::Eml);
    none.kinds.clear();
    assert!(refusal(none)
        .await
        .starts_with("Choose at least one of mail"));
    let future = ExportRequest {
        source: ItemSource::Mailbox {
            mailbox: f.mailbox,
            at: Some(Timestamp::from_unix_seconds(4_000_000_000)),
        },
        ..everything(f.mailbox, MailFormat::Eml)
    };
    assert!(refusal(future).await.contains("in the future"));
    let elsewhere = ExportRequest {
        source: ItemSource::Folders {
            mailbox: f.mailbox,
            folders: vec![999_999],
            at: None,
        },
        ..everything(f.mailbox, MailFormat::Eml)
    };
    assert!(refusal(elsewhere)
        .await
        .contains("chosen folder is not in the mailbox"));
    let before_first_sync = ExportRequest {
        source: ItemSource::Mailbox {
            mailbox: f.mailbox,
            at: Some(Timestamp::from_unix_seconds(1_000_000_000)),
        },
        ..everything(f.mailbox, MailFormat::Eml)
    };
    assert!(refusal(before_first_sync)
        .await
        .starts_with("There is nothing to export"));
    let empty = f
        .archive
        .create_selection(
            f.mailbox,
            "nothing",
            "deleted between two equal instants",
            "admin",
            &[],
        )
        .await
        .unwrap();
    let selection = ExportRequest {
        source: ItemSource::Selection {
            selection: empty.id,
        },
        ..everything(f.mailbox, MailFormat::Eml)
    };
    assert!(refusal(selection)
        .await
        .starts_with("There is nothing to export"));
    assert!(f
        .exporter
        .jobs()
        .list(&jobs::JobFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .is_empty());
}

testkit::each_backend!(a_dead_workers_export_is_taken_over_and_counted_once);
async fn a_dead_workers_export_is_taken_over_and_counted_once(kit: &testkit::TestDb) {
    let f = fixture(kit, 8 * 1024 * 1024).await;
    let (job, _) = f
        .exporter
        .enqueue(&everything(f.mailbox, MailFormat::Eml), "admin")
        .await
        .unwrap();
    // A worker claims the job and dies before it finishes (its lease is never renewed).
    let (_, dead) = f
        .exporter
        .jobs()
        .claim("dead-node", Duration::from_millis(50))
        .await
        .unwrap()
        .unwrap();
    f.exporter
        .jobs()
        .record(
            &dead,
            &[jobs::Outcome {
                key: "stale".into(),
                kind: OutcomeKind::Created,
                source_path: String::new(),
                target_path: String::new(),
                detail: String::new(),
            }],
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;

    let ended = Worker::new("live-node", f.exporter.clone())
        .run_once()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.id, job.id);
    assert_eq!(ended.state, JobState::Done);
    assert_eq!(ended.attempts, 2);
    assert_eq!(
        ended.processed, 7,
        "the file was written again whole, each item once"
    );
    let report = f
        .exporter
        .jobs()
        .outcomes(job.id, None, 0, 100)
        .await
        .unwrap();
    assert_eq!(report.len(), 7);
    assert!(report.iter().all(|o| o.outcome.key != "stale"));
}

testkit::each_backend!(a_cancelled_export_stops_and_keeps_no_file);
async fn a_cancelled_export_stops_and_keeps_no_file(kit: &testkit::TestDb) {
    let f = fixture(kit, 8 * 1024 * 1024).await;
    let (job, _) = f
        .exporter
        .enqueue(&everything(f.mailbox, MailFormat::Eml), "admin")
        .await
        .unwrap();
    let (claimed, lease) = f
        .exporter
        .jobs()
        .claim("node", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    f.exporter.jobs().request_cancel(job.id).await.unwrap();
    let ended = f.exporter.run(&claimed, &lease).await.unwrap();
    assert_eq!(ended.state, JobState::Cancelled);
    assert!(ended.result.is_none());
    assert!(ExportFile::of(&ended).is_none());
    assert!(!f
        .dir
        .join("scratch")
        .join(format!("export-{}.zip", job.id))
        .exists());
}
