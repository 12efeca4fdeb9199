//! The legacy agents' endpoint over HTTP, and the migration screen's calls: a token proves the
//! agent (a session does not), malformed and oversized submissions get a clear refusal with a
//! count, a repeat answers its first receipt, and after the one-way migration the user's
//! submissions are ignored and the count shows.

use crate::helpers::{builtin, json, person, spawn_app, TestApp};

const ALICE: &str = "alice@example.com";

async fn submit(app: &TestApp, token: Option<&str>, body: Vec<u8>) -> (u16, serde_json::Value) {
    let mut request = app
        .client
        .post(format!("{}/legacy/v1/submissions", app.address))
        .header("Content-Type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    json(request.send().await.expect("request")).await
}

fn submission(id: &str, folder: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "submission_id": id,
        "mailbox": ALICE,
        "folders": [{"id": "f1", "name": folder}],
        "messages": [
            {"folder_id": "f1", "internet_message_id": "<quince-inbox@example.org>", "is_read": true},
            {"folder_id": "f1", "internet_message_id": "<never-archived@example.org>"}
        ]
    }))
    .expect("json")
}

testkit::each_backend!(agents_submit_with_a_token_until_their_user_is_migrated);
async fn agents_submit_with_a_token_until_their_user_is_migrated(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    let admin = person(
        &app,
        "root",
        &builtin(&app, access::ADMINISTRATOR).await,
        "",
    )
    .await;
    // The seeded message ids are <quince-inbox@example.org> and <quince-projects@example.org>.
    app.mailbox_with_mail(ALICE, "quince").await;

    let (status, made) = json(
        app.call_as(
            Some(&admin),
            "legacy/create_agent",
            &[("name", "exchange-01")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{made}");
    let token = made["token"].as_str().expect("token").to_owned();

    // No token, a wrong one, or only a session: 401, and nothing is read.
    let (status, refused) = submit(&app, None, submission("s-1", "Inbox")).await;
    assert_eq!(status, 401, "{refused}");
    assert!(refused["message"]
        .as_str()
        .is_some_and(|m| m.contains("token")));
    assert_eq!(
        submit(&app, Some("srla_wrong"), submission("s-1", "Inbox"))
            .await
            .0,
        401
    );
    let with_session = app
        .client
        .post(format!("{}/legacy/v1/submissions", app.address))
        .header("Cookie", &admin)
        .body(submission("s-1", "Inbox"))
        .send()
        .await
        .expect("request");
    assert_eq!(with_session.status(), 401);
    let get = app
        .client
        .get(format!("{}/legacy/v1/submissions", app.address))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("request");
    assert_eq!(get.status(), 405);

    // Malformed and oversized: a clear refusal with the count of problems.
    let (status, bad) = submit(
        &app,
        Some(&token),
        br#"{"submission_id":"","mailbox":"nobody","messages":[{"folder_id":"x","internet_message_id":""}]}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["count"], 4, "{bad}");
    assert!(bad["problems"].as_array().is_some_and(|p| p.len() == 4));
    let (status, _) = submit(&app, Some(&token), b"[1, 2".to_vec()).await;
    assert_eq!(status, 400);
    let huge = vec![b' '; legacy::MAX_SUBMISSION_BYTES + 10];
    let (status, too_big) = submit(&app, Some(&token), huge).await;
    assert_eq!(status, 413, "{too_big}");

    let (status, receipt) = submit(&app, Some(&token), submission("s-1", "Inbox")).await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(
        (receipt["placed"].as_u64(), receipt["unmatched"].as_u64()),
        (Some(1), Some(1))
    );
    let (_, again) = submit(&app, Some(&token), submission("s-1", "Inbox")).await;
    assert_eq!(again["duplicate"], true);

    // Migration needs the confirmation; a rollback is refused.
    let (status, _) = json(
        app.call_as(Some(&admin), "legacy/migrate", &[("addresses", ALICE)])
            .await,
    )
    .await;
    assert_eq!(status, 422);
    let (status, migrated) = json(
        app.call_as(
            Some(&admin),
            "legacy/migrate",
            &[("addresses", ALICE), ("confirm", "yes")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{migrated}");
    assert!(migrated["message"]
        .as_str()
        .is_some_and(|m| m.contains(ALICE)));
    let (status, refused) = json(
        app.call_as(Some(&admin), "legacy/roll_back", &[("address", ALICE)])
            .await,
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["Invalid"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("cannot be rolled back")));

    // After it, a submission is ignored, counted and shown.
    let (status, ignored) = submit(&app, Some(&token), submission("s-2", "Elsewhere")).await;
    assert_eq!(status, 200);
    assert_eq!(ignored["ignored"], true, "{ignored}");
    let (_, overview) = json(app.call_as(Some(&admin), "legacy/overview", &[]).await).await;
    let user = &overview["users"][0];
    assert_eq!(user["address"], ALICE);
    assert!(user["migrated"]
        .as_str()
        .is_some_and(|m| m.contains("root")));
    assert!(
        user["ignored"]
            .as_str()
            .is_some_and(|i| i.starts_with("Ignored legacy submissions: 1, last at")),
        "{overview}"
    );
    assert_eq!(overview["agents"][0]["submissions"], 2);

    // Revoked, the token opens nothing.
    let id = overview["agents"][0]["id"].to_string();
    let (status, _) = json(
        app.call_as(Some(&admin), "legacy/revoke_agent", &[("id", &id)])
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        submit(&app, Some(&token), submission("s-3", "Inbox"))
            .await
            .0,
        401
    );

    let entries = app
        .audit
        .list(&access::AuditFilter::default(), 100)
        .await
        .expect("audit");
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "legacy_agent_created",
        "legacy_users_migrated",
        "legacy_agent_revoked",
    ] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
    assert!(
        !entries.iter().any(|e| e.detail.contains(&token)),
        "the token is never written down"
    );
}
