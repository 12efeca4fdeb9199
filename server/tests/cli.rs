//! The binary as a person runs it: exit codes, one-line errors, graceful shutdown.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn sync_recover(data: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sync-recover"));
    cmd.env("SR_STORAGE__DATA_DIR", data)
        .env("SR_SERVER__LISTEN", "127.0.0.1:0")
        .env("SR_LOG__LEVEL", "info");
    cmd
}

#[test]
fn bad_configuration_is_one_line_naming_the_key_and_exits_non_zero() {
    let data = tempfile::tempdir().expect("tempdir");
    let output = sync_recover(data.path())
        .env("SR_SERVER__SESSION_HOURS", "lots")
        .arg("migrate")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("server.session_hours"), "{stderr}");
}

#[test]
fn migrate_creates_the_database_and_users_can_be_added_and_listed() {
    let data = tempfile::tempdir().expect("tempdir");
    let migrate = sync_recover(data.path())
        .arg("migrate")
        .output()
        .expect("run");
    assert!(migrate.status.success(), "{migrate:?}");
    assert!(data.path().join("sync-recover.db").exists());

    let add = sync_recover(data.path())
        .args([
            "users",
            "add",
            "Bob",
            "--display-name",
            "Bob Baker",
            "--admin",
        ])
        .env("SR_PASSWORD", "a long password")
        .output()
        .expect("run");
    assert!(add.status.success(), "{add:?}");

    let short = sync_recover(data.path())
        .args(["users", "add", "carol"])
        .env("SR_PASSWORD", "short")
        .output()
        .expect("run");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8 characters"));

    let list = sync_recover(data.path())
        .args(["users", "list"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&list.stdout);
    // The role is the Administrator role of the access model, for all mailboxes.
    assert_eq!(stdout.trim(), "bob\tAdministrator\tBob Baker");

    // Adding Bob is in the audit log, and the chain holds.
    let verify = sync_recover(data.path())
        .args(["audit", "verify"])
        .output()
        .expect("run");
    assert!(verify.status.success(), "{verify:?}");
    assert!(String::from_utf8_lossy(&verify.stdout).contains("intact: 2 entries"));

    // Someone edits an entry in the database: verify names it and fails.
    let db = data.path().join("sync-recover.db");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .connect()
            .await
            .expect("open the database");
        sqlx::query("UPDATE audit_log SET detail = 'mallory' WHERE seq = 1")
            .execute(&mut conn)
            .await
            .expect("tamper");
    });
    let verify = sync_recover(data.path())
        .args(["audit", "verify"])
        .output()
        .expect("run");
    assert_eq!(verify.status.code(), Some(1), "{verify:?}");
    let stderr = String::from_utf8_lossy(&verify.stderr);
    assert!(stderr.contains("broken at entry 1"), "{stderr}");
}

#[test]
fn serve_refuses_to_start_without_the_browser_bundle() {
    let data = tempfile::tempdir().expect("tempdir");
    let output = sync_recover(data.path())
        .env("SR_SERVER__SITE_ROOT", data.path().join("no-site"))
        .arg("serve")
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("scripts/build-site.sh"));
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_cleanly() {
    let data = tempfile::tempdir().expect("tempdir");
    let site = support::stand_in_site(data.path());
    let mut child = sync_recover(data.path())
        .env("SR_SERVER__SITE_ROOT", &site)
        .arg("serve")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let listening = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("portal listening on"));
    assert!(listening, "the server announced its address");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "clean exit after SIGTERM: {exit:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("shutting down")), "{rest:?}");
}

fn apricot(source_id: &str, subject: &str) -> archive::PutItem {
    let raw = format!(
        "From: Ann Archer <ann@example.com>\r\nTo: bob@example.com\r\nSubject: {subject}\r\n\
         Date: Mon, 15 Jan 2024 09:00:00 +0000\r\n\r\nApricots are in season.\r\n"
    );
    archive::PutItem {
        mailbox_id: 0,
        folder_source_id: "inbox".into(),
        source_id: source_id.into(),
        kind: archive::ItemKind::Message,
        raw: raw.into_bytes(),
        is_read: false,
        flags: Vec::new(),
        meta: None,
        properties: None,
        fallback_date: None,
        at: archive::Timestamp::now(),
    }
}

/// A data folder whose archive has Ann's mailbox with an empty Inbox.
async fn ann_with_an_inbox() -> (
    tempfile::TempDir,
    server::config::Settings,
    archive::Archive,
    archive::Mailbox,
) {
    let data = tempfile::tempdir().expect("tempdir");
    let settings = server::config::Settings::for_tests(data.path()).expect("settings");
    let archive = server::open_archive(&settings).await.expect("archive");
    let mailbox = mailbox_with_an_inbox(&archive, "ann@example.com", "Ann").await;
    (data, settings, archive, mailbox)
}

/// A mailbox owned by `address` with an empty Inbox.
async fn mailbox_with_an_inbox(
    archive: &archive::Archive,
    address: &str,
    display_name: &str,
) -> archive::Mailbox {
    let mailbox = archive
        .ensure_mailbox(&archive::NewMailbox {
            name: address.into(),
            owner_address: address.into(),
            display_name: display_name.into(),
        })
        .await
        .expect("mailbox");
    let inbox = archive::FolderSpec {
        source_id: "inbox".into(),
        parent_source_id: None,
        name: "Inbox".into(),
        kind: archive::FolderKind::Inbox,
    };
    archive
        .upsert_folder(mailbox.id, &inbox, archive::Timestamp::now())
        .await
        .expect("folder");
    mailbox
}

/// `search` runs next to a portal: this process holds the index writer as `serve` does, and the
/// command answers from what is committed, with a note that the index is behind the archive.
#[tokio::test]
async fn search_answers_while_the_portal_holds_the_index_writer() {
    let (data, settings, archive, mailbox) = ann_with_an_inbox().await;
    let put = |source_id: &str, subject: &str| archive::PutItem {
        mailbox_id: mailbox.id,
        ..apricot(source_id, subject)
    };
    archive
        .put_item(put("first", "Apricot jam"))
        .await
        .expect("put");
    let writer = server::open_search(&settings).expect("the portal's index writer");
    assert_eq!(writer.catch_up(&archive).await.expect("catch up"), 1);
    archive
        .put_item(put("second", "Apricot tart"))
        .await
        .expect("put");

    let search = || {
        sync_recover(data.path())
            .args(["search", "apricot", "--mailbox", "ann@example.com"])
            .output()
            .expect("run")
    };
    let output = search();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"1 matches"), "{stdout}");
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[1].ends_with("\tApricot jam"), "{stdout}");
    assert!(
        stderr.contains("the index is 1 change behind the archive"),
        "{stderr}"
    );

    // One writer per index is still the rule.
    let reindex = sync_recover(data.path())
        .arg("reindex")
        .output()
        .expect("run");
    assert!(!reindex.status.success(), "{reindex:?}");

    assert_eq!(writer.catch_up(&archive).await.expect("catch up"), 1);
    let output = search();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.lines().next(), Some("2 matches"), "{stdout}");
    assert!(!stderr.contains("behind"), "{stderr}");
}

#[test]
fn search_without_an_index_says_how_to_build_one() {
    let data = tempfile::tempdir().expect("tempdir");
    let migrate = sync_recover(data.path())
        .arg("migrate")
        .output()
        .expect("run");
    assert!(migrate.status.success(), "{migrate:?}");
    let output = sync_recover(data.path())
        .args(["search", "anything"])
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no search index"), "{stderr}");
    assert!(stderr.contains("sync-recover reindex"), "{stderr}");
    assert!(
        !data.path().join("index").join("meta.json").exists(),
        "a search creates no index"
    );
}

/// `export` writes a bag a person can open, runs as a job (its report stays), refuses to
/// overwrite a file, and names a folder that is not there.
#[tokio::test]
async fn export_writes_a_bag_through_a_job_and_refuses_what_it_cannot_do() {
    let (data, _, archive, mailbox) = ann_with_an_inbox().await;
    for (source, subject) in [("one", "Apricot jam"), ("two", "Apricot tart")] {
        archive
            .put_item(archive::PutItem {
                mailbox_id: mailbox.id,
                ..apricot(source, subject)
            })
            .await
            .expect("put");
    }
    let out = data.path().join("ann.zip");
    let export = |extra: &[&str]| {
        sync_recover(data.path())
            .args(["export", "--mailbox", "ann@example.com", "--format", "mbox"])
            .args(extra)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("run")
    };
    let done = export(&[]);
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(stdout.contains("files in the bag   1"), "{stdout}");
    assert!(stdout.contains("failed items       0"), "{stdout}");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&out).expect("zip")).expect("a zip");
    let mut mbox = String::new();
    std::io::Read::read_to_string(
        &mut zip
            .by_name("export-1-ann@example.com/data/Inbox.mbox")
            .expect("the Inbox"),
        &mut mbox,
    )
    .expect("read");
    assert_eq!(mbox.matches("From ann@example.com ").count(), 2, "{mbox}");

    let again = export(&[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    std::fs::remove_file(&out).expect("remove");
    let missing = export(&["--folder", "Archive/2019"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr)
        .contains("`Archive/2019` is not a folder of ann@example.com"));
    assert!(!out.exists());
}

/// A restore whose process is killed with SIGKILL halfway is taken over by `restore --resume`
/// once its lease has lapsed: every missing message is created exactly once, none as a draft.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_killed_halfway_resumes_and_creates_nothing_twice() {
    const ALICE: &str = "alice.martin@example.com";
    let data = tempfile::tempdir().expect("tempdir");
    let settings = server::config::Settings::for_tests(data.path()).expect("settings");
    let sim = exchange_sim::start(exchange_sim::SimConfig::for_tests())
        .await
        .expect("simulator");
    let db = server::open_database(&settings).await.expect("database");
    let archive = server::archive_on(&settings, db.clone()).expect("archive");
    let sync = server::sync_service(&settings, &db, &archive).expect("sync");
    let d = exchange_sim::SimConfig::default();
    let connection = sync
        .store()
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
    let tested = sync
        .store()
        .test_connection(connection.id, None)
        .await
        .expect("test");
    assert!(tested.ok, "{tested:?}");
    let task = sync
        .store()
        .create_task(&syncer::NewTask::new("Staff", connection.id))
        .await
        .expect("task");
    sync.store()
        .add_mailboxes(task.id, &[ALICE.to_owned()])
        .await
        .expect("mailboxes");
    sync.sync_mailbox_now(task.id, ALICE)
        .await
        .expect("sync")
        .expect("ran");
    let handle = sim.handle();
    let mut missing = 0;
    for folder in ["Inbox", "Inbox/Projects", "Sent Items", "Newsletters"] {
        for item in handle.list_items(ALICE, folder).expect("items") {
            handle.delete_item(ALICE, item).expect("delete");
            missing += 1;
        }
    }
    handle.set_latency(Duration::from_millis(150));

    let restore = |extra: &[&str]| {
        let mut cmd = sync_recover(data.path());
        cmd.env("SR_WORKER__JOB_LEASE_SECS", "2")
            .arg("restore")
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    };
    let mut child = restore(&["--mailbox", ALICE, "--only", "mail"])
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    while handle.restored(ALICE).len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nothing restored"
        );
        assert!(child.try_wait().expect("wait").is_none(), "it ended early");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let _ = child.wait();
    let halfway = handle.restored(ALICE).len();
    assert!(halfway < missing, "{halfway} of {missing}: killed too late");
    handle.set_latency(Duration::ZERO);

    let jobs = jobs::Jobs::new(db.clone());
    let running = jobs
        .list(&jobs::JobFilter {
            mailboxes: None,
            kinds: vec![recovery::RESTORE_KIND.to_owned()],
            limit: 10,
        })
        .await
        .expect("jobs")
        .into_iter()
        .find(|j| j.state == jobs::JobState::Running)
        .expect("the killed restore is left running");
    // Taken over once its lease (2 s) has lapsed; `--resume` before that finds it held.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let resumed = restore(&["--resume", &running.id.to_string()])
        .output()
        .expect("resume");
    assert!(resumed.status.success(), "{resumed:?}");
    let ended = jobs.get(running.id).await.expect("job").expect("job");
    assert_eq!(ended.state, jobs::JobState::Done, "{:?}", ended.error);
    assert_eq!(ended.failed, 0);

    let restored = handle.restored(ALICE);
    assert_eq!(
        restored.len(),
        missing,
        "every missing message exactly once"
    );
    let mut stamps: Vec<String> = restored.iter().filter_map(|r| r.stamp.clone()).collect();
    stamps.sort();
    stamps.dedup();
    assert_eq!(stamps.len(), missing, "no stamp twice");
    let counters = handle.counters();
    assert_eq!(counters.duplicates_created, 0);
    assert_eq!(counters.drafts_created, 0);
    for folder in ["Inbox", "Inbox/Projects", "Sent Items", "Newsletters"] {
        assert!(
            !handle.list_items(ALICE, folder).expect("items").is_empty(),
            "{folder}"
        );
    }
}

/// `sync-recover search ... | head -1`: the command ends quietly when its reader goes away,
/// instead of panicking on the broken pipe.
#[tokio::test]
async fn output_into_a_closed_pipe_ends_quietly() {
    use std::io::Read;
    let (data, settings, archive, mailbox) = ann_with_an_inbox().await;
    // Far more output than a pipe holds (64 KiB), so the writer meets the closed end.
    let subject = "Apricot harvest notes ".repeat(6);
    let items: Vec<archive::PutItem> = (0..1500)
        .map(|n| archive::PutItem {
            mailbox_id: mailbox.id,
            ..apricot(&format!("m{n}"), &format!("{subject}{n}"))
        })
        .collect();
    archive.put_items(items).await.expect("put");
    {
        let writer = server::open_search(&settings).expect("index");
        writer.catch_up(&archive).await.expect("catch up");
    }

    let mut child = sync_recover(data.path())
        .args(["search", "apricot", "--limit", "5000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout);
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.to_lowercase().contains("broken pipe"), "{stderr}");
}

/// `search` without `--mailbox` covers every mailbox and names each hit's mailbox.
#[tokio::test]
async fn search_without_a_mailbox_covers_them_all_and_names_each() {
    let (data, settings, archive, ann) = ann_with_an_inbox().await;
    let bea = mailbox_with_an_inbox(&archive, "bea@example.com", "Bea").await;
    for (mailbox, subject) in [(ann.id, "Apricot jam"), (bea.id, "Apricot tart")] {
        archive
            .put_item(archive::PutItem {
                mailbox_id: mailbox,
                ..apricot("m1", subject)
            })
            .await
            .expect("put");
    }
    {
        let writer = server::open_search(&settings).expect("index");
        writer.catch_up(&archive).await.expect("catch up");
    }
    let output = sync_recover(data.path())
        .args(["search", "apricot"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let mut hits: Vec<(String, String)> = stdout
        .lines()
        .skip(1)
        .map(|line| {
            let columns: Vec<&str> = line.split('\t').collect();
            (columns[1].to_owned(), columns[4].to_owned())
        })
        .collect();
    hits.sort();
    assert_eq!(
        hits,
        vec![
            ("ann@example.com".to_owned(), "Apricot jam".to_owned()),
            ("bea@example.com".to_owned(), "Apricot tart".to_owned()),
        ],
        "{stdout}"
    );
}

/// Retention from the command line: a paused task names what it needs and where to fix it, a
/// connection test that fails is kept and said, the policy is set and shown, a dry run lists
/// and removes nothing, and the purge removes what is past its time.
#[tokio::test]
async fn retention_and_task_prerequisites_from_the_command_line() {
    const DAY: i64 = 86_400_000_000;
    let (data, settings, archive, ann) = ann_with_an_inbox().await;
    let now = archive::Timestamp::now();
    let put = archive
        .put_item(archive::PutItem {
            mailbox_id: ann.id,
            at: archive::Timestamp(now.0 - 100 * DAY),
            ..apricot("gone-1", "Apricot harvest of last spring")
        })
        .await
        .expect("put");
    archive
        .delete_item(ann.id, "gone-1", archive::Timestamp(now.0 - 90 * DAY))
        .await
        .expect("delete");
    archive
        .put_item(archive::PutItem {
            mailbox_id: ann.id,
            ..apricot("here-1", "Apricot harvest this year")
        })
        .await
        .expect("put");
    let db = archive.database().clone();
    let sync = server::sync_service(&settings, &db, &archive).expect("sync");
    // Nothing listens there: its test fails.
    let connection = sync
        .store()
        .create_connection(&syncer::NewConnection {
            name: "Old server".into(),
            settings: mailsync::ConnectionSettings::Ews {
                url: "http://127.0.0.1:9/EWS/Exchange.asmx".into(),
                username: "svc@example.com".into(),
            },
            secret: "pw".into(),
        })
        .await
        .expect("connection");
    let task = sync
        .store()
        .create_task(&syncer::NewTask {
            enabled: false,
            mailboxes: vec!["ann@example.com".into()],
            ..syncer::NewTask::new("Staff", connection.id)
        })
        .await
        .expect("task");
    db.pool.close().await;

    let run = |args: &[&str]| {
        let output = sync_recover(data.path()).args(args).output().expect("run");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (ok, out, _) = run(&["tasks", "list"]);
    assert!(ok);
    assert!(
        out.contains("[paused]")
            && out.contains("has not been tested")
            && out.contains("/admin/connections"),
        "{out}"
    );
    let (ok, _, err) = run(&["connections", "test", &connection.id.to_string()]);
    assert!(!ok, "the test fails");
    assert!(!err.trim().is_empty());
    let (_, out, _) = run(&["connections", "list"]);
    assert!(out.contains("failed its last test"), "{out}");
    let (ok, _, err) = run(&["tasks", "enable", &task.id.to_string()]);
    assert!(!ok);
    assert!(
        err.contains("failed its last test") && err.contains("/admin/connections"),
        "{err}"
    );

    let (ok, _, err) = run(&["retention", "set", "--mail", "default"]);
    assert!(!ok && err.contains("--mailbox"), "{err}");
    let (ok, _, err) = run(&["retention", "set", "--mail", "soon"]);
    assert!(!ok && err.contains("not a number of days"), "{err}");
    let (ok, out, err) = run(&["retention", "set", "--mail", "60"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("mail      60 days after it left the mailbox"),
        "{out}"
    );
    let (ok, out, _) = run(&[
        "retention",
        "set",
        "--mailbox",
        "ann@example.com",
        "--contacts",
        "400",
        "--basis",
        "archived",
    ]);
    assert!(ok);
    assert!(
        out.contains("contacts  400 days after it was archived"),
        "{out}"
    );

    let (ok, out, err) = run(&["retention", "purge", "--dry-run"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("1 message, 0 calendar items, 0 contacts would go")
            && out.contains("Apricot harvest of last spring")
            && out.contains("Nothing was removed"),
        "{out}"
    );
    let (ok, out, err) = run(&["retention", "purge"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("1 message, 0 calendar items, 0 contacts removed"),
        "{out}"
    );

    let archive = server::open_archive(&settings).await.expect("archive");
    assert!(archive.item(put.item_id()).await.expect("item").is_none());
    assert_eq!(archive.count_items(Some(ann.id)).await.expect("count"), 1);
    let log = access::AuditLog::new(archive.database().clone());
    let entries = log
        .list(&access::AuditFilter::default(), 100)
        .await
        .expect("audit");
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "connection_tested",
        "retention_changed",
        "purge_dry_run",
        "purge_started",
        "purge_finished",
    ] {
        assert!(actions.contains(&action), "{action} missing: {actions:?}");
    }
}

/// `import` reads a PST (the format guessed from the name) and refuses an OST with what it is.
#[test]
fn import_reads_a_pst_and_refuses_an_ost() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../end2end/node_modules/pst-extractor/example/testdata");
    assert!(
        fixtures.join("enron.pst").exists(),
        "the PST fixtures are missing: run scripts/setup.sh"
    );
    let data = tempfile::tempdir().expect("tempdir");
    let output = sync_recover(data.path())
        .args(["import", "--mailbox", "lokay-m@enron.com"])
        .arg(fixtures.join("enron.pst"))
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("imported    71"), "{stdout}");
    assert!(stdout.contains("failed      0"), "{stdout}");

    let ost = sync_recover(data.path())
        .args(["import", "--mailbox", "lokay-m@enron.com"])
        .arg(fixtures.join("pstextractortest@outlook.com.ost"))
        .output()
        .expect("run");
    assert!(!ost.status.success());
    let stderr = String::from_utf8_lossy(&ost.stderr);
    assert!(
        stderr.contains("OST") && stderr.contains("export the mailbox from Outlook as a PST"),
        "{stderr}"
    );
}

/// Settings of `[storage.s3]` for a bucket of the suite's S3 server (PyPI `moto`).
fn with_s3(cmd: &mut Command, endpoint: &str, bucket: &str) {
    cmd.env("SR_STORAGE__S3__BUCKET", bucket)
        .env("SR_STORAGE__S3__ENDPOINT", endpoint)
        .env("SR_STORAGE__S3__REGION", testkit::s3::REGION)
        .env("SR_STORAGE__S3__PATH_STYLE", "true")
        .env("SR_STORAGE__S3__ACCESS_KEY_ID", testkit::s3::ACCESS_KEY_ID)
        .env(
            "SR_STORAGE__S3__SECRET_ACCESS_KEY",
            testkit::s3::SECRET_ACCESS_KEY,
        );
}

#[tokio::test]
async fn blobs_move_to_s3_resumably_and_the_archive_reads_them_there() {
    let data = tempfile::tempdir().expect("tempdir");
    let mbox = data.path().join("mail.mbox");
    let messages: Vec<String> = (0..3)
        .map(|n| {
            format!(
                "From: Ann Archer <ann@example.com>\nTo: bob@example.com\nSubject: Plum {n}\n\
                 Message-ID: <plum-{n}@example.com>\nDate: Mon, 15 Jan 2024 09:0{n}:00 +0000\n\n\
                 Plums, batch {n}.\n"
            )
        })
        .collect();
    let text: String = messages
        .iter()
        .map(|m| format!("From ann@example.com Mon Jan 15 09:00:00 2024\n{m}\n"))
        .collect();
    std::fs::write(&mbox, text).expect("mbox");
    let import = sync_recover(data.path())
        .args(["import", "--mailbox", "ann@example.com"])
        .arg(&mbox)
        .output()
        .expect("run");
    assert!(import.status.success(), "{import:?}");

    let moto = testkit::s3::moto();
    let bucket = moto.bucket("migrated").await;
    let migrate = |expect: &str| {
        let mut cmd = sync_recover(data.path());
        with_s3(&mut cmd, &moto.endpoint, &bucket);
        let out = cmd.args(["blobs", "migrate"]).output().expect("run");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{out:?}");
        assert!(stdout.contains(expect), "{stdout}");
    };
    migrate("copied to S3 and checked    3");
    // Run again (as after an interruption): nothing uploaded twice, everything checked.
    migrate("in S3 already, checked      3");
    assert_eq!(moto.keys(&bucket).await.len(), 3);

    // The archive configured for S3 reads every message from the bucket, with the local copy gone.
    std::fs::remove_dir_all(data.path().join("blobs")).expect("remove local blobs");
    let mut settings = server::config::Settings::for_tests(data.path()).expect("settings");
    settings.storage.s3 = server::config::S3Config {
        bucket: bucket.clone(),
        endpoint: Some(moto.endpoint.clone()),
        region: Some(testkit::s3::REGION.to_owned()),
        path_style: true,
        access_key_id: Some(testkit::s3::ACCESS_KEY_ID.to_owned()),
        secret_access_key: Some(testkit::s3::SECRET_ACCESS_KEY.to_owned().into()),
        prefix: String::new(),
    };
    let archive = server::open_archive(&settings).await.expect("archive");
    let mailbox = archive
        .mailbox_by_name("ann@example.com")
        .await
        .expect("mailbox")
        .expect("imported");
    assert_eq!(
        archive.count_items(Some(mailbox.id)).await.expect("count"),
        3
    );
    for hash in archive.referenced_blobs().await.expect("blobs") {
        let hash = archive::BlobHash::parse(&hash).expect("hash");
        let raw = archive.blobs().get(&hash).await.expect("read from S3");
        assert!(String::from_utf8_lossy(&raw).contains("Plums, batch"));
    }

    // A bucket that does not answer stops the portal at start, in one line.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let site = support::stand_in_site(data.path());
    // `serve` with these settings stops at start: its one line.
    let refused_start = |mut serve: Command| -> String {
        let out = serve
            .env("SR_SERVER__SITE_ROOT", &site)
            .env("SR_LOG__LEVEL", "off")
            .arg("serve")
            .output()
            .expect("run");
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("storage.s3"), "{stderr}");
        stderr
    };
    let mut serve = sync_recover(data.path());
    with_s3(&mut serve, &format!("http://127.0.0.1:{closed}"), &bucket);
    refused_start(serve);

    // Credentials the store does not know: one line at start too, with the store's answer.
    let guarded = testkit::s3::moto_checking_credentials();
    let mut serve = sync_recover(data.path());
    with_s3(&mut serve, &guarded.endpoint, testkit::s3::GUARDED_BUCKET);
    serve
        .env("SR_STORAGE__S3__ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG0")
        .env("SR_STORAGE__S3__SECRET_ACCESS_KEY", "not the secret");
    let stderr = refused_start(serve);
    assert!(
        stderr.contains("403"),
        "the store's refusal is said: {stderr}"
    );
    assert!(
        !stderr.contains("not the secret"),
        "the secret is never shown: {stderr}"
    );
}
