//! Ingest and search benchmark over generated mail. Not a test.
//!
//! cargo run --release -p search --example bench -- [messages] [data dir]
//!
//! Runs on a current-thread runtime, so ingest uses one core (blob writes hop to a blocking
//! thread but never run in parallel with the rest).

use std::time::Instant;

use archive::*;
use search::{SearchIndex, SearchRequest, SearchSort};
use transfer::mailgen::MailGen;

fn peak_rss_mb() -> f64 {
    testkit::memory::status_mb("VmHWM:")
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let total: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = match args.get(2) {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!("sr-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let db = database::Database::open(&format!("sqlite://{}/meta.db", dir.display())).await?;
    let key = BlobKey::from_bytes([9; 32]);
    let archive = Archive::new(db, Blobs::local(dir.join("blobs"), Some(key))?);
    let mailbox = archive
        .ensure_mailbox(&NewMailbox {
            name: "bench".into(),
            owner_address: "bench@example.com".into(),
            display_name: "Bench".into(),
        })
        .await?
        .id;

    let mut gen = MailGen::new(7);
    let mut folders = std::collections::HashSet::new();
    let mut sizes = Vec::with_capacity(total);
    let mut ingest_secs = 0.0;
    let mut bytes = 0usize;
    let batch_size = 200;
    // `search` as the third argument: reuse what an earlier run left in the folder.
    let search_only = args.get(3).is_some_and(|a| a == "search");
    let mut i = if search_only { total } else { 0 };
    while i < total {
        let mut batch = Vec::with_capacity(batch_size);
        for n in i..(i + batch_size).min(total) {
            let (folder, raw) = gen.message(n);
            let source = folder.join("/");
            if folders.insert(source.clone()) {
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
            sizes.push(raw.len());
            bytes += raw.len();
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
        }
        i += batch.len();
        let started = Instant::now();
        archive.put_items(batch).await?;
        ingest_secs += started.elapsed().as_secs_f64();
        if i % 10_000 == 0 {
            eprintln!("ingested {i}");
        }
    }
    sizes.sort_unstable();
    if !search_only {
        println!(
            "messages: {total}, median size: {} KB, total {:.0} MB",
            sizes[total / 2] / 1024,
            bytes as f64 / 1e6
        );
        println!(
        "ingest (parse + BLAKE3 + zstd + AES-GCM + fsync + SQLite, one core): {:.0} msg/s, {:.1} MB/s",
        total as f64 / ingest_secs,
        bytes as f64 / 1e6 / ingest_secs
    );
    }

    let index = SearchIndex::open(&dir.join("index"), 100_000_000)?;
    let started = Instant::now();
    let indexed = index.catch_up(&archive).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "indexing: {indexed} items in {secs:.1} s, {:.0} msg/s",
        indexed as f64 / secs
    );

    let queries = [
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
        "grüße",
        "security OR audit",
        "contract -travel",
        "attachment:pdf",
        "café crème",
    ];
    for snippets in [true, false] {
        let mut latencies = Vec::new();
        let mut per_query: Vec<Vec<f64>> = vec![Vec::new(); queries.len()];
        for round in 0..20 {
            for (qn, q) in queries.iter().enumerate() {
                let sort = if round % 2 == 0 {
                    SearchSort::Relevance
                } else {
                    SearchSort::NewestFirst
                };
                let req = SearchRequest {
                    mailbox_ids: vec![mailbox],
                    query: (*q).into(),
                    sort,
                    limit: 20,
                    snippets,
                    ..Default::default()
                };
                let started = Instant::now();
                let r = index.search(&archive, &req).await?;
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                latencies.push(ms);
                per_query[qn].push(ms);
                if round == 0 && snippets {
                    println!("  {q:<40} {} hits", r.total);
                }
            }
        }
        for (q, times) in queries.iter().zip(per_query.iter_mut()) {
            times.sort_by(|a, b| a.total_cmp(b));
            if std::env::var_os("BENCH_PER_QUERY").is_some() {
                println!(
                    "  {q:<40} median {:.1} ms, max {:.1} ms",
                    percentile(times, 0.5),
                    percentile(times, 1.0)
                );
            }
        }
        latencies.sort_by(|a, b| a.total_cmp(b));
        println!(
            "search over {total} messages, {} queries (20 hits, {}): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
            latencies.len(),
            if snippets { "snippets" } else { "no snippets" },
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95),
            percentile(&latencies, 0.99)
        );
    }
    println!(
        "index size: {:.0} MB",
        dir_size(&dir.join("index")) as f64 / 1e6
    );

    let tree = archive.folder_tree(mailbox, None).await?;
    let biggest = tree
        .iter()
        .max_by_key(|f| f.total)
        .map(|f| f.id)
        .unwrap_or(0);
    let started = Instant::now();
    let mut after = None;
    for _ in 0..100 {
        let page = archive
            .list_folder_items(
                biggest,
                &ListQuery {
                    after,
                    ..ListQuery::default()
                },
            )
            .await?;
        after = page.next;
    }
    println!(
        "folder list: 100 consecutive pages of 50 in the biggest folder: {:.2} ms/page",
        started.elapsed().as_secs_f64() * 10.0
    );
    println!("peak RSS: {:.0} MB", peak_rss_mb());
    Ok(())
}
