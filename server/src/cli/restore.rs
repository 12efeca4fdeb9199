//! `restore`: archived items back into a mailbox through its sync connection, as the portal
//! does it: a dry run first (its report per folder printed here), then the restore, both jobs
//! on the portal's Jobs screen. `--resume JOB` takes over a restore whose worker died.

use anyhow::Context;
use jobs::{Job, JobState, OutcomeKind};
use recovery::{Placement, RestoreRequest, RestoreSummary, RestoreTarget, Restorer, Worker};

use super::jobs::{run_and_follow, Taken};
use crate::config::Settings;
use crate::{exporter_on, open_database, restorer_on, sync_service};

pub struct RestoreArgs {
    pub taken: Taken,
    /// The mailbox to write into; the source mailbox's owner when None.
    pub into: Option<String>,
    /// The connection to write through; the one of the sync task that reaches `into` when None.
    pub connection: Option<i64>,
    pub new_folder: Option<String>,
    pub dry_run: bool,
    pub resume: Option<i64>,
}

pub async fn run_restore(settings: &Settings, args: RestoreArgs) -> anyhow::Result<()> {
    let db = open_database(settings).await?;
    let archive = crate::archive_on(settings, db.clone())?;
    let sync = sync_service(settings, &db, &archive)?;
    let restorer = restorer_on(&db, &archive, &sync);
    let worker = Worker::new(
        format!("cli:{}", std::process::id()),
        exporter_on(settings, &db, &archive),
    )
    .with_restorer(restorer.clone())
    .with_lease(settings.worker.job_lease());

    if let Some(id) = args.resume {
        let job = restorer
            .jobs()
            .get(id)
            .await?
            .filter(|j| j.kind == recovery::RESTORE_KIND)
            .with_context(|| format!("there is no restore job {id}"))?;
        if job.state.is_finished() {
            anyhow::bail!(
                "restore job {id} has already ended ({})",
                job.state.as_str()
            );
        }
        eprintln!("Resuming restore job {id}: {}", job.label);
        let total = usize::try_from(job.total).unwrap_or(0);
        let ended = run_and_follow(worker, restorer.jobs(), id, total, None).await?;
        return report(&restorer, &ended).await;
    }

    let (mailbox, source) = args.taken.source(&archive).await?;
    let address = args
        .into
        .clone()
        .unwrap_or_else(|| mailbox.owner_address.clone());
    let connection_id = match args.connection {
        Some(id) => id,
        None => {
            let reached = sync.store().mailboxes_by_address(&address).await?;
            let task = reached.first().with_context(|| {
                format!("no sync task reaches {address}: name the connection with --connection ID")
            })?;
            sync.store()
                .task(task.task_id)
                .await?
                .context("the sync task disappeared")?
                .connection_id
        }
    };
    let request = RestoreRequest {
        source,
        kinds: args.taken.kinds(),
        target: RestoreTarget {
            connection_id,
            address,
        },
        placement: match &args.new_folder {
            Some(name) => Placement::NewFolder { name: name.clone() },
            None => Placement::Original,
        },
        dry_run: true,
        after_dry_run: None,
    };
    let dry = run(&restorer, worker.clone(), &request).await?;
    report(&restorer, &dry).await?;
    if args.dry_run {
        return Ok(());
    }
    let real = run(
        &restorer,
        worker,
        &RestoreRequest {
            dry_run: false,
            after_dry_run: Some(dry.id),
            ..request
        },
    )
    .await?;
    report(&restorer, &real).await
}

async fn run(restorer: &Restorer, worker: Worker, request: &RestoreRequest) -> anyhow::Result<Job> {
    let (job, plan) = match restorer.enqueue(request, "command line").await {
        Ok(queued) => queued,
        Err(recovery::RecoveryError::Invalid(why)) => anyhow::bail!("{why}"),
        Err(e) => return Err(e.into()),
    };
    let (mail, events, contacts) = plan.counts();
    eprintln!(
        "{} job {}: {mail} messages, {events} calendar items, {contacts} contacts",
        if request.dry_run {
            "Dry run"
        } else {
            "Restore"
        },
        job.id
    );
    run_and_follow(worker, restorer.jobs(), job.id, plan.len(), None).await
}

/// Prints the job's report per target folder; fails when the job did not finish or an item
/// failed.
async fn report(restorer: &Restorer, job: &Job) -> anyhow::Result<()> {
    let summary = RestoreSummary::of(job).unwrap_or_default();
    let (created, merged) = if summary.dry_run {
        ("would be created", "would be merged (read state set back)")
    } else {
        ("created", "merged (read state set back)")
    };
    crate::say!("{}", job.label);
    for t in restorer.jobs().tally(job.id).await? {
        let what = match t.kind {
            OutcomeKind::Created => created,
            OutcomeKind::Merged => merged,
            OutcomeKind::Skipped => "skipped",
            OutcomeKind::Failed => "failed",
        };
        let why = if t.reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", t.reason)
        };
        crate::say!("  {:<40} {:>6} {what}{why}", t.target_path, t.count);
    }
    for folder in &summary.folders_created {
        crate::say!("  folder {created}: {folder}");
    }
    match job.state {
        JobState::Done if job.failed == 0 => Ok(()),
        JobState::Done => anyhow::bail!(
            "{} items failed; the report lists each one (the portal's Jobs screen, job {})",
            job.failed,
            job.id
        ),
        JobState::Cancelled => anyhow::bail!("job {} was cancelled", job.id),
        _ => anyhow::bail!(
            "job {} failed: {}",
            job.id,
            job.error.clone().unwrap_or_default()
        ),
    }
}
