//! Faults the portal must survive without losing archived mail:
//! - the server killed (SIGKILL) while people use it and a sync runs: after a restart every
//!   message is archived once, the index matches the store, and sessions still hold;
//! - the disk filling up during an import and during a sync: a clear error, nothing archived
//!   lost, and the run completes once there is space again. The small disk is a size-limited
//!   tmpfs in a private mount namespace (`unshare --map-root-user --mount`, util-linux), so the
//!   test needs no root and leaves no mount behind.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use archive::{Archive, NewMailbox};
use server::config::Settings;
use testkit::load::{run, LoadPlan};

const PASSWORD: &str = "fault password";

fn sync_recover(data: &Path, site: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sync-recover"));
    cmd.env("SR_STORAGE__DATA_DIR", data)
        .env("SR_SERVER__LISTEN", "127.0.0.1:0")
        .env("SR_SERVER__SITE_ROOT", site)
        .env("SR_LOG__LEVEL", "info")
        // A dead node's lease lapses after 30 s (the shortest allowed); due work is looked for
        // every second.
        .env("SR_WORKER__LEASE_SECS", "30")
        .env("SR_WORKER__TICK_SECS", "1");
    cmd
}

/// Starts `serve` and returns it with its address, once it listens. Its log keeps being read
/// on a thread so the pipe never fills.
fn serve(data: &Path, site: &Path) -> (Child, String) {
    let mut child = sync_recover(data, site)
        .arg("serve")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let address = support::announced_address(&mut child, "serve", false);
    (child, address)
}

fn kill(child: &mut Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        assert!(started.elapsed() < Duration::from_secs(30), "did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn sign_in(client: &reqwest::Client, address: &str, username: &str) -> String {
    let response = client
        .post(format!("{address}/api/sign_in"))
        .header("Origin", address)
        .form(&[("username", username), ("password", PASSWORD)])
        .send()
        .await
        .expect("sign in");
    testkit::load::session_cookie(response.headers()).expect("session cookie")
}

/// People with archived mail of their own, as the load signs in.
async fn people(
    archive: &Archive,
    accounts: &accounts::Accounts,
    count: usize,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for n in 0..count {
        let username = format!("person{n}");
        let address = format!("person{n}@example.com");
        let mailbox = archive
            .ensure_mailbox(&NewMailbox {
                name: address.clone(),
                owner_address: address.clone(),
                display_name: username.clone(),
            })
            .await
            .expect("mailbox");
        server::demo::put_generated(archive, mailbox.id, 60, n as u64 + 1, |_, path| path)
            .await
            .expect("mail");
        let user = accounts
            .create_user(&username, &username, Some(PASSWORD))
            .await
            .expect("user");
        accounts
            .add_address(user.id, &address)
            .await
            .expect("address");
        out.push((username, PASSWORD.to_owned()));
    }
    out
}

/// An EWS connection to the simulator and a task over `mailboxes`, due now.
async fn sync_task(
    settings: &Settings,
    db: &database::Database,
    archive: &Archive,
    sim: &exchange_sim::RunningSim,
    mailboxes: &[String],
) -> (syncer::SyncService, i64) {
    let sync = server::sync_service(settings, db, archive).expect("sync service");
    let d = exchange_sim::SimConfig::default();
    let store = sync.store();
    let connection = store
        .create_connection(&syncer::NewConnection {
            name: "Head office".into(),
            settings: mailsync::ConnectionSettings::Ews {
                url: sim.ews_url(),
                username: d.service_account.clone(),
            },
            secret: d.service_password.clone(),
        })
        .await
        .expect("connection");
    assert!(
        store
            .test_connection(connection.id, None)
            .await
            .expect("test")
            .ok
    );
    let task = store
        .create_task(&syncer::NewTask {
            mailboxes: mailboxes.to_vec(),
            ..syncer::NewTask::new("Under faults", connection.id)
        })
        .await
        .expect("task");
    store.request_task_run(task.id).await.expect("due");
    (sync, task.id)
}

async fn archived(archive: &Archive, address: &str) -> i64 {
    match archive.mailbox_by_name(address).await.expect("mailbox") {
        Some(m) => archive.count_items(Some(m.id)).await.expect("count"),
        None => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_under_load_and_sync_loses_nothing_and_keeps_sessions() {
    const SYNCED_MESSAGES: u64 = 300;
    let data = tempfile::tempdir().expect("tempdir");
    let site = support::stand_in_site(data.path());
    let settings = Settings::for_tests(data.path()).expect("settings");
    let db = server::open_database(&settings).await.expect("db");
    let archive = server::archive_on(&settings, db.clone()).expect("archive");
    let accounts = accounts::Accounts::new(db.clone());
    let people = people(&archive, &accounts, 4).await;

    // The simulator answers slowly enough that the kill comes in the middle of the sync.
    let sim = exchange_sim::start(exchange_sim::SimConfig {
        seed_dir: None,
        ..exchange_sim::SimConfig::for_tests()
    })
    .await
    .expect("simulator");
    let synced: Vec<String> = (0..4).map(|n| format!("synced{n}@example.com")).collect();
    for address in &synced {
        sim.handle()
            .add_synthetic_mailbox(address, SYNCED_MESSAGES)
            .expect("sim mailbox");
    }
    sim.handle().set_latency(Duration::from_millis(150));
    sync_task(&settings, &db, &archive, &sim, &synced).await;

    let (mut child, address) = serve(data.path(), &site);
    let client = reqwest::Client::new();
    let kept_cookie = sign_in(&client, &address, "person0").await;
    let plan = LoadPlan {
        base: address.clone(),
        people: people.clone(),
        duration: Duration::from_secs(1),
        rate_per_person: 10.0,
        max_requests: 100_000,
        queries: vec!["budget".into(), "from:ann".into()],
    };
    // The load runs in one-second rounds until the kill; a round that ended before it must have
    // had no failure (the round the kill falls in has some, as it should).
    let killed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rounds_done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let load = tokio::spawn({
        let plan = plan.clone();
        let killed = killed.clone();
        let rounds_done = rounds_done.clone();
        async move {
            let mut rounds = Vec::new();
            while !killed.load(std::sync::atomic::Ordering::SeqCst) {
                let report = run(&plan).await.expect("load");
                rounds.push((killed.load(std::sync::atomic::Ordering::SeqCst), report));
                rounds_done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            rounds
        }
    });
    // Kill it once the sync is under way, not done.
    let started = Instant::now();
    loop {
        let mut total = 0;
        for a in &synced {
            total += archived(&archive, a).await;
        }
        if total >= 100 && rounds_done.load(std::sync::atomic::Ordering::SeqCst) >= 2 {
            assert!(
                total < (SYNCED_MESSAGES * synced.len() as u64) as i64,
                "the sync ended before the kill"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no sync progress"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    killed.store(true, std::sync::atomic::Ordering::SeqCst);
    kill(&mut child, "-KILL");
    let rounds = load.await.expect("load task");
    let before: Vec<_> = rounds.iter().filter(|(after, _)| !after).collect();
    assert!(!before.is_empty(), "the load ran before the kill");
    for (_, report) in &before {
        assert!(
            report.errors.is_empty(),
            "before the kill: {:?}",
            report.errors
        );
    }

    // Restarted on the same data folder.
    sim.handle().set_latency(Duration::ZERO);
    let (mut child, address) = serve(data.path(), &site);
    let overview = client
        .post(format!("{address}/api/mail/overview"))
        .header("Origin", &address)
        .header("Cookie", &kept_cookie)
        .send()
        .await
        .expect("overview");
    assert_eq!(
        overview.status(),
        200,
        "a session from before the kill holds"
    );
    let after = run(&LoadPlan {
        base: address.clone(),
        duration: Duration::from_secs(2),
        ..plan
    })
    .await
    .expect("load");
    assert!(
        after.errors.is_empty(),
        "after the restart: {:?}",
        after.errors
    );

    // Another run takes the dead node's mailboxes once its lease lapses, and finishes them:
    // every message archived exactly once.
    let started = Instant::now();
    loop {
        let mut done = 0;
        for a in &synced {
            let n = archived(&archive, a).await;
            assert!(
                n <= SYNCED_MESSAGES as i64,
                "{a}: {n} items, more than its messages"
            );
            if n == SYNCED_MESSAGES as i64 {
                done += 1;
            }
        }
        if done == synced.len() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the sync did not finish after the restart ({done} of {} mailboxes)",
            synced.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The index catches up with the store: the same items, none twice.
    let started = Instant::now();
    loop {
        let reader = search::SearchReader::open(&data.path().join("index")).expect("index");
        let mut indexed = reader.indexed_item_ids().expect("ids");
        let count = indexed.len();
        indexed.sort_unstable();
        indexed.dedup();
        assert_eq!(indexed.len(), count, "an item is in the index twice");
        let stored = archive.count_items(None).await.expect("count");
        if count as i64 == stored {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "index {count} items, store {stored}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    kill(&mut child, "-TERM");
}

/// Runs `inside_a_small_disk` in a private mount namespace, where it may mount a small tmpfs.
#[test]
fn a_full_disk_stops_import_and_sync_cleanly_and_they_resume() {
    let output = Command::new("unshare")
        .args(["--map-root-user", "--mount"])
        .arg(std::env::current_exe().expect("test binary"))
        .args([
            "--ignored",
            "--exact",
            "inside_a_small_disk",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .expect("unshare (util-linux)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "inside the small disk:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}

fn mount_tmpfs(dir: &Path, options: &str) {
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", options, "tmpfs"])
        .arg(dir)
        .status()
        .expect("mount");
    assert!(status.success(), "mount -o {options}");
}

fn grow(dir: &Path) {
    let status = Command::new("mount")
        .args(["-o", "remount,size=256m"])
        .arg(dir)
        .status()
        .expect("mount");
    assert!(status.success(), "remount");
}

fn is_disk_full(error: &str) -> bool {
    error.contains("No space left on device") || error.contains("disk is full")
}

/// Every item of the mailbox reads back whole (blob present, decrypts, hash checks).
async fn all_readable(archive: &Archive, address: &str) -> i64 {
    let Some(mailbox) = archive.mailbox_by_name(address).await.expect("mailbox") else {
        return 0;
    };
    let mut n = 0;
    for folder in archive.folder_tree(mailbox.id, None).await.expect("tree") {
        let mut after = None;
        loop {
            let page = archive
                .list_folder_items(
                    folder.id,
                    &archive::ListQuery {
                        after,
                        ..archive::ListQuery::default()
                    },
                )
                .await
                .expect("list");
            for item in &page.items {
                archive
                    .read_raw(item.id)
                    .await
                    .expect("an archived item reads back");
                n += 1;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    n
}

#[tokio::test]
#[ignore = "run by a_full_disk_stops_import_and_sync_cleanly_and_they_resume, in its namespace"]
async fn inside_a_small_disk() {
    const MESSAGES: usize = 150;
    // The mail to import lives on the real disk; only the archive is on the small one.
    let source = tempfile::tempdir().expect("tempdir");
    let maildir = source.path().join("mail");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
    }
    let mut generator = transfer::mailgen::MailGen::new(3);
    let mut generated = Vec::new();
    for i in 0..MESSAGES {
        let (_, raw) = generator.message(i);
        std::fs::write(maildir.join(format!("cur/{i}.fault:2,S")), &raw).expect("write");
        generated.push(raw);
    }

    // Import: about 7 MB of mail (attachments do not compress) into 4 MB.
    let small = tempfile::tempdir().expect("tempdir");
    mount_tmpfs(small.path(), "size=4m");
    let settings = Settings::for_tests(small.path()).expect("settings");
    let archive = server::open_archive(&settings).await.expect("archive");
    let options = transfer::import::ImportOptions::new(NewMailbox {
        name: "imported@example.com".into(),
        owner_address: "imported@example.com".into(),
        display_name: "Imported".into(),
    });
    let first = transfer::import::import(
        &archive,
        transfer::import::ImportFormat::Maildir,
        &maildir,
        &options,
        &mut |_| {},
    )
    .await;
    let error = match first {
        Err(e) => e.to_string(),
        Ok(summary) => summary
            .failed
            .iter()
            .map(|f| f.reason.clone())
            .collect::<Vec<_>>()
            .join("; "),
    };
    assert!(is_disk_full(&error), "a full disk is said plainly: {error}");
    let kept = all_readable(&archive, "imported@example.com").await;
    assert!(kept < MESSAGES as i64, "the disk was full before the end");
    grow(small.path());
    let again = transfer::import::import(
        &archive,
        transfer::import::ImportFormat::Maildir,
        &maildir,
        &options,
        &mut |_| {},
    )
    .await
    .expect("the import completes once there is space");
    assert!(again.failed.is_empty(), "{:?}", again.failed);
    assert_eq!(
        again.duplicates as i64, kept,
        "what was kept is not stored twice"
    );
    assert_eq!(
        all_readable(&archive, "imported@example.com").await,
        MESSAGES as i64
    );

    // Sync: a mailbox of the same mail in the simulator, into an archive on a second small disk.
    let sim = exchange_sim::start(exchange_sim::SimConfig {
        seed_dir: None,
        ..exchange_sim::SimConfig::for_tests()
    })
    .await
    .expect("simulator");
    let address = "synced@example.com";
    sim.handle().add_mailbox(address, "Synced");
    for raw in &generated {
        sim.handle()
            .add_message(address, "inbox", raw, false)
            .expect("sim message");
    }
    let small = tempfile::tempdir().expect("tempdir");
    mount_tmpfs(small.path(), "size=4m");
    let mut settings = Settings::for_tests(small.path()).expect("settings");
    // A run whose outcome cannot be written keeps its claim until the lease lapses: short here.
    settings.worker.lease_secs = 1;
    let db = server::open_database(&settings).await.expect("db");
    let archive = server::archive_on(&settings, db.clone()).expect("archive");
    let (sync, task) = sync_task(&settings, &db, &archive, &sim, &[address.to_owned()]).await;
    // Either the failed run is recorded with its reason, or (the database full too) the call
    // says that it could not be recorded, and why.
    let said = match sync.sync_mailbox_now(task, address).await {
        Ok(Some(run)) => format!("{run:?}"),
        Ok(None) => panic!("the mailbox was claimed elsewhere"),
        Err(e) => e.to_string(),
    };
    assert!(is_disk_full(&said), "a full disk is said plainly: {said}");
    let kept = all_readable(&archive, address).await;
    assert!(kept < MESSAGES as i64);
    grow(small.path());
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let run = sync
        .sync_mailbox_now(task, address)
        .await
        .expect("the run is recorded")
        .expect("not claimed elsewhere");
    assert!(run.error.is_none(), "{run:?}");
    assert_eq!(all_readable(&archive, address).await, MESSAGES as i64);
    assert_eq!(
        archive.count_items(None).await.expect("count"),
        MESSAGES as i64
    );
}
