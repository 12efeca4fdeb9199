//! Starting a restore: what it takes (from the link that led here), the mailbox it goes into
//! (its owner shown prominently when it is not the source's), into which folders, and what the
//! connection may write there. The first step is always a dry run; the jobs screen shows its
//! report per folder and offers the restore itself once it has finished.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use super::job_source::{source_query, NothingToTake};
use crate::api::restore::{restore_access, restore_form, RestoreFormView, StartRestore};
use crate::components::admin_frame::AdminFrame;
use crate::components::Title;

#[component]
pub fn NewRestorePage() -> impl IntoView {
    view! {
        <Title text="Restore" />
        <AdminFrame permission="restore" section="jobs">
            <NewRestore />
        </AdminFrame>
    }
}

#[component]
fn NewRestore() -> impl IntoView {
    let params = source_query();
    let form = Resource::new(
        move || params.get(),
        |(m, folder, snapshot, selection, at)| restore_form(m, folder, snapshot, selection, at),
    );
    let start = ServerAction::<StartRestore>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(job)) = start.value().get() {
            navigate(&format!("/admin/jobs?job={job}"), Default::default());
        }
    });
    view! {
        <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match form.await {
                    Ok(f) => view! { <RestoreForm f start /> }.into_any(),
                    Err(e) => view! { <NothingToTake title="Nothing to restore here" error=e.to_string() /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn RestoreForm(f: RestoreFormView, start: ServerAction<StartRestore>) -> impl IntoView {
    let c = f.choice.clone();
    let hidden = |name: &'static str, value: Option<i64>| {
        value.map(|v| view! { <input type="hidden" name=name value=v.to_string() /> })
    };
    let back = format!("/admin/mailbox?m={}", c.mailbox_id);
    let first = f
        .targets
        .first()
        .map(|t| t.value.clone())
        .unwrap_or_default();
    let target = RwSignal::new(first);
    let targets = StoredValue::new(f.targets.clone());
    let chosen =
        move || targets.with_value(|ts| ts.iter().find(|t| t.value == target.get()).cloned());
    let access = Resource::new(
        move || target.get(),
        |t| async move {
            if t.is_empty() {
                Ok(None)
            } else {
                restore_access(t).await.map(Some)
            }
        },
    );
    let new_folder = RwSignal::new(false);
    let owner = c.owner.clone();
    let options = f
        .targets
        .iter()
        .map(|t| {
            let label = format!(
                "{}{} · {} ({})",
                t.address,
                if t.is_source {
                    " (its own mailbox)"
                } else {
                    ""
                },
                t.connection,
                t.protocol
            );
            view! { <option value=t.value.clone()>{label}</option> }
        })
        .collect_view();
    let no_target = f.targets.is_empty();
    view! {
        <section class="admin-section restore-form">
            <a href=back class="muted small">"← Back to the mailbox"</a>
            <h1>"Restore"</h1>
            <p class="export-owner">
                <strong>{c.mailbox.clone()}</strong>" "<span class="muted">{c.owner.clone()}</span>
            </p>
            <p>{c.description.clone()}</p>
            {no_target.then(|| view! {
                <p class="outcome error" role="alert">
                    "No sync task reaches a mailbox in your scope, so there is nowhere to restore to. Add the mailbox to a sync task first."
                </p>
            })}
            <ActionForm action=start attr:class="admin-form">
                <input type="hidden" name="mailbox" value=c.mailbox_id.to_string() />
                {hidden("folder", c.folder)}
                {hidden("snapshot", c.snapshot)}
                {hidden("selection", c.selection)}
                <input type="hidden" name="at" value=c.at.clone() />
                <label>
                    "Restore into"
                    <select name="target" on:change=move |ev| target.set(event_target_value(&ev))>
                        {options}
                    </select>
                </label>
                {move || chosen().filter(|t| !t.is_source).map(|t| view! {
                    <p class="restore-target elsewhere" role="alert">
                        {format!("This restores into {}'s mailbox, not into {owner}'s, where these items came from. {} will see them.", t.address, t.address)}
                    </p>
                })}
                <Transition fallback=|| view! { <p class="small muted">"Checking what the connection may write there…"</p> }>
                    {move || Suspend::new(async move {
                        match access.await {
                            Ok(Some(a)) if a.missing.is_empty() => view! {
                                <p class="small access-ok">"The connection may write mail, calendar items and contacts into this mailbox."</p>
                            }.into_any(),
                            Ok(Some(a)) => view! {
                                <div class="access-missing" role="alert">
                                    <p><strong>"The connection cannot write everything here:"</strong></p>
                                    <ul>{a.missing.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}</ul>
                                </div>
                            }.into_any(),
                            Ok(None) => ().into_any(),
                            Err(e) => view! { <p class="outcome error">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
                <fieldset>
                    <legend>"Into"</legend>
                    <label class="check">
                        <input type="radio" name="placement" value="original" checked on:change=move |_| new_folder.set(false) />
                        " The folders they were in (missing folders are created again)"
                    </label>
                    <label class="check">
                        <input type="radio" name="placement" value="new" on:change=move |_| new_folder.set(true) />
                        " A new folder, with the folder tree below it:"
                    </label>
                    <input type="text" name="folder_name" value=f.new_folder.clone() maxlength="255"
                        aria-label="Name of the new folder" disabled=move || !new_folder.get() />
                </fieldset>
                <fieldset>
                    <legend>"Include"</legend>
                    <label class="check"><input type="checkbox" name="mail" value="on" checked />" Mail"</label>
                    <label class="check"><input type="checkbox" name="calendar" value="on" checked />" Calendar items (saved without sending invitations)"</label>
                    <label class="check"><input type="checkbox" name="contacts" value="on" checked />" Contacts"</label>
                </fieldset>
                <p class="small muted">
                    "Nothing is created twice: items already in a folder (restored before, or never deleted) are skipped. The dry run writes nothing and shows, per folder, what the restore would do; the restore itself starts from its report."
                </p>
                <button type="submit" class="primary" disabled=move || start.pending().get() || no_target>"Start the dry run"</button>
                {move || match start.value().get() {
                    Some(Err(e)) => Some(view! { <p class="outcome error" role="alert">{e.to_string()}</p> }),
                    _ => None,
                }}
            </ActionForm>
        </section>
    }
}
