//! The explorer over HTTP against the simulator: a synced mailbox opened now and as of an
//! instant, a snapshot taken, items deleted and moved in the source, the next sync, and the
//! difference naming exactly those changes; the refusals on the way.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{session_cookie, spawn_app, TestApp};

const ALICE: &str = "alice.martin@example.com";

async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: {text}: {e}"));
    (status, value)
}

async fn ok(response: reqwest::Response) -> Value {
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn sign_in(app: &TestApp, name: &str, role: &str, scope: &str) -> String {
    let user = app
        .accounts
        .create_user(name, name, Some("correct horse"))
        .await
        .expect("user");
    let role = app.roles.by_name(role).await.expect("roles").expect("role");
    app.roles
        .assign(
            user.id,
            role.id,
            &access::Scope::parse(scope).expect("scope"),
        )
        .await
        .expect("assign");
    let response = app
        .call(
            "sign_in",
            &[("username", name), ("password", "correct horse")],
        )
        .await;
    session_cookie(&response).expect("signed in")
}

/// Runs the task now and waits until the mailbox has `runs` finished runs, healthy.
async fn sync(app: &TestApp, admin: &str, task: &str, runs: usize) {
    ok(app
        .call_as(Some(admin), "admin/sync_now", &[("task", task)])
        .await)
    .await;
    let mut history = Value::Null;
    for _ in 0..200 {
        history = ok(app
            .call_as(
                Some(admin),
                "admin/history",
                &[("task", task), ("address", ALICE)],
            )
            .await)
        .await;
        let tasks = ok(app.call_as(Some(admin), "admin/tasks", &[]).await).await;
        let idle = tasks[0]["mailboxes"][0]["running"] == false;
        if idle && history.as_array().is_some_and(|h| h.len() >= runs) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {runs} runs: {history}");
}

fn folder<'a>(overview: &'a Value, kind: &str) -> &'a Value {
    overview["overview"]["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .find(|f| f["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {overview}"))
}

testkit::each_backend!(a_snapshot_compared_with_now_names_what_the_source_deleted_and_moved);
async fn a_snapshot_compared_with_now_names_what_the_source_deleted_and_moved(
    kit: &testkit::TestDb,
) {
    let sim = exchange_sim::start(exchange_sim::SimConfig::for_tests())
        .await
        .expect("simulator");
    let defaults = exchange_sim::SimConfig::for_tests();
    let app = spawn_app(kit).await;
    let admin = sign_in(&app, "root", access::ADMINISTRATOR, "").await;
    let desk = sign_in(&app, "desk", access::HELP_DESK, "").await;
    let branch = sign_in(&app, "branch", access::HELP_DESK, "branch.example.com").await;

    let ews_url = sim.ews_url();
    ok(app
        .call_as(
            Some(&admin),
            "admin/create_connection",
            &[
                ("name", "Head office"),
                ("kind", "ews"),
                ("url", &ews_url),
                ("username", &defaults.service_account),
                ("tenant_id", ""),
                ("client_id", ""),
                ("secret", &defaults.service_password),
            ],
        )
        .await)
    .await;
    let connections = ok(app.call_as(Some(&admin), "admin/connections", &[]).await).await;
    let connection = connections[0]["id"].to_string();
    ok(app
        .call_as(
            Some(&admin),
            "admin/create_task",
            &[
                ("name", "Staff"),
                ("connection", &connection),
                ("mailboxes", ALICE),
                ("mail", "on"),
                ("runs_per_day", "4"),
            ],
        )
        .await)
    .await;
    let tasks = ok(app.call_as(Some(&admin), "admin/tasks", &[]).await).await;
    let task = tasks[0]["id"].to_string();
    sync(&app, &admin, &task, 1).await;

    // The explorer lists the mailbox with its sync, for those whose scope reaches it.
    let list = ok(app.call_as(Some(&admin), "explorer/mailboxes", &[]).await).await;
    let entry = list
        .as_array()
        .expect("list")
        .iter()
        .find(|m| m["owner"] == ALICE)
        .cloned()
        .expect("alice's mailbox");
    assert!(entry["items"].as_i64().is_some_and(|n| n > 0), "{entry}");
    assert_eq!(entry["syncs"][0]["task"], "Staff");
    assert_eq!(entry["syncs"][0]["status"], "healthy");
    let scoped = ok(app.call_as(Some(&branch), "explorer/mailboxes", &[]).await).await;
    assert_eq!(
        scoped,
        serde_json::json!([]),
        "outside the scope: not listed"
    );
    let mailbox = entry["id"].to_string();
    let mb = ("mailbox", mailbox.as_str());

    let now = ok(app.call_as(Some(&desk), "explorer/overview", &[mb]).await).await;
    let inbox_before = folder(&now, "inbox")["total"].as_i64().expect("total");
    assert!(inbox_before >= 2, "{now}");
    let inbox_id = folder(&now, "inbox")["id"].to_string();

    // A snapshot "now", made from the task that syncs the mailbox.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let made = ok(app
        .call_as(
            Some(&admin),
            "explorer/create_snapshot",
            &[
                mb,
                ("task", &task),
                ("at", ""),
                ("label", "Before the clean-up"),
                ("hold", "on"),
            ],
        )
        .await)
    .await;
    assert!(made["message"].as_str().is_some_and(|m| m.contains("held")));
    let screen = ok(app.call_as(Some(&admin), "explorer/snapshots", &[mb]).await).await;
    let snapshot = &screen["snapshots"][0];
    assert_eq!(snapshot["label"], "Before the clean-up");
    assert_eq!(snapshot["task"], "Staff");
    assert_eq!(snapshot["hold"], true);
    let snapshot_at = snapshot["at"].as_str().expect("at").to_owned();
    let snapshot_id = snapshot["id"].to_string();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // The source deletes one message and moves another to Deleted Items; the next sync sees it.
    let handle = sim.handle();
    let items = handle.list_items(ALICE, "inbox").expect("items");
    handle.delete_item(ALICE, items[0]).expect("delete");
    handle
        .move_item(ALICE, items[1], "deleteditems")
        .expect("move");
    sync(&app, &admin, &task, 2).await;

    let diff = ok(app
        .call_as(
            Some(&admin),
            "explorer/compare",
            &[mb, ("from", &snapshot_at)],
        )
        .await)
    .await;
    let count = |kind: &str| {
        diff["counts"]
            .as_array()
            .expect("counts")
            .iter()
            .find(|c| c["kind"] == kind)
            .and_then(|c| c["count"].as_u64())
            .unwrap_or(0)
    };
    assert_eq!(
        (
            count("deleted"),
            count("moved"),
            count("added"),
            count("read_changed")
        ),
        (1, 1, 0, 0),
        "{diff}"
    );
    let moved = diff["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["kind"] == "moved")
        .cloned()
        .expect("a moved row");
    assert_eq!(moved["from_folder"], "Inbox", "{moved}");
    assert_eq!(moved["to_folder"], "Deleted Items", "{moved}");
    assert!(
        moved["observed"]
            .as_str()
            .is_some_and(|o| o.starts_with("Between the syncs of")),
        "{moved}"
    );
    // Filtered by kind and by folder.
    let only_deleted = ok(app
        .call_as(
            Some(&admin),
            "explorer/compare",
            &[mb, ("from", &snapshot_at), ("kinds", "deleted")],
        )
        .await)
    .await;
    assert_eq!(only_deleted["matching"], 1);
    assert_eq!(only_deleted["rows"][0]["kind"], "deleted");
    let in_inbox = ok(app
        .call_as(
            Some(&admin),
            "explorer/compare",
            &[mb, ("from", &snapshot_at), ("folder", &inbox_id)],
        )
        .await)
    .await;
    assert_eq!(in_inbox["matching"], 2, "both left the Inbox");

    // The snapshot's instant still shows the Inbox as it was; now shows it without the two.
    let then = ok(app
        .call_as(
            Some(&desk),
            "explorer/overview",
            &[mb, ("at", &snapshot_at)],
        )
        .await)
    .await;
    assert_eq!(folder(&then, "inbox")["total"], inbox_before);
    assert!(then["instant"]["precision"]
        .as_str()
        .is_some_and(|p| p.starts_with("As seen by the sync of")));
    let list_then = ok(app
        .call_as(
            Some(&desk),
            "explorer/messages",
            &[
                mb,
                ("folder", &inbox_id),
                ("sort", ""),
                ("at", &snapshot_at),
            ],
        )
        .await)
    .await;
    assert_eq!(
        list_then["rows"].as_array().map(Vec::len),
        Some(inbox_before as usize)
    );
    let now = ok(app.call_as(Some(&desk), "explorer/overview", &[mb]).await).await;
    assert_eq!(folder(&now, "inbox")["total"], inbox_before - 2);

    // "Everything deleted since the snapshot" becomes a selection for export and restore.
    let selected = ok(app
        .call_as(
            Some(&admin),
            "explorer/select_deleted",
            &[
                mb,
                ("from", &snapshot_at),
                ("label", "Deleted after the snapshot"),
            ],
        )
        .await)
    .await;
    assert!(
        selected["message"]
            .as_str()
            .is_some_and(|m| m.contains("1 item")),
        "{selected}"
    );
    let screen = ok(app.call_as(Some(&admin), "explorer/snapshots", &[mb]).await).await;
    assert_eq!(screen["selections"][0]["items"], 1);

    // Refusals: a future instant, a malformed one, a snapshot before the first sync, a held
    // snapshot deleted, a mailbox outside the scope, a caller without the permission.
    let (status, body) = json(
        app.call_as(
            Some(&desk),
            "explorer/overview",
            &[mb, ("at", "2999-01-01T00:00")],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, &body["Invalid"]["field"]),
        (422, &Value::from("at"))
    );
    let (status, _) = json(
        app.call_as(Some(&desk), "explorer/overview", &[mb, ("at", "last week")])
            .await,
    )
    .await;
    assert_eq!(status, 422);
    let early = ok(app
        .call_as(
            Some(&desk),
            "explorer/overview",
            &[mb, ("at", "2001-01-01T00:00")],
        )
        .await)
    .await;
    assert_eq!(early["instant"]["before_first_sync"], true);
    assert_eq!(early["overview"]["folders"], serde_json::json!([]));
    let (status, body) = json(
        app.call_as(
            Some(&admin),
            "explorer/create_snapshot",
            &[
                mb,
                ("task", &task),
                ("at", "2001-01-01T00:00"),
                ("label", "x"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, &body["Invalid"]["field"]),
        (422, &Value::from("at"))
    );
    let (status, body) = json(
        app.call_as(
            Some(&admin),
            "explorer/delete_snapshot",
            &[("id", &snapshot_id)],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, &body["Invalid"]["field"]),
        (422, &Value::from("hold"))
    );
    let (status, _) = json(app.call_as(Some(&branch), "explorer/overview", &[mb]).await).await;
    assert_eq!(status, 404, "outside the scope is not found");
    let (status, _) = json(
        app.call_as(
            Some(&desk),
            "explorer/compare",
            &[mb, ("from", &snapshot_at)],
        )
        .await,
    )
    .await;
    assert_eq!(status, 403, "the help desk has no snapshot permission");

    // Every look at alice's mailbox is in the audit log.
    let audit = app.audit.list(&access::AuditFilter::default(), 1000).await;
    let actions: Vec<String> = audit
        .expect("audit")
        .iter()
        .map(|e| e.action.as_str().to_owned())
        .collect();
    for wanted in [
        "mailbox_opened",
        "snapshot_created",
        "mailbox_compared",
        "selection_created",
    ] {
        assert!(
            actions.iter().any(|a| a == wanted),
            "{wanted} in {actions:?}"
        );
    }
    sim.stop().await.expect("simulator stops");
}
