//! Scale-out, proven with real servers on one machine: PostgreSQL, an S3 store (PyPI `moto`), the
//! Exchange simulator serving 20 mailboxes, and three `sync-recover serve` processes with
//! different roles over the same database and bucket:
//!
//! | node | roles |
//! |---|---|
//! | A | web, sync |
//! | B | sync, jobs, indexer |
//! | C | web, indexer |
//!
//! The search index has four shards. A sync node is killed (`kill -9`) mid-sync and the indexer
//! writing most shards is killed while it indexes; both are started again. Then: every message
//! is archived exactly once, every blob the archive names is in the bucket and every blob in the
//! bucket is named, both web nodes answer every search alike and find everything, and no lease
//! is held by a dead process. Last, PostgreSQL "restarts" under the nodes (every connection cut,
//! none accepted for a few seconds, through `testkit::net::CuttableFront`): they reconnect by
//! themselves, and mail that arrives afterwards is archived and found on both web nodes.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use archive::Archive;
use base64::Engine as _;
use server::config::Settings;

const MAILBOXES: usize = 20;
const MESSAGES: u64 = 60;
const PASSWORD: &str = "scale password";

struct Node {
    name: &'static str,
    config: PathBuf,
    child: Child,
    address: String,
}

impl Node {
    fn start(name: &'static str, config: PathBuf) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sync-recover"))
            .args(["--config", &config.display().to_string(), "serve"])
            // SCALE_TEST_LOG=1 shows the nodes' logs; a filter there (`debug`) sets their level.
            .env(
                "SR_LOG__LEVEL",
                std::env::var("SCALE_TEST_LOG")
                    .ok()
                    .filter(|f| f.len() > 1)
                    .unwrap_or_else(|| "info,sqlx=warn,tantivy=warn".to_owned()),
            )
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let echo = std::env::var("SCALE_TEST_LOG").is_ok();
        let address = support::announced_address(&mut child, name, echo);
        Node {
            name,
            config,
            child,
            address,
        }
    }

    /// This process's name in leases (see `server::node_name`).
    fn lease_name(&self) -> String {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "node".to_owned());
        format!("{host}:{}", self.child.id())
    }

    fn kill(&mut self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let started = Instant::now();
        while self.child.try_wait().expect("wait").is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "node {} did not stop",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn restart(&mut self) {
        let again = Node::start(self.name, self.config.clone());
        *self = again;
    }
}

fn key() -> String {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("randomness");
    base64::engine::general_purpose::STANDARD.encode(key)
}

/// One node's configuration file: everything shared, and its own data folder and roles.
fn config(dir: &Path, shared: &str, name: &str, roles: &str) -> PathBuf {
    let data = dir.join(name);
    std::fs::create_dir_all(&data).expect("data dir");
    let path = dir.join(format!("{name}.toml"));
    let text = format!(
        "{shared}\n[node]\nroles = [{roles}]\nsearch_shards = 4\n",
        shared = shared.replace("@DATA@", &data.display().to_string())
    );
    std::fs::write(&path, text).expect("config");
    path
}

async fn archived(archive: &Archive) -> Vec<i64> {
    let mut counts = Vec::new();
    for n in 0..MAILBOXES {
        let name = format!("scale{n}@example.com");
        counts.push(
            match archive.mailbox_by_name(&name).await.expect("mailbox") {
                Some(m) => archive.count_items(Some(m.id)).await.expect("count"),
                None => 0,
            },
        );
    }
    counts
}

async fn search(
    client: &reqwest::Client,
    node: &Node,
    cookie: &str,
    query: &str,
) -> serde_json::Value {
    let response = client
        .post(format!("{}/api/mail/search", node.address))
        .header("Origin", &node.address)
        .header("Cookie", cookie)
        .form(&[("query", query), ("page", "0"), ("sort", "newest")])
        .send()
        .await
        .expect("search");
    assert_eq!(response.status(), 200, "search on {}", node.name);
    response.json().await.expect("search page")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_survive_kills_and_agree() {
    let Some(kit) = testkit::TestDb::postgres().await else {
        return;
    };
    let moto = testkit::s3::moto();
    let bucket = moto.bucket("scale-proof").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let site = support::stand_in_site(dir.path());

    let sim = exchange_sim::start(exchange_sim::SimConfig {
        seed_dir: None,
        ..exchange_sim::SimConfig::for_tests()
    })
    .await
    .expect("simulator");
    let addresses: Vec<String> = (0..MAILBOXES)
        .map(|n| format!("scale{n}@example.com"))
        .collect();
    for address in &addresses {
        sim.handle()
            .add_synthetic_mailbox(address, MESSAGES)
            .expect("sim mailbox");
    }
    // Slow enough that the kills come in the middle of the sync.
    sim.handle().set_latency(Duration::from_millis(120));

    // The nodes reach PostgreSQL through a front that can cut them off; the test goes direct.
    let postgres = testkit::net::CuttableFront::start("127.0.0.1:5432".parse().expect("address"));
    let nodes_db = kit
        .url
        .replace("127.0.0.1:5432", &format!("127.0.0.1:{}", postgres.port));
    let shared = format!(
        r#"[server]
listen = "127.0.0.1:0"
site_root = "{site}"

[storage]
data_dir = "@DATA@"
database_url = "{db}"
encryption_key = "{blob_key}"
secrets_key = "{secrets_key}"

{s3}
[worker]
lease_secs = 30
tick_secs = 1
index_lease_secs = 10
index_interval_secs = 1
"#,
        site = site.display(),
        db = nodes_db,
        blob_key = key(),
        secrets_key = key(),
        s3 = moto.storage_toml(&bucket),
    );
    let config_a = config(dir.path(), &shared, "a", r#""web", "sync""#);
    let config_b = config(dir.path(), &shared, "b", r#""sync", "jobs", "indexer""#);
    let config_c = config(dir.path(), &shared, "c", r#""web", "indexer""#);

    // The test's own view of the cluster: the same database (directly), bucket and keys.
    let mut settings = Settings::load(Some(&dir.path().join("b.toml"))).expect("settings");
    settings.storage.database_url = Some(kit.url.clone().into());
    let db = server::open_database(&settings).await.expect("db");
    let archive = server::archive_on(&settings, db.clone()).expect("archive");
    let accounts = accounts::Accounts::new(db.clone());
    let owner = accounts
        .create_user("owner", "Owner of everything", Some(PASSWORD))
        .await
        .expect("user");
    for address in &addresses {
        accounts
            .add_address(owner.id, address)
            .await
            .expect("address");
    }
    let sync = server::sync_service(&settings, &db, &archive).expect("sync service");
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
    assert!(
        sync.store()
            .test_connection(connection.id, None)
            .await
            .expect("test")
            .ok
    );
    let task = sync
        .store()
        .create_task(&syncer::NewTask {
            mailboxes: addresses.clone(),
            ..syncer::NewTask::new("Everyone", connection.id)
        })
        .await
        .expect("task");

    let mut a = Node::start("a", config_a);
    let mut b = Node::start("b", config_b);
    let mut c = Node::start("c", config_c);
    sync.store().request_task_run(task.id).await.expect("due");

    // Kill sync node A once the sync is under way, not done.
    let total = MAILBOXES as i64 * MESSAGES as i64;
    let started = Instant::now();
    loop {
        let done: i64 = archived(&archive).await.iter().sum();
        if done >= total / 4 {
            assert!(done < total, "the sync ended before the kill");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "no sync progress"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dead_a = a.lease_name();
    a.kill("-KILL");

    // Kill the indexer that writes most shards, while it indexes what the sync brings.
    let leases = search::ShardLeases::new(db.clone());
    let states = leases.states().await.expect("shard states");
    assert_eq!(states.len(), 4, "four shards, each with a row");
    let b_shards = states
        .iter()
        .filter(|s| s.writer.as_deref() == Some(b.lease_name().as_str()))
        .count();
    let c_shards = states
        .iter()
        .filter(|s| s.writer.as_deref() == Some(c.lease_name().as_str()))
        .count();
    assert_eq!(
        b_shards + c_shards,
        4,
        "every shard has a live writer: {states:?}"
    );
    let b_is_victim = b_shards >= c_shards;
    let dead_indexer = if b_is_victim {
        b.kill("-KILL");
        b.lease_name()
    } else {
        c.kill("-KILL");
        c.lease_name()
    };
    let dead = [dead_a, dead_indexer];
    sim.handle().set_latency(Duration::from_millis(10));
    a.restart();
    if b_is_victim {
        b.restart();
    } else {
        c.restart();
    }

    // Every message archived exactly once: the dead node's mailboxes are taken over after its
    // lease lapses, and the synced items are never more than the mailbox holds.
    let started = Instant::now();
    loop {
        let counts = archived(&archive).await;
        for (n, count) in counts.iter().enumerate() {
            assert!(
                *count <= MESSAGES as i64,
                "scale{n}: {count} items, more than its {MESSAGES} messages"
            );
        }
        if counts.iter().all(|c| *c == MESSAGES as i64) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the sync did not finish after the kills: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let duplicates: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT mailbox_id, message_id FROM archive_items \
         WHERE message_id IS NOT NULL GROUP BY mailbox_id, message_id HAVING COUNT(*) > 1) d",
    )
    .fetch_one(&db.pool)
    .await
    .expect("duplicates");
    assert_eq!(duplicates, 0, "a message is archived twice");

    // Every blob the archive names is in the bucket, and every blob there is named.
    let referenced = archive.referenced_blobs().await.expect("blobs");
    assert_eq!(
        referenced.len(),
        total as usize,
        "one blob per distinct message"
    );
    for hash in &referenced {
        assert!(
            archive
                .blobs()
                .contains(&archive::BlobHash::parse(hash).expect("hash"))
                .await
                .expect("contains"),
            "blob {hash} is not in the bucket"
        );
    }
    let keys = moto.keys(&bucket).await;
    let stored: std::collections::BTreeSet<String> = keys
        .iter()
        .filter(|k| !k.starts_with("index/"))
        .filter_map(|k| k.rsplit('/').next().map(str::to_owned))
        .collect();
    let named: std::collections::BTreeSet<String> = referenced.iter().cloned().collect();
    assert_eq!(
        stored, named,
        "the bucket holds exactly the blobs the archive names"
    );
    assert!(
        keys.iter().any(|k| k.starts_with("index/")),
        "the shards are published in the bucket"
    );

    // Both web nodes find everything, and answer every question alike.
    let client = reqwest::Client::new();
    let mut cookies = Vec::new();
    for node in [&a, &c] {
        let response = client
            .post(format!("{}/api/sign_in", node.address))
            .header("Origin", &node.address)
            .form(&[("username", "owner"), ("password", PASSWORD)])
            .send()
            .await
            .expect("sign in");
        cookies.push(testkit::load::session_cookie(response.headers()).expect("session cookie"));
    }
    let started = Instant::now();
    loop {
        let on_a = search(&client, &a, &cookies[0], "synthetic").await;
        let on_c = search(&client, &c, &cookies[1], "synthetic").await;
        if on_a["total"] == total && on_c["total"] == total {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the index did not catch up: A finds {}, C finds {}, the store holds {total}",
            on_a["total"],
            on_c["total"]
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for query in [
        "synthetic",
        "sender5",
        "\"message number 7\"",
        "from:sender12@example.com",
    ] {
        let on_a = search(&client, &a, &cookies[0], query).await;
        let on_c = search(&client, &c, &cookies[1], query).await;
        assert!(
            on_a["total"].as_u64().unwrap_or(0) > 0,
            "{query}: nothing found"
        );
        assert_eq!(on_a, on_c, "{query}: the web nodes disagree");
    }

    // No lease is held by a dead process: the shards and the mailboxes are all with live ones.
    let now_micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_micros() as i64;
    for state in leases.states().await.expect("shard states") {
        let writer = state.writer.clone().unwrap_or_default();
        assert!(
            !dead.contains(&writer) || state.lease_until_micros < now_micros,
            "shard {} still leased to dead {writer}",
            state.shard
        );
        assert!(
            [b.lease_name(), c.lease_name()].contains(&writer),
            "shard {} is written by {writer}, not a live indexer",
            state.shard
        );
    }
    let held_by_dead: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sync_task_mailboxes WHERE claimed_until IS NOT NULL \
         AND claimed_until > $1 AND (claimed_by LIKE $2 OR claimed_by LIKE $3)",
    )
    .bind(archive::Timestamp::now().0)
    .bind(format!("{}:%", dead[0]))
    .bind(format!("{}:%", dead[1]))
    .fetch_one(&db.pool)
    .await
    .expect("mailbox leases");
    assert_eq!(held_by_dead, 0, "a mailbox is still leased to a dead node");

    // PostgreSQL goes away under the nodes and comes back.
    postgres.cut();
    let health = client
        .get(format!("{}/healthz", b.address))
        .send()
        .await
        .expect("health");
    assert_eq!(
        health.status(),
        503,
        "a node says when its database is away"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    postgres.restore();
    for (n, address) in addresses.iter().take(2).enumerate() {
        for m in 0..3 {
            let mime = format!(
                "From: Late Sender <late@example.com>\r\nTo: <{address}>\r\n\
                 Subject: Aftershock {n}-{m}\r\nDate: Tue, 01 Jul 2025 09:00:00 +0000\r\n\
                 Message-ID: <aftershock-{n}-{m}@example.com>\r\n\r\nArrived after the restart.\r\n"
            );
            sim.handle()
                .add_message(address, "inbox", mime.as_bytes(), false)
                .expect("new mail");
        }
    }
    sync.store().request_task_run(task.id).await.expect("due");
    let started = Instant::now();
    loop {
        let on_a = search(&client, &a, &cookies[0], "aftershock").await;
        let on_c = search(&client, &c, &cookies[1], "aftershock").await;
        if on_a["total"] == 6 && on_c["total"] == 6 {
            assert_eq!(on_a, on_c, "after the restart the web nodes disagree");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "mail after the database restart: A finds {}, C finds {} of 6",
            on_a["total"],
            on_c["total"]
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let counts = archived(&archive).await;
    assert_eq!(counts[..2], [MESSAGES as i64 + 3, MESSAGES as i64 + 3]);
    assert!(counts[2..].iter().all(|c| *c == MESSAGES as i64));
    for node in [&a, &b, &c] {
        let health = client
            .get(format!("{}/healthz", node.address))
            .send()
            .await
            .expect("health");
        assert_eq!(health.status(), 200, "node {} is back", node.name);
    }

    // An operator sees who writes each shard.
    let stats = Command::new(env!("CARGO_BIN_EXE_sync-recover"))
        .args(["--config", &b.config.display().to_string(), "stats"])
        .env("SR_LOG__LEVEL", "off")
        .output()
        .expect("stats");
    assert!(stats.status.success());
    let stats = String::from_utf8_lossy(&stats.stdout);
    assert!(stats.contains("search shards    4"), "{stats}");
    for shard in ["0-of-4", "1-of-4", "2-of-4", "3-of-4"] {
        let line = stats
            .lines()
            .find(|l| l.trim_start().starts_with(shard))
            .unwrap_or_else(|| panic!("{shard} in: {stats}"));
        assert!(
            line.contains(&b.lease_name()) || line.contains(&c.lease_name()),
            "{line}"
        );
        assert!(line.contains("of lease left"), "{line}");
    }

    for mut node in [a, b, c] {
        node.kill("-TERM");
    }
    sim.stop().await.expect("simulator stops");
    kit.finish().await;
}
