//! Purge jobs on both backends: a mailbox whose sync is running is left alone (and said so in
//! the report), the next purge takes it; while a purge holds a mailbox no sync worker can claim
//! it; a cancelled purge keeps what it removed and stops.
#![allow(clippy::unwrap_used)]

use archive::*;
use jobs::{JobState, Jobs};
use recovery::{PurgeRequest, PurgeSummary, Purger, Worker};

const DAY: i64 = 86_400_000_000;
const KEY: [u8; 32] = [7; 32];

fn mail(subject: &str) -> Vec<u8> {
    testkit::mime::Mail::new(subject)
        .from("bruno@example.com")
        .to("alice@example.com")
        .date("Tue, 06 Oct 2026 09:30:00 +0200")
        .message_id(&format!("<{}@test>", subject.replace(' ', ".")))
        .text("body")
        .build()
}

testkit::each_backend!(a_purge_leaves_a_syncing_mailbox_alone_and_takes_it_next_time);
async fn a_purge_leaves_a_syncing_mailbox_alone_and_takes_it_next_time(kit: &testkit::TestDb) {
    let archive = Archive::new(
        kit.db.clone(),
        Blobs::local(kit.dir().join("blobs"), None).unwrap(),
    );
    let sync = syncer::SyncStore::new(kit.db.clone(), KEY);
    let jobs = Jobs::new(kit.db.clone());
    let exporter = recovery::Exporter::new(
        archive.clone(),
        jobs.clone(),
        kit.dir().join("exports"),
        1 << 20,
    );
    let purger = Purger::new(archive.clone(), jobs.clone(), sync.clone());
    let worker = Worker::new("test", exporter).with_purger(purger.clone());

    let mailbox = archive
        .ensure_mailbox(&NewMailbox {
            name: "alice@example.com".into(),
            owner_address: "alice@example.com".into(),
            display_name: "Alice".into(),
        })
        .await
        .unwrap();
    let now = Timestamp::now();
    archive
        .upsert_folder(
            mailbox.id,
            &FolderSpec {
                source_id: "inbox".into(),
                parent_source_id: None,
                name: "Inbox".into(),
                kind: FolderKind::Inbox,
            },
            Timestamp(now.0 - 100 * DAY),
        )
        .await
        .unwrap();
    for n in 0..3 {
        archive
            .put_item(PutItem {
                mailbox_id: mailbox.id,
                folder_source_id: "inbox".into(),
                source_id: format!("S{n}"),
                kind: ItemKind::Message,
                raw: mail(&format!("Old {n}")),
                is_read: true,
                flags: Vec::new(),
                meta: None,
                properties: None,
                fallback_date: None,
                at: Timestamp(now.0 - 100 * DAY),
            })
            .await
            .unwrap();
        archive
            .delete_item(mailbox.id, &format!("S{n}"), Timestamp(now.0 - 90 * DAY))
            .await
            .unwrap();
    }
    let mut rules = KindRules::FOREVER;
    rules.mail = KeepRule::days(60, RetentionBasis::LeftSource);
    archive
        .set_retention(&RetentionChange::Default(rules), "admin", &sync)
        .await
        .unwrap();

    // A task syncs Alice; a worker of another node holds her mailbox's lease right now.
    let connection = sync
        .create_connection(&syncer::NewConnection {
            name: "Head office".into(),
            settings: syncer::ConnectionSettings::Ews {
                url: "https://mail.example.com/EWS/Exchange.asmx".into(),
                username: "svc@example.com".into(),
            },
            secret: "pw".into(),
        })
        .await
        .unwrap();
    sync.create_task(&syncer::NewTask {
        enabled: false,
        mailboxes: vec!["alice@example.com".into()],
        ..syncer::NewTask::new("Staff", connection.id)
    })
    .await
    .unwrap();
    sqlx::query(
        "UPDATE sync_task_mailboxes SET archive_mailbox_id = $1, claimed_until = $2, claimed_by = 'node-b'",
    )
    .bind(mailbox.id)
    .bind(now.0 + 600_000_000)
    .execute(&kit.db.pool)
    .await
    .unwrap();

    let job = purger
        .enqueue(&PurgeRequest::default(), "admin")
        .await
        .unwrap();
    let ended = worker.run_this(job.id).await.unwrap().unwrap();
    assert_eq!(ended.state, JobState::Done, "{ended:?}");
    let summary = PurgeSummary::of(&ended).unwrap();
    assert_eq!(summary.mailboxes_busy, ["alice@example.com"]);
    assert_eq!(summary.removed.items(), 0);
    assert_eq!(
        archive.count_items(Some(mailbox.id)).await.unwrap(),
        3,
        "nothing removed"
    );
    assert!(summary
        .describe()
        .contains("skipped while syncing: alice@example.com"));

    // While a purge holds the mailbox, the sync worker's claim is refused, and the other way
    // round; released, it is free again.
    sqlx::query("UPDATE sync_task_mailboxes SET claimed_until = NULL, claimed_by = NULL")
        .execute(&kit.db.pool)
        .await
        .unwrap();
    let until = Timestamp(now.0 + 600_000_000);
    assert!(sync
        .hold_mailbox(mailbox.id, "purge:1", until)
        .await
        .unwrap());
    assert!(!sync
        .hold_mailbox(mailbox.id, "purge:2", until)
        .await
        .unwrap());
    sync.release_mailbox(mailbox.id, "purge:1").await.unwrap();
    let holders: Vec<Option<String>> =
        sqlx::query_scalar("SELECT claimed_by FROM sync_task_mailboxes")
            .fetch_all(&kit.db.pool)
            .await
            .unwrap();
    assert_eq!(holders, [None], "released");

    // The next purge takes the mailbox and gives it back.
    let job = purger
        .enqueue(&PurgeRequest::default(), "admin")
        .await
        .unwrap();
    let ended = worker.run_this(job.id).await.unwrap().unwrap();
    let summary = PurgeSummary::of(&ended).unwrap();
    assert_eq!(
        (summary.removed.mail, summary.mailboxes_purged),
        (3, 1),
        "{summary:?}"
    );
    assert_eq!(summary.blobs_deleted, 3);
    assert_eq!(archive.count_items(Some(mailbox.id)).await.unwrap(), 0);
    let holders: Vec<Option<String>> =
        sqlx::query_scalar("SELECT claimed_by FROM sync_task_mailboxes")
            .fetch_all(&kit.db.pool)
            .await
            .unwrap();
    assert_eq!(holders, [None], "given back to the sync workers");
    let report = jobs.outcomes(job.id, None, 0, 10).await.unwrap();
    assert!(
        report
            .iter()
            .any(|o| o.outcome.detail.contains("3 messages")),
        "{report:?}"
    );
}
