//! Exports over HTTP: an administrator starts one, the portal's job worker writes it, the jobs
//! screen's calls follow it to the end, the file downloads whole and in parts, the report comes
//! as CSV, and the audit log has the start and each download with the manifest's digest. The
//! refusals: no `export` permission (403), a mailbox outside the scope (404), bad input (422).

use std::io::Read;

use crate::helpers::{builtin, finished, json, person, spawn_app};

testkit::each_backend!(an_export_runs_in_the_background_downloads_and_is_audited);
async fn an_export_runs_in_the_background_downloads_and_is_audited(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    let seeded = app.mailbox_with_mail("alice@example.com", "quince").await;
    let admin = person(
        &app,
        "root",
        &builtin(&app, access::ADMINISTRATOR).await,
        "",
    )
    .await;
    let mailbox = seeded.id.to_string();
    let projects = seeded.projects.to_string();

    let (status, choice) = json(
        app.call_as(
            Some(&admin),
            "jobs/export_choice",
            &[("mailbox", &mailbox), ("folder", &projects)],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{choice}");
    assert_eq!(choice["description"], "Inbox/Projects and its subfolders");

    let (status, job) = json(
        app.call_as(
            Some(&admin),
            "jobs/start_export",
            &[
                ("mailbox", mailbox.as_str()),
                ("format", "mbox"),
                ("mail", "on"),
                ("calendar", "on"),
                ("contacts", "on"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{job}");
    let job = job.as_i64().expect("job id").to_string();
    let detail = finished(&app, &admin, &job).await;
    assert_eq!(detail["job"]["state"], "done", "{detail}");
    assert_eq!(detail["job"]["processed"], 2);
    assert_eq!(detail["job"]["percent"], 100);
    assert_eq!(detail["rows"].as_array().map(Vec::len), Some(2));
    let file = &detail["job"]["file"];
    let digest = file["manifest_sha256"].as_str().expect("digest").to_owned();

    let listed = json(app.call_as(Some(&admin), "jobs/list", &[]).await)
        .await
        .1;
    assert_eq!(listed[0]["id"].to_string(), job);
    assert_eq!(listed[0]["owner"], "alice@example.com");

    let download = app
        .get_as(Some(&admin), &format!("/admin/jobs/{job}/download"))
        .await;
    assert_eq!(download.status(), 200);
    assert!(download
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(".zip")));
    let bytes = download.bytes().await.expect("bytes");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a zip");
    let root = format!("export-{job}-alice@example.com");
    let mut inbox = String::new();
    zip.by_name(&format!("{root}/data/Inbox.mbox"))
        .expect("the Inbox as mbox")
        .read_to_string(&mut inbox)
        .expect("read");
    assert!(inbox.starts_with("From dana@example.org "));
    assert!(zip
        .by_name(&format!("{root}/data/Inbox/Projects.mbox"))
        .is_ok());

    // A browser asks for compression; a zip is sent as it is, whole, with its length.
    let browser = app
        .client
        .get(format!("{}/admin/jobs/{job}/download", app.address))
        .header("Cookie", &admin)
        .header("Accept-Encoding", "gzip, br")
        .send()
        .await
        .expect("download");
    assert_eq!(browser.status(), 200);
    assert!(browser.headers().get("content-encoding").is_none());
    assert_eq!(
        browser
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok()),
        Some(bytes.len().to_string().as_str())
    );
    assert_eq!(browser.bytes().await.expect("bytes"), bytes);

    let part = app
        .get_as(Some(&admin), &format!("/admin/jobs/{job}/part/1"))
        .await;
    assert_eq!(part.status(), 200);
    assert_eq!(part.bytes().await.expect("part").len(), bytes.len());
    assert_eq!(
        app.get_as(Some(&admin), &format!("/admin/jobs/{job}/part/2"))
            .await
            .status(),
        404
    );
    let csv = app
        .get_as(Some(&admin), &format!("/admin/jobs/{job}/report.csv"))
        .await
        .text()
        .await
        .expect("csv");
    assert!(csv.starts_with("outcome,source_path,target_path,detail,when_utc\r\n"));
    assert!(
        csv.contains("created,Inbox/Projects/quince report for projects,data/Inbox/Projects.mbox")
    );

    let entries = app
        .audit
        .list(&access::AuditFilter::default(), 100)
        .await
        .expect("audit");
    let started = entries
        .iter()
        .find(|e| e.action == "export_started")
        .expect("the start is audited");
    assert_eq!(started.target_owner, "alice@example.com");
    assert!(started.detail.contains("2 messages"), "{}", started.detail);
    let downloads: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "export_downloaded")
        .collect();
    assert_eq!(downloads.len(), 3, "the whole file twice and the part");
    assert!(downloads.iter().all(|e| e.detail.contains(&digest)));

    // Nothing to export: a clear refusal, and no job.
    let (status, refused) = json(
        app.call_as(
            Some(&admin),
            "jobs/start_export",
            &[("mailbox", mailbox.as_str()), ("format", "eml")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused.to_string().contains("Choose at least one of mail"));
    let (status, _) = json(
        app.call_as(
            Some(&admin),
            "jobs/start_export",
            &[
                ("mailbox", mailbox.as_str()),
                ("format", "pst"),
                ("mail", "on"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
}

testkit::each_backend!(exports_are_refused_without_the_grant_or_outside_the_scope);
async fn exports_are_refused_without_the_grant_or_outside_the_scope(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    let seeded = app.mailbox_with_mail("alice@example.com", "quince").await;
    let admin = person(
        &app,
        "root",
        &builtin(&app, access::ADMINISTRATOR).await,
        "",
    )
    .await;
    let desk = person(&app, "desk", &builtin(&app, access::HELP_DESK).await, "").await;
    let branch_exporter = app
        .roles
        .create(
            "Branch exports",
            "Exports of the branch office",
            &[access::Permission::Export, access::Permission::BrowseMail],
        )
        .await
        .expect("role");
    let branch = person(&app, "branch", &branch_exporter, "branch.example.com").await;
    let mailbox = seeded.id.to_string();
    let start = [
        ("mailbox", mailbox.as_str()),
        ("format", "eml"),
        ("mail", "on"),
    ];

    let (status, job) = json(app.call_as(Some(&admin), "jobs/start_export", &start).await).await;
    assert_eq!(status, 200, "{job}");
    let job = job.as_i64().expect("id").to_string();
    finished(&app, &admin, &job).await;

    // The help desk holds no export permission: starting one is 403. It may restore, so the
    // jobs screen opens for it, but with its own restores only: the export is not there.
    let status = app
        .call_as(Some(&desk), "jobs/start_export", &start)
        .await
        .status();
    assert_eq!(status, 403, "jobs/start_export as the help desk");
    let (status, listed) = json(app.call_as(Some(&desk), "jobs/list", &[]).await).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "{listed}");
    for endpoint in ["jobs/detail", "jobs/cancel"] {
        let status = app
            .call_as(Some(&desk), endpoint, &[("id", job.as_str())])
            .await
            .status();
        assert_eq!(status, 404, "{endpoint} of an export as the help desk");
    }
    let (_, after) = json(
        app.call_as(Some(&admin), "jobs/detail", &[("id", job.as_str())])
            .await,
    )
    .await;
    assert_eq!(
        after["job"]["state"], "done",
        "the help desk cancelled nothing"
    );
    assert_eq!(
        app.get_as(Some(&desk), &format!("/admin/jobs/{job}/download"))
            .await
            .status(),
        403
    );

    // Scoped to another domain: alice's mailbox and job do not exist for them.
    let status = app
        .call_as(Some(&branch), "jobs/start_export", &start)
        .await
        .status();
    assert_eq!(status, 404);
    let listed = json(app.call_as(Some(&branch), "jobs/list", &[]).await)
        .await
        .1;
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "{listed}");
    for endpoint in ["jobs/detail", "jobs/cancel"] {
        let status = app
            .call_as(Some(&branch), endpoint, &[("id", job.as_str())])
            .await
            .status();
        assert_eq!(status, 404, "{endpoint} outside the scope");
    }
    for path in ["download", "part/1", "report.csv"] {
        let status = app
            .get_as(Some(&branch), &format!("/admin/jobs/{job}/{path}"))
            .await
            .status();
        assert_eq!(status, 404, "{path} outside the scope");
    }
    let entries = app
        .audit
        .list(&access::AuditFilter::default(), 100)
        .await
        .expect("audit");
    assert!(
        entries
            .iter()
            .filter(|e| e.action == "export_downloaded")
            .count()
            == 0,
        "a refused download is not a download"
    );
}
