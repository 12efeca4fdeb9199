//! PST import against a real file and an independent reader: `enron.pst` (from the npm package
//! `pst-extractor`, installed by scripts/setup.sh) imported on both backends must give exactly
//! the messages, folders and subjects Debian's `readpst -e` finds in it; importing it again adds
//! nothing; the package's OST files and a damaged PST are refused with a sentence naming the
//! file and what it is.

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

    let mut calls = 0;
    let summary = import(&a, ImportFormat::Pst, &pst, &options(), &mut |_| calls += 1)
        .await
        .unwrap();
    assert!(calls > 0, "progress is reported");
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
