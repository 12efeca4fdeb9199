//! Background jobs as the jobs screen shows them: exports with their progress, rate, time left,
//! report and file; starting an export of a mailbox, folder, snapshot or selection; cancel.
//! Everything needs the `export` permission, within its scope.

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
}

/// What the export form says it will take.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportSourceView {
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

#[server(endpoint = "jobs/list")]
pub async fn jobs_list() -> Result<Vec<JobView>, ApiError> {
    let caller = super::access::caller().await?;
    let desk = caller.exports()?;
    let jobs = desk.jobs(100).await?;
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        out.push(ssr::job_view(&desk, job).await);
    }
    Ok(out)
}

#[server(endpoint = "jobs/detail")]
pub async fn job_detail(
    id: i64,
    #[server(default)] failed_only: bool,
) -> Result<JobReportView, ApiError> {
    let caller = super::access::caller().await?;
    let desk = caller.exports()?;
    let (job, _) = desk.job(id).await?;
    let kind = failed_only.then_some(jobs::OutcomeKind::Failed);
    let outcomes = desk.report(id, kind, 0, REPORT_ROWS + 1).await?;
    let more = outcomes.len() > REPORT_ROWS;
    Ok(JobReportView {
        job: ssr::job_view(&desk, job).await,
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
    })
}

#[server(endpoint = "jobs/cancel")]
pub async fn cancel_job(id: i64) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    let job = caller.exports()?.cancel(id).await?;
    Ok(Outcome::said(if job.state.is_finished() {
        format!("“{}” has already ended.", job.label)
    } else {
        format!("“{}” stops after the items it is writing now.", job.label)
    }))
}

/// What an export of these parameters would take, for the form to say before it starts.
#[server(endpoint = "jobs/export_choice")]
pub async fn export_choice(
    #[server(default)] mailbox: Option<i64>,
    #[server(default)] folder: Option<i64>,
    #[server(default)] snapshot: Option<i64>,
    #[server(default)] selection: Option<i64>,
    #[server(default)] at: String,
) -> Result<ExportSourceView, ApiError> {
    let caller = super::access::caller().await?;
    let desk = caller.exports()?;
    ssr::choice(&desk, mailbox, folder, snapshot, selection, &at).await
}

/// Starts an export; answers the new job's id. `mail`, `calendar`, `contacts`: checkboxes.
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "jobs/start_export")]
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
    let mut kinds = Vec::new();
    for (on, kind) in [
        (mail, archive::ItemKind::Message),
        (calendar, archive::ItemKind::Calendar),
        (contacts, archive::ItemKind::Contact),
    ] {
        if on.is_some() {
            kinds.push(kind);
        }
    }
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
    use access::ExportDesk;
    use archive::Timestamp;
    use jobs::{Job, JobState};

    use super::*;
    use crate::format::{full_date, human_size};

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

    pub async fn job_view(desk: &ExportDesk<'_>, job: Job) -> JobView {
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
        JobView {
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
        desk: &ExportDesk<'_>,
        mailbox: Option<i64>,
        folder: Option<i64>,
        snapshot: Option<i64>,
        selection: Option<i64>,
        at: &str,
    ) -> Result<ExportSourceView, ApiError> {
        let instant = super::super::explorer::ssr::instant(Some(at))?;
        let as_of = |at: Option<Timestamp>| match at {
            Some(t) => format!(" as of {}", full_date(t)),
            None => String::new(),
        };
        if let Some(id) = snapshot {
            let (snap, mb) = desk.snapshot(id).await?;
            return Ok(ExportSourceView {
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
            return Ok(ExportSourceView {
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
        Ok(ExportSourceView {
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

    pub fn source(choice: &ExportSourceView) -> Result<recovery::ExportSource, ApiError> {
        let at = super::super::explorer::ssr::instant(Some(&choice.at))?;
        Ok(match (choice.snapshot, choice.selection, choice.folder) {
            (Some(snapshot), _, _) => recovery::ExportSource::Snapshot { snapshot },
            (None, Some(selection), _) => recovery::ExportSource::Selection { selection },
            (None, None, Some(folder)) => recovery::ExportSource::Folders {
                mailbox: choice.mailbox_id,
                folders: vec![folder],
                at,
            },
            (None, None, None) => recovery::ExportSource::Mailbox {
                mailbox: choice.mailbox_id,
                at,
            },
        })
    }
}
