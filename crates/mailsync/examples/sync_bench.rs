//! Full-sync benchmark against the simulator: many synthetic mailboxes, injected latency, both
//! protocols. Prints a Markdown table (figures go to `BENCHMARKS.md`).
//!
//! ```text
//! cargo run --release -p mailsync --example sync_bench -- [--mailboxes 50] [--messages 2000]
//!     [--latency-ms 20] [--parallel 16] [--throttle-every 0]
//! ```
//!
//! `--throttle-every N` refuses every Nth request (Graph: 429 with Retry-After 0.1 s, counted per
//! batch sub-request; EWS: ErrorServerBusy with BackOffMilliseconds 100).

use std::sync::Arc;
use std::time::{Duration, Instant};

use exchange_sim::SimConfig;
use mailsync::{
    sync_mailboxes, EwsConfig, EwsSource, GraphConfig, GraphSource, MailboxJob, MailboxSource,
    MailboxStatus, MemoryTarget, SyncOptions, SyncTarget,
};

struct Args {
    mailboxes: usize,
    messages: u64,
    latency_ms: u64,
    parallel: usize,
    throttle_every: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        mailboxes: 50,
        messages: 2000,
        latency_ms: 20,
        parallel: 16,
        throttle_every: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: std::num::ParseIntError| format!("{flag}: {e}");
        match flag.as_str() {
            "--mailboxes" => a.mailboxes = value.parse().map_err(bad)?,
            "--messages" => a.messages = value.parse().map_err(bad)?,
            "--latency-ms" => a.latency_ms = value.parse().map_err(bad)?,
            "--parallel" => a.parallel = value.parse().map_err(bad)?,
            "--throttle-every" => a.throttle_every = value.parse().map_err(bad)?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

struct Row {
    protocol: &'static str,
    pass: &'static str,
    wall: Duration,
    synced: u64,
    http: u64,
    counted: u64,
    throttled: u64,
    unhealthy: usize,
}

async fn run_pass(
    sim: &exchange_sim::RunningSim,
    source: Arc<dyn MailboxSource>,
    targets: &[(String, Arc<MemoryTarget>)],
    options: &SyncOptions,
    protocol: &'static str,
    pass: &'static str,
) -> Row {
    sim.handle().reset_counters();
    let jobs = targets
        .iter()
        .map(|(m, t)| MailboxJob {
            mailbox: m.clone(),
            target: t.clone() as Arc<dyn SyncTarget>,
        })
        .collect();
    let started = Instant::now();
    let reports = sync_mailboxes(source, jobs, options).await;
    let wall = started.elapsed();
    let c = sim.handle().counters();
    Row {
        protocol,
        pass,
        wall,
        synced: reports.iter().map(|r| r.counts.new_items).sum(),
        http: c.http_requests,
        counted: if protocol == "Graph" {
            c.graph_counted
        } else {
            c.http_requests
        },
        throttled: c.throttled + c.server_busy,
        unhealthy: reports
            .iter()
            .filter(|r| r.status != MailboxStatus::Healthy)
            .count(),
    }
}

async fn bench(
    args: &Args,
    protocol: &'static str,
) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let config = SimConfig {
        seed_dir: None,
        ..SimConfig::for_tests()
    };
    let sim = exchange_sim::start(config.clone()).await?;
    let h = sim.handle();
    let mut targets = Vec::new();
    for i in 0..args.mailboxes {
        let address = format!("user{i:03}@example.com");
        h.add_synthetic_mailbox(&address, args.messages)?;
        targets.push((address, Arc::new(MemoryTarget::new())));
    }
    h.set_latency(Duration::from_millis(args.latency_ms));
    if args.throttle_every > 0 {
        h.set_ews_server_busy(Some(args.throttle_every), 100);
        h.set_graph_throttle(Some(exchange_sim::ThrottleRule::EveryNth {
            n: args.throttle_every,
            retry_after_secs: 0.1,
        }));
    }
    let source: Arc<dyn MailboxSource> = match protocol {
        "EWS" => Arc::new(EwsSource::new(EwsConfig::new(
            &sim.ews_url(),
            &config.service_account,
            &config.service_password,
        ))?),
        _ => {
            let mut g = GraphConfig::new(&config.tenant, &config.client_id, &config.client_secret);
            g.graph_base = sim.graph_url();
            g.token_url = sim.token_url(&config.tenant);
            Arc::new(GraphSource::new(g)?)
        }
    };
    let options = SyncOptions {
        parallel_mailboxes: args.parallel,
        ..SyncOptions::default()
    };
    let full = run_pass(&sim, source.clone(), &targets, &options, protocol, "full").await;
    // An incremental pass: 1% new messages per mailbox.
    let new_per_mailbox = (args.messages / 100).max(1);
    for (address, _) in &targets {
        for n in 0..new_per_mailbox {
            h.add_message(
                address,
                "inbox",
                &exchange_sim::mailbox::synthetic_message(address, 1_000_000 + n),
                false,
            )?;
        }
    }
    let incremental = run_pass(
        &sim,
        source,
        &targets,
        &options,
        protocol,
        "incremental (+1%)",
    )
    .await;
    Ok(vec![full, incremental])
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    println!(
        "{} mailboxes x {} messages, {} ms latency per request, {} mailboxes in parallel, 4 requests in flight per mailbox, throttling every {} requests (0 = none)\n",
        args.mailboxes, args.messages, args.latency_ms, args.parallel, args.throttle_every
    );
    println!("| protocol | pass | wall time | messages synced | msg/s | HTTP requests | HTTP req/msg | throttle-counted req/msg | throttled | unhealthy mailboxes |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for protocol in ["EWS", "Graph"] {
        for r in bench(&args, protocol).await? {
            let per = |n: u64| {
                if r.synced == 0 {
                    0.0
                } else {
                    n as f64 / r.synced as f64
                }
            };
            println!(
                "| {} | {} | {:.2} s | {} | {:.0} | {} | {:.3} | {:.3} | {} | {} |",
                r.protocol,
                r.pass,
                r.wall.as_secs_f64(),
                r.synced,
                r.synced as f64 / r.wall.as_secs_f64(),
                r.http,
                per(r.http),
                per(r.counted),
                r.throttled,
                r.unhealthy
            );
        }
    }
    Ok(())
}
