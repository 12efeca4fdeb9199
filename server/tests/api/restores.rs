//! Restores over HTTP against the simulator: the form lists the mailboxes a restore can go to,
//! the connection's write access is checked, a dry run is followed by the restore it showed,
//! a restore into someone else's mailbox says so in the audit log, and the refusals: no
//! `restore` permission (403), a source or target mailbox outside the scope (404), a real run
//! without its dry run, a bad folder name (422).

use crate::helpers::{builtin, finished, json, person, spawn_app, tested_connection, TestApp};

const ALICE: &str = "alice.martin@example.com";
const BRUNO: &str = "bruno.keller@example.com";

/// Alice and Bruno synced through one EWS connection; returns (simulator, connection id).
async fn synced(app: &TestApp) -> (exchange_sim::RunningSim, i64) {
    let (sim, connection) = tested_connection(app).await;
    let store = app.sync.store();
    let task = store
        .create_task(&syncer::NewTask::new("Staff", connection.id))
        .await
        .expect("task");
    store
        .add_mailboxes(task.id, &[ALICE.to_owned(), BRUNO.to_owned()])
        .await
        .expect("mailboxes");
    for who in [ALICE, BRUNO] {
        app.sync
            .sync_mailbox_now(task.id, who)
            .await
            .expect("sync")
            .expect("ran");
    }
    (sim, connection.id)
}

testkit::each_backend!(a_dry_run_then_the_restore_into_another_mailbox_is_audited);
async fn a_dry_run_then_the_restore_into_another_mailbox_is_audited(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    let (sim, connection) = synced(&app).await;
    let admin = person(
        &app,
        "root",
        &builtin(&app, access::ADMINISTRATOR).await,
        "",
    )
    .await;
    let alice = app
        .archive
        .mailbox_by_name(ALICE)
        .await
        .expect("db")
        .expect("alice");
    let mailbox = alice.id.to_string();

    let (status, form) = json(
        app.call_as(Some(&admin), "restore/form", &[("mailbox", &mailbox)])
            .await,
    )
    .await;
    assert_eq!(status, 200, "{form}");
    let targets = form["targets"].as_array().expect("targets");
    assert_eq!(targets[0]["address"], ALICE, "its own mailbox first");
    assert_eq!(targets[0]["is_source"], true);
    assert!(targets.iter().any(|t| t["address"] == BRUNO));
    let into_bruno = format!("{connection}:{BRUNO}");
    let (status, access) = json(
        app.call_as(Some(&admin), "restore/access", &[("target", &into_bruno)])
            .await,
    )
    .await;
    assert_eq!(status, 200, "{access}");
    assert_eq!(access["mail"], true);
    assert_eq!(access["missing"].as_array().map(Vec::len), Some(0));

    let start = [
        ("mailbox", mailbox.as_str()),
        ("target", into_bruno.as_str()),
        ("placement", "new"),
        ("folder_name", "Alice's mail"),
        ("mail", "on"),
    ];
    let (status, dry) = json(app.call_as(Some(&admin), "restore/start", &start).await).await;
    assert_eq!(status, 200, "{dry}");
    let dry = dry.as_i64().expect("job").to_string();
    let detail = finished(&app, &admin, &dry).await;
    assert_eq!(detail["job"]["state"], "done", "{detail}");
    let restore = &detail["job"]["restore"];
    assert_eq!(restore["dry_run"], true);
    assert_eq!(
        restore["elsewhere"], true,
        "into Bruno's mailbox: said prominently"
    );
    assert_eq!(restore["target"], BRUNO);
    let would = detail["job"]["processed"].as_i64().expect("processed");
    assert!(would >= 10, "{detail}");
    let folders = detail["folders"].as_array().expect("tally");
    assert!(folders
        .iter()
        .any(|f| f["target_path"] == "Alice's mail/Inbox" && f["created"].as_i64() > Some(0)));
    assert!(
        sim.handle().restored(BRUNO).is_empty(),
        "a dry run writes nothing"
    );

    let (status, real) = json(
        app.call_as(Some(&admin), "restore/confirm", &[("dry_run", &dry)])
            .await,
    )
    .await;
    assert_eq!(status, 200, "{real}");
    let real = real.as_i64().expect("job").to_string();
    let detail = finished(&app, &admin, &real).await;
    assert_eq!(detail["job"]["state"], "done", "{detail}");
    assert_eq!(detail["job"]["failed"], 0);
    assert_eq!(detail["job"]["restore"]["dry_run"], false);
    let restored = sim.handle().restored(BRUNO);
    assert_eq!(restored.len() as i64, would);
    assert!(restored
        .iter()
        .all(|r| r.folder_path.starts_with("Alice's mail/")));
    let counters = sim.handle().counters();
    assert_eq!(
        (counters.drafts_created, counters.duplicates_created),
        (0, 0)
    );
    let csv = app
        .get_as(Some(&admin), &format!("/admin/jobs/{real}/report.csv"))
        .await
        .text()
        .await
        .expect("csv");
    assert!(csv.contains(",Alice's mail/Inbox,"), "{csv}");

    let entries = app
        .audit
        .list(&access::AuditFilter::default(), 100)
        .await
        .expect("audit");
    let started: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "restore_started")
        .collect();
    assert_eq!(started.len(), 2, "the dry run and the restore");
    assert!(started.iter().all(|e| e.target_owner == ALICE));
    assert!(started.iter().all(|e| e
        .detail
        .contains(&format!("into another person's mailbox: {BRUNO}"))));

    // The same dry run cannot start anything else; a real run needs its dry run.
    let (status, refused) = json(
        app.call_as(
            Some(&admin),
            "restore/start",
            &[
                ("mailbox", mailbox.as_str()),
                ("target", into_bruno.as_str()),
                ("placement", "new"),
                ("folder_name", "Alice/2026"),
                ("mail", "on"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused.to_string().contains("slash"), "{refused}");
    let (status, refused) = json(
        app.call_as(Some(&admin), "restore/confirm", &[("dry_run", &real)])
            .await,
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused.to_string().contains("not a dry run"), "{refused}");
}

testkit::each_backend!(restores_are_refused_without_the_grant_or_outside_the_scope);
async fn restores_are_refused_without_the_grant_or_outside_the_scope(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    let (sim, connection) = synced(&app).await;
    let alice = app
        .archive
        .mailbox_by_name(ALICE)
        .await
        .expect("db")
        .expect("alice");
    let mailbox = alice.id.to_string();
    let auditor = person(&app, "auditor", &builtin(&app, access::AUDITOR).await, "").await;
    let only_alice = person(
        &app,
        "alice-desk",
        &builtin(&app, access::HELP_DESK).await,
        ALICE,
    )
    .await;
    let branch = person(
        &app,
        "branch",
        &builtin(&app, access::HELP_DESK).await,
        "branch.example.com",
    )
    .await;
    let into = |who: &str| format!("{connection}:{who}");
    let start = |target: String| {
        vec![
            ("mailbox".to_owned(), mailbox.clone()),
            ("target".to_owned(), target),
            ("placement".to_owned(), "original".to_owned()),
            ("mail".to_owned(), "on".to_owned()),
        ]
    };
    let call = |cookie: &str, endpoint: &'static str, form: Vec<(String, String)>| {
        let cookie = cookie.to_owned();
        let app = &app;
        async move {
            let form: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            app.call_as(Some(&cookie), endpoint, &form)
                .await
                .status()
                .as_u16()
        }
    };

    // No restore permission.
    assert_eq!(
        call(&auditor, "restore/start", start(into(ALICE))).await,
        403
    );
    assert_eq!(
        call(
            &auditor,
            "restore/form",
            vec![("mailbox".into(), mailbox.clone())]
        )
        .await,
        403
    );
    // Alice's mailbox is outside the branch desk's scope.
    assert_eq!(
        call(&branch, "restore/start", start(into(ALICE))).await,
        404
    );
    assert_eq!(
        call(
            &branch,
            "restore/form",
            vec![("mailbox".into(), mailbox.clone())]
        )
        .await,
        404
    );
    // Scoped to Alice: her own mailbox is a target, Bruno's is not.
    let (status, form) = json(
        app.call_as(Some(&only_alice), "restore/form", &[("mailbox", &mailbox)])
            .await,
    )
    .await;
    assert_eq!(status, 200, "{form}");
    let targets: Vec<&str> = form["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .filter_map(|t| t["address"].as_str())
        .collect();
    assert_eq!(targets, vec![ALICE]);
    assert_eq!(
        call(&only_alice, "restore/start", start(into(BRUNO))).await,
        404
    );
    assert_eq!(
        call(
            &only_alice,
            "restore/access",
            vec![("target".into(), into(BRUNO))]
        )
        .await,
        404
    );
    assert_eq!(
        call(&only_alice, "restore/start", start(into(ALICE))).await,
        200
    );
    assert!(sim.handle().restored(BRUNO).is_empty());
    assert!(
        sim.handle().restored(ALICE).is_empty(),
        "only a dry run ran"
    );
}
