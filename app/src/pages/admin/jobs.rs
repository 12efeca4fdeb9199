//! Background jobs: every export in the caller's scope with a live progress bar, its pace and
//! time left, cancel while it runs, and once it ends its file and its report. `?job=N` opens
//! one job's report. The screen asks again every second while a job is waiting or running.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use leptos_router::hooks::use_navigate;

use crate::api::jobs::{job_detail, jobs_list, CancelJob, FolderTally, JobReportView, JobView};
use crate::api::restore::ConfirmRestore;
use crate::components::admin_frame::AdminFrame;
use crate::components::outcome::OutcomeLine;
use crate::components::ticker::ticker;
use crate::components::Title;

#[component]
pub fn JobsPage() -> impl IntoView {
    view! {
        <Title text="Jobs" />
        <AdminFrame permission="jobs">
            <Jobs />
        </AdminFrame>
    }
}

#[component]
fn Jobs() -> impl IntoView {
    let query = use_query_map();
    let chosen =
        Memo::new(move |_| query.with(|q| q.get("job").and_then(|j| j.parse::<i64>().ok())));
    let failed_only = Memo::new(move |_| query.with(|q| q.get("failed").is_some()));
    let cancel = ServerAction::<CancelJob>::new();
    let confirm = ServerAction::<ConfirmRestore>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(job)) = confirm.value().get() {
            navigate(&format!("/admin/jobs?job={job}"), Default::default());
        }
    });
    // The list and the open report are fetched apart: either may still show a job running
    // after the other has seen it end, so the screen asks again while either does.
    let active = RwSignal::new(false);
    let report_active = RwSignal::new(false);
    let tick = ticker(std::time::Duration::from_secs(1), move || {
        active.get_untracked() || report_active.get_untracked()
    });
    let list = Resource::new(
        move || (tick.get(), cancel.version().get()),
        |_| jobs_list(),
    );
    let detail = Resource::new(
        move || {
            (
                chosen.get(),
                failed_only.get(),
                tick.get(),
                cancel.version().get(),
            )
        },
        |(job, failed, ..)| async move {
            match job {
                Some(id) => job_detail(id, failed).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        <section class="admin-section">
            <h1>"Jobs"</h1>
            <p class="muted">
                "Exports and restores run in the background: leave this screen and come back, the work goes on. A finished export is a zip laid out as a BagIt bag, so anyone can check that every file arrived whole; a restore first runs as a dry run that writes nothing."
            </p>
            {move || view! { <OutcomeLine outcome=cancel.value().get() /> }}
            <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(jobs) => {
                            active.set(jobs.iter().any(JobView::active));
                            view! { <JobTable jobs cancel chosen=chosen.get_untracked() /> }.into_any()
                        }
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(Some(d)) => {
                        report_active.set(d.job.active());
                        view! { <JobReport d failed_only=failed_only.get_untracked() confirm /> }.into_any()
                    }
                    Ok(None) => ().into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn JobTable(
    jobs: Vec<JobView>,
    cancel: ServerAction<CancelJob>,
    chosen: Option<i64>,
) -> impl IntoView {
    if jobs.is_empty() {
        return view! {
            <p class="empty-note">
                "No job yet. Start an export or a restore from a mailbox (its Export and Restore buttons), a snapshot or a selection."
            </p>
        }
            .into_any();
    }
    let rows = jobs
        .into_iter()
        .map(|job| view! { <JobRow job cancel chosen /> })
        .collect_view();
    view! {
        <table class="admin-table jobs-table">
            <thead>
                <tr>
                    <th>"Job"</th>
                    <th>"Progress"</th>
                    <th>"Started"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn JobRow(job: JobView, cancel: ServerAction<CancelJob>, chosen: Option<i64>) -> impl IntoView {
    let report = format!("/admin/jobs?job={}", job.id);
    let status_class = format!(
        "status status-{}",
        match job.state.as_str() {
            "done" if job.failed > 0 => "attention",
            "done" => "healthy",
            "failed" => "failed",
            "cancelled" => "pending",
            _ => "running",
        }
    );
    let counts = if job.total > 0 {
        format!("{} of {} {}", job.processed, job.total, items(job.total))
    } else {
        String::new()
    };
    let active = job.active();
    let id = job.id.to_string();
    view! {
        <tr class:chosen=chosen == Some(job.id)>
            <td>
                <a href=report.clone()><strong>{job.label.clone()}</strong></a>
                <div class="muted small">{job.owner.clone()}</div>
                {job.restore.clone().filter(|r| r.elsewhere).map(|r| view! {
                    <div class="small elsewhere">{format!("Into {}'s mailbox", r.target)}</div>
                })}
            </td>
            <td class="progress-cell">
                <div class="progress-line">
                    <span class=status_class>{job.state_label.clone()}</span>
                    <span class="small muted">{counts}</span>
                </div>
                <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=job.percent.to_string()>
                    <div class="progress-fill" style=format!("width: {}%", job.percent)></div>
                </div>
                <div class="small muted">{job.pace.clone()}</div>
                {job.error.clone().map(|e| view! { <div class="small error-text">{e}</div> })}
            </td>
            <td class="small nowrap">{format!("{} by {}", job.created, job.created_by)}</td>
            <td class="actions">
                {job.file.clone().map(|f| view! {
                    <a class="button primary" href=f.href download>{format!("Download ({})", f.size)}</a>
                })}
                <a class="button" href=report>"Report"</a>
                {active.then(|| view! {
                    <ActionForm action=cancel attr:class="inline">
                        <input type="hidden" name="id" value=id.clone() />
                        <button type="submit" class="danger" disabled=job.cancel_requested>"Cancel"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}

/// What a restore did (or, for a dry run, would do) per target folder.
#[component]
fn FolderTallyTable(folders: Vec<FolderTally>, dry_run: bool) -> impl IntoView {
    let (created, merged) = if dry_run {
        ("Would be created", "Would be merged")
    } else {
        ("Created", "Merged")
    };
    let rows = folders
        .into_iter()
        .map(|f| {
            let reasons = f
                .reasons
                .iter()
                .map(|(why, n)| view! { <li>{format!("{n}: {why}")}</li> })
                .collect_view();
            let failed = f.failed > 0;
            view! {
                <tr>
                    <td>{f.target_path.clone()}</td>
                    <td class="num">{f.created}</td>
                    <td class="num">{f.merged}</td>
                    <td class="num">{f.skipped}</td>
                    <td class="num" class:error-text=failed>{f.failed}</td>
                    <td class="small reasons"><ul class="plain">{reasons}</ul></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="admin-table tally-table">
            <thead>
                <tr>
                    <th>"Target folder"</th>
                    <th class="num">{created}</th>
                    <th class="num" title="There already with another read state, set back to the archived one">{merged}</th>
                    <th class="num">"Skipped"</th>
                    <th class="num">"Failed"</th>
                    <th>"Why skipped or failed"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

#[component]
fn JobReport(
    d: JobReportView,
    failed_only: bool,
    confirm: ServerAction<ConfirmRestore>,
) -> impl IntoView {
    let job = d.job.clone();
    let all_href = format!("/admin/jobs?job={}", job.id);
    let failed_href = format!("/admin/jobs?job={}&failed=1", job.id);
    let file = job.file.clone().map(|f| {
        let parts = (!f.parts.is_empty()).then(|| {
            view! {
                <p class="small">
                    "In parts, for very large files (join them in order, or open the first with 7-Zip): "
                    {f.parts.iter().map(|(name, href, size)| view! {
                        <a href=href.clone() download>{format!("{name} ({size})")}</a>" "
                    }).collect_view()}
                </p>
            }
        });
        view! {
            <div class="job-file">
                <a class="button primary" href=f.href.clone() download>{format!("Download {} ({})", f.name, f.size)}</a>
                <p class="small muted">"SHA-256 of the bag's manifest, as the audit log records it: "<code>{f.manifest_sha256.clone()}</code></p>
                {parts}
            </div>
        }
    });
    let dry_run = job.restore.as_ref().is_some_and(|r| r.dry_run);
    let rows = d
        .rows
        .iter()
        .map(|r| {
            let class = format!("outcome-{}", r.outcome);
            let outcome = match r.outcome.as_str() {
                "created" if dry_run => "would be created".to_owned(),
                "merged" if dry_run => "would be merged".to_owned(),
                other => other.to_owned(),
            };
            view! {
                <tr class=class>
                    <td>{outcome}</td>
                    <td>{r.source_path.clone()}</td>
                    <td class="small">{r.target_path.clone()}</td>
                    <td class="small">{r.detail.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    let any_failed = job.failed > 0;
    let merged: i64 = d.folders.iter().map(|f| f.merged).sum();
    let restore = job.restore.clone().map(|r| {
        let to_create = job.processed - job.failed - job.skipped;
        let can_confirm = r.dry_run && job.state == "done";
        let id = job.id.to_string();
        let folders = (!r.folders_created.is_empty()).then(|| {
            let verb = if r.dry_run { "Folders that would be created" } else { "Folders created" };
            view! { <p class="small">{format!("{verb}: {}", r.folders_created.join(", "))}</p> }
        });
        view! {
            <div class="restore-target" class:elsewhere=r.elsewhere>
                {if r.elsewhere {
                    format!("Into {}'s mailbox: not the mailbox these items came from ({}).", r.target, job.owner)
                } else {
                    format!("Into {}, the mailbox these items came from.", r.target)
                }}
            </div>
            {r.dry_run.then(|| view! {
                <p class="dry-run-note">"Dry run: nothing was written. This is what the restore would do."</p>
            })}
            {folders}
            <FolderTallyTable folders=d.folders.clone() dry_run=r.dry_run />
            {can_confirm.then(|| view! {
                <ActionForm action=confirm attr:class="inline confirm-restore">
                    <input type="hidden" name="dry_run" value=id.clone() />
                    <button type="submit" class="primary" disabled=move || confirm.pending().get()>
                        {format!("Restore {to_create} {}", items(to_create))}
                    </button>
                </ActionForm>
                {move || match confirm.value().get() {
                    Some(Err(e)) => Some(view! { <p class="outcome error" role="alert">{e.to_string()}</p> }),
                    _ => None,
                }}
            })}
        }
    });
    let written = if job.restore.as_ref().is_some_and(|r| r.dry_run) {
        "would be created"
    } else if job.restore.is_some() {
        "created"
    } else {
        "written"
    };
    view! {
        <section class="admin-section job-report">
            <h2>{format!("Report: {}", job.label)}</h2>
            {restore}
            <p class="summary-line">
                <span>{format!("{} {written}", job.processed - job.failed - job.skipped - merged)}</span>
                {(merged > 0).then(|| {
                    let verb = if dry_run { "would be merged" } else { "merged" };
                    view! { <span>{format!("{merged} {verb}")}</span> }
                })}
                <span>{format!("{} skipped", job.skipped)}</span>
                <span class:error-text=any_failed>{format!("{} failed", job.failed)}</span>
                <span class="muted">{format!("of {} {}", job.total, items(job.total))}</span>
                {job.finished.clone().map(|f| view! { <span class="muted">{format!("ended {f}")}</span> })}
            </p>
            {file}
            <nav class="filter-links">
                <a href=all_href class:current=!failed_only>"All items"</a>
                <a href=failed_href class:current=failed_only>"Failed only"</a>
                <a href=d.report_href.clone() download>"Download the report (CSV)"</a>
            </nav>
            {if d.rows.is_empty() {
                view! { <p class="empty-note">{if failed_only { "Nothing failed." } else { "No item is done yet." }}</p> }.into_any()
            } else {
                view! {
                    <table class="admin-table report-table">
                        <thead><tr><th>"Outcome"</th><th>"Item"</th><th>"Written to"</th><th>"Detail"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                    {d.more.then(|| view! { <p class="small muted">"The first 200 items are shown; the CSV has them all."</p> })}
                }
                    .into_any()
            }}
        </section>
    }
}

fn items(n: i64) -> &'static str {
    if n == 1 {
        "item"
    } else {
        "items"
    }
}
