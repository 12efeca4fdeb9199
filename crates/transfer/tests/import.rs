//! Legacy import against the shared corpus of real-world MIME.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use archive::*;
use common::TestArchive;
use transfer::import::{import, ImportFormat, ImportOptions, ImportSummary};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

fn options(name: &str) -> ImportOptions {
    ImportOptions::new(NewMailbox {
        name: name.into(),
        owner_address: "legacy@example.com".into(),
        display_name: name.into(),
    })
}

async fn run(
    a: &Archive,
    format: ImportFormat,
    path: &Path,
    opts: &ImportOptions,
) -> (ImportSummary, u64) {
    let mut calls = 0u64;
    let mut last = None;
    let summary = import(a, format, path, opts, &mut |p| {
        calls += 1;
        last = Some(*p);
    })
    .await
    .unwrap();
    let last = last.unwrap();
    assert_eq!(last.messages_read, summary.read);
    assert_eq!(last.bytes_read, last.bytes_total);
    (summary, calls)
}

#[tokio::test]
async fn every_corpus_message_is_imported_or_reported() {
    let ta = TestArchive::sqlite().await;
    let a = &ta.archive;
    let mut opts = options("corpus");
    opts.eml_extensions = vec!["eml".into(), "raw".into(), "golden".into()];
    opts.batch_size = 16;
    let (eml, calls) = run(a, ImportFormat::EmlFolder, &corpus(), &opts).await;
    assert!(calls > eml.read);
    // 53 .eml + 87 .raw + 23 .golden files.
    assert_eq!(eml.read, 163);
    assert_eq!(
        eml.imported + eml.duplicates + eml.failed.len() as u64,
        eml.read
    );
    assert_eq!(eml.imported, 160);
    // Byte-identical files in one folder: malformed/009 = 011, and in enmime/encode
    // parser-raw-content-text-option.raw = its .golden.
    assert_eq!(eml.duplicates, 2);
    // No header at the start (malformed/019, erroneous, bad-header-start, part-content-only):
    // not MIME, kept as raw bytes.
    assert_eq!(eml.kept_unparsed, 4);
    // part-empty.golden has no bytes at all.
    assert_eq!(eml.failed.len(), 1);
    assert!(eml.failed[0].location.ends_with("part-empty.golden"));
    assert_eq!(eml.failed[0].reason, "empty message");

    let (md, _) = run(
        a,
        ImportFormat::Maildir,
        &corpus().join("mail-parser/maildir"),
        &options("corpus-maildir"),
    )
    .await;
    assert_eq!(
        (md.read, md.imported, md.duplicates, md.failed.len()),
        (6, 6, 0, 0)
    );

    // Again: nothing new.
    let (again, _) = run(a, ImportFormat::EmlFolder, &corpus(), &opts).await;
    assert_eq!(
        (again.read, again.imported, again.duplicates),
        (eml.read, 0, eml.imported + eml.duplicates)
    );
    assert_eq!(
        a.count_items(Some(eml.mailbox_id)).await.unwrap(),
        eml.imported as i64
    );
    // Every record reads back as the file it came from.
    let tree = a.folder_tree(eml.mailbox_id, None).await.unwrap();
    let rfc = tree
        .iter()
        .find(|f| f.path == ["mail-parser", "rfc"])
        .unwrap();
    assert_eq!(rfc.total, 10);
    let page = a
        .list_folder_items(
            rfc.id,
            &ListQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut originals: Vec<Vec<u8>> = std::fs::read_dir(corpus().join("mail-parser/rfc"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let mut stored = Vec::new();
    for item in page.items {
        stored.push(a.read_raw(item.id).await.unwrap());
    }
    originals.sort();
    stored.sort();
    assert_eq!(stored, originals);
    ta.finish().await;
}

#[tokio::test]
async fn maildir_keeps_dotted_folders_and_flags() {
    let ta = TestArchive::sqlite().await;
    let a = &ta.archive;
    let (s, _) = run(
        a,
        ImportFormat::Maildir,
        &corpus().join("mail-parser/maildir"),
        &options("md"),
    )
    .await;
    let tree = a.folder_tree(s.mailbox_id, None).await.unwrap();
    let shape: Vec<(String, i64, i64)> = tree
        .iter()
        .map(|f| (f.path.join("/"), f.total, f.unread))
        .collect();
    assert_eq!(
        shape,
        vec![
            ("Inbox".to_string(), 2, 0),
            ("My Folder".to_string(), 2, 2),
            ("My Folder/Nested Folder".to_string(), 2, 2),
        ]
    );
    assert_eq!(tree[0].kind, FolderKind::Inbox);
    let nested = &tree[2];
    let page = a
        .list_folder_items(nested.id, &ListQuery::default())
        .await
        .unwrap();
    let mut flags = Vec::new();
    for item in &page.items {
        flags.push(a.item(item.id).await.unwrap().unwrap().flags);
    }
    flags.sort();
    assert_eq!(
        flags,
        vec![
            vec!["answered".to_string(), "draft".into(), "flagged".into()],
            vec!["flagged".into(), "forwarded".into()]
        ]
    );
    ta.finish().await;
}

/// Writes messages as an mboxrd file: `>`-quoting of `>*From ` lines.
fn write_mboxrd(messages: &[Vec<u8>], path: &Path) {
    let mut out = Vec::new();
    for m in messages {
        out.extend_from_slice(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2024\n");
        for line in m.split_inclusive(|&b| b == b'\n') {
            let q = line.iter().take_while(|&&b| b == b'>').count();
            if line[q..].starts_with(b"From ") {
                out.push(b'>');
            }
            out.extend_from_slice(line);
        }
        out.extend_from_slice(b"\n");
    }
    std::fs::write(path, out).unwrap();
}

#[tokio::test]
async fn mbox_round_trips_messages_and_reimport_adds_nothing() {
    let ta = TestArchive::sqlite().await;
    let a = &ta.archive;
    let mut messages: Vec<Vec<u8>> = std::fs::read_dir(corpus().join("mail-parser/thirdparty"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| std::fs::read(p).unwrap())
        .filter(|m| m.ends_with(b"\n"))
        .collect();
    messages.sort();
    messages.dedup();
    messages.push(b"Subject: quoting\n\nFrom here\n>From there\n".to_vec());
    messages.push(b"\x00\x01 not mail at all\n".to_vec());
    let path = ta.dir().join("test.mbox");
    write_mboxrd(&messages, &path);
    let mut opts = options("mbox");
    opts.root_folder = "Old Mail".into();
    let (s, _) = run(a, ImportFormat::Mbox, &path, &opts).await;
    assert_eq!(s.read, messages.len() as u64);
    assert_eq!(s.imported, messages.len() as u64);
    assert_eq!(s.kept_unparsed, 1);
    assert!(s.failed.is_empty());
    let tree = a.folder_tree(s.mailbox_id, None).await.unwrap();
    assert_eq!(tree.len(), 1);
    assert_eq!(tree[0].name, "Old Mail");
    let page = a
        .list_folder_items(
            tree[0].id,
            &ListQuery {
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut stored = Vec::new();
    for item in page.items {
        stored.push(a.read_raw(item.id).await.unwrap());
    }
    stored.sort();
    messages.sort();
    assert_eq!(stored, messages, "mboxrd quoting undone, bytes unchanged");
    let (again, _) = run(a, ImportFormat::Mbox, &path, &opts).await;
    assert_eq!(
        (again.imported, again.duplicates),
        (0, messages.len() as u64)
    );

    let bad = ta.dir().join("not.mbox");
    std::fs::write(&bad, b"Subject: x\n\nnot an mbox\n").unwrap();
    let (s, _) = run(a, ImportFormat::Mbox, &bad, &opts).await;
    assert_eq!(s.imported, 0);
    assert_eq!(s.failed.len(), 1);
    assert!(s.failed[0].reason.contains("not an mbox"), "{:?}", s.failed);
    ta.finish().await;
}

/// Every item of the archive by subject: its date (seconds) and where the date came from.
async fn dates_by_subject(a: &Archive) -> std::collections::BTreeMap<String, (i64, DateSource)> {
    a.changes_since(ChangeCursor::default(), 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.item.subject.clone(),
                (r.item.date.unix_seconds(), r.item.date_source.unwrap()),
            )
        })
        .collect()
}

/// A message is never dated at import time when anything says when it was written: its own
/// Date (read however broken), the newest Received header, the mbox From line, the file's time.
#[tokio::test]
async fn undated_messages_take_the_best_date_there_is() {
    let ta = TestArchive::sqlite().await;
    let a = &ta.archive;
    let mbox = ta.dir().join("dates.mbox");
    std::fs::write(
        &mbox,
        "From a@example.com Mon Jul  3 00:47:50 2001\nSubject: undated\n\nno date here\n\n\
         From b@example.com Tue Jul  4 10:00:00 2001\n\
         Received: from x by y; Thu, 5 Jul 2001 08:00:00 +0000\nDate: someday\nSubject: received\n\nx\n\n\
         From c@example.com Tue Jul  4 10:00:00 2001\n\
         Date: 03 Jul 01 12:47:50 AM\nFrom: Amy <amy@example.com>\nSubject: meridiem\n\nx\n",
    )
    .unwrap();
    run(a, ImportFormat::Mbox, &mbox, &options("dates")).await;

    let maildir = ta.dir().join("md");
    std::fs::create_dir_all(maildir.join("cur")).unwrap();
    std::fs::create_dir_all(maildir.join("new")).unwrap();
    let file = maildir.join("cur").join("1041379200.1.host:2,S");
    std::fs::write(&file, "Subject: from a file\n\nx\n").unwrap();
    let written = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_041_379_200);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(written)
        .unwrap();
    run(a, ImportFormat::Maildir, &maildir, &options("files")).await;

    let dates = dates_by_subject(a).await;
    assert_eq!(dates["undated"], (994_121_270, DateSource::MboxFromLine));
    assert_eq!(dates["received"], (994_320_000, DateSource::Received));
    assert_eq!(
        dates["meridiem"],
        (994_121_270, DateSource::HeaderWithoutZone)
    );
    assert_eq!(dates["from a file"], (1_041_379_200, DateSource::FileTime));
    ta.finish().await;
}
