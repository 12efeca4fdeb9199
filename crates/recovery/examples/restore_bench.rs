//! Restore benchmark against the Exchange simulator. Not a test.
//!
//! cargo run --release -p recovery --example restore_bench -- [messages] [latency ms] [ews|graph]
//!
//! Syncs a generated mailbox from the simulator into a fresh archive, then restores it into an
//! empty mailbox with the simulator answering every request after `latency` (20 ms by default,
//! as a server across a WAN link): the dry run and the restore each timed, messages per second
//! and HTTP requests per message. Then the same restore into a second mailbox is cut off halfway
//! (its worker aborted, as a killed process stops) and taken over by another worker once its
//! lease lapses: how many creates were repeated and how many duplicates the server holds.

use std::time::{Duration, Instant};

use archive::{Archive, Blobs};
use exchange_sim::SimConfig;
use jobs::{Job, JobState, Jobs};
use mailsync::ConnectionSettings;
use recovery::{Exporter, ItemSource, Placement, RestoreRequest, RestoreTarget, Restorer, Worker};
use syncer::{NewConnection, NewTask, ServiceOptions, SyncService, SyncStore};

const SOURCE: &str = "bench@example.com";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let total: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let latency = Duration::from_millis(args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20));
    let graph = args.get(3).is_some_and(|p| p == "graph");
    let dir = tempfile::tempdir()?;
    let sim = exchange_sim::start(SimConfig {
        seed_dir: None,
        ..SimConfig::for_tests()
    })
    .await?;
    let handle = sim.handle();
    handle.add_synthetic_mailbox(SOURCE, total)?;
    handle.add_mailbox("target@example.com", "Target");
    handle.add_mailbox("crash@example.com", "Crash");

    let db =
        database::Database::open(&format!("sqlite://{}/meta.db", dir.path().display())).await?;
    let archive = Archive::new(db.clone(), Blobs::local(dir.path().join("blobs"), None)?);
    let store = SyncStore::new(db.clone(), [3; 32]);
    let sync = SyncService::new(store.clone(), archive.clone(), ServiceOptions::default());
    let d = SimConfig::default();
    let (settings, secret) = if graph {
        (
            ConnectionSettings::Graph {
                tenant_id: d.tenant.clone(),
                client_id: d.client_id.clone(),
                graph_endpoint: Some(sim.graph_url()),
                token_endpoint: Some(sim.token_url(&d.tenant)),
            },
            d.client_secret.clone(),
        )
    } else {
        (
            ConnectionSettings::Ews {
                url: sim.ews_url(),
                username: d.service_account.clone(),
            },
            d.service_password.clone(),
        )
    };
    let connection = store
        .create_connection(&NewConnection {
            name: "bench".into(),
            settings,
            secret,
        })
        .await?
        .id;
    let tested = store.test_connection(connection, None).await?;
    if !tested.ok {
        return Err(format!(
            "the simulator connection failed its test: {}",
            tested.message
        )
        .into());
    }
    let task = store
        .create_task(&NewTask::new("bench", connection))
        .await?
        .id;
    store.add_mailboxes(task, &[SOURCE.to_owned()]).await?;
    let started = Instant::now();
    sync.sync_mailbox_now(task, SOURCE).await?;
    println!(
        "synced {total} messages in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let mailbox = archive
        .mailbox_by_name(SOURCE)
        .await?
        .ok_or("the synced mailbox is missing")?
        .id;
    let jobs = Jobs::new(db.clone());
    let restorer = Restorer::new(archive.clone(), jobs.clone(), store);
    let exporter = Exporter::new(archive, jobs.clone(), dir.path().join("exports"), 1 << 26);
    let worker = |name: &str| Worker::new(name, exporter.clone()).with_restorer(restorer.clone());
    let request = |into: &str| RestoreRequest {
        source: ItemSource::Mailbox { mailbox, at: None },
        kinds: vec![archive::ItemKind::Message],
        target: RestoreTarget {
            connection_id: connection,
            address: into.to_owned(),
        },
        placement: Placement::Original,
        dry_run: true,
        after_dry_run: None,
    };
    handle.set_latency(latency);
    println!(
        "simulator latency {} ms per request, {}",
        latency.as_millis(),
        if graph { "Graph" } else { "EWS" }
    );

    // Dry run, then the restore it shows.
    let dry = request("target@example.com");
    let timed = |label: &'static str, job: Job, requests: u64, seconds: f64| {
        println!(
            "{label:<10} {:>6} items in {seconds:>7.1}s  {:>7.1} items/s  {:>5.2} requests/item  ({:?})",
            job.processed,
            job.processed as f64 / seconds,
            requests as f64 / total as f64,
            job.state
        );
    };
    let before = handle.counters().http_requests;
    let started = Instant::now();
    let (queued, _) = restorer.enqueue(&dry, "bench").await?;
    let dry_job = worker("bench").run_this(queued.id).await?.ok_or("held")?;
    timed(
        "dry run",
        dry_job.clone(),
        handle.counters().http_requests - before,
        started.elapsed().as_secs_f64(),
    );
    let real = RestoreRequest {
        dry_run: false,
        after_dry_run: Some(dry_job.id),
        ..dry.clone()
    };
    let before = handle.counters().http_requests;
    let started = Instant::now();
    let (queued, _) = restorer.enqueue(&real, "bench").await?;
    let ended = worker("bench").run_this(queued.id).await?.ok_or("held")?;
    timed(
        "restore",
        ended,
        handle.counters().http_requests - before,
        started.elapsed().as_secs_f64(),
    );

    // Cut off halfway, taken over after the lease.
    let dry = request("crash@example.com");
    let (queued, _) = restorer.enqueue(&dry, "bench").await?;
    let dry_job = worker("bench").run_this(queued.id).await?.ok_or("held")?;
    let (queued, _) = restorer
        .enqueue(
            &RestoreRequest {
                dry_run: false,
                after_dry_run: Some(dry_job.id),
                ..dry
            },
            "bench",
        )
        .await?;
    let created_before = handle.counters().restored_items;
    let doomed = worker("doomed").with_lease(Duration::from_secs(2));
    let id = queued.id;
    let running = tokio::spawn(async move { doomed.run_this(id).await });
    while handle.counters().restored_items - created_before < total / 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.abort();
    let _ = running.await;
    let at_crash = handle.counters().restored_items - created_before;
    let recorded = jobs.get(id).await?.map_or(0, |j| j.processed);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let ended = worker("survivor").run_this(id).await?.ok_or("held")?;
    let created = handle.counters().restored_items - created_before;
    let c = handle.counters();
    println!(
        "crash      cut off after {at_crash} creates ({recorded} recorded); resumed: {:?}, {} created in all for {total} messages, repeated creates {}, duplicates {}, drafts {}",
        ended.state,
        created,
        created.saturating_sub(total),
        c.duplicates_created,
        c.drafts_created
    );
    if ended.state != JobState::Done || created != total || c.duplicates_created > 0 {
        return Err("the resumed restore did not create every message exactly once".into());
    }
    Ok(())
}
