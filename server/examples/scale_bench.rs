//! Ingest with one, two and three sync nodes over PostgreSQL and an S3 store. Not a test.
//!
//!     cargo run --release -p server --example scale_bench -- [MAILBOXES] [MESSAGES_EACH]
//!
//! Defaults: 40 mailboxes of 250 messages on the Exchange simulator (no added latency). For each
//! node count, a fresh PostgreSQL database (127.0.0.1:5432) and a fresh bucket on PyPI `moto`
//! (`scripts/setup.sh` installs it); each node is a child process of this program with the role
//! `sync` only, and the run ends when every message is archived. Reports messages per second.
//! Everything (PostgreSQL, moto, the simulator and the nodes) shares this machine's cores, so the
//! figures show the shape of the scaling here, not what separate machines would reach.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use server::config::Settings;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Runtime::new()?;
    if args.get(1).map(String::as_str) == Some("node-child") {
        let config = args
            .get(2)
            .ok_or_else(|| anyhow::anyhow!("node-child CONFIG"))?;
        return runtime.block_on(node_child(Path::new(config)));
    }
    let number = |i: usize, default: u64| -> anyhow::Result<u64> {
        Ok(args
            .get(i)
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let mailboxes = number(1, 40)? as usize;
    let messages = number(2, 250)?;
    runtime.block_on(parent(mailboxes, messages))
}

/// One node: serves (health only, without the web role) until its stdin closes.
async fn node_child(config: &Path) -> anyhow::Result<()> {
    let settings = Settings::load(Some(config))?;
    let app = server::Application::build(&settings).await?;
    println!("ready {}", app.local_addr()?);
    let closed = async {
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            std::io::stdin().read_to_end(&mut sink)
        })
        .await;
    };
    app.run_until(closed).await?;
    Ok(())
}

fn key() -> anyhow::Result<String> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(key))
}

fn start_node(config: &Path) -> anyhow::Result<Child> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("node-child")
        .arg(config)
        .env("SR_LOG__LEVEL", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|line| line.starts_with("ready "))
        .ok_or_else(|| anyhow::anyhow!("a node did not start"))?;
    Ok(child)
}

async fn run_with(
    nodes: usize,
    work: &Path,
    sim: &exchange_sim::RunningSim,
    addresses: &[String],
    messages: u64,
) -> anyhow::Result<f64> {
    let kit = testkit::TestDb::postgres()
        .await
        .ok_or_else(|| anyhow::anyhow!("PostgreSQL is switched off (SR_TEST_POSTGRES=skip)"))?;
    let moto = testkit::s3::moto();
    let bucket = moto
        .bucket(&format!("scale-bench-{nodes}-{}", std::process::id()))
        .await;
    let (blob_key, secrets_key) = (key()?, key()?);
    let mut configs: Vec<PathBuf> = Vec::new();
    for n in 0..nodes {
        let data = work.join(format!("run{nodes}-node{n}"));
        std::fs::create_dir_all(&data)?;
        let path = work.join(format!("run{nodes}-node{n}.toml"));
        std::fs::write(
            &path,
            format!(
                r#"[server]
listen = "127.0.0.1:0"

[storage]
data_dir = "{data}"
database_url = "{db}"
encryption_key = "{blob_key}"
secrets_key = "{secrets_key}"

{s3}
[worker]
lease_secs = 60
tick_secs = 1

[node]
roles = ["sync"]
"#,
                data = data.display(),
                db = kit.url,
                s3 = moto.storage_toml(&bucket),
            ),
        )?;
        configs.push(path);
    }
    let settings = Settings::load(Some(&configs[0]))?;
    let db = server::open_database(&settings).await?;
    let archive = server::archive_on(&settings, db.clone())?;
    let sync = server::sync_service(&settings, &db, &archive)?;
    let d = exchange_sim::SimConfig::default();
    let connection = sync
        .store()
        .create_connection(&syncer::NewConnection {
            name: "Bench".into(),
            settings: mailsync::ConnectionSettings::Ews {
                url: sim.ews_url(),
                username: d.service_account.clone(),
            },
            secret: d.service_password.clone(),
        })
        .await?;
    anyhow::ensure!(
        sync.store().test_connection(connection.id, None).await?.ok,
        "the simulator's connection test failed"
    );
    let task = sync
        .store()
        .create_task(&syncer::NewTask {
            mailboxes: addresses.to_vec(),
            ..syncer::NewTask::new("Bench", connection.id)
        })
        .await?;
    let mut children = Vec::new();
    for config in &configs {
        children.push(start_node(config)?);
    }
    let total = addresses.len() as i64 * messages as i64;
    let started = Instant::now();
    sync.store().request_task_run(task.id).await?;
    loop {
        let done = archive.count_items(None).await?;
        if done >= total {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "not done after 30 minutes ({done} of {total})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    for mut child in children {
        drop(child.stdin.take());
        child.wait()?;
    }
    db.pool.close().await;
    kit.finish().await;
    Ok(total as f64 / secs)
}

async fn parent(mailboxes: usize, messages: u64) -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let sim = exchange_sim::start(exchange_sim::SimConfig {
        seed_dir: None,
        ..exchange_sim::SimConfig::for_tests()
    })
    .await?;
    let addresses: Vec<String> = (0..mailboxes)
        .map(|n| format!("bench{n}@example.com"))
        .collect();
    for address in &addresses {
        sim.handle().add_synthetic_mailbox(address, messages)?;
    }
    println!(
        "{mailboxes} mailboxes x {messages} messages, PostgreSQL + S3 (moto), sync nodes only"
    );
    let mut first = None;
    for nodes in 1..=3 {
        let rate = run_with(nodes, work.path(), &sim, &addresses, messages).await?;
        let base = *first.get_or_insert(rate);
        println!(
            "{nodes} node(s): {rate:>6.0} msg/s  ({:.2}x one node)",
            rate / base
        );
    }
    Ok(())
}
