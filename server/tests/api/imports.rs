//! Legacy import from the portal: an upload streams into the import folder (a plain file name
//! only, never twice, never past the limit), and an import job reads it into a mailbox with its
//! report and audit entries. enron.pst is the file (npm pst-extractor, installed by setup.sh).

use std::time::Duration;

use crate::helpers::{builtin, json, person, spawn_app, spawn_app_with, TestApp};

fn enron() -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../end2end/node_modules/pst-extractor/example/testdata/enron.pst");
    std::fs::read(&path).expect("the PST fixture is missing: run scripts/setup.sh")
}

/// The form's POST as a browser sends it; answers the screen's address it is sent back to.
async fn upload(app: &TestApp, cookie: &str, name: &str, bytes: Vec<u8>) -> String {
    let boundary = "----sync-recover-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let response = app
        .client
        .post(format!("{}/admin/legacy/upload", app.address))
        .header("Origin", &app.address)
        .header("Cookie", cookie)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("upload");
    assert_eq!(
        response.status(),
        303,
        "the browser is sent back to the screen"
    );
    response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

testkit::each_backend!(an_uploaded_pst_is_imported_by_a_job);
async fn an_uploaded_pst_is_imported_by_a_job(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    let admin = person(
        &app,
        "root",
        &builtin(&app, access::ADMINISTRATOR).await,
        "",
    )
    .await;
    let desk = person(&app, "desk", &builtin(&app, access::HELP_DESK).await, "").await;

    assert_eq!(
        upload(&app, &admin, "enron.pst", enron()).await,
        "/admin/legacy?uploaded=enron.pst"
    );
    let again = upload(&app, &admin, "enron.pst", b"other".to_vec()).await;
    assert!(
        again.contains("upload_error") && again.contains("already"),
        "{again}"
    );
    let tricked = upload(&app, &admin, "../../escape.pst", b"x".to_vec()).await;
    assert!(tricked.contains("upload_error"), "{tricked}");
    let hidden = upload(&app, &admin, ".hidden.pst", b"x".to_vec()).await;
    assert!(hidden.contains("upload_error"), "{hidden}");

    // The help desk may neither upload nor import.
    let refused = app
        .client
        .post(format!("{}/admin/legacy/upload", app.address))
        .header("Origin", &app.address)
        .header("Cookie", &desk)
        .body("x")
        .send()
        .await
        .expect("upload");
    assert_eq!(refused.status(), 403);

    let (_, screen) = json(app.call_as(Some(&admin), "legacy/overview", &[]).await).await;
    let files = screen["files"].as_array().expect("files");
    assert_eq!(
        files.len(),
        1,
        "only the whole, plainly named upload waits: {screen}"
    );
    assert_eq!(files[0]["name"], "enron.pst");
    assert_eq!(files[0]["format"], "PST");

    let (status, bad) = json(
        app.call_as(
            Some(&admin),
            "legacy/start_import",
            &[
                ("file", "../enron.pst"),
                ("mailbox", "lokay@enron.com"),
                ("owner", ""),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    let (status, started) = json(
        app.call_as(
            Some(&admin),
            "legacy/start_import",
            &[
                ("file", "enron.pst"),
                ("mailbox", "lokay@enron.com"),
                ("owner", ""),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{started}");
    // The heaviest job of the suite (a 14 MB PST): about 2 s alone, longer beside some 80 other
    // tests on two cores. (Twice it never ended here: its heartbeat waited on the import's own
    // write transaction; crates/recovery/tests/import.rs holds that down.)
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    let mut job = serde_json::Value::Null;
    while std::time::Instant::now() < deadline {
        let (_, screen) = json(app.call_as(Some(&admin), "legacy/overview", &[]).await).await;
        job = screen["imports"][0].clone();
        if !matches!(job["state"].as_str(), Some("queued" | "running")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["percent"], 100);
    assert!(
        job["result"]
            .as_str()
            .is_some_and(|r| r.contains("71 read: 71 imported")),
        "{job}"
    );
    let mailbox = app
        .archive
        .mailbox_by_name("lokay@enron.com")
        .await
        .expect("mailbox")
        .expect("created");
    assert_eq!(
        app.archive
            .count_items(Some(mailbox.id))
            .await
            .expect("count"),
        71
    );

    let entries = app
        .audit
        .list(&access::AuditFilter::default(), 100)
        .await
        .expect("audit");
    let of = |action: &str| entries.iter().filter(|e| e.action == action).count();
    assert!(of("import_started") >= 2, "the upload and the job");
    assert_eq!(of("import_finished"), 1);

    // Past the limit, an upload stops and leaves nothing behind.
    let small = spawn_app_with(kit, |s| s.worker.upload_limit_mb = 1).await;
    let admin = person(
        &small,
        "root2",
        &builtin(&small, access::ADMINISTRATOR).await,
        "",
    )
    .await;
    let over = upload(&small, &admin, "big.pst", enron()).await;
    assert!(
        over.contains("upload_error") && over.contains("limit"),
        "{over}"
    );
    let (_, screen) = json(small.call_as(Some(&admin), "legacy/overview", &[]).await).await;
    assert_eq!(
        screen["files"],
        serde_json::json!([]),
        "no partial file is listed"
    );
}
