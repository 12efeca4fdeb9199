//! Export benchmark over generated mail. Not a test.
//!
//! cargo run --release -p recovery --example export_bench -- [messages] [data dir] [eml|mbox|both]
//!
//! Fills an archive with the generator's mail (skipped when the data folder already holds that
//! many messages), then runs an export job of the whole mailbox to the end, as the portal's
//! worker does: messages per second, peak RSS of the process (the goal is a flat line whatever
//! the size), and the file's size. Multi-threaded runtime, as in the server.

use std::time::Instant;

use archive::*;
use jobs::Jobs;
use recovery::{ExportFile, ExportRequest, Exporter, ItemSource, MailFormat, Worker};
use transfer::mailgen::MailGen;

fn rss_mb(field: &str) -> f64 {
    testkit::memory::status_mb(field)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let total: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = match args.get(2) {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!("sr-export-bench-{}", std::process::id())),
    };
    let formats: Vec<MailFormat> = match args.get(3).map(String::as_str) {
        Some("eml") => vec![MailFormat::Eml],
        Some("mbox") => vec![MailFormat::Mbox],
        _ => vec![MailFormat::Eml, MailFormat::Mbox],
    };
    std::fs::create_dir_all(&dir)?;
    let db = database::Database::open(&format!("sqlite://{}/meta.db", dir.display())).await?;
    let key = BlobKey::from_bytes([9; 32]);
    let archive = Archive::new(db.clone(), Blobs::local(dir.join("blobs"), Some(key))?);
    let mailbox = archive
        .ensure_mailbox(&NewMailbox {
            name: "bench".into(),
            owner_address: "bench@example.com".into(),
            display_name: "Bench".into(),
        })
        .await?
        .id;

    let have = archive.count_items(Some(mailbox)).await?;
    if (have as usize) < total {
        let mut gen = MailGen::new(7);
        let mut folders = std::collections::HashSet::new();
        let mut i = have as usize;
        while i < total {
            let mut batch = Vec::new();
            for n in i..(i + 500).min(total) {
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
            archive.put_items(batch).await?;
            if i.is_multiple_of(10_000) {
                eprintln!("archived {i}");
            }
        }
    }
    let rss_before = rss_mb("VmRSS:");
    println!("messages: {total}; RSS before exporting: {rss_before:.0} MB");

    let exporter = Exporter::new(
        archive.clone(),
        Jobs::new(db),
        dir.join("scratch"),
        256 * 1024 * 1024,
    );
    for format in formats {
        let (job, plan) = exporter
            .enqueue(
                &ExportRequest {
                    source: ItemSource::Mailbox { mailbox, at: None },
                    format,
                    kinds: vec![ItemKind::Message],
                },
                "bench",
            )
            .await?;
        let started = Instant::now();
        let ended = Worker::new("bench", exporter.clone())
            .run_this(job.id)
            .await?
            .ok_or("the job was taken by someone else")?;
        let secs = started.elapsed().as_secs_f64();
        let file = ExportFile::of(&ended).ok_or("no file")?;
        println!(
            "export {:?}: {} messages in {secs:.1} s = {:.0} msg/s; file {:.0} MB in {} parts; \
             failed {}; peak RSS so far {:.0} MB",
            format,
            plan.len(),
            plan.len() as f64 / secs,
            file.size as f64 / 1e6,
            file.parts.len(),
            ended.failed,
            rss_mb("VmHWM:"),
        );
    }
    Ok(())
}
