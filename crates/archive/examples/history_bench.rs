//! Point-in-time views on a mailbox with a year of synced history.
//!
//!     cargo run --release -p archive --example history_bench -- [MESSAGES] [DIR]
//!
//! Builds (once per DIR) a mailbox of MESSAGES messages (default 100,000) in 20 folders, one of
//! them holding 10,000, then replays a year of twice-daily syncs: new mail, moves, deletes and
//! read changes. Then measures, at random instants of that year, the folder tree as of T, the
//! first page of the 10,000-message folder as of T, and the difference of two instants a month
//! apart (its counts and first page). SQLite in WAL mode; `BENCH_DATABASE_URL` picks another
//! database (PostgreSQL). Runs on a current-thread runtime: one core. Goal: p95 under 50 ms each.

use std::time::Instant;

use archive::*;
use rand::{Rng, SeedableRng};

const DAY: i64 = 86_400;
const START: i64 = 1_735_689_600; // 2025-01-01

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn message(n: u64) -> Vec<u8> {
    format!(
        "From: Sender {s} <sender{s}@example.com>\r\nTo: owner@example.com\r\nSubject: Message {n} about topic {t}\r\n\
         Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <m{n}@bench>\r\n\r\nBody of message {n}.\r\n",
        s = n % 97,
        t = n % 31
    )
    .into_bytes()
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(START + seconds)
}

fn report(name: &str, mut samples: Vec<f64>) {
    samples.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{name:<48} p50 {:>7.2} ms   p95 {:>7.2} ms   max {:>7.2} ms   ({} runs)",
        percentile(&samples, 0.5),
        percentile(&samples, 0.95),
        samples.last().copied().unwrap_or(0.0),
        samples.len()
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let total: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "/tmp/history-bench".into()));
    std::fs::create_dir_all(&dir)?;
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/meta.db", dir.display()));
    let db = database::Database::open(&url).await?;
    let archive = Archive::new(db, Blobs::local(dir.join("blobs"), None)?);
    let mailbox = archive
        .ensure_mailbox(&NewMailbox {
            name: format!("bench-{total}@example.com"),
            owner_address: format!("bench-{total}@example.com"),
            display_name: "Bench".into(),
        })
        .await?;
    let m = mailbox.id;
    let folders: Vec<String> = (0..20).map(|f| format!("f{f}")).collect();
    let big = "f0";
    let big_count = 10_000.min(total / 2);

    if archive.count_items(Some(m)).await? == 0 {
        let started = Instant::now();
        for (n, f) in folders.iter().enumerate() {
            let spec = FolderSpec {
                source_id: f.clone(),
                parent_source_id: (n > 10).then(|| "f1".to_owned()),
                name: format!("Folder {n}"),
                kind: if n == 0 {
                    FolderKind::Inbox
                } else {
                    FolderKind::Other
                },
            };
            archive.upsert_folder(m, &spec, at(0)).await?;
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        // 60% arrive with the first sync, the rest over the year; the big folder gets its
        // 10,000 first so that it stays the biggest.
        let first = total * 6 / 10;
        let folder_of = |n: u64, rng: &mut rand::rngs::StdRng| -> String {
            if n < big_count {
                big.to_owned()
            } else {
                folders[rng.gen_range(1..folders.len())].clone()
            }
        };
        let put = |n: u64, folder: String, t: Timestamp| PutItem {
            mailbox_id: m,
            folder_source_id: folder,
            source_id: format!("i{n}"),
            kind: ItemKind::Message,
            raw: message(n),
            is_read: n.is_multiple_of(3),
            flags: Vec::new(),
            meta: None,
            properties: None,
            fallback_date: None,
            at: t,
        };
        let mut batch = Vec::with_capacity(500);
        for n in 0..first {
            batch.push(put(n, folder_of(n, &mut rng), at(0)));
            if batch.len() == 500 {
                archive.put_items(std::mem::take(&mut batch)).await?;
            }
        }
        archive.put_items(std::mem::take(&mut batch)).await?;
        println!(
            "first sync: {first} messages in {:.1} s",
            started.elapsed().as_secs_f64()
        );

        let syncs = 365 * 2;
        let per_sync = (total - first) / syncs as u64;
        let mut next = first;
        let mut live: Vec<u64> = (0..first).collect();
        let started = Instant::now();
        for s in 1..=syncs {
            let t = at(s as i64 * DAY / 2);
            for _ in 0..per_sync {
                batch.push(put(next, folder_of(next, &mut rng), t));
                live.push(next);
                next += 1;
            }
            archive.put_items(std::mem::take(&mut batch)).await?;
            for _ in 0..15 {
                let n = live[rng.gen_range(0..live.len())];
                let to = &folders[rng.gen_range(0..folders.len())];
                archive.move_item(m, &format!("i{n}"), to, None, t).await?;
            }
            for _ in 0..10 {
                let k = rng.gen_range(0..live.len());
                let n = live.swap_remove(k);
                archive.delete_item(m, &format!("i{n}"), t).await?;
            }
            for _ in 0..50 {
                let n = live[rng.gen_range(0..live.len())];
                archive
                    .set_read(m, &format!("i{n}"), rng.gen_bool(0.5), t)
                    .await?;
            }
        }
        println!(
            "a year of {syncs} syncs replayed in {:.1} s ({} messages in the archive)",
            started.elapsed().as_secs_f64(),
            archive.count_items(Some(m)).await?
        );
    }

    let big_id = archive.folder_id(m, big).await?.ok_or("no big folder")?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let runs = 60;
    let instants: Vec<i64> = (0..runs)
        .map(|_| rng.gen_range(40 * DAY..360 * DAY))
        .collect();

    let mut tree = Vec::new();
    let mut page = Vec::new();
    let mut diff = Vec::new();
    let mut diff_only = Vec::new();
    let mut changes = 0usize;
    for &t in &instants {
        let started = Instant::now();
        let nodes = archive.folder_tree(m, Some(at(t))).await?;
        tree.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(nodes.len(), folders.len());

        let started = Instant::now();
        let items = archive
            .list_folder_items(
                big_id,
                &ListQuery {
                    as_of: Some(at(t)),
                    ..Default::default()
                },
            )
            .await?;
        page.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(items.items.len(), 50);

        let started = Instant::now();
        let d = archive
            .difference_page(
                m,
                at(t - 30 * DAY),
                at(t),
                &DifferenceFilter {
                    limit: 100,
                    ..Default::default()
                },
            )
            .await?;
        diff.push(started.elapsed().as_secs_f64() * 1000.0);
        changes += d.counts.iter().map(|(_, n)| n).sum::<usize>();

        let started = Instant::now();
        archive.difference(m, at(t - 30 * DAY), at(t)).await?;
        diff_only.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    // The page a person opens while a sync is writing: each run writes (one message marked read
    // or unread, as a sync's smallest change), then reads the tree now and the big folder's
    // first page.
    let mut after_write = Vec::new();
    let probe = archive
        .list_folder_items(big_id, &ListQuery::default())
        .await?
        .items
        .first()
        .map(|i| i.id)
        .ok_or("the big folder is empty")?;
    let probe_source = archive
        .item(probe)
        .await?
        .map(|d| d.source_id)
        .ok_or("no probe item")?;
    for run in 0..runs {
        archive
            .set_read(
                m,
                &probe_source,
                run % 2 == 0,
                Timestamp::from_unix_seconds(START + 400 * DAY + run as i64),
            )
            .await?;
        let started = Instant::now();
        let nodes = archive.folder_tree(m, None).await?;
        let items = archive
            .list_folder_items(big_id, &ListQuery::default())
            .await?;
        after_write.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!((nodes.len(), items.items.len()), (folders.len(), 50));
    }
    report("tree now and first page, after a write", after_write);
    println!("{total} messages, instants drawn from the synced year:");
    report("folder tree as of T", tree);
    report("first page (50) of the 10,000-message folder", page);
    report("difference a month apart (counts, first 100)", diff);
    report("  of which computing the difference", diff_only);
    println!(
        "mean changes in a month's difference: {}",
        changes / instants.len()
    );
    Ok(())
}
