//! `export`: a mailbox, a folder or a snapshot to a BagIt zip on disk, through the same job the
//! portal runs (it shows on the jobs screen, and its report is kept), with a progress bar.

use std::path::PathBuf;

use anyhow::Context;
use jobs::JobState;
use recovery::{ExportFile, ExportRequest, MailFormat, Worker};

use super::jobs::{run_and_follow, Taken};
use crate::config::Settings;
use crate::{exporter_on, open_database};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// One .eml file per message, in the folder tree.
    Eml,
    /// One mboxrd file per folder.
    Mbox,
}

pub struct ExportArgs {
    pub taken: Taken,
    pub format: Format,
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
    let (_, source) = args.taken.source(&archive).await?;
    let kinds = args.taken.kinds();
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

    let worker = Worker::new(format!("cli:{}", std::process::id()), exporter.clone())
        .with_lease(settings.worker.job_lease());
    let id = job.id;
    let ended = run_and_follow(
        worker,
        exporter.jobs(),
        id,
        plan.len(),
        Some("storing the file"),
    )
    .await?;
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
        let mut bytes = exporter.read_chunk(&file, part, chunk).await?;
        while let Some(piece) = futures_util::StreamExt::next(&mut bytes).await {
            std::io::Write::write_all(&mut out, &piece?)
                .with_context(|| format!("cannot write {}", args.out.display()))?;
        }
    }
    out.sync_all()?;
    crate::say!("Exported to {}:", args.out.display());
    crate::say!("  files in the bag   {}", file.files);
    crate::say!("  size               {} bytes", file.size);
    crate::say!("  manifest sha256    {}", file.manifest_sha256);
    crate::say!("  failed items       {}", ended.failed);
    if ended.failed > 0 {
        crate::say!("  the report lists each one: the portal's Jobs screen, job {id}");
        anyhow::bail!("{} items could not be exported", ended.failed);
    }
    Ok(())
}
