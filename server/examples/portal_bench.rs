//! Portal benchmark: the server time to render the first page of a 10,000-message folder, and to
//! answer a search over 100,000 messages, through the real HTTP stack (target: p95 <= 50 ms each).
//!
//!     cargo run --release -p server --example portal_bench -- [MESSAGES] [DATA_DIR]
//!
//! MESSAGES defaults to 100,000 (the first 10,000 go to the Inbox, the rest to the generator's
//! other folders). An existing DATA_DIR is reused, so a second run measures without re-ingesting.

use std::time::{Duration, Instant};

use archive::NewMailbox;
use server::config::Settings;
use server::{open_archive, Application};

const ADDRESS: &str = "bench@example.com";
const INBOX_MESSAGES: usize = 10_000;
const ROUNDS: usize = 200;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "{name:<44} p50 {:6.1} ms   p95 {:6.1} ms   p99 {:6.1} ms   ({} requests)",
        percentile(&times, 0.50),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
        times.len()
    );
}

async fn ingest(settings: &Settings, messages: usize) -> anyhow::Result<()> {
    let archive = open_archive(settings).await?;
    let mailbox = archive
        .ensure_mailbox(&NewMailbox {
            name: ADDRESS.to_owned(),
            owner_address: ADDRESS.to_owned(),
            display_name: "Benchmark".to_owned(),
        })
        .await?;
    if archive.count_items(Some(mailbox.id)).await? >= messages as i64 {
        return Ok(());
    }
    let started = Instant::now();
    server::demo::put_generated(&archive, mailbox.id, messages, 42, |i, path| {
        if i < INBOX_MESSAGES {
            vec!["Inbox".to_owned()]
        } else if path[0] == "Inbox" {
            std::iter::once("Older".to_owned()).chain(path).collect()
        } else {
            path
        }
    })
    .await?;
    println!(
        "ingested {messages} messages in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let messages: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("sr-portal-bench"));
    let settings = Settings::for_tests(&dir)?;
    ingest(&settings, messages).await?;

    let started = Instant::now();
    let app = Application::build(&settings).await?;
    println!(
        "portal started (index caught up) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let address = format!("http://{}", app.local_addr()?);
    tokio::spawn(app.run_until(std::future::pending()));

    let accounts = accounts::Accounts::new(server::open_database(&settings).await?);
    if accounts.find_user("bench").await?.is_none() {
        let user = accounts
            .create_user("bench", "Bench", Some("bench-password"))
            .await?;
        accounts.add_address(user.id, ADDRESS).await?;
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let signed_in = client
        .post(format!("{address}/api/sign_in"))
        .header("Origin", &address)
        .form(&[("username", "bench"), ("password", "bench-password")])
        .send()
        .await?;
    let cookie = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sr_session="))
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("sign-in failed"))?
        .to_owned();

    // The Inbox is the default folder: `/mail` renders its first page of 50.
    let mut page_times = Vec::new();
    let mut list_times = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let response = client
            .get(format!("{address}/mail"))
            .header("Cookie", &cookie)
            .header("Accept", "text/html")
            .send()
            .await?;
        let html = response.text().await?;
        page_times.push(t.elapsed());
        anyhow::ensure!(html.contains("of 10000"), "the Inbox page did not render");

        let t = Instant::now();
        let response = client
            .post(format!("{address}/api/mail/messages"))
            .header("Origin", &address)
            .header("Cookie", &cookie)
            .form(&[("sort", "date")])
            .send()
            .await?;
        response.bytes().await?;
        list_times.push(t.elapsed());
    }
    report("full page /mail (10,000-message Inbox, SSR)", page_times);
    report("message list server function (page 1)", list_times);

    let queries = [
        "budget",
        "from:anna",
        "subject:report",
        "has:attachment review",
        "\"deadline review\"",
        "travel OR shipment",
        "after:2024-01-01 design",
        "会議",
    ];
    let mut search_times = Vec::new();
    for round in 0..ROUNDS {
        let query = queries[round % queries.len()];
        let t = Instant::now();
        let response = client
            .post(format!("{address}/api/mail/search"))
            .header("Origin", &address)
            .header("Cookie", &cookie)
            .form(&[("query", query), ("page", "0"), ("sort", "")])
            .send()
            .await?;
        let body: serde_json::Value = response.json().await?;
        search_times.push(t.elapsed());
        anyhow::ensure!(body.get("total").is_some(), "search failed: {body}");
    }
    report(
        &format!("search server function ({messages} messages)"),
        search_times,
    );
    Ok(())
}
