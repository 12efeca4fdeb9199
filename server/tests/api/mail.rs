//! The end user's archive over HTTP: what a user may read, and the refusals for everything else.

use std::time::Duration;

use testkit::http::{image_routes, HttpServer};

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

struct TwoUsers {
    app: TestApp,
    alice: String,
    alice_box: crate::helpers::SeededMailbox,
    bob_box: crate::helpers::SeededMailbox,
}

async fn two_users(kit: &testkit::TestDb) -> TwoUsers {
    let app = spawn_app(kit).await;
    let alice = app.signed_in_owner("alice", "alice@example.com").await;
    let _bob = app.signed_in_owner("bob", "bob@example.com").await;
    let alice_box = app.mailbox_with_mail("alice@example.com", "apricot").await;
    let bob_box = app.mailbox_with_mail("bob@example.com", "blueberry").await;
    TwoUsers {
        app,
        alice,
        alice_box,
        bob_box,
    }
}

async fn json(response: reqwest::Response) -> serde_json::Value {
    response.json().await.expect("json")
}

testkit::each_backend!(a_user_sees_only_their_own_mailboxes_and_folders);
async fn a_user_sees_only_their_own_mailboxes_and_folders(kit: &testkit::TestDb) {
    let t = two_users(kit).await;
    let overview = json(t.app.call_as(Some(&t.alice), "mail/overview", &[]).await).await;
    let boxes = overview["mailboxes"].as_array().expect("mailboxes");
    assert_eq!(boxes.len(), 1);
    assert_eq!(boxes[0]["id"], t.alice_box.id);
    let folders: Vec<&str> = overview["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(folders, vec!["Inbox", "Projects"]);
    assert_eq!(overview["default_folder"], t.alice_box.inbox);

    let list = json(
        t.app
            .call_as(
                Some(&t.alice),
                "mail/messages",
                &[
                    ("folder", &t.alice_box.projects.to_string()),
                    ("sort", "date"),
                ],
            )
            .await,
    )
    .await;
    let rows = list["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["subject"], "apricot report for projects");
}

testkit::each_backend!(another_users_mailbox_folder_and_message_are_refused);
async fn another_users_mailbox_folder_and_message_are_refused(kit: &testkit::TestDb) {
    let t = two_users(kit).await;
    let bob_box = t.bob_box.id.to_string();
    let bob_inbox = t.bob_box.inbox.to_string();
    let bob_item = t.bob_box.items[0].0.to_string();
    let alice_box = t.alice_box.id.to_string();

    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("mail/overview", vec![("mailbox", &bob_box)]),
        (
            "mail/messages",
            vec![
                ("mailbox", &bob_box),
                ("folder", &bob_inbox),
                ("sort", "date"),
            ],
        ),
        // Her own mailbox with his folder: the folder must belong to the mailbox.
        (
            "mail/messages",
            vec![
                ("mailbox", &alice_box),
                ("folder", &bob_inbox),
                ("sort", "date"),
            ],
        ),
        ("mail/message", vec![("item", &bob_item)]),
        (
            "mail/search",
            vec![
                ("within", &bob_box),
                ("query", "blueberry"),
                ("page", "0"),
                ("sort", ""),
            ],
        ),
    ];
    for (endpoint, form) in calls {
        let response = t.app.call_as(Some(&t.alice), endpoint, &form).await;
        let status = response.status();
        let body = response.text().await.expect("body");
        assert_eq!(status, 404, "{endpoint} {form:?}: {body}");
        assert!(!body.contains("blueberry"), "{endpoint} leaked: {body}");
    }
}

testkit::each_backend!(signed_out_calls_are_refused);
async fn signed_out_calls_are_refused(kit: &testkit::TestDb) {
    let t = two_users(kit).await;
    let item = t.alice_box.items[0].0.to_string();
    for (endpoint, form) in [
        ("mail/overview", vec![]),
        ("mail/message", vec![("item", item.as_str())]),
    ] {
        let response = t.app.call_as(None, endpoint, &form).await;
        assert_eq!(response.status(), 401, "{endpoint}");
    }
    for path in [
        format!("/download/{item}/eml"),
        format!("/download/{item}/attachment/0"),
        format!("/mail/body/{item}"),
    ] {
        assert_eq!(t.app.get_as(None, &path).await.status(), 401, "{path}");
    }
}

testkit::each_backend!(downloads_of_another_users_message_are_refused);
async fn downloads_of_another_users_message_are_refused(kit: &testkit::TestDb) {
    let t = two_users(kit).await;
    let (bob_item, _) = &t.bob_box.items[0];
    for path in [
        format!("/download/{bob_item}/eml"),
        format!("/download/{bob_item}/attachment/0"),
        format!("/mail/body/{bob_item}"),
    ] {
        let response = t.app.get_as(Some(&t.alice), &path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(!response.text().await.expect("body").contains("blueberry"));
    }
}

testkit::each_backend!(own_downloads_are_exact_and_never_render_as_pages);
async fn own_downloads_are_exact_and_never_render_as_pages(kit: &testkit::TestDb) {
    let t = two_users(kit).await;
    let (item, raw) = &t.alice_box.items[0];

    let eml = t
        .app
        .get_as(Some(&t.alice), &format!("/download/{item}/eml"))
        .await;
    assert_eq!(eml.status(), 200);
    assert_eq!(eml.headers()["content-type"], "message/rfc822");
    let disposition = eml.headers()["content-disposition"]
        .to_str()
        .expect("ascii");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("apricot report for inbox.eml"),
        "{disposition}"
    );
    assert_eq!(eml.bytes().await.expect("bytes").as_ref(), raw.as_slice());

    // An HTML attachment is served as opaque bytes to save, never as a page of this site.
    let attachment = t
        .app
        .get_as(Some(&t.alice), &format!("/download/{item}/attachment/0"))
        .await;
    assert_eq!(attachment.status(), 200);
    assert_eq!(
        attachment.headers()["content-type"],
        "application/octet-stream"
    );
    assert_eq!(attachment.headers()["x-content-type-options"], "nosniff");
    assert!(attachment.headers()["content-disposition"]
        .to_str()
        .expect("ascii")
        .contains("figures.html"));

    let body = t
        .app
        .get_as(Some(&t.alice), &format!("/mail/body/{item}"))
        .await;
    assert_eq!(body.status(), 200);
    let csp = body.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("sandbox"), "{csp}");
    let html = body.text().await.expect("body");
    assert!(html.contains("The apricot figures are attached."), "{html}");
    assert!(!html.contains("<script"), "{html}");
}

testkit::each_backend!(a_large_message_downloads_exactly_and_a_damaged_one_breaks_the_download);
async fn a_large_message_downloads_exactly_and_a_damaged_one_breaks_the_download(
    kit: &testkit::TestDb,
) {
    let t = two_users(kit).await;
    // 3 MB of attachment that does not compress: the stored blob is many segments, which the
    // download streams as they are read and checked.
    let mut figures = vec![0u8; 3 * 1024 * 1024];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for byte in figures.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *byte = x as u8;
    }
    let raw = testkit::mime::Mail::new("apricot scans")
        .from("Dana Lee <dana@example.org>")
        .to("alice@example.com")
        .date("Mon, 02 Nov 2026 10:00:00 +0000")
        .message_id("<apricot-scans@example.org>")
        .text("The scans are attached.")
        .attach("scans.bin", "application/octet-stream", &figures)
        .build();
    let item = t
        .app
        .put_message(
            t.alice_box.id,
            "inbox",
            "inbox-large",
            raw.clone(),
            archive::Timestamp::now(),
        )
        .await;
    let path = format!("/download/{item}/eml");
    let eml = t.app.get_as(Some(&t.alice), &path).await;
    assert_eq!(eml.status(), 200);
    let got = eml.bytes().await.expect("bytes");
    assert!(
        got.as_ref() == raw.as_slice(),
        "{} of {} bytes",
        got.len(),
        raw.len()
    );

    // One byte of the stored blob changes: the download starts, then breaks; the client never
    // gets a complete file with wrong content.
    let hash = archive::BlobHash::of(&raw);
    let store = t.app.archive.blobs().backend().clone();
    let mut sealed = store.get(&hash).await.expect("sealed");
    let middle = sealed.len() / 2;
    sealed[middle] ^= 0x40;
    store.delete(&hash).await.expect("delete");
    store
        .put_many(vec![(hash, sealed)])
        .await
        .expect("put back");
    let eml = t.app.get_as(Some(&t.alice), &path).await;
    assert_eq!(eml.status(), 200, "the error comes after the headers");
    let body = eml.bytes().await;
    assert!(body.is_err(), "a damaged blob was downloaded whole");
}

testkit::each_backend!(the_reader_gets_headers_attachments_and_no_script);
async fn the_reader_gets_headers_attachments_and_no_script(kit: &testkit::TestDb) {
    let t = two_users(kit).await;
    let (item, _) = &t.alice_box.items[0];
    let message = json(
        t.app
            .call_as(
                Some(&t.alice),
                "mail/message",
                &[("item", &item.to_string())],
            )
            .await,
    )
    .await;
    assert_eq!(message["subject"], "apricot report for inbox");
    assert_eq!(message["sender_address"], "dana@example.org");
    assert_eq!(message["has_html"], true);
    assert_eq!(message["attachments"][0]["name"], "figures.html");
    assert!(!message.to_string().contains("<script"));
}

testkit::each_backend!(search_finds_own_mail_only_and_explains_bad_queries);
async fn search_finds_own_mail_only_and_explains_bad_queries(kit: &testkit::TestDb) {
    let t = two_users(kit).await;
    let search = |query: &'static str| {
        let app = &t.app;
        let cookie = t.alice.clone();
        async move {
            json(
                app.call_as(
                    Some(&cookie),
                    "mail/search",
                    &[("query", query), ("page", "0"), ("sort", "")],
                )
                .await,
            )
            .await
        }
    };
    // The portal indexes in the background: wait for Alice's two messages to become findable.
    let mut found = serde_json::Value::Null;
    for _ in 0..100 {
        found = search("apricot").await;
        if found["total"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(found["total"], 2, "{found}");
    let hit = &found["hits"][0];
    assert!(hit["folder_path"].as_str().is_some_and(|p| !p.is_empty()));
    assert!(hit["snippet_html"]
        .as_str()
        .is_some_and(|s| s.contains("<mark>")));

    // Bob's word exists in the index, but not for Alice.
    assert_eq!(search("blueberry").await["total"], 0);

    // An absurd page number is an explanation, not a crash (the server answers afterwards).
    let deep = json(
        t.app
            .call_as(
                Some(&t.alice),
                "mail/search",
                &[
                    ("query", "apricot"),
                    ("page", "1000000000000"),
                    ("sort", ""),
                ],
            )
            .await,
    )
    .await;
    assert!(
        deep["problem"]
            .as_str()
            .is_some_and(|p| p.contains("first 10000")),
        "{deep}"
    );
    assert_eq!(search("apricot").await["total"], 2);

    let empty = search("   ").await;
    assert!(empty["problem"]
        .as_str()
        .is_some_and(|p| p.contains("Type something")));
    let broken = search("\"unclosed").await;
    assert!(
        broken["problem"].as_str().is_some(),
        "a malformed query gets an explanation: {broken}"
    );
}

/// A message in the mailbox's Inbox whose HTML shows an image from `base`.
async fn message_with_remote_image(app: &TestApp, mailbox: i64, base: &str) -> i64 {
    let raw = testkit::mime::Mail::new("Newsletter with a picture")
        .from("news@example.org")
        .to("alice@example.com")
        .date("Mon, 02 Nov 2026 09:00:00 +0000")
        .html(&format!("<p>Look: <img src=\"{base}/pixel.png\"></p>"))
        .build();
    app.put_message(
        mailbox,
        "inbox",
        "newsletter-1",
        raw,
        archive::Timestamp::now(),
    )
    .await
}

testkit::each_backend!(remote_images_load_only_when_the_owner_asks);
async fn remote_images_load_only_when_the_owner_asks(kit: &testkit::TestDb) {
    let images = HttpServer::start(image_routes());
    let app = spawn_app_with(kit, |s| s.server.images_from_private_networks = true).await;
    let alice = app.signed_in_owner("alice", "alice@example.com").await;
    let bob = app.signed_in_owner("bob", "bob@example.com").await;
    let alice_box = app.mailbox_with_mail("alice@example.com", "apricot").await;
    let item = message_with_remote_image(&app, alice_box.id, &images.base).await;

    // Someone else's message: refused like a missing one, and nothing is fetched for it.
    let refused = app
        .get_as(Some(&bob), &format!("/mail/body/{item}?images=1"))
        .await;
    assert_eq!(refused.status(), 404);
    let signed_out = app
        .get_as(None, &format!("/mail/body/{item}?images=1"))
        .await;
    assert_eq!(signed_out.status(), 401);
    assert_eq!(images.hits(), 0);

    // The owner's reader: blocked until asked.
    let message = json(
        app.call_as(Some(&alice), "mail/message", &[("item", &item.to_string())])
            .await,
    )
    .await;
    assert_eq!(message["remote_images_blocked"], 1);
    let body = app
        .get_as(Some(&alice), &format!("/mail/body/{item}"))
        .await;
    let html = body.text().await.expect("body");
    assert!(!html.contains("data:image/png"), "{html}");
    assert_eq!(images.hits(), 0);

    let shown = app
        .get_as(Some(&alice), &format!("/mail/body/{item}?images=1"))
        .await;
    assert_eq!(shown.status(), 200);
    let csp = shown
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        csp.contains("img-src data:;"),
        "the frame still loads nothing: {csp}"
    );
    let html = shown.text().await.expect("body");
    assert!(html.contains("src=\"data:image/png;base64,iVBOR"), "{html}");
    assert!(!html.contains(&images.base), "{html}");
    assert_eq!(images.hits(), 1);
    assert_eq!(
        images.leaks(),
        0,
        "a cookie, referrer or credential went to the sender"
    );
}

testkit::each_backend!(remote_images_never_come_from_the_portals_own_network);
async fn remote_images_never_come_from_the_portals_own_network(kit: &testkit::TestDb) {
    let images = HttpServer::start(image_routes());
    let app = spawn_app(kit).await;
    let alice = app.signed_in_owner("alice", "alice@example.com").await;
    let alice_box = app.mailbox_with_mail("alice@example.com", "apricot").await;
    let item = message_with_remote_image(&app, alice_box.id, &images.base).await;
    let body = app
        .get_as(Some(&alice), &format!("/mail/body/{item}?images=1"))
        .await;
    assert_eq!(body.status(), 200);
    let html = body.text().await.expect("body");
    assert!(!html.contains("data:image/png"), "{html}");
    assert_eq!(images.hits(), 0, "a loopback address was fetched");
}

testkit::each_backend!(a_search_covers_every_mailbox_of_mine_and_narrows_to_one);
async fn a_search_covers_every_mailbox_of_mine_and_narrows_to_one(kit: &testkit::TestDb) {
    let t = two_users(kit).await;
    // Alice also owns an old address with an archive of its own.
    let alice = t
        .app
        .accounts
        .find_user("alice")
        .await
        .expect("user")
        .expect("alice");
    t.app
        .accounts
        .add_address(alice.id, "alice.old@example.com")
        .await
        .expect("address");
    let old_box = t
        .app
        .mailbox_with_mail("alice.old@example.com", "apricot")
        .await;
    let search = |within: Option<i64>| {
        let app = &t.app;
        let cookie = t.alice.clone();
        async move {
            let within = within.map(|w| w.to_string());
            let mut form = vec![("query", "apricot"), ("page", "0"), ("sort", "newest")];
            if let Some(w) = within.as_deref() {
                form.push(("within", w));
            }
            app.call_as(Some(&cookie), "mail/search", &form).await
        }
    };

    // All of them by default, each hit naming its mailbox (once the background indexer has
    // taken in the four messages).
    let mut all = serde_json::Value::Null;
    for _ in 0..100 {
        all = json(search(None).await).await;
        if all["total"] == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(all["total"], 4, "{all}");
    let mut in_boxes: Vec<i64> = all["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["mailbox_id"].as_i64().expect("id"))
        .collect();
    in_boxes.sort();
    in_boxes.dedup();
    let mut expected = vec![t.alice_box.id, old_box.id];
    expected.sort();
    assert_eq!(in_boxes, expected);
    assert!(all["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .all(|h| h["mailbox_name"].is_string()));
    assert_eq!(all["mailboxes"].as_array().map(Vec::len), Some(2));

    // Narrowed to one.
    let one = json(search(Some(old_box.id)).await).await;
    assert_eq!(one["total"], 2, "{one}");
    assert_eq!(one["within"], old_box.id);
    assert!(one["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .all(|h| h["mailbox_id"] == old_box.id && h["mailbox_name"].is_null()));

    // Someone else's mailbox cannot be searched by naming it.
    let refused = search(Some(t.bob_box.id)).await;
    assert_eq!(refused.status(), 404);
    assert!(!refused.text().await.expect("body").contains("blueberry"));
}
