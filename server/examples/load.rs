//! Load: people use the mail screen at a steady rate while a sync of many mailboxes runs against
//! the Exchange simulator. Reports p50/p95/p99 per request kind, every failed request, the
//! server's peak RSS and how far the sync got. Loopback only; bounded in time and count.
//!
//!     cargo run --release -p server --example load -- [PEOPLE] [SECONDS] [SYNC_MAILBOXES]
//!
//! Defaults: 50 people, 60 seconds, 20 mailboxes of 2,000 messages each. The portal runs in a
//! child process of this program (so its peak RSS is its own), on the embedded default (SQLite,
//! local folders); each person owns a mailbox of 200 generated messages and sends two requests a
//! second: the folder tree, a folder's first page, a message, a search, in turn. Not a test (the
//! short version is `server/tests/api/load.rs`).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use archive::NewMailbox;
use server::config::Settings;
use testkit::load::{run, LoadPlan};

const PASSWORD: &str = "load password";
const OWN_MESSAGES: usize = 200;
const SYNC_MESSAGES: u64 = 2_000;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Runtime::new()?;
    if args.get(1).map(String::as_str) == Some("serve-child") {
        return runtime.block_on(serve_child(&args[2..]));
    }
    let number = |i: usize, default: usize| -> anyhow::Result<usize> {
        Ok(args
            .get(i)
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let people = number(1, 50)?;
    let seconds = number(2, 60)?;
    let mailboxes = number(3, 20)?;
    runtime.block_on(parent(people, seconds, mailboxes))
}

async fn parent(people: usize, seconds: usize, mailboxes: usize) -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let sim = exchange_sim::start(exchange_sim::SimConfig {
        seed_dir: None,
        ..exchange_sim::SimConfig::for_tests()
    })
    .await?;
    let synced: Vec<String> = (0..mailboxes)
        .map(|n| format!("synced{n}@example.com"))
        .collect();
    for address in &synced {
        sim.handle().add_synthetic_mailbox(address, SYNC_MESSAGES)?;
    }

    let mut child = Command::new(std::env::current_exe()?)
        .arg("serve-child")
        .arg(work.path())
        .arg(sim.ews_url())
        .arg(people.to_string())
        .args(&synced)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let address = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("ready ").map(str::to_owned))
        .ok_or_else(|| anyhow::anyhow!("the portal did not start"))?;
    let pid = child.id();

    println!(
        "{people} people for {seconds} s at 2 requests/s each, while {mailboxes} mailboxes of \
         {SYNC_MESSAGES} messages sync"
    );
    let started = Instant::now();
    let report = run(&LoadPlan {
        base: address,
        people: (0..people)
            .map(|n| (format!("person{n}"), PASSWORD.to_owned()))
            .collect(),
        duration: Duration::from_secs(seconds as u64),
        rate_per_person: 2.0,
        max_requests: people * seconds * 2 + people,
        queries: [
            "budget",
            "from:ann",
            "subject:report",
            "has:attachment invoice",
            "\"deadline review\"",
            "会議",
        ]
        .map(str::to_owned)
        .to_vec(),
    })
    .await?;
    let elapsed = started.elapsed().as_secs_f64();
    let peak = peak_rss_mb(pid);

    let settings = Settings::for_tests(work.path())?;
    let archive = server::open_archive(&settings).await?;
    let mut archived = 0;
    for address in &synced {
        if let Some(m) = archive.mailbox_by_name(address).await? {
            archived += archive.count_items(Some(m.id)).await?;
        }
    }
    // Closing its stdin stops the portal.
    drop(child.stdin.take());
    child.wait()?;

    println!("\n{}", report.table());
    println!(
        "{} requests in {elapsed:.1} s ({:.0}/s), {} failed",
        report.requests(),
        report.requests() as f64 / elapsed,
        report.errors.len()
    );
    for error in report.errors.iter().take(10) {
        println!("  {error}");
    }
    println!("server peak RSS: {peak:.0} MB");
    println!(
        "sync during the run: {archived} of {} messages archived ({:.0} msg/s)",
        SYNC_MESSAGES as usize * mailboxes,
        archived as f64 / elapsed
    );
    anyhow::ensure!(report.errors.is_empty(), "requests failed");
    Ok(())
}

/// The portal: people with mail of their own, a sync task over the simulator's mailboxes, due
/// at once. Says `ready <address>` when it serves, and serves until its stdin closes.
async fn serve_child(args: &[String]) -> anyhow::Result<()> {
    let dir = Path::new(&args[0]);
    let ews_url = &args[1];
    let people: usize = args[2].parse()?;
    let synced = &args[3..];
    let settings = Settings::for_tests(dir)?;
    let db = server::open_database(&settings).await?;
    let archive = server::archive_on(&settings, db.clone())?;
    let accounts = accounts::Accounts::new(db.clone());
    for n in 0..people {
        let address = format!("person{n}@example.com");
        let mailbox = archive
            .ensure_mailbox(&NewMailbox {
                name: address.clone(),
                owner_address: address.clone(),
                display_name: format!("Person {n}"),
            })
            .await?;
        server::demo::put_generated(&archive, mailbox.id, OWN_MESSAGES, n as u64 + 1, |_, p| p)
            .await?;
        let user = accounts
            .create_user(
                &format!("person{n}"),
                &format!("Person {n}"),
                Some(PASSWORD),
            )
            .await?;
        accounts.add_address(user.id, &address).await?;
    }
    let app = server::Application::build(&settings).await?;
    let store = app.sync().store();
    let sim = exchange_sim::SimConfig::default();
    let connection = store
        .create_connection(&syncer::NewConnection {
            name: "Simulator".into(),
            settings: mailsync::ConnectionSettings::Ews {
                url: ews_url.clone(),
                username: sim.service_account.clone(),
            },
            secret: sim.service_password.clone(),
        })
        .await?;
    anyhow::ensure!(store.test_connection(connection.id, None).await?.ok);
    let task = store
        .create_task(&syncer::NewTask {
            mailboxes: synced.to_vec(),
            ..syncer::NewTask::new("Load", connection.id)
        })
        .await?;
    app.sync().run_task_now(task.id).await?;
    let address = format!("http://{}", app.local_addr()?);
    println!("ready {address}");
    std::io::stdout().flush()?;
    let stdin_closed = tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
    });
    app.run_until(async {
        let _ = stdin_closed.await;
    })
    .await?;
    Ok(())
}

/// The peak resident set of a process (VmHWM), in MB.
fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
