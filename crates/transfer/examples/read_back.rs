//! Imports an mbox into a fresh archive and prints what the archive and the index read of each
//! message, one JSON line per message in the mbox's order: subject, sender address, date, where
//! the date came from, message id, attachment count and the first words of the indexed body.
//! `scripts/mailcheck/run.sh` compares this with Python's `email` package.
//!
//!     cargo run --release -p transfer --example read_back -- FILE.mbox > ours.jsonl

use std::path::PathBuf;

use archive::{Archive, Blobs, ChangeCursor, NewMailbox};
use transfer::import::{import, ImportFormat, ImportOptions};

const WORDS: usize = 12;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        return Err("usage: read_back FILE.mbox".into());
    };
    let dir = tempfile::tempdir()?;
    let db =
        database::Database::open(&format!("sqlite://{}/meta.db", dir.path().display())).await?;
    let archive = Archive::new(db, Blobs::local(dir.path().join("blobs"), None)?);
    let options = ImportOptions::new(NewMailbox {
        name: "check".into(),
        owner_address: "check@example.com".into(),
        display_name: "check".into(),
    });
    let summary = import(&archive, ImportFormat::Mbox, &path, &options, &mut |_| {}).await?;
    eprintln!(
        "read {}, imported {}, duplicates {}, failed {}",
        summary.read,
        summary.imported,
        summary.duplicates,
        summary.failed.len()
    );
    let mut cursor = ChangeCursor::default();
    let mut items = Vec::new();
    loop {
        let page = archive.changes_since(cursor, 1000).await?;
        let Some(last) = page.last() else { break };
        cursor = last.cursor;
        items.extend(page.into_iter().map(|record| record.item));
    }
    // Imported in the file's order: ids are in that order too.
    items.sort_by_key(|item| item.id);
    for item in items {
        let raw = archive.read_raw(item.id).await?;
        let text = archive::meta::body_text(&raw);
        let words: Vec<&str> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(WORDS)
            .collect();
        let line = serde_json::json!({
            "subject": item.subject,
            "sender": item.sender_address,
            "date": item.date.unix_seconds(),
            "date_source": item.date_source.map(|s| s.as_str()),
            "message_id": item.message_id,
            "attachments": item.attachments.len(),
            "words": words,
        });
        println!("{line}");
    }
    Ok(())
}
