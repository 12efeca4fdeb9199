use std::time::Duration;

use leptos::prelude::*;

use crate::api::admin::{
    admin_connections, admin_tasks, mailbox_history, sync_prerequisites, AddTaskMailboxes,
    AdminMailbox, AdminTask, CreateTask, DeleteTask, PrerequisiteView, RemoveTaskMailbox,
    SetTaskEnabled, SyncNow,
};
use crate::components::admin_frame::AdminFrame;
use crate::components::outcome::{reset_after_success, OutcomeLine};
use crate::components::ticker::ticker;
use crate::components::Title;

#[component]
pub fn TasksPage() -> impl IntoView {
    view! {
        <Title text="Sync tasks" />
        <AdminFrame permission="sync_tasks">
            <Tasks />
        </AdminFrame>
    }
}

/// The actions every task card shares; any of them refreshes the list.
#[derive(Clone, Copy)]
struct TaskActions {
    sync_now: ServerAction<SyncNow>,
    add: ServerAction<AddTaskMailboxes>,
    remove: ServerAction<RemoveTaskMailbox>,
    delete: ServerAction<DeleteTask>,
    enable: ServerAction<SetTaskEnabled>,
}

#[component]
fn Tasks() -> impl IntoView {
    let create = ServerAction::<CreateTask>::new();
    let form = reset_after_success(move || create.value().get());
    let actions = TaskActions {
        sync_now: ServerAction::new(),
        add: ServerAction::new(),
        remove: ServerAction::new(),
        delete: ServerAction::new(),
        enable: ServerAction::new(),
    };
    // Statuses change while runs go on in the background: refresh every few seconds.
    let tick = ticker(Duration::from_secs(4), || true);
    let tasks = Resource::new(
        move || {
            (
                create.version().get(),
                actions.sync_now.version().get(),
                actions.add.version().get(),
                actions.remove.version().get(),
                actions.delete.version().get(),
                actions.enable.version().get(),
                tick.get(),
            )
        },
        |_| admin_tasks(),
    );
    let connections = Resource::new(|| (), |_| admin_connections());
    let needs = Resource::new(|| (), |_| sync_prerequisites());

    view! {
        <section class="admin-section">
            <h1>"Sync tasks"</h1>
            <p class="muted">
                "A task keeps a set of mailboxes archived through one connection. Each mailbox syncs several times a day at its own time, so the load on Exchange stays even."
            </p>
            {move || view! { <OutcomeLine outcome=actions.sync_now.value().get() /> }}
            {move || view! { <OutcomeLine outcome=actions.add.value().get() /> }}
            {move || view! { <OutcomeLine outcome=actions.remove.value().get() /> }}
            {move || view! { <OutcomeLine outcome=actions.delete.value().get() /> }}
            {move || view! { <OutcomeLine outcome=actions.enable.value().get() /> }}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    needs.await.ok().map(|list| view! { <Prerequisites list /> })
                })}
            </Transition>
            <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
                {move || Suspend::new(async move {
                    match tasks.await {
                        Ok(list) if list.is_empty() => {
                            view! { <p class="empty">"No sync task yet: create one below."</p> }.into_any()
                        }
                        Ok(list) => {
                            list.into_iter()
                                .map(|task| view! { <TaskCard task actions /> })
                                .collect_view()
                                .into_any()
                        }
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>

        <section class="admin-section">
            <h2>"Create a sync task"</h2>
            <ActionForm action=create node_ref=form attr:class="admin-form">
                <label>
                    "Name"
                    <input type="text" name="name" placeholder="All staff" required />
                </label>
                <label>
                    "Connection"
                    <Suspense fallback=|| view! { <select disabled=true></select> }>
                        {move || Suspend::new(async move {
                            let list = connections.await.unwrap_or_default();
                            view! {
                                <select name="connection" required>
                                    {list
                                        .into_iter()
                                        .map(|c| view! { <option value=c.id.to_string()>{c.name}</option> })
                                        .collect_view()}
                                </select>
                            }
                        })}
                    </Suspense>
                </label>
                <label>
                    "Mailboxes (one address per line)"
                    <textarea name="mailboxes" rows="4" placeholder="alice@example.com\nbob@example.com"></textarea>
                </label>
                <fieldset class="checks">
                    <legend>"What to archive"</legend>
                    <label><input type="checkbox" name="mail" value="on" checked=true />" Mail"</label>
                    <label><input type="checkbox" name="calendar" value="on" checked=true />" Calendar"</label>
                    <label><input type="checkbox" name="contacts" value="on" checked=true />" Contacts"</label>
                </fieldset>
                <label>
                    "Runs per day"
                    <input type="number" name="runs_per_day" min="1" max="48" value="4" />
                </label>
                <button type="submit" class="primary" disabled=move || create.pending().get()>
                    "Create task"
                </button>
                {move || view! { <OutcomeLine outcome=create.value().get() /> }}
            </ActionForm>
        </section>
    }
}

/// What sync needs, each with a tick or a cross and a link to where it is seen to.
#[component]
fn Prerequisites(list: Vec<PrerequisiteView>) -> impl IntoView {
    let all_met = list.iter().all(|p| p.met);
    view! {
        <div class="prerequisites" class:all-met=all_met>
            <h2>{if all_met { "Ready to sync" } else { "Before a task can run" }}</h2>
            <ul>
                {list.into_iter().map(|p| view! { <PrerequisiteLine p /> }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
fn PrerequisiteLine(p: PrerequisiteView) -> impl IntoView {
    view! {
        <li class:met=p.met class:missing=!p.met>
            <span class="mark" aria-hidden="true">{if p.met { "✓" } else { "✗" }}</span>
            <div>
                <strong>{p.title}</strong>
                <span class="muted">" · "{p.detail}</span>
                {(!p.met).then(|| view! { " " <a href=p.fix_at.clone()>{format!("Go to {}", p.fix_label)}</a> })}
            </div>
        </li>
    }
}

#[component]
fn TaskCard(task: AdminTask, actions: TaskActions) -> impl IntoView {
    let id = task.id;
    let what: Vec<&str> = [
        (task.mail, "mail"),
        (task.calendar, "calendar"),
        (task.contacts, "contacts"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    view! {
        <article class="task-card">
            <header>
                <div>
                    <h3>{task.name.clone()}</h3>
                    <p class="muted">
                        {format!(
                            "{} · {} · {} runs a day{}",
                            task.connection_name,
                            what.join(", "),
                            task.runs_per_day,
                            if task.enabled { "" } else { " · paused" },
                        )}
                    </p>
                </div>
                <span class="spacer"></span>
                <ActionForm action=actions.enable attr:class="inline">
                    <input type="hidden" name="task" value=id.to_string() />
                    <input type="hidden" name="enabled" value=(!task.enabled).to_string() />
                    <button type="submit">{if task.enabled { "Pause" } else { "Enable" }}</button>
                </ActionForm>
                <ActionForm action=actions.sync_now attr:class="inline">
                    <input type="hidden" name="task" value=id.to_string() />
                    <button type="submit" disabled=!task.enabled>"Sync all now"</button>
                </ActionForm>
                <ActionForm action=actions.delete attr:class="inline">
                    <input type="hidden" name="task" value=id.to_string() />
                    <button type="submit" class="danger">"Delete task"</button>
                </ActionForm>
            </header>
            {(!task.blocked_by.is_empty()).then(|| view! {
                <ul class="prerequisites blocked">
                    {task.blocked_by.clone().into_iter().map(|p| view! { <PrerequisiteLine p /> }).collect_view()}
                </ul>
            })}
            <table class="admin-table">
                <thead>
                    <tr>
                        <th>"Mailbox"</th>
                        <th>"Status"</th>
                        <th>"Last run"</th>
                        <th>"Next run"</th>
                        <th></th>
                    </tr>
                </thead>
                <tbody>
                    {task
                        .mailboxes
                        .into_iter()
                        .map(|m| view! { <MailboxRow task=id mailbox=m actions /> })
                        .collect_view()}
                </tbody>
            </table>
            <ActionForm action=actions.add attr:class="inline add-mailboxes">
                <input type="hidden" name="task" value=id.to_string() />
                <input type="text" name="mailboxes" placeholder="Add mailboxes: address, address…" aria-label="Add mailboxes" />
                <button type="submit">"Add"</button>
            </ActionForm>
        </article>
    }
}

#[component]
fn MailboxRow(task: i64, mailbox: AdminMailbox, actions: TaskActions) -> impl IntoView {
    let show_history = RwSignal::new(false);
    let address = mailbox.address.clone();
    let address_for_remove = mailbox.address.clone();
    let history = Resource::new(move || show_history.get(), {
        let address = mailbox.address.clone();
        move |open| {
            let address = address.clone();
            async move {
                if open {
                    mailbox_history(task, address).await.map(Some)
                } else {
                    Ok(None)
                }
            }
        }
    });
    let status_label = match (mailbox.running, mailbox.status.as_str()) {
        (true, _) => "syncing",
        (false, "healthy") => "healthy",
        (false, "attention") => "attention",
        (false, "failed") => "failed",
        _ => "pending",
    };
    view! {
        <tr>
            <td class="mono">{mailbox.address.clone()}</td>
            <td>
                <span class=format!("status status-{status_label}")>{status_label}</span>
                {mailbox.reason.clone().map(|r| view! { <div class="reason">{r}</div> })}
                {mailbox.legacy_note.clone().map(|n| view! { <div class="muted small legacy-note">{n}</div> })}
            </td>
            <td>
                {mailbox.last_run.clone().unwrap_or_else(|| "never".to_owned())}
                {mailbox.last_counts.clone().map(|c| view! { <div class="muted small">{c}</div> })}
            </td>
            <td>{mailbox.next_run.clone().unwrap_or_default()}</td>
            <td class="actions">
                <ActionForm action=actions.sync_now attr:class="inline">
                    <input type="hidden" name="task" value=task.to_string() />
                    <input type="hidden" name="address" value=address />
                    <button type="submit">"Sync now"</button>
                </ActionForm>
                <button type="button" on:click=move |_| show_history.update(|s| *s = !*s)>
                    {move || if show_history.get() { "Hide history" } else { "History" }}
                </button>
                <ActionForm action=actions.remove attr:class="inline">
                    <input type="hidden" name="task" value=task.to_string() />
                    <input type="hidden" name="address" value=address_for_remove />
                    <button type="submit" class="danger">"Remove"</button>
                </ActionForm>
            </td>
        </tr>
        <Show when=move || show_history.get()>
            <tr class="history">
                <td colspan="5">
                    <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
                        {move || Suspend::new(async move {
                            match history.await {
                                Ok(Some(runs)) if runs.is_empty() => {
                                    view! { <p class="muted">"No run yet."</p> }.into_any()
                                }
                                Ok(Some(runs)) => {
                                    view! {
                                        <table class="history-table">
                                            <thead>
                                                <tr>
                                                    <th>"Started"</th>
                                                    <th>"Took"</th>
                                                    <th>"Status"</th>
                                                    <th>"Changes"</th>
                                                    <th>"Requests"</th>
                                                    <th>"Error"</th>
                                                </tr>
                                            </thead>
                                            <tbody>
                                                {runs
                                                    .into_iter()
                                                    .map(|r| {
                                                        view! {
                                                            <tr>
                                                                <td>{r.started}</td>
                                                                <td>{r.duration}</td>
                                                                <td><span class=format!("status status-{}", r.status)>{r.status.clone()}</span></td>
                                                                <td>{r.counts}</td>
                                                                <td>{format!("{} ({} throttled)", r.requests, r.throttled)}</td>
                                                                <td>{r.error.unwrap_or_default()}</td>
                                                            </tr>
                                                        }
                                                    })
                                                    .collect_view()}
                                            </tbody>
                                        </table>
                                    }
                                        .into_any()
                                }
                                Ok(None) => ().into_any(),
                                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                            }
                        })}
                    </Transition>
                </td>
            </tr>
        </Show>
    }
}
