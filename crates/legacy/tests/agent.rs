//! The legacy agent as the real one submits, on both backends: tokens (hashed, revocable),
//! folders and messages mapped onto content already archived by Internet-Message-Id, repeats
//! that change nothing, malformed submissions refused with every problem counted, and the
//! one-way migration, after which submissions are ignored and counted while the folder views
//! stay exactly as they were.
#![allow(clippy::unwrap_used)]

use archive::*;
use legacy::{Legacy, Submission};
use serde_json::json;

const KEY: [u8; 32] = [9; 32];
const ALICE: &str = "alice@example.com";

/// Submits like the real agent: a JSON body with its own submission ids.
struct FakeAgent {
    token: String,
    sent: u32,
}

impl FakeAgent {
    async fn submit(&mut self, legacy: &Legacy, body: serde_json::Value) -> legacy::Receipt {
        self.sent += 1;
        let bytes = serde_json::to_vec(&body).unwrap();
        let submission = Submission::parse(&bytes).unwrap();
        let agent = legacy
            .agents()
            .authenticate(&self.token)
            .await
            .unwrap()
            .unwrap();
        legacy.submit(&agent, &submission).await.unwrap()
    }
}

fn tree_and_messages(id: &str) -> serde_json::Value {
    json!({
        "submission_id": id,
        "mailbox": "Alice@Example.com",
        "folders": [
            {"id": "f1", "name": "Inbox"},
            {"id": "f2", "parent_id": "f1", "name": "Projects"},
            {"id": "f3", "name": "Archive 2019"}
        ],
        "messages": [
            {"folder_id": "f1", "internet_message_id": "<m1@example.org>", "received_at": "2019-03-01T10:00:00Z", "size": 1200, "is_read": true},
            {"folder_id": "f2", "internet_message_id": "<m2@example.org>", "sent_at": "2019-03-02T10:00:00+01:00", "is_read": false},
            {"folder_id": "f3", "internet_message_id": "m3@example.org", "is_read": true},
            {"folder_id": "f1", "internet_message_id": "<not-ingested@example.org>", "is_read": false}
        ]
    })
}

/// Where each item is now: (subject, folder path, read).
async fn placement(a: &Archive, mailbox: MailboxId) -> Vec<(String, String, bool)> {
    let tree = a.folder_tree(mailbox, None).await.unwrap();
    let mut out = Vec::new();
    for folder in &tree {
        let page = a
            .list_folder_items(folder.id, &ListQuery::default())
            .await
            .unwrap();
        for item in page.items {
            out.push((item.subject.clone(), folder.path.join("/"), item.is_read));
        }
    }
    out.sort();
    out
}

testkit::each_backend!(the_agent_maps_folders_until_the_user_is_migrated);
async fn the_agent_maps_folders_until_the_user_is_migrated(kit: &testkit::TestDb) {
    let a = Archive::new(
        kit.db.clone(),
        Blobs::local(kit.dir().join("blobs"), None).unwrap(),
    );
    let sync = syncer::SyncStore::new(kit.db.clone(), KEY);
    let legacy = Legacy::new(a.clone(), sync.clone());

    // Alice's legacy mail, ingested by an mbox import: all in one folder, unread.
    let m = a
        .ensure_mailbox(&NewMailbox {
            name: ALICE.into(),
            owner_address: ALICE.into(),
            display_name: "Alice".into(),
        })
        .await
        .unwrap()
        .id;
    let import = FolderSpec {
        source_id: "import:legacy.mbox".into(),
        parent_source_id: None,
        name: "legacy.mbox".into(),
        kind: FolderKind::Other,
    };
    a.upsert_folder(m, &import, Timestamp::now()).await.unwrap();
    for n in 1..=3 {
        let raw = testkit::mime::Mail::new(&format!("Message {n}"))
            .from("bob@example.org")
            .to(ALICE)
            .date("Fri, 01 Mar 2019 10:00:00 +0000")
            .message_id(&format!("<m{n}@example.org>"))
            .text("legacy")
            .build();
        a.put_item(PutItem::message(
            m,
            &import.source_id,
            &format!("mbox:{n}"),
            raw,
            Timestamp::now(),
        ))
        .await
        .unwrap();
    }

    // Tokens: shown once, stored hashed, revocable.
    let made = legacy.agents().create("exchange-01", "root").await.unwrap();
    assert!(made.token.starts_with("srla_"));
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM legacy_agents")
        .fetch_one(&kit.db.pool)
        .await
        .unwrap();
    assert!(!stored.contains(&made.token[5..]), "only a hash is kept");
    assert!(legacy
        .agents()
        .authenticate("srla_nope")
        .await
        .unwrap()
        .is_none());
    assert!(
        legacy.agents().create("exchange-01", "root").await.is_err(),
        "names are unique"
    );
    let mut agent = FakeAgent {
        token: made.token.clone(),
        sent: 0,
    };

    let receipt = agent.submit(&legacy, tree_and_messages("s-1")).await;
    assert_eq!(
        (
            receipt.folders,
            receipt.messages,
            receipt.placed,
            receipt.unmatched
        ),
        (3, 4, 3, 1),
        "{receipt:?}"
    );
    assert!(!receipt.duplicate && !receipt.ignored);
    assert_eq!(
        placement(&a, m).await,
        vec![
            ("Message 1".to_owned(), "Inbox".to_owned(), true),
            ("Message 2".to_owned(), "Inbox/Projects".to_owned(), false),
            ("Message 3".to_owned(), "Archive 2019".to_owned(), true),
        ]
    );
    let intervals = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM archive_memberships")
            .fetch_one(&kit.db.pool)
            .await
            .unwrap()
    };
    let before_repeat = intervals().await;

    // The same submission again, and the same content under a new id: nothing moves.
    let again = agent.submit(&legacy, tree_and_messages("s-1")).await;
    assert!(again.duplicate);
    assert_eq!(again.placed, 3);
    let same = agent.submit(&legacy, tree_and_messages("s-2")).await;
    assert!(!same.duplicate);
    assert_eq!(intervals().await, before_repeat, "no membership changed");
    let state = legacy.mailbox(ALICE).await.unwrap().unwrap();
    assert_eq!(state.submissions, 2, "a repeat is not counted");

    // Malformed: refused whole, every problem counted, nothing used.
    let bad = json!({
        "submission_id": "",
        "mailbox": "not an address",
        "folders": [{"id": "f1", "name": ""}, {"id": "f1", "name": "Twice"}],
        "messages": [{"folder_id": "nowhere", "internet_message_id": " ", "sent_at": "yesterday"}]
    });
    let refusal = Submission::parse(&serde_json::to_vec(&bad).unwrap()).unwrap_err();
    assert_eq!(refusal.count, 7, "{refusal:?}");
    assert_eq!(refusal.problems.len(), 7);
    assert!(refusal.message.contains("7 problems"));
    assert!(Submission::parse(b"{not json").is_err());
    assert!(Submission::parse(br#"{"submission_id":"x","mailbox":"a@b.c","extra":1}"#).is_err());

    // A sync state exists: migration forgets it so the next sync lists everything again.
    sqlx::query("INSERT INTO sync_states (mailbox_id, state_key, state, updated_at) VALUES ($1, 'ews/folders', 'H4sI', 0)")
        .bind(m)
        .execute(&kit.db.pool)
        .await
        .unwrap();
    let tree_before = a.folder_tree(m, None).await.unwrap();
    let placed_before = placement(&a, m).await;
    assert!(legacy.migrate(&[ALICE.into()], "root").await.is_ok());
    let done = legacy
        .migrate(&["ALICE@example.com".into()], "root")
        .await
        .unwrap();
    assert!(done[0].already, "migrating twice changes nothing");
    assert_eq!(
        a.folder_tree(m, None).await.unwrap(),
        tree_before,
        "the folder tree is as it was"
    );
    assert_eq!(
        placement(&a, m).await,
        placed_before,
        "and so is every membership"
    );
    let states: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sync_states WHERE mailbox_id = $1")
        .bind(m)
        .fetch_one(&kit.db.pool)
        .await
        .unwrap();
    assert_eq!(states, 0);
    assert!(legacy.roll_back(ALICE).is_err(), "no way back");

    // Later submissions are ignored and counted; their repeats are not counted twice.
    let mut moved = tree_and_messages("s-3");
    moved["messages"][0]["folder_id"] = json!("f3");
    let ignored = agent.submit(&legacy, moved.clone()).await;
    assert!(ignored.ignored, "{ignored:?}");
    assert_eq!(ignored.placed, 0);
    assert!(agent.submit(&legacy, moved).await.duplicate);
    let state = legacy.mailbox(ALICE).await.unwrap().unwrap();
    assert_eq!((state.ignored, state.submissions), (1, 2));
    assert!(state.last_ignored_at.is_some());
    assert_eq!(
        placement(&a, m).await,
        placed_before,
        "an ignored submission moves nothing"
    );

    // A revoked token opens nothing.
    legacy.agents().revoke(made.agent.id).await.unwrap();
    assert!(legacy
        .agents()
        .authenticate(&made.token)
        .await
        .unwrap()
        .is_none());
    assert_eq!(agent.sent, 5);
}
