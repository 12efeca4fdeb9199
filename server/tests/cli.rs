//! The binary as a person runs it: exit codes, one-line errors, graceful shutdown.

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
    assert_eq!(stdout.trim(), "bob\tadmin\tBob Baker");
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
    let site = data.path().join("site");
    std::fs::create_dir_all(site.join("pkg")).expect("mkdir");
    std::fs::write(site.join("pkg/sync-recover.js"), "").expect("write");
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
