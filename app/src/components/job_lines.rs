//! The jobs of one kind as their own screen lists them (purges on Retention, imports on Legacy
//! migration): label, state, when and by whom, progress where the job shows it, and the result.

use leptos::prelude::*;

use crate::api::jobs::JobLineView;

/// `class` names the table for the screen's style and tests ("purge-jobs", "import-jobs").
#[component]
pub fn JobLines(jobs: Vec<JobLineView>, class: &'static str) -> impl IntoView {
    let progress = jobs.iter().any(|j| j.percent.is_some());
    let rows = jobs
        .into_iter()
        .map(|j| {
            let percent = j.percent;
            view! {
                <tr>
                    <td>{format!("{} · {}", j.id, j.label)}</td>
                    <td><span class=format!("status status-{}", j.state)>{j.state.clone()}</span></td>
                    <td>{j.created.clone()}</td>
                    <td>{j.started_by.clone()}</td>
                    {progress.then(|| view! {
                        <td class="progress-cell">
                            <div class="progress"><div class="progress-fill" style=format!("width: {}%", percent.unwrap_or(0))></div></div>
                        </td>
                    })}
                    <td>{j.result.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class=format!("admin-table {class}")>
            <thead>
                <tr>
                    <th>"Job"</th>
                    <th>"State"</th>
                    <th>"Started"</th>
                    <th>"By"</th>
                    {progress.then(|| view! { <th>"Progress"</th> })}
                    <th>"Result"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    // Erased: the pages that show it are deep view trees already, and the browser build's
    // type would pass the compiler's depth limit.
    .into_any()
}
