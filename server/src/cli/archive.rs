//! `import`, `search`, `reindex`, `stats`: the archive from the command line.

use std::path::{Path, PathBuf};

use archive::NewMailbox;
use indicatif::{ProgressBar, ProgressStyle};
use transfer::import::{import, ImportFormat, ImportOptions, ImportProgress};

use crate::config::Settings;
use crate::{open_archive, open_search_reader, open_search_shard};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// An mbox file (mboxo, mboxrd, mboxcl).
    Mbox,
    /// A folder of .eml files; sub-folders become folders.
    Eml,
    /// A Maildir++ tree (dotted folder names, flags in file names).
    Maildir,
    /// An Outlook PST file (ANSI or Unicode; not OST).
    Pst,
}

pub struct ImportArgs {
    pub path: PathBuf,
    pub format: Option<Format>,
    pub mailbox: String,
    pub owner: Option<String>,
    pub display_name: Option<String>,
    pub folder: String,
}

pub async fn run_import(settings: &Settings, args: ImportArgs) -> anyhow::Result<()> {
    if !args.path.exists() {
        anyhow::bail!("{} does not exist", args.path.display());
    }
    let format = match args.format {
        Some(Format::Mbox) => ImportFormat::Mbox,
        Some(Format::Eml) => ImportFormat::EmlFolder,
        Some(Format::Maildir) => ImportFormat::Maildir,
        Some(Format::Pst) => ImportFormat::Pst,
        None => ImportFormat::guess(&args.path),
    };
    let archive = open_archive(settings).await?;
    let mut options = ImportOptions::new(NewMailbox {
        name: args.mailbox.clone(),
        owner_address: args
            .owner
            .unwrap_or_else(|| args.mailbox.clone())
            .to_lowercase(),
        display_name: args.display_name.unwrap_or_else(|| args.mailbox.clone()),
    });
    options.root_folder = args.folder;

    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let summary = import(
        &archive,
        format,
        &args.path,
        &options,
        &mut |progress: &ImportProgress| {
            bar.set_length(progress.bytes_total);
            bar.set_position(progress.bytes_read);
            bar.set_message(format!("{} messages", progress.messages_read));
        },
    )
    .await?;
    bar.finish_and_clear();

    crate::say!("Imported into mailbox `{}`:", args.mailbox);
    crate::say!("  read        {}", summary.read);
    crate::say!("  imported    {}", summary.imported);
    crate::say!("  duplicates  {}", summary.duplicates);
    crate::say!(
        "  kept raw    {} (not parseable as MIME, archived as received)",
        summary.kept_unparsed
    );
    crate::say!("  failed      {}", summary.failed.len());
    for failure in &summary.failed {
        crate::say!("    {}: {}", failure.location, failure.reason);
    }
    if !summary.skipped.is_empty() {
        crate::say!("  skipped     {}", summary.skipped.len());
        for skipped in &summary.skipped {
            crate::say!("    {}: {}", skipped.location, skipped.reason);
        }
    }
    crate::say!(
        "A running portal indexes the new messages within seconds; otherwise the next start does."
    );
    Ok(())
}

pub async fn run_search(
    settings: &Settings,
    query: &str,
    mailboxes: &[String],
    limit: usize,
) -> anyhow::Result<()> {
    let archive = open_archive(settings).await?;
    // Read-only, so that it works next to a running portal; catching up is the writer's job.
    let index = open_search_reader(settings)?;
    let pending = index.pending_changes(&archive).await?;
    if pending > 0 {
        let changes = if pending == 1 { "change" } else { "changes" };
        eprintln!(
            "note: the index is {pending} {changes} behind the archive; a running portal catches \
             up within seconds (otherwise start it, or run `sync-recover reindex`)"
        );
    }
    // Without --mailbox, every mailbox of the archive.
    let searched = if mailboxes.is_empty() {
        archive.list_mailboxes().await?
    } else {
        let mut named = Vec::new();
        for name in mailboxes {
            named.push(
                archive
                    .mailbox_by_name(name)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no mailbox named `{name}`"))?,
            );
        }
        named
    };
    let ids: Vec<archive::MailboxId> = searched.iter().map(|m| m.id).collect();
    let names: std::collections::HashMap<archive::MailboxId, &str> =
        searched.iter().map(|m| (m.id, m.name.as_str())).collect();
    let found = index
        .find(
            &archive,
            &search::SearchRequest {
                mailbox_ids: ids,
                query: query.to_owned(),
                limit,
                sort: search::SearchSort::NewestFirst,
                ..Default::default()
            },
        )
        .await?;
    crate::say!("{} matches", found.total);
    for hit in found.items {
        let item = hit.item;
        let date = time::OffsetDateTime::from_unix_timestamp(item.date.unix_seconds())
            .map(|d| d.date().to_string())
            .unwrap_or_default();
        // Which mailbox a hit is in, when more than one was searched.
        if names.len() > 1 {
            let mailbox = names.get(&item.mailbox_id).copied().unwrap_or_default();
            crate::say!(
                "{}\t{}\t{}\t{}\t{}",
                item.id,
                mailbox,
                date,
                item.sender,
                item.subject
            );
        } else {
            crate::say!("{}\t{}\t{}\t{}", item.id, date, item.sender, item.subject);
        }
    }
    Ok(())
}

pub async fn run_reindex(settings: &Settings) -> anyhow::Result<()> {
    let dir = settings.storage.data_dir.join("index");
    let archive = open_archive(settings).await?;
    let shards = search::Shard::all(settings.node.search_shards);
    if dir.exists() {
        // Open first: fails while a portal holds the index, before anything is removed.
        for shard in &shards {
            drop(open_search_shard(settings, *shard)?);
        }
        std::fs::remove_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", dir.display()))?;
    }
    let mut count = 0;
    for shard in shards {
        count += open_search_shard(settings, shard)?
            .catch_up(&archive)
            .await?;
    }
    crate::say!("reindexed {count} items");
    Ok(())
}

pub async fn run_stats(settings: &Settings) -> anyhow::Result<()> {
    let archive = open_archive(settings).await?;
    let mailboxes = archive.list_mailboxes().await?;
    let blobs = archive.referenced_blobs().await?;
    let stored = dir_size(&settings.storage.data_dir.join("blobs"));
    crate::say!("mailboxes        {}", mailboxes.len());
    crate::say!("items            {}", archive.count_items(None).await?);
    crate::say!("distinct blobs   {}", blobs.len());
    crate::say!(
        "blob storage     {:.1} MB (compressed)",
        stored as f64 / 1e6
    );
    for mailbox in mailboxes {
        crate::say!(
            "  {:<40} {:>8} items",
            mailbox.name,
            archive.count_items(Some(mailbox.id)).await?
        );
    }
    // Several nodes: who writes each search shard, and how far its publishes went.
    let shards = search::ShardLeases::new(archive.database().clone())
        .states()
        .await?;
    if !shards.is_empty() {
        crate::say!("search shards    {}", shards.len());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    for shard in shards {
        let left = (shard.lease_until_micros - now) / 1_000_000;
        let writer = match &shard.writer {
            Some(writer) if left >= 0 => format!("written by {writer} ({left} s of lease left)"),
            Some(writer) => format!("no writer ({writer}'s lease lapsed {} s ago)", -left),
            None => "no writer".to_owned(),
        };
        crate::say!(
            "  {:<40} generation {:>6}  {writer}",
            shard.shard,
            shard.generation
        );
    }
    Ok(())
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_size(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}
