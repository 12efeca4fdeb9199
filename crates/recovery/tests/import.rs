//! Import jobs on both backends: the job's heartbeat never waits on the import's own writes.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use archive::*;
use jobs::{JobState, Jobs};
use recovery::{ImportReport, ImportRequest, Importer, Worker};

const MESSAGES: usize = 400;

fn mbox() -> Vec<u8> {
    let mut out = Vec::new();
    for n in 0..MESSAGES {
        out.extend_from_slice(b"From bruno@example.com Tue Oct  6 09:30:00 2026\n");
        out.extend_from_slice(
            &testkit::mime::Mail::new(&format!("Note {n}"))
                .from("bruno@example.com")
                .to("alice@example.com")
                .date("Tue, 06 Oct 2026 09:30:00 +0200")
                .message_id(&format!("<note.{n}@test>"))
                .text(&format!("Body of note {n}"))
                .build(),
        );
        out.extend_from_slice(b"\n");
    }
    out
}

// The import writes in transactions that span many awaits. Before, the heartbeat was awaited
// in the same task: when a beat came while the import sat inside a transaction, the beat waited
// on that transaction's lock (SQLite's one writer) until the busy timeout, and the job failed
// with its import half done. A beat every millisecond meets the import's writes at every turn.
testkit::each_backend!(a_frequent_heartbeat_never_waits_on_the_imports_writes);
async fn a_frequent_heartbeat_never_waits_on_the_imports_writes(kit: &testkit::TestDb) {
    let archive = Archive::new(
        kit.db.clone(),
        Blobs::local(kit.dir().join("blobs"), None).unwrap(),
    );
    let jobs = Jobs::new(kit.db.clone());
    let folder = kit.dir().join("import");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("notes.mbox"), mbox()).unwrap();
    let importer =
        Importer::new(archive.clone(), jobs.clone(), folder).with_beat(Duration::from_millis(1));
    let exporter = recovery::Exporter::new(
        archive.clone(),
        jobs.clone(),
        kit.dir().join("exports"),
        1 << 20,
    );
    let worker = Worker::new("test", exporter).with_importer(importer.clone());

    let job = importer
        .enqueue(
            &ImportRequest {
                file: "notes.mbox".into(),
                mailbox: "alice@example.com".into(),
                owner: String::new(),
            },
            "root",
        )
        .await
        .unwrap();
    let ended = worker.run_this(job.id).await.unwrap().unwrap();
    assert_eq!(ended.state, JobState::Done, "{ended:?}");
    let report = ImportReport::of(&ended).unwrap();
    assert_eq!(report.imported, MESSAGES as u64, "{report:?}");
    let mailbox = archive
        .mailbox_by_name("alice@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        archive.count_items(Some(mailbox.id)).await.unwrap(),
        MESSAGES as i64
    );
}
