//! PST import against a real file and an independent reader: `enron.pst` (from the npm package
//! `pst-extractor`, installed by scripts/setup.sh) imported on both backends must give exactly
//! the messages, folders and subjects Debian's `readpst -e` finds in it; importing it again adds
//! nothing; the package's OST files and a damaged PST are refused with a sentence naming the
//! file and what it is.
//!
//! Calendar items and contacts: no PST in the registries has them, so
//! `tests/fixtures/calendar-contacts.pst` was written by an independent PST writer
//! (scripts/fixtures/make_pst.py, Aspose.Email); `pffexport` and `readpst` read it beside us.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use archive::*;
use transfer::import::{import, ImportFormat, ImportOptions};
use transfer::TransferError;

fn fixtures() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../end2end/node_modules/pst-extractor/example/testdata");
    assert!(
        dir.join("enron.pst").exists(),
        "the PST fixtures are missing: run scripts/setup.sh (npm ci in end2end/)"
    );
    dir
}

type Oracle = (BTreeMap<String, Vec<String>>, BTreeSet<String>);

/// readpst's reading of enron.pst, made once per test process (both backends compare with it).
fn oracle() -> &'static Oracle {
    static ORACLE: std::sync::OnceLock<Oracle> = std::sync::OnceLock::new();
    ORACLE.get_or_init(|| {
        let out = tempfile::tempdir().unwrap();
        readpst(
            &fixtures().join("enron.pst").canonicalize().unwrap(),
            out.path(),
        )
    })
}

/// What readpst finds: per folder name, the subjects of its messages; and every sender address.
fn readpst(pst: &Path, out: &Path) -> Oracle {
    // One job: readpst's parallel jobs (its default) sometimes exit before the last file of a
    // folder is written, which loses a message now and then (seen in CI: 70 of 71).
    let status = Command::new("readpst")
        .current_dir(out)
        .args(["-j", "0", "-e", "-q", "-o", "."])
        .arg(pst)
        .status()
        .expect("readpst is missing: run scripts/setup.sh (Debian pst-utils)");
    assert!(status.success());
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut senders = BTreeSet::new();
    let mut stack = vec![out.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let folder = dir.file_name().unwrap().to_string_lossy().into_owned();
                let raw = std::fs::read(&path).unwrap();
                let meta = archive::meta::parse_message(&raw).unwrap_or_default();
                senders.insert(meta.sender_address);
                found.entry(folder).or_default().push(meta.subject);
            }
        }
    }
    for subjects in found.values_mut() {
        subjects.sort();
    }
    (found, senders)
}

/// What pffexport (libpff) finds: messages per folder path below "Top of Personal Folders".
/// Made once per test process, like readpst's.
fn pffexport() -> &'static BTreeMap<String, usize> {
    static FOUND: std::sync::OnceLock<BTreeMap<String, usize>> = std::sync::OnceLock::new();
    FOUND.get_or_init(pffexport_run)
}

fn pffexport_run() -> BTreeMap<String, usize> {
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("pffexport")
        .current_dir(out.path())
        .args(["-q", "-t", "pst"])
        .arg(fixtures().join("enron.pst").canonicalize().unwrap())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("pffexport is missing: run scripts/setup.sh (Debian pff-tools)");
    assert!(status.success());
    let top = out.path().join("pst.export/Top of Personal Folders");
    let mut found: BTreeMap<String, usize> = BTreeMap::new();
    let mut stack = vec![top.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if !path.is_dir() {
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("Message") && name[7..].chars().all(|c| c.is_ascii_digit()) {
                let folder = dir
                    .strip_prefix(&top)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                *found.entry(folder).or_default() += 1;
            } else {
                stack.push(path);
            }
        }
    }
    found
}

fn options() -> ImportOptions {
    ImportOptions::new(NewMailbox {
        name: "lokay-m@enron.com".into(),
        owner_address: "lokay-m@enron.com".into(),
        display_name: "Michelle Lokay".into(),
    })
}

testkit::each_backend!(enron_pst_gives_what_readpst_finds);
async fn enron_pst_gives_what_readpst_finds(kit: &testkit::TestDb) {
    let a = Archive::new(
        kit.db.clone(),
        Blobs::local(kit.dir().join("blobs"), None).unwrap(),
    );
    let pst = fixtures().join("enron.pst");
    let (oracle, senders) = oracle();
    let oracle_total: usize = oracle.values().map(Vec::len).sum();
    assert_eq!(oracle_total, 71, "readpst's own count of enron.pst");

    let mut seen = Vec::new();
    let summary = import(&a, ImportFormat::Pst, &pst, &options(), &mut |p| {
        seen.push((p.bytes_read, p.bytes_total))
    })
    .await
    .unwrap();
    // Progress moves item by item (a PST is not read front to back), never back, to the end.
    let size = std::fs::metadata(&pst).unwrap().len();
    assert!(seen.iter().all(|(_, total)| *total == size), "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "{seen:?}");
    assert_eq!(seen.last().map(|s| s.0), Some(size));
    let midway = seen.iter().filter(|(read, _)| *read > 0 && *read < size);
    assert!(midway.count() >= 10, "progress on the way: {seen:?}");
    assert_eq!(summary.failed, vec![], "nothing failed");
    assert_eq!(summary.skipped, vec![], "enron.pst holds mail only");
    assert_eq!((summary.read, summary.imported), (71, 71));

    // Folder by folder, the same messages (by subject) as readpst.
    let mailbox = summary.mailbox_id;
    let mut ours: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for folder in a.folder_tree(mailbox, None).await.unwrap() {
        let page = a
            .list_folder_items(
                folder.id,
                &ListQuery {
                    limit: 500,
                    ..ListQuery::default()
                },
            )
            .await
            .unwrap();
        if page.items.is_empty() {
            continue;
        }
        let mut subjects: Vec<String> = page.items.iter().map(|i| i.subject.clone()).collect();
        subjects.sort();
        ours.insert(folder.name.clone(), subjects);
    }
    assert_eq!(
        ours.keys().collect::<BTreeSet<_>>(),
        oracle.keys().collect::<BTreeSet<_>>(),
        "the same folder names"
    );
    assert_eq!(&ours, oracle, "the same messages in each folder");

    // The folder tree is kept: the five folders sit below the store's own top folders.
    let paths: BTreeSet<String> = a
        .folder_tree(mailbox, None)
        .await
        .unwrap()
        .iter()
        .map(|f| f.path.join("/"))
        .collect();
    assert!(
        paths.contains("lokay-m/MLOKAY (Non-Privileged)/Sent Items"),
        "{paths:?}"
    );
    // And libpff's pffexport, reading the file on its own, counts the same messages on the same
    // folder paths.
    let mut per_path: BTreeMap<String, usize> = BTreeMap::new();
    for folder in a.folder_tree(mailbox, None).await.unwrap() {
        if folder.total > 0 {
            per_path.insert(folder.path.join("/"), folder.total as usize);
        }
    }
    assert_eq!(
        &per_path,
        pffexport(),
        "message counts per folder path, against pffexport"
    );

    // Every message reads as mail: a sender, a date from the file, a body.
    let detail = a.items(&(1..=71).collect::<Vec<_>>()).await.unwrap();
    assert_eq!(detail.len(), 71);
    assert!(
        detail.iter().all(|d| d.parsed),
        "every composed message parses"
    );
    // Senders: every address readpst finds, we find too (readpst writes some senders by name
    // only, from Exchange-internal addresses; so do we).
    let ours_senders: BTreeSet<String> = detail.iter().map(|d| d.sender_address.clone()).collect();
    let missing: Vec<&String> = senders
        .iter()
        .filter(|s| !s.is_empty() && !ours_senders.contains(*s))
        .collect();
    assert!(
        missing.is_empty(),
        "senders readpst has and we lack: {missing:?}"
    );
    assert!(
        senders.iter().filter(|s| !s.is_empty()).count() >= 10,
        "{senders:?}"
    );

    // The same file again adds nothing.
    let again = import(&a, ImportFormat::Pst, &pst, &options(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!((again.imported, again.duplicates), (0, 71));
}

#[tokio::test]
async fn an_ost_or_a_damaged_pst_is_refused_with_what_it_is() {
    let kit = testkit::TestDb::sqlite().await;
    let a = Archive::new(
        kit.db.clone(),
        Blobs::local(kit.dir().join("blobs"), None).unwrap(),
    );
    for ost in [
        "pstextractortest@outlook.com.ost",
        "pstextractortestpdf@outlook.com.ost",
    ] {
        let path = fixtures().join(ost);
        match import(&a, ImportFormat::Pst, &path, &options(), &mut |_| {}).await {
            Err(e @ TransferError::Unsupported { .. }) => {
                let said = e.to_string();
                assert!(said.contains(ost) && said.contains("OST"), "{said}");
            }
            other => panic!("an OST must be refused, got {other:?}"),
        }
    }
    // Cut short: the header is fine, the rest is missing.
    let damaged = kit.dir().join("damaged.pst");
    let bytes = std::fs::read(fixtures().join("enron.pst")).unwrap();
    std::fs::write(&damaged, &bytes[..64 * 1024]).unwrap();
    match import(&a, ImportFormat::Pst, &damaged, &options(), &mut |_| {}).await {
        Err(e) => assert!(e.to_string().contains("damaged.pst"), "{e}"),
        Ok(summary) => assert!(
            !summary.failed.is_empty(),
            "a damaged file cannot import cleanly: {summary:?}"
        ),
    }
    // Not a PST at all.
    let text = kit.dir().join("notes.pst");
    std::fs::write(&text, b"just some text, not a PST").unwrap();
    let refused = import(&a, ImportFormat::Pst, &text, &options(), &mut |_| {})
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("not a PST file"), "{refused}");
    assert_eq!(
        a.count_items(None).await.unwrap(),
        0,
        "nothing was archived"
    );
    a.database().pool.close().await;
    kit.finish().await;
}

/// What libpff's pffexport says of each calendar item and contact of a PST: per item, its
/// `Key: value` lines (Appointment.txt or Contact.txt) and its recipients (name, address).
#[derive(Debug, Default)]
struct PffItem {
    fields: BTreeMap<String, String>,
    recipients: Vec<(String, String)>,
}

fn pff_items(pst: &Path) -> BTreeMap<String, PffItem> {
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("pffexport")
        .current_dir(out.path())
        .args(["-q", "-t", "pst"])
        .arg(pst.canonicalize().unwrap())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("pffexport is missing: run scripts/setup.sh (Debian pff-tools)");
    assert!(status.success());
    let top = out.path().join("pst.export/Top of Personal Folders");
    let mut items = BTreeMap::new();
    for folder in ["Calendar", "Contacts"] {
        for entry in std::fs::read_dir(top.join(folder)).unwrap() {
            let dir = entry.unwrap().path();
            let mut item = PffItem::default();
            for file in ["Appointment.txt", "Contact.txt"] {
                let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
                    continue;
                };
                for line in text.lines() {
                    if let Some((key, value)) = line.split_once(':') {
                        let value = value.trim();
                        if !value.is_empty() {
                            item.fields
                                .insert(key.trim().to_string(), value.to_string());
                        }
                    }
                }
            }
            if let Ok(text) = std::fs::read_to_string(dir.join("Recipients.txt")) {
                let mut name = String::new();
                for line in text.lines() {
                    if let Some(v) = line.strip_prefix("Display name:") {
                        name = v.trim().to_string();
                    }
                    if let Some(v) = line.strip_prefix("Email address:") {
                        item.recipients.push((name.clone(), v.trim().to_string()));
                    }
                }
            }
            let subject = item.fields.get("Subject").cloned().unwrap_or_default();
            items.insert(subject, item);
        }
    }
    items
}

/// readpst's RRULE of each series, by its DTSTART (UTC).
fn readpst_rrules(pst: &Path) -> BTreeMap<String, String> {
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("readpst")
        .current_dir(out.path())
        .args(["-j", "0", "-r", "-q", "-o", "."])
        .arg(pst.canonicalize().unwrap())
        .status()
        .expect("readpst is missing: run scripts/setup.sh (Debian pst-utils)");
    assert!(status.success());
    let text =
        std::fs::read_to_string(out.path().join("Personal folders/Calendar/calendar")).unwrap();
    let mut rules = BTreeMap::new();
    let mut start = String::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("DTSTART;VALUE=DATE-TIME:") {
            start = v.to_string();
        }
        if let Some(v) = line.strip_prefix("RRULE:") {
            rules.insert(start.clone(), v.to_string());
        }
    }
    rules
}

fn pff_time(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::NaiveDateTime::parse_from_str(s, "%b %d, %Y %H:%M:%S%.f UTC")
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .and_utc()
}

const EVALUATION: &str = "(Aspose.Email Evaluation)";

testkit::each_backend!(calendar_items_and_contacts_of_a_pst_become_records);
async fn calendar_items_and_contacts_of_a_pst_become_records(kit: &testkit::TestDb) {
    use chrono::{NaiveDate, TimeZone};
    use pim::{AttendeeKind, Day, Pattern, Range, Record};

    let a = Archive::new(
        kit.db.clone(),
        Blobs::local(kit.dir().join("blobs"), None).unwrap(),
    );
    let pst = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/calendar-contacts.pst");
    let summary = import(&a, ImportFormat::Pst, &pst, &options(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(summary.failed, vec![]);
    assert_eq!(summary.skipped, vec![], "every item of the file is kept");
    assert_eq!((summary.read, summary.imported), (6, 6), "{summary:?}");

    let tree = a.folder_tree(summary.mailbox_id, None).await.unwrap();
    let kind_of = |name: &str| tree.iter().find(|f| f.name == name).unwrap().kind;
    assert_eq!(kind_of("Calendar"), FolderKind::Calendar);
    assert_eq!(kind_of("Contacts"), FolderKind::Contacts);
    assert_eq!(kind_of("Inbox"), FolderKind::Inbox);

    let details = a.items(&(1..=6).collect::<Vec<_>>()).await.unwrap();
    let mut events = BTreeMap::new();
    let mut contacts = BTreeMap::new();
    for d in &details {
        let raw = a.read_raw(d.id).await.unwrap();
        let properties = a.read_properties(d.id).await.unwrap();
        match d.kind {
            ItemKind::Message => assert_eq!(d.subject, format!("Engine notes{EVALUATION}")),
            ItemKind::Calendar => {
                let Record::Event(e) = Record::from_json(&properties.unwrap()).unwrap() else {
                    panic!("a calendar item's record is an event");
                };
                // The content is iCalendar that reads back into the same event.
                let back = transfer::records::ics_event(&raw).unwrap();
                assert_eq!(
                    (&back.subject, back.start, back.end),
                    (&e.subject, e.start, e.end)
                );
                assert_eq!(back.recurrence, e.recurrence);
                assert_eq!(d.subject, e.subject, "the list shows the record's subject");
                events.insert(e.subject.clone(), e);
            }
            ItemKind::Contact => {
                let Record::Contact(c) = Record::from_json(&properties.unwrap()).unwrap() else {
                    panic!("a contact's record is a contact");
                };
                let back = transfer::records::vcf_contact(&raw).unwrap();
                let addresses = |emails: &[pim::ContactEmail]| {
                    emails.iter().map(|e| e.address.clone()).collect::<Vec<_>>()
                };
                assert_eq!(
                    addresses(&back.emails),
                    addresses(&c.emails),
                    "the vCard holds the same addresses"
                );
                contacts.insert(c.display_name.clone(), c);
            }
        }
    }
    assert_eq!(events.len(), 3);
    assert_eq!(contacts.len(), 2);

    // Against libpff: the same subjects, start and end instants, locations and attendees.
    let pff = pff_items(&pst);
    for (subject, e) in &events {
        let theirs = pff
            .get(subject)
            .unwrap_or_else(|| panic!("pffexport lacks {subject}"));
        assert_eq!(
            e.start_utc(),
            pff_time(&theirs.fields["Start time"]),
            "{subject}"
        );
        let end_utc = e.zone().to_utc(e.end);
        assert_eq!(end_utc, pff_time(&theirs.fields["End time"]), "{subject}");
        assert_eq!(
            e.location,
            theirs.fields.get("Location").cloned().unwrap_or_default(),
            "{subject}"
        );
        let ours: Vec<(String, String)> = e
            .attendees
            .iter()
            .map(|a| (a.person.name.clone(), a.person.address.clone()))
            .collect();
        assert_eq!(ours, theirs.recipients, "{subject}");
    }
    for (name, c) in &contacts {
        let theirs = &pff[name].fields;
        assert_eq!(c.given_name, theirs["Given name"]);
        assert_eq!(c.surname, theirs["Surname"]);
        assert_eq!(
            c.company,
            theirs.get("Company name").cloned().unwrap_or_default()
        );
        for (n, email) in c.emails.iter().enumerate() {
            assert_eq!(email.address, theirs[&format!("Email address {}", n + 1)]);
        }
        for (label, key) in [
            ("BusinessPhone", "Business phone number 1"),
            ("HomePhone", "Home phone number"),
            ("MobilePhone", "Mobile phone number"),
        ] {
            let ours = c
                .phones
                .iter()
                .find(|p| p.label == label)
                .map(|p| p.number.as_str());
            assert_eq!(ours, theirs.get(key).map(String::as_str), "{name} {label}");
        }
    }
    // Against readpst: the same rule for the series.
    let rules = readpst_rrules(&pst);
    let standup = &events[&format!("Weekly standup{EVALUATION}")];
    let ours = standup
        .recurrence
        .as_ref()
        .unwrap()
        .to_rrule(standup.zone());
    let theirs = &rules[&standup.start_utc().format("%Y%m%dT%H%M%SZ").to_string()];
    for part in theirs.split(';') {
        assert!(
            ours.split(';').any(|p| p == part),
            "{part} of {theirs} in {ours}"
        );
    }

    // What neither reader prints: zones, all-day dates, the series' exceptions and deletion,
    // attendee kinds, the contacts' addresses, birthday and photo.
    let review = &events[&format!("Engine review{EVALUATION}")];
    assert_eq!(review.time_zone, "Europe/Berlin");
    assert_eq!(review.source_time_zone, "W. Europe Standard Time");
    assert_eq!(
        review.start,
        NaiveDate::from_ymd_opt(2025, 9, 8)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap()
    );
    assert_eq!(
        review.attendees.iter().map(|a| a.kind).collect::<Vec<_>>(),
        vec![AttendeeKind::Required, AttendeeKind::Optional]
    );
    assert_eq!(
        (review.show_as.as_str(), review.reminder_minutes),
        ("Busy", Some(15))
    );
    let holiday = &events[&format!("Company holiday{EVALUATION}")];
    assert!(holiday.all_day);
    assert_eq!(
        holiday.all_day_dates(),
        (
            NaiveDate::from_ymd_opt(2025, 9, 19).unwrap(),
            NaiveDate::from_ymd_opt(2025, 9, 19).unwrap()
        )
    );
    let series = standup.recurrence.as_ref().unwrap();
    assert_eq!(
        series.pattern,
        Pattern::Weekly {
            days: vec![Day::Monday]
        }
    );
    assert_eq!(
        series.range,
        Range::Numbered {
            start: NaiveDate::from_ymd_opt(2025, 9, 1).unwrap(),
            count: 6
        }
    );
    let utc = |m, d, h| chrono::Utc.with_ymd_and_hms(2025, m, d, h, 0, 0).unwrap();
    let starts: Vec<String> = standup
        .occurrences(utc(8, 1, 0), utc(11, 1, 0))
        .iter()
        .map(|o| o.local_start.format("%m-%d %H:%M").to_string())
        .collect();
    // The series has no zone of its own (see make_pst.py): its times are UTC.
    assert_eq!(standup.time_zone, "UTC");
    assert_eq!(
        starts,
        [
            "09-01 07:00",
            "09-08 07:00",
            "09-22 12:00",
            "09-29 07:00",
            "10-06 07:00"
        ],
        "the 15th deleted, the 22nd moved to 12:00"
    );
    assert_eq!(
        standup.exceptions[0].subject.as_deref(),
        Some("Weekly standup (afternoon)")
    );

    let ada = &contacts["Ada Lovelace"];
    let labels: Vec<&str> = ada.addresses.iter().map(|a| a.label.as_str()).collect();
    assert_eq!(labels, ["Business", "Home"]);
    assert_eq!(ada.addresses[0].city, "London");
    assert_eq!(ada.addresses[1].street, "10 Great Cumberland Place");
    assert_eq!(ada.birthday, NaiveDate::from_ymd_opt(1815, 12, 10));
    assert_eq!(
        (ada.job_title.as_str(), ada.department.as_str()),
        ("Analyst", "Research")
    );
    let photo = ada.photo.as_ref().expect("her picture");
    assert_eq!(photo.content_type, "image/png");
    assert!(photo.data.starts_with("iVBORw0KGgo"), "base64 of a PNG");
    let charles = &contacts["Charles Babbage"];
    assert_eq!(charles.addresses.len(), 1);
    assert_eq!(charles.addresses[0].label, "Other");

    // The same file again adds nothing.
    let again = import(&a, ImportFormat::Pst, &pst, &options(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!((again.imported, again.duplicates), (0, 6));
}
