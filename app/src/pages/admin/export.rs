//! Starting an export: what it takes (a mailbox now or at an instant, a folder with its
//! subfolders, a snapshot or a selection, from the link that led here), how mail is written,
//! and which kinds of item go in. Starting it opens the jobs screen on the new job.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use super::job_source::{source_query, NothingToTake};
use crate::api::jobs::{export_choice, ItemSourceView, StartExport};
use crate::components::admin_frame::AdminFrame;
use crate::components::Title;

#[component]
pub fn NewExportPage() -> impl IntoView {
    view! {
        <Title text="Export" />
        <AdminFrame permission="export" section="jobs">
            <NewExport />
        </AdminFrame>
    }
}

#[component]
fn NewExport() -> impl IntoView {
    let params = source_query();
    let choice = Resource::new(
        move || params.get(),
        |(m, folder, snapshot, selection, at)| export_choice(m, folder, snapshot, selection, at),
    );
    let start = ServerAction::<StartExport>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(job)) = start.value().get() {
            navigate(&format!("/admin/jobs?job={job}"), Default::default());
        }
    });
    view! {
        <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match choice.await {
                    Ok(c) => view! { <ExportForm c start /> }.into_any(),
                    Err(e) => view! { <NothingToTake title="Nothing to export here" error=e.to_string() /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ExportForm(c: ItemSourceView, start: ServerAction<StartExport>) -> impl IntoView {
    let hidden = |name: &'static str, value: Option<i64>| {
        value.map(|v| view! { <input type="hidden" name=name value=v.to_string() /> })
    };
    let back = format!("/admin/mailbox?m={}", c.mailbox_id);
    view! {
        <section class="admin-section export-form">
            <a href=back class="muted small">"← Back to the mailbox"</a>
            <h1>"Export"</h1>
            <p class="export-owner">
                <strong>{c.mailbox.clone()}</strong>" "<span class="muted">{c.owner.clone()}</span>
            </p>
            <p>{c.description.clone()}</p>
            <ActionForm action=start attr:class="admin-form">
                <input type="hidden" name="mailbox" value=c.mailbox_id.to_string() />
                {hidden("folder", c.folder)}
                {hidden("snapshot", c.snapshot)}
                {hidden("selection", c.selection)}
                <input type="hidden" name="at" value=c.at.clone() />
                <fieldset>
                    <legend>"Mail as"</legend>
                    <label class="check">
                        <input type="radio" name="format" value="eml" checked />
                        " EML files, one per message, in the folder tree"
                    </label>
                    <label class="check">
                        <input type="radio" name="format" value="mbox" />
                        " mbox, one file per folder (Thunderbird, mutt, Apple Mail)"
                    </label>
                </fieldset>
                <fieldset>
                    <legend>"Include"</legend>
                    <label class="check"><input type="checkbox" name="mail" value="on" checked />" Mail"</label>
                    <label class="check"><input type="checkbox" name="calendar" value="on" checked />" Calendar (iCalendar, with attendees and recurrences)"</label>
                    <label class="check"><input type="checkbox" name="contacts" value="on" checked />" Contacts (vCard, with photos)"</label>
                </fieldset>
                <p class="small muted">
                    "The export is written in the background to one zip laid out as a BagIt bag: a manifest lists every file with its SHA-256, so anyone can check it arrived whole."
                </p>
                <button type="submit" class="primary" disabled=move || start.pending().get()>"Start export"</button>
                {move || match start.value().get() {
                    Some(Err(e)) => Some(view! { <p class="outcome error" role="alert">{e.to_string()}</p> }),
                    _ => None,
                }}
            </ActionForm>
        </section>
    }
}
