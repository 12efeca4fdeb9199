//! `export`: a mailbox, a folder or a snapshot to a BagIt zip on disk, through the same job the
//! portal runs (it shows on the jobs screen, and its report is kept), with a progress bar.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use archive::{ItemKind, Timestamp};
use indicatif::{ProgressBar, ProgressStyle};
use jobs::JobState;
use recovery::{ExportFile, ExportRequest, ExportSource, MailFormat, Worker};

use crate::config::Settings;
use crate::{exporter_on, open_database};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// One .eml file per message, in the folder tree.
    Eml,
    /// One mboxrd file per folder.
    Mbox,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Mail,
    Calendar,
    Contacts,
}

pub struct ExportArgs {
    pub mailbox: String,
    pub folder: Option<String>,
    pub snapshot: Option<i64>,
    pub at: Option<String>,
    pub format: Format,
    pub only: Vec<Kind>,
    pub out: PathBuf,
}

pub async fn run_export(settings: &Settings, args: ExportArgs) -> anyhow::Result<()> {
    if args.out.exists() {
        anyhow::bail!(
            "{} already exists: choose another file name",
            args.out.display()
        );
    }
    let db = open_database(settings).await?;
    let archive = crate::archive_on(settings, db.clone())?;
    let exporter = exporter_on(settings, &db, &archive);
    let mailbox = archive
        .mailbox_by_name(&args.mailbox)
        .await?
        .with_context(|| format!("no archived mailbox is named `{}`", args.mailbox))?;
    let at = match &args.at {
        Some(text) => Some(Timestamp::parse_instant(text).with_context(|| {
            format!("`{text}` is not a date and time: write it like 2026-03-01T14:00")
        })?),
        None => None,
    };
    let source = match (args.snapshot, &args.folder) {
        (Some(snapshot), _) => ExportSource::Snapshot { snapshot },
        (None, Some(path)) => {
            let wanted: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            let folder = archive
                .folder_tree(mailbox.id, at)
                .await?
                .into_iter()
                .find(|f| f.path.iter().map(String::as_str).eq(wanted.iter().copied()))
                .with_context(|| format!("`{path}` is not a folder of {}", mailbox.name))?;
            ExportSource::Folders {
                mailbox: mailbox.id,
                folders: vec![folder.id],
                at,
            }
        }
        (None, None) => ExportSource::Mailbox {
            mailbox: mailbox.id,
            at,
        },
    };
    let kinds = if args.only.is_empty() {
        vec![ItemKind::Message, ItemKind::Calendar, ItemKind::Contact]
    } else {
        args.only
            .iter()
            .map(|k| match k {
                Kind::Mail => ItemKind::Message,
                Kind::Calendar => ItemKind::Calendar,
                Kind::Contacts => ItemKind::Contact,
            })
            .collect()
    };
    let request = ExportRequest {
        source,
        format: match args.format {
            Format::Eml => MailFormat::Eml,
            Format::Mbox => MailFormat::Mbox,
        },
        kinds,
    };
    let (job, plan) = match exporter.enqueue(&request, "command line").await {
        Ok(queued) => queued,
        Err(recovery::RecoveryError::Invalid(why)) => anyhow::bail!("{why}"),
        Err(e) => return Err(e.into()),
    };
    let (mail, events, contacts) = plan.counts();
    eprintln!(
        "Export job {}: {mail} messages, {events} calendar items, {contacts} contacts",
        job.id
    );

    // Run it here; a portal's worker that took it first runs it there, and this follows it.
    let worker = Worker::new(format!("cli:{}", std::process::id()), exporter.clone());
    let id = job.id;
    let runner = tokio::spawn(async move { worker.run_this(id).await });
    let bar = ProgressBar::new(plan.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let ended = loop {
        let now = exporter
            .jobs()
            .get(id)
            .await?
            .context("the export job disappeared")?;
        bar.set_length(u64::try_from(now.total.max(1)).unwrap_or(1));
        bar.set_position(u64::try_from(now.processed).unwrap_or(0));
        if now.total > 0 && now.processed >= now.total {
            bar.set_message("storing the file");
        }
        if now.state.is_finished() {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    bar.finish_and_clear();
    if let Ok(Err(e)) = runner.await {
        eprintln!("note: {e}");
    }
    match ended.state {
        JobState::Done => {}
        JobState::Cancelled => anyhow::bail!("export job {id} was cancelled"),
        _ => anyhow::bail!(
            "export job {id} failed: {}",
            ended.error.unwrap_or_default()
        ),
    }
    let file = ExportFile::of(&ended).context("the finished export names no file")?;
    let mut out = std::fs::File::create_new(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    for (part, chunk) in file.chunks() {
        let bytes = exporter.read_chunk(&file, part, chunk).await?;
        std::io::Write::write_all(&mut out, &bytes)
            .with_context(|| format!("cannot write {}", args.out.display()))?;
    }
    out.sync_all()?;
    println!("Exported to {}:", args.out.display());
    println!("  files in the bag   {}", file.files);
    println!("  size               {} bytes", file.size);
    println!("  manifest sha256    {}", file.manifest_sha256);
    println!("  failed items       {}", ended.failed);
    if ended.failed > 0 {
        println!("  the report lists each one: the portal's Jobs screen, job {id}");
        anyhow::bail!("{} items could not be exported", ended.failed);
    }
    Ok(())
}
