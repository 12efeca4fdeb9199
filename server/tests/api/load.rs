//! A short load: people use the mail screen through HTTP while a sync of several mailboxes runs
//! beside them. No request may fail and the sync must archive every message once. No timing is
//! asserted here: the figures come from `examples/load.rs` (see BENCHMARKS.md).

use archive::NewMailbox;
use testkit::load::{run, LoadPlan};

use crate::helpers::{spawn_app, tested_connection};

const PEOPLE: usize = 5;
const SYNCED: [&str; 3] = [
    "sync-a@example.com",
    "sync-b@example.com",
    "sync-c@example.com",
];
const SYNCED_MESSAGES: u64 = 120;

async fn people_use_the_mail_screen_while_a_sync_runs(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    let mut people = Vec::new();
    for n in 0..PEOPLE {
        let username = format!("person{n}");
        let address = format!("person{n}@example.com");
        let mailbox = app
            .archive
            .ensure_mailbox(&NewMailbox {
                name: address.clone(),
                owner_address: address.clone(),
                display_name: username.clone(),
            })
            .await
            .expect("mailbox");
        server::demo::put_generated(&app.archive, mailbox.id, 80, n as u64 + 1, |_, path| path)
            .await
            .expect("mail");
        let user = app
            .accounts
            .create_user(&username, &username, Some("load password"))
            .await
            .expect("user");
        app.accounts
            .add_address(user.id, &address)
            .await
            .expect("address");
        people.push((username, "load password".to_owned()));
    }

    let (sim, connection) = tested_connection(&app).await;
    for address in SYNCED {
        sim.handle()
            .add_synthetic_mailbox(address, SYNCED_MESSAGES)
            .expect("sim mailbox");
    }
    let task = app
        .sync
        .store()
        .create_task(&syncer::NewTask {
            mailboxes: SYNCED.map(str::to_owned).to_vec(),
            ..syncer::NewTask::new("Under load", connection.id)
        })
        .await
        .expect("task");
    app.sync.run_task_now(task.id).await.expect("run");

    let report = run(&LoadPlan {
        base: app.address.clone(),
        people,
        duration: std::time::Duration::from_secs(3),
        rate_per_person: 8.0,
        max_requests: 2_000,
        queries: ["budget", "from:ann", "subject:report", "has:attachment"]
            .map(str::to_owned)
            .to_vec(),
    })
    .await
    .expect("load");
    assert!(
        report.errors.is_empty(),
        "failed requests: {:?}",
        report.errors
    );
    for kind in ["sign in", "folders", "list", "open", "search"] {
        assert!(
            report.latencies.get(kind).is_some_and(|t| !t.is_empty()),
            "no `{kind}` request was answered: {report:?}"
        );
    }

    // The sync beside it archived every message of every mailbox, each once.
    let started = std::time::Instant::now();
    loop {
        let mut done = 0;
        for address in SYNCED {
            if let Some(mailbox) = app.archive.mailbox_by_name(address).await.expect("mailbox") {
                let items = app
                    .archive
                    .count_items(Some(mailbox.id))
                    .await
                    .expect("count");
                assert!(items <= SYNCED_MESSAGES as i64, "{address}: {items} items");
                if items == SYNCED_MESSAGES as i64 {
                    done += 1;
                }
            }
        }
        if done == SYNCED.len() {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the sync did not finish: {done} of {} mailboxes",
            SYNCED.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

testkit::each_backend!(people_use_the_mail_screen_while_a_sync_runs);
