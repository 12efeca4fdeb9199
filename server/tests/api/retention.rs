//! Retention over HTTP: the 58-day rule refuses a short policy while a task syncs, a dry run
//! counts what would go and what a held snapshot keeps, the purge job removes it (the owner can
//! neither open nor find it afterwards) and each step is in the audit log with its counts. The
//! task screen says what a paused task needs, and enabling it is refused until then.

use std::time::Duration;

use archive::{FolderKind, FolderSpec, NewSnapshot, PutItem, Timestamp};

use crate::helpers::{builtin, json, person, spawn_app, tested_connection, TestApp};

const ALICE: &str = "alice.martin@example.com";
const DAY: i64 = 86_400_000_000;

/// Alice's mailbox with three messages archived 100 days ago: `kept` is still in her mailbox,
/// `old` left it 90 days ago and `held` 70 days ago; a held snapshot from 80 days ago shows
/// `held` (and `kept`), not `old`.
async fn aged_mailbox(app: &TestApp) -> (i64, Vec<i64>) {
    let archive = &app.archive;
    let now = Timestamp::now();
    let archived = Timestamp(now.0 - 100 * DAY);
    let mailbox = archive
        .ensure_mailbox(&archive::NewMailbox {
            name: ALICE.into(),
            owner_address: ALICE.into(),
            display_name: "Alice Martin".into(),
        })
        .await
        .expect("mailbox");
    archive
        .upsert_folder(
            mailbox.id,
            &FolderSpec {
                source_id: "inbox".into(),
                parent_source_id: None,
                name: "Inbox".into(),
                kind: FolderKind::Inbox,
            },
            archived,
        )
        .await
        .expect("folder");
    let mut ids = Vec::new();
    for word in ["kept", "old", "held"] {
        let raw = testkit::mime::Mail::new(&format!("{word} quarterly figures"))
            .from("Dana Lee <dana@example.org>")
            .to(ALICE)
            .date("Mon, 02 Nov 2026 09:00:00 +0000")
            .message_id(&format!("<{word}@example.org>"))
            .text(&format!("The {word} numbers, marmalade."))
            .build();
        let put = archive
            .put_item(PutItem::message(mailbox.id, "inbox", word, raw, archived))
            .await
            .expect("put");
        ids.push(put.item_id());
    }
    let left = Timestamp(now.0 - 70 * DAY);
    archive
        .delete_item(mailbox.id, "old", Timestamp(now.0 - 90 * DAY))
        .await
        .expect("delete");
    archive
        .delete_item(mailbox.id, "held", left)
        .await
        .expect("delete");
    archive
        .create_snapshot(&NewSnapshot {
            mailbox_id: mailbox.id,
            taken_at: Timestamp(now.0 - 80 * DAY),
            label: "Litigation hold".into(),
            task_id: 0,
            task_name: "Staff".into(),
            created_by: "root".into(),
            hold: true,
        })
        .await
        .expect("snapshot");
    (mailbox.id, ids)
}

fn default_form(mail_days: &str) -> Vec<(&str, &str)> {
    vec![
        ("mail_days", mail_days),
        ("mail_basis", "left_source"),
        ("calendar_days", ""),
        ("calendar_basis", "left_source"),
        ("contacts_days", ""),
        ("contacts_basis", "left_source"),
    ]
}

testkit::each_backend!(retention_purges_what_is_past_its_time_and_the_58_day_rule_holds);
async fn retention_purges_what_is_past_its_time_and_the_58_day_rule_holds(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    let admin = person(
        &app,
        "root",
        &builtin(&app, access::ADMINISTRATOR).await,
        "",
    )
    .await;
    let desk = person(&app, "desk", &builtin(&app, access::HELP_DESK).await, "").await;
    let alice = app.signed_in_owner("alice", ALICE).await;
    let (_, ids) = aged_mailbox(&app).await;

    // The help desk holds no `retention`: every retention call is refused.
    for endpoint in ["retention/policy", "retention/dry_run", "retention/purges"] {
        let response = app.call_as(Some(&desk), endpoint, &[]).await;
        assert_eq!(response.status(), 403, "{endpoint}");
    }

    // Before any connection, the task screen says what sync needs and where to see to it.
    let (status, needs) = json(app.call_as(Some(&admin), "admin/prerequisites", &[]).await).await;
    assert_eq!(status, 200, "{needs}");
    assert_eq!(needs[0]["met"], true, "kept for ever by default: {needs}");
    assert_eq!(needs[1]["met"], false, "no connection yet: {needs}");
    assert_eq!(needs[1]["fix_at"], "/admin/connections");

    // A sync task on a tested connection is enabled: mail must be kept 58 days.
    let (sim, connection) = tested_connection(&app).await;
    let store = app.sync.store();
    let (_, needs) = json(app.call_as(Some(&admin), "admin/prerequisites", &[]).await).await;
    assert_eq!(needs[1]["met"], true, "{needs}");
    assert!(needs[1]["detail"]
        .as_str()
        .is_some_and(|d| d.contains("Head office")));
    // The task syncs Bruno, not Alice: a sync of Alice now would hold her mailbox and the
    // purge would (rightly) skip it.
    let task = store
        .create_task(&syncer::NewTask {
            mailboxes: vec!["bruno.keller@example.com".into()],
            runs_per_day: 1,
            ..syncer::NewTask::new("Staff", connection.id)
        })
        .await
        .expect("task");

    let (status, refused) = json(
        app.call_as(Some(&admin), "retention/set_default", &default_form("30"))
            .await,
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    let message = refused["Invalid"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("58 days") && message.contains("Staff"),
        "the refusal says why: {message}"
    );
    let (status, bad) = json(
        app.call_as(Some(&admin), "retention/set_default", &default_form("soon"))
            .await,
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(bad["Invalid"]["field"], "mail_days");

    let (status, saved) = json(
        app.call_as(Some(&admin), "retention/set_default", &default_form("60"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    let (_, policy) = json(app.call_as(Some(&admin), "retention/policy", &[]).await).await;
    assert_eq!(policy["mail"]["days"], 60, "{policy}");
    assert!(
        policy["floor"]
            .as_str()
            .is_some_and(|f| f.contains("Staff")),
        "the screen says which task needs 58 days: {policy}"
    );

    // Pausing the task and enabling it again goes through the same rule.
    let (status, _) = json(
        app.call_as(
            Some(&admin),
            "admin/set_task_enabled",
            &[("task", &task.id.to_string()), ("enabled", "false")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = json(
        app.call_as(Some(&admin), "retention/set_default", &default_form("30"))
            .await,
    )
    .await;
    assert_eq!(
        status, 200,
        "nothing needs 58 days while the task is paused"
    );
    let (status, tasks) = json(app.call_as(Some(&admin), "admin/tasks", &[]).await).await;
    assert_eq!(status, 200);
    let blocked = &tasks[0]["blocked_by"];
    assert_eq!(blocked[0]["fix_at"], "/admin/retention", "{tasks}");
    assert!(blocked[0]["detail"]
        .as_str()
        .is_some_and(|d| d.contains("30 days")));
    let (status, refused) = json(
        app.call_as(
            Some(&admin),
            "admin/set_task_enabled",
            &[("task", &task.id.to_string()), ("enabled", "true")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["Invalid"]["field"], "prerequisites");
    let (status, _) = json(
        app.call_as(Some(&admin), "retention/set_default", &default_form("60"))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let (status, enabled) = json(
        app.call_as(
            Some(&admin),
            "admin/set_task_enabled",
            &[("task", &task.id.to_string()), ("enabled", "true")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{enabled}");

    // The dry run: `old` goes, `held` is kept by the snapshot, `kept` is still in the mailbox.
    let (status, dry) = json(app.call_as(Some(&admin), "retention/dry_run", &[]).await).await;
    assert_eq!(status, 200, "{dry}");
    let mine = &dry["mailboxes"][0];
    assert_eq!(
        (mine["mail"].as_u64(), mine["held"].as_u64()),
        (Some(1), Some(1)),
        "{dry}"
    );
    assert_eq!(mine["sample"][0]["subject"], "old quarterly figures");
    for id in &ids {
        assert!(
            app.archive.item(*id).await.expect("item").is_some(),
            "a dry run removes nothing"
        );
    }

    // The purge job. Alice's mailbox is not syncing now, so it is taken.
    let (status, started) = json(
        app.call_as(Some(&admin), "retention/start_purge", &[])
            .await,
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let mut job = serde_json::Value::Null;
    for _ in 0..300 {
        let (_, jobs) = json(app.call_as(Some(&admin), "retention/purges", &[]).await).await;
        job = jobs[0].clone();
        if !matches!(job["state"].as_str(), Some("queued" | "running")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(job["state"], "done", "{job}");
    assert!(
        job["result"]
            .as_str()
            .is_some_and(|r| r.contains("1 message, 0 calendar items, 0 contacts removed")),
        "{job}"
    );
    assert!(
        app.archive.item(ids[1]).await.expect("item").is_none(),
        "old is gone"
    );
    assert!(app.archive.item(ids[0]).await.expect("item").is_some());
    assert!(app.archive.item(ids[2]).await.expect("item").is_some());

    // The owner can neither open the purged message nor find it, once the index caught up.
    let response = app
        .call_as(
            Some(&alice),
            "mail/message",
            &[("item", &ids[1].to_string())],
        )
        .await;
    assert_eq!(response.status(), 404);
    let mut found = serde_json::Value::Null;
    for _ in 0..100 {
        let (_, hits) = json(
            app.call_as(
                Some(&alice),
                "mail/search",
                &[("query", "marmalade"), ("page", "0"), ("sort", "")],
            )
            .await,
        )
        .await;
        found = hits;
        if found["total"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        found["total"], 2,
        "kept and held are found, old is not: {found}"
    );

    // Each step is in the audit log, the purge's end with what it removed.
    let entries = app
        .audit
        .list(&access::AuditFilter::default(), 200)
        .await
        .expect("audit");
    let of = |action: &str| -> Vec<String> {
        entries
            .iter()
            .filter(|e| e.action == action)
            .map(|e| e.detail.clone())
            .collect()
    };
    assert!(of("retention_changed")
        .iter()
        .any(|d| d.contains("mail 60 days")));
    assert!(of("task_changed")
        .iter()
        .any(|d| d.contains("Staff disabled")));
    assert!(
        of("purge_dry_run")
            .iter()
            .any(|d| d.contains("1 item in 1 mailbox would go; 1 item kept")),
        "{:?}",
        of("purge_dry_run")
    );
    assert!(!of("purge_started").is_empty());
    let finished = of("purge_finished");
    assert!(
        finished
            .iter()
            .any(|d| d.contains("1 message,") && d.contains("1 item kept by held snapshots")),
        "{finished:?}"
    );
    drop(sim);
}
