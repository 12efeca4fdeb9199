//! Background jobs as the jobs screen shows them: exports and restores with their progress,
//! rate, time left, report and file; starting an export of a mailbox, folder, snapshot or
//! selection; cancel. Exports need the `export` permission, restores `restore`, each within its
//! scope (restores are started from `api::restore`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::admin::Outcome;
use super::error::ApiError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFileView {
    pub name: String,
    pub size: String,
    pub href: String,
    pub manifest_sha256: String,
    /// (file name, link, size) of each part, when there is more than one.
    pub parts: Vec<(String, String, String)>,
}

/// A purge or import as its own screen lists it: what it is, where it stands, and its result
/// in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobLineView {
    pub id: i64,
    pub label: String,
    /// `queued`, `running`, `done`, `failed`, `cancelled`.
    pub state: String,
    pub started_by: String,
    pub created: String,
    /// 0 to 100, for a job whose screen shows its progress.
    pub percent: Option<i64>,
    /// What it did (when done), why it failed, or what it is doing.
    pub result: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobView {
    pub id: i64,
    pub kind: String,
    pub label: String,
    pub mailbox_id: Option<i64>,
    pub owner: String,
    /// `queued`, `running`, `done`, `failed`, `cancelled`.
    pub state: String,
    pub state_label: String,
    pub total: i64,
    pub processed: i64,
    pub failed: i64,
    pub skipped: i64,
    /// 0 to 100.
    pub percent: i64,
    /// "84 items/s · about 2 min left", while it runs.
    pub pace: String,
    pub created: String,
    pub created_by: String,
    pub finished: Option<String>,
    pub error: Option<String>,
    pub cancel_requested: bool,
    pub file: Option<JobFileView>,
    /// A restore's target mailbox and whether it is a dry run (None for an export).
    pub restore: Option<RestoreJobView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreJobView {
    pub target: String,
    /// The target is not the source mailbox's owner: shown prominently.
    pub elsewhere: bool,
    pub dry_run: bool,
    /// Folders created (in a dry run: that would be).
    pub folders_created: Vec<String>,
}

impl JobView {
    pub fn active(&self) -> bool {
        matches!(self.state.as_str(), "queued" | "running")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeRow {
    pub id: i64,
    pub outcome: String,
    pub source_path: String,
    pub target_path: String,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobReportView {
    pub job: JobView,
    pub rows: Vec<OutcomeRow>,
    /// More rows than shown: the CSV has them all.
    pub more: bool,
    pub report_href: String,
    /// A restore's report counted per target folder (empty for an export).
    pub folders: Vec<FolderTally>,
}

/// One target folder of a restore: what was (or would be) created, merged (there already, its
/// read state set back), skipped and why, failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderTally {
    pub target_path: String,
    pub created: i64,
    pub merged: i64,
    pub skipped: i64,
    pub failed: i64,
    /// (reason, count) of the skipped and failed ones.
    pub reasons: Vec<(String, i64)>,
}

/// What the export form says it will take.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemSourceView {
    pub mailbox_id: i64,
    pub mailbox: String,
    pub owner: String,
    /// `mailbox`, `folder`, `snapshot`, `selection`.
    pub source: String,
    pub folder: Option<i64>,
    pub snapshot: Option<i64>,
    pub selection: Option<i64>,
    /// RFC 3339, empty for now.
    pub at: String,
    /// "The whole mailbox as of Tue 3 Mar 2026 14:05 UTC", "Inbox/Projects and its subfolders".
    pub description: String,
}

/// Rows of a report shown on the screen; the CSV holds every row.
#[cfg(feature = "ssr")]
const REPORT_ROWS: usize = 200;

#[server(endpoint = "jobs/list", output = super::codec::Json)]
pub async fn jobs_list() -> Result<Vec<JobView>, ApiError> {
    let caller = super::access::caller().await?;
    let (exports, restores) = (caller.exports(), caller.restores());
    if exports.is_err() && restores.is_err() {
        return Err(ApiError::Forbidden);
    }
    let mut out = Vec::new();
    if let Ok(desk) = &exports {
        for job in desk.jobs(100).await? {
            out.push(ssr::job_view(desk, job).await);
        }
    }
    if let Ok(desk) = &restores {
        for job in desk.jobs(100).await? {
            out.push(ssr::job_view(desk, job).await);
        }
    }
    out.sort_by_key(|j| std::cmp::Reverse(j.id));
    out.truncate(100);
    Ok(out)
}

#[server(endpoint = "jobs/detail", output = super::codec::Json)]
pub async fn job_detail(
    id: i64,
    #[server(default)] failed_only: bool,
) -> Result<JobReportView, ApiError> {
    let caller = super::access::caller().await?;
    let kind = failed_only.then_some(jobs::OutcomeKind::Failed);
    // An export or a restore: each desk finds only jobs of its own kind in its own scope.
    let exports = caller.exports().ok();
    let export_job = match &exports {
        Some(desk) => desk.job(id).await.ok(),
        None => None,
    };
    let (job, outcomes, tally) = match (exports, export_job) {
        (Some(desk), Some((job, _))) => {
            let outcomes = desk.report(id, kind, 0, REPORT_ROWS + 1).await?;
            (ssr::job_view(&desk, job).await, outcomes, Vec::new())
        }
        (exports, _) => {
            // Not an export this caller may see: a restore, or nothing they may see at all.
            let desk = caller.restores().map_err(|e| match exports {
                Some(_) => ApiError::NotFound,
                None => e.into(),
            })?;
            let (job, _) = desk.job(id).await?;
            let outcomes = desk.report(id, kind, 0, REPORT_ROWS + 1).await?;
            let tally = ssr::folder_tally(desk.tally(id).await?);
            (ssr::job_view(&desk, job).await, outcomes, tally)
        }
    };
    let more = outcomes.len() > REPORT_ROWS;
    Ok(JobReportView {
        job,
        rows: outcomes
            .into_iter()
            .take(REPORT_ROWS)
            .map(|o| OutcomeRow {
                id: o.id,
                outcome: o.outcome.kind.as_str().to_owned(),
                source_path: o.outcome.source_path,
                target_path: o.outcome.target_path,
                detail: o.outcome.detail,
            })
            .collect(),
        more,
        report_href: format!("/admin/jobs/{id}/report.csv"),
        folders: tally,
    })
}

#[server(endpoint = "jobs/cancel", output = super::codec::Json)]
pub async fn cancel_job(id: i64) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    let exports = caller.exports().ok();
    let is_export = match &exports {
        Some(desk) => desk.job(id).await.is_ok(),
        None => false,
    };
    let job = match exports {
        Some(desk) if is_export => desk.cancel(id).await?,
        exports => {
            caller
                .restores()
                .map_err(|e| match exports {
                    Some(_) => ApiError::NotFound,
                    None => e.into(),
                })?
                .cancel(id)
                .await?
        }
    };
    Ok(Outcome::said(if job.state.is_finished() {
        format!("“{}” has already ended.", job.label)
    } else {
        format!("“{}” stops after the items it is writing now.", job.label)
    }))
}

/// What an export of these parameters would take, for the form to say before it starts.
#[server(endpoint = "jobs/export_choice", output = super::codec::Json)]
pub async fn export_choice(
    #[server(default)] mailbox: Option<i64>,
    #[server(default)] folder: Option<i64>,
    #[server(default)] snapshot: Option<i64>,
    #[server(default)] selection: Option<i64>,
    #[server(default)] at: String,
) -> Result<ItemSourceView, ApiError> {
    let caller = super::access::caller().await?;
    let desk = caller.exports()?;
    ssr::choice(&desk, mailbox, folder, snapshot, selection, &at).await
}

/// Starts an export; answers the new job's id. `mail`, `calendar`, `contacts`: checkboxes.
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "jobs/start_export", output = super::codec::Json)]
pub async fn start_export(
    #[server(default)] mailbox: Option<i64>,
    #[server(default)] folder: Option<i64>,
    #[server(default)] snapshot: Option<i64>,
    #[server(default)] selection: Option<i64>,
    #[server(default)] at: String,
    format: String,
    #[server(default)] mail: Option<String>,
    #[server(default)] calendar: Option<String>,
    #[server(default)] contacts: Option<String>,
) -> Result<i64, ApiError> {
    let caller = super::access::caller().await?;
    let desk = caller.exports()?;
    let choice = ssr::choice(&desk, mailbox, folder, snapshot, selection, &at).await?;
    let format = match format.as_str() {
        "eml" => recovery::MailFormat::Eml,
        "mbox" => recovery::MailFormat::Mbox,
        _ => {
            return Err(ApiError::Invalid {
                field: "format".into(),
                message: "Choose EML files or mbox for the mail.".into(),
            })
        }
    };
    let kinds = ssr::kinds(&mail, &calendar, &contacts);
    let job = desk
        .start(&recovery::ExportRequest {
            source: ssr::source(&choice)?,
            format,
            kinds,
        })
        .await?;
    Ok(job.id)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Jobs and outcomes as the screen shows them.
    use access::ItemSources;
    use archive::Timestamp;
    use jobs::{Job, JobState};

    use super::*;
    use crate::format::{full_date, human_size};

    pub fn job_line(job: &Job, percent: Option<i64>, result: String) -> JobLineView {
        JobLineView {
            id: job.id,
            label: job.label.clone(),
            state: job.state.as_str().to_owned(),
            started_by: job.owner.clone(),
            created: full_date(job.created_at),
            percent,
            result,
        }
    }

    fn state_label(job: &Job) -> String {
        match job.state {
            JobState::Queued => "Waiting".into(),
            JobState::Running if job.cancel_requested => "Stopping".into(),
            JobState::Running if job.total > 0 && job.processed >= job.total => {
                "Storing the file".into()
            }
            JobState::Running => "Running".into(),
            JobState::Done if job.failed > 0 => format!("Done, {} failed", job.failed),
            JobState::Done => "Done".into(),
            JobState::Failed => "Failed".into(),
            JobState::Cancelled => "Cancelled".into(),
        }
    }

    /// Items per second since the start, and the time left at that rate.
    fn pace(job: &Job) -> String {
        let (Some(started), Some(beat)) = (job.started_at, job.heartbeat_at) else {
            return String::new();
        };
        if job.state != JobState::Running || job.processed == 0 {
            return String::new();
        }
        let seconds = ((beat.0 - started.0) as f64 / 1e6).max(0.001);
        let rate = job.processed as f64 / seconds;
        let left = (job.total - job.processed).max(0) as f64 / rate.max(0.001);
        let left = if job.processed >= job.total {
            String::new()
        } else if left < 60.0 {
            " · less than a minute left".to_owned()
        } else if left < 3600.0 {
            format!(" · about {} min left", (left / 60.0).ceil())
        } else {
            format!(" · about {:.1} h left", left / 3600.0)
        };
        format!("{rate:.0} items/s{left}")
    }

    pub async fn job_view(desk: &impl ItemSources, job: Job) -> JobView {
        let owner = match job.mailbox_id {
            Some(m) => desk
                .mailbox(m)
                .await
                .map(|m| m.mailbox().owner_address.clone())
                .unwrap_or_default(),
            None => String::new(),
        };
        let file = recovery::ExportFile::of(&job).map(|f| JobFileView {
            name: f.file_name.clone(),
            size: human_size(i64::try_from(f.size).unwrap_or(i64::MAX)),
            href: format!("/admin/jobs/{}/download", job.id),
            manifest_sha256: f.manifest_sha256.clone(),
            parts: if f.parts.len() > 1 {
                f.parts
                    .iter()
                    .enumerate()
                    .map(|(n, p)| {
                        (
                            f.part_name(n),
                            format!("/admin/jobs/{}/part/{}", job.id, n + 1),
                            human_size(i64::try_from(p.size).unwrap_or(i64::MAX)),
                        )
                    })
                    .collect()
            } else {
                Vec::new()
            },
        });
        let percent = if job.total > 0 {
            (job.processed * 100 / job.total).clamp(0, 100)
        } else if job.state == JobState::Done {
            100
        } else {
            0
        };
        let restore = (job.kind == recovery::RESTORE_KIND)
            .then(|| serde_json::from_str::<recovery::RestoreRequest>(&job.params).ok())
            .flatten()
            .map(|r| RestoreJobView {
                elsewhere: !r.target.address.eq_ignore_ascii_case(&owner),
                target: r.target.address,
                dry_run: r.dry_run,
                folders_created: recovery::RestoreSummary::of(&job)
                    .map(|s| s.folders_created)
                    .unwrap_or_default(),
            });
        JobView {
            restore,
            id: job.id,
            kind: job.kind.clone(),
            label: job.label.clone(),
            mailbox_id: job.mailbox_id,
            owner,
            state: job.state.as_str().to_owned(),
            state_label: state_label(&job),
            total: job.total,
            processed: job.processed,
            failed: job.failed,
            skipped: job.skipped,
            percent,
            pace: pace(&job),
            created: full_date(job.created_at),
            created_by: job.owner.clone(),
            finished: job.finished_at.map(full_date),
            error: job.error.clone(),
            cancel_requested: job.cancel_requested,
            file,
        }
    }

    pub async fn choice(
        desk: &impl ItemSources,
        mailbox: Option<i64>,
        folder: Option<i64>,
        snapshot: Option<i64>,
        selection: Option<i64>,
        at: &str,
    ) -> Result<ItemSourceView, ApiError> {
        let instant = super::super::explorer::ssr::instant(Some(at))?;
        let as_of = |at: Option<Timestamp>| match at {
            Some(t) => format!(" as of {}", full_date(t)),
            None => String::new(),
        };
        if let Some(id) = snapshot {
            let (snap, mb) = desk.snapshot(id).await?;
            return Ok(ItemSourceView {
                mailbox_id: mb.id(),
                mailbox: mb.mailbox().display_name.clone(),
                owner: mb.mailbox().owner_address.clone(),
                source: "snapshot".into(),
                folder: None,
                snapshot: Some(id),
                selection: None,
                at: String::new(),
                description: format!(
                    "The snapshot “{}”: the mailbox as of {}",
                    snap.label,
                    full_date(snap.taken_at)
                ),
            });
        }
        if let Some(id) = selection {
            let (sel, mb) = desk.selection(id).await?;
            return Ok(ItemSourceView {
                mailbox_id: mb.id(),
                mailbox: mb.mailbox().display_name.clone(),
                owner: mb.mailbox().owner_address.clone(),
                source: "selection".into(),
                folder: None,
                snapshot: None,
                selection: Some(id),
                at: String::new(),
                description: format!(
                    "The selection “{}”: {} {}",
                    sel.label,
                    sel.item_count,
                    if sel.item_count == 1 { "item" } else { "items" }
                ),
            });
        }
        let id = mailbox.ok_or(ApiError::NotFound)?;
        let mb = desk.mailbox(id).await?;
        let (source, description) = match folder {
            Some(f) => {
                let path = desk.folder_path(&mb, f, instant).await?;
                (
                    "folder",
                    format!("{path} and its subfolders{}", as_of(instant)),
                )
            }
            None => ("mailbox", format!("The whole mailbox{}", as_of(instant))),
        };
        Ok(ItemSourceView {
            mailbox_id: mb.id(),
            mailbox: mb.mailbox().display_name.clone(),
            owner: mb.mailbox().owner_address.clone(),
            source: source.into(),
            folder,
            snapshot: None,
            selection: None,
            at: instant.map(|t| t.to_rfc3339()).unwrap_or_default(),
            description,
        })
    }

    /// The tally rows of one folder gathered into one line per folder.
    pub fn folder_tally(tally: Vec<jobs::Tally>) -> Vec<FolderTally> {
        let mut out: Vec<FolderTally> = Vec::new();
        for t in tally {
            if out.last().is_none_or(|f| f.target_path != t.target_path) {
                out.push(FolderTally {
                    target_path: t.target_path.clone(),
                    created: 0,
                    merged: 0,
                    skipped: 0,
                    failed: 0,
                    reasons: Vec::new(),
                });
            }
            let Some(f) = out.last_mut() else { continue };
            match t.kind {
                jobs::OutcomeKind::Created => f.created += t.count,
                jobs::OutcomeKind::Merged => f.merged += t.count,
                jobs::OutcomeKind::Skipped => f.skipped += t.count,
                jobs::OutcomeKind::Failed => f.failed += t.count,
            }
            if !t.reason.is_empty() {
                f.reasons.push((t.reason, t.count));
            }
        }
        out
    }

    /// The kinds of item the form's three checkboxes chose.
    pub fn kinds(
        mail: &Option<String>,
        calendar: &Option<String>,
        contacts: &Option<String>,
    ) -> Vec<archive::ItemKind> {
        [
            (mail, archive::ItemKind::Message),
            (calendar, archive::ItemKind::Calendar),
            (contacts, archive::ItemKind::Contact),
        ]
        .into_iter()
        .filter(|(on, _)| on.is_some())
        .map(|(_, kind)| kind)
        .collect()
    }

    pub fn source(choice: &ItemSourceView) -> Result<recovery::ItemSource, ApiError> {
        let at = super::super::explorer::ssr::instant(Some(&choice.at))?;
        Ok(match (choice.snapshot, choice.selection, choice.folder) {
            (Some(snapshot), _, _) => recovery::ItemSource::Snapshot { snapshot },
            (None, Some(selection), _) => recovery::ItemSource::Selection { selection },
            (None, None, Some(folder)) => recovery::ItemSource::Folders {
                mailbox: choice.mailbox_id,
                folders: vec![folder],
                at,
            },
            (None, None, None) => recovery::ItemSource::Mailbox {
                mailbox: choice.mailbox_id,
                at,
            },
        })
    }
}
