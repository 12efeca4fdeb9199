//! The admin area over HTTP: refusals for everyone but administrators, and a connection and a
//! sync task taken from creation to archived mail against the built-in simulator.

use std::time::Duration;

use crate::helpers::{session_cookie, spawn_app, TestApp};

async fn admin_cookie(app: &TestApp) -> String {
    let root = app
        .accounts
        .create_user("root", "Root", Some("correct horse"))
        .await
        .expect("admin");
    app.roles
        .assign_builtin(root.id, access::ADMINISTRATOR)
        .await
        .expect("role");
    let response = app
        .call(
            "sign_in",
            &[("username", "root"), ("password", "correct horse")],
        )
        .await;
    session_cookie(&response).expect("signed in")
}

async fn json(response: reqwest::Response) -> serde_json::Value {
    let status = response.status();
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: {text}: {e}"))
}

/// A change that was made: HTTP 200 with a sentence for the person.
async fn done(response: reqwest::Response) -> serde_json::Value {
    let status = response.status();
    let body = json(response).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["message"].is_string(), "{body}");
    body
}

/// A refusal: its HTTP status and the wire error (`{"Invalid": {"field": .., "message": ..}}`).
async fn refused(response: reqwest::Response, status: u16) -> serde_json::Value {
    let actual = response.status();
    let body = json(response).await;
    assert_eq!(actual, status, "{body}");
    body
}

const ADMIN_CALLS: &[(&str, &[(&str, &str)])] = &[
    ("admin/connections", &[]),
    (
        "admin/create_connection",
        &[
            ("name", "x"),
            ("kind", "ews"),
            ("url", "https://mail.example.com/EWS/Exchange.asmx"),
            ("username", "svc@example.com"),
            ("tenant_id", ""),
            ("client_id", ""),
            ("secret", "pw"),
        ],
    ),
    ("admin/delete_connection", &[("id", "1")]),
    ("admin/test_connection", &[("id", "1")]),
    ("admin/tasks", &[]),
    (
        "admin/create_task",
        &[
            ("name", "t"),
            ("connection", "1"),
            ("mailboxes", "a@example.com"),
            ("mail", "on"),
            ("runs_per_day", "4"),
        ],
    ),
    (
        "admin/add_task_mailboxes",
        &[("task", "1"), ("mailboxes", "b@example.com")],
    ),
    (
        "admin/remove_task_mailbox",
        &[("task", "1"), ("address", "a@example.com")],
    ),
    ("admin/delete_task", &[("task", "1")]),
    ("admin/sync_now", &[("task", "1")]),
    (
        "admin/history",
        &[("task", "1"), ("address", "a@example.com")],
    ),
];

testkit::each_backend!(every_admin_call_is_refused_to_end_users_and_strangers);
async fn every_admin_call_is_refused_to_end_users_and_strangers(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    let user = app.signed_in_owner("alice", "alice@example.com").await;
    for (endpoint, form) in ADMIN_CALLS {
        let as_user = app.call_as(Some(&user), endpoint, form).await;
        assert_eq!(as_user.status(), 403, "{endpoint} as an end user");
        let anonymous = app.call_as(None, endpoint, form).await;
        assert_eq!(anonymous.status(), 401, "{endpoint} signed out");
    }
    // Nothing was created by the refused calls.
    let admin = admin_cookie(&app).await;
    let connections = json(app.call_as(Some(&admin), "admin/connections", &[]).await).await;
    assert_eq!(connections, serde_json::json!([]));
}

testkit::each_backend!(an_admin_connects_exchange_and_a_task_fills_the_archive);
async fn an_admin_connects_exchange_and_a_task_fills_the_archive(kit: &testkit::TestDb) {
    let sim = exchange_sim::start(exchange_sim::SimConfig::for_tests())
        .await
        .expect("simulator");
    let defaults = exchange_sim::SimConfig::for_tests();
    let app = spawn_app(kit).await;
    let admin = admin_cookie(&app).await;
    let alice = app
        .signed_in_owner("alice", "alice.martin@example.com")
        .await;

    // A wrong password is stored, and the test says exactly what is wrong.
    let ews_url = sim.ews_url();
    let created = done(
        app.call_as(
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
        .await,
    )
    .await;
    assert!(created["message"]
        .as_str()
        .is_some_and(|m| m.contains("Head office")));
    let list = json(app.call_as(Some(&admin), "admin/connections", &[]).await).await;
    assert_eq!(list[0]["has_secret"], true);
    assert!(
        !list.to_string().contains(&defaults.service_password),
        "the secret never goes back to the browser: {list}"
    );
    let id = list[0]["id"].to_string();

    let test = json(
        app.call_as(
            Some(&admin),
            "admin/test_connection",
            &[("id", &id), ("mailbox", "alice.martin@example.com")],
        )
        .await,
    )
    .await;
    assert_eq!(test["ok"], true, "{test}");

    // Invalid input is explained, not stored.
    let bad = refused(
        app.call_as(
            Some(&admin),
            "admin/create_task",
            &[
                ("name", "Staff"),
                ("connection", &id),
                ("mailboxes", "not-an-address"),
                ("mail", "on"),
                ("runs_per_day", "4"),
            ],
        )
        .await,
        422,
    )
    .await;
    assert_eq!(bad["Invalid"]["field"], "mailboxes", "{bad}");
    assert!(bad["Invalid"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("not-an-address")));
    // Nothing of the refused task was stored.
    let tasks = json(app.call_as(Some(&admin), "admin/tasks", &[]).await).await;
    assert_eq!(tasks, serde_json::json!([]));

    let task = done(
        app.call_as(
            Some(&admin),
            "admin/create_task",
            &[
                ("name", "Staff"),
                ("connection", &id),
                ("mailboxes", "alice.martin@example.com"),
                ("mail", "on"),
                ("runs_per_day", "4"),
            ],
        )
        .await,
    )
    .await;
    assert!(task["message"]
        .as_str()
        .is_some_and(|m| m.contains("1 mailbox")));
    let tasks = json(app.call_as(Some(&admin), "admin/tasks", &[]).await).await;
    let task_id = tasks[0]["id"].to_string();
    done(
        app.call_as(Some(&admin), "admin/sync_now", &[("task", &task_id)])
            .await,
    )
    .await;

    // The worker runs in the background: wait for the mailbox to turn healthy.
    let mut status = serde_json::Value::Null;
    for _ in 0..150 {
        let tasks = json(app.call_as(Some(&admin), "admin/tasks", &[]).await).await;
        status = tasks[0]["mailboxes"][0].clone();
        if status["status"] == "healthy" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status["status"], "healthy", "{status}");
    let history = json(
        app.call_as(
            Some(&admin),
            "admin/history",
            &[("task", &task_id), ("address", "alice.martin@example.com")],
        )
        .await,
    )
    .await;
    assert!(
        history[0]["counts"]
            .as_str()
            .is_some_and(|c| c.contains("new")),
        "{history}"
    );

    // Alice now finds her synced mail in the portal.
    let overview = json(app.call_as(Some(&alice), "mail/overview", &[]).await).await;
    let inbox = overview["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .find(|f| f["kind"] == "inbox")
        .cloned()
        .expect("an Inbox");
    assert!(inbox["total"].as_i64().is_some_and(|n| n > 0), "{inbox}");

    // A connection in use cannot be deleted.
    let delete = refused(
        app.call_as(Some(&admin), "admin/delete_connection", &[("id", &id)])
            .await,
        422,
    )
    .await;
    assert!(
        delete["Invalid"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("used by sync tasks")),
        "{delete}"
    );
    sim.stop().await.expect("simulator stops");
}
