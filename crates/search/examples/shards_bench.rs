//! Search latency with one shard against four, over the same generated mail. Not a test.
//!
//! cargo run --release -p search --example shards_bench -- [messages] [data dir] [search]
//!
//! The mail (the project's generator) is spread over 20 mailboxes, so four shards each hold
//! about a quarter. Every question is asked over all 20 mailboxes (the query fans out over every
//! shard) and over one mailbox (one shard), with one index and with four.
//! `search` as the third argument reuses what an earlier run left in the folder. The one index
//! searches its segments on up to four threads (as the portal does); the four shards are searched
//! side by side on the runtime's two threads.

use std::sync::Arc;
use std::time::{Duration, Instant};

use archive::*;
use search::{
    Indexer, IndexerOptions, SearchIndex, SearchRequest, SearchSort, ShardLeases, ShardedSearch,
};
use transfer::mailgen::MailGen;

const MAILBOXES: usize = 20;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

const QUERIES: [&str; 13] = [
    "budget",
    "quarterly report",
    "\"deadline review\"",
    "from:ann",
    "to:yuki",
    "subject:migration",
    "has:attachment invoice",
    "after:2022-01-01 before:2022-06-30",
    "folder:apollo",
    "会議",
    "security OR audit",
    "contract -travel",
    "attachment:pdf",
];

async fn ingest(
    archive: &Archive,
    total: usize,
) -> Result<Vec<MailboxId>, Box<dyn std::error::Error>> {
    let mut mailboxes = Vec::new();
    for m in 0..MAILBOXES {
        mailboxes.push(
            archive
                .ensure_mailbox(&NewMailbox {
                    name: format!("bench{m}"),
                    owner_address: format!("bench{m}@example.com"),
                    display_name: format!("Bench {m}"),
                })
                .await?
                .id,
        );
    }
    if archive.count_items(None).await? as usize >= total {
        return Ok(mailboxes);
    }
    let mut gen = MailGen::new(7);
    let mut folders = std::collections::HashSet::new();
    let mut batch = Vec::new();
    for n in 0..total {
        let mailbox = mailboxes[n % MAILBOXES];
        let (folder, raw) = gen.message(n);
        let source = folder.join("/");
        if folders.insert((mailbox, source.clone())) {
            for depth in 1..=folder.len() {
                let spec = FolderSpec {
                    source_id: folder[..depth].join("/"),
                    parent_source_id: (depth > 1).then(|| folder[..depth - 1].join("/")),
                    name: folder[depth - 1].clone(),
                    kind: FolderKind::Other,
                };
                archive
                    .upsert_folder(mailbox, &spec, Timestamp::now())
                    .await?;
            }
        }
        batch.push(PutItem {
            mailbox_id: mailbox,
            folder_source_id: source,
            source_id: format!("gen-{n}"),
            kind: ItemKind::Message,
            raw,
            is_read: n % 3 == 0,
            flags: vec![],
            meta: None,
            properties: None,
            fallback_date: None,
            at: Timestamp::now(),
        });
        if batch.len() == 200 {
            archive.put_items(std::mem::take(&mut batch)).await?;
        }
        if (n + 1) % 10_000 == 0 {
            eprintln!("ingested {}", n + 1);
        }
    }
    archive.put_items(batch).await?;
    Ok(mailboxes)
}

async fn measure(
    label: &str,
    search: &ShardedSearch,
    archive: &Archive,
    scope: &[MailboxId],
) -> Result<(), Box<dyn std::error::Error>> {
    let mut latencies = Vec::new();
    for round in 0..20 {
        for q in QUERIES {
            let request = SearchRequest {
                mailbox_ids: scope.to_vec(),
                query: q.into(),
                sort: if round % 2 == 0 {
                    SearchSort::Relevance
                } else {
                    SearchSort::NewestFirst
                },
                limit: 20,
                snippets: true,
                ..Default::default()
            };
            let started = Instant::now();
            search.search(archive, &request).await?;
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{label:<36} p50 {:>5.1} ms  p95 {:>5.1} ms  p99 {:>5.1} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99)
    );
    Ok(())
}

// Two runtime threads, like the portal on this 2-core machine: a fan-out searches its shards on
// tasks of their own.
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let total: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = match args.get(2) {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!("sr-shards-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let db = database::Database::open(&format!("sqlite://{}/meta.db", dir.display())).await?;
    let archive = Archive::new(
        db.clone(),
        Blobs::local(dir.join("blobs"), Some(BlobKey::from_bytes([9; 32])))?,
    );
    let mailboxes = ingest(&archive, total).await?;
    let search_only = args.get(3).is_some_and(|a| a == "search");

    let whole = SearchIndex::open(&dir.join("index-1"), 100_000_000)?;
    if !search_only {
        let started = Instant::now();
        let n = whole.catch_up(&archive).await?;
        println!(
            "1 shard: indexed {n} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let one = ShardedSearch::whole(&whole);

    let four = Arc::new(ShardedSearch::new(4));
    let mut indexer = Indexer::new(
        IndexerOptions {
            node: "bench".into(),
            dir: dir.join("index-4"),
            shards: 4,
            writer_memory_bytes: 100_000_000,
            lease: Duration::from_secs(600),
            interval: Duration::from_secs(1),
            publish: None,
            retired_grace: search::RETIRED_GRACE,
        },
        ShardLeases::new(db),
        archive.clone(),
        Arc::clone(&four),
    );
    let started = Instant::now();
    let mut indexed = 0;
    loop {
        let (n, more) = indexer.step().await?;
        indexed += n;
        if !more {
            break;
        }
    }
    if !search_only {
        println!(
            "4 shards: indexed {indexed} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }

    println!(
        "{total} messages in {MAILBOXES} mailboxes, {} questions x 20 rounds, 20 hits with snippets:",
        QUERIES.len()
    );
    measure("1 shard, all mailboxes", &one, &archive, &mailboxes).await?;
    measure(
        "4 shards, all mailboxes (fan-out)",
        &four,
        &archive,
        &mailboxes,
    )
    .await?;
    measure("1 shard, one mailbox", &one, &archive, &mailboxes[3..4]).await?;
    measure("4 shards, one mailbox", &four, &archive, &mailboxes[3..4]).await?;
    indexer.release_all().await;
    Ok(())
}
