//! A mailbox's snapshots: named instants made from a sync task, browsed like the mailbox at
//! that instant, compared with now, held against retention; and the selections made from
//! differences, waiting for export or restore.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::header::{urlencode, ExplorerHeader, Tab};
use crate::api::explorer::{
    explorer_snapshots, CreateSnapshot, DeleteSnapshot, SnapshotHold, SnapshotView, SnapshotsScreen,
};
use crate::components::admin_frame::AdminFrame;
use crate::components::outcome::{reset_after_success, OutcomeLine};
use crate::components::Title;

#[component]
pub fn SnapshotsPage() -> impl IntoView {
    view! {
        <Title text="Snapshots" />
        <AdminFrame permission="snapshots" section="browse_mail">
            <Snapshots />
        </AdminFrame>
    }
}

#[component]
fn Snapshots() -> impl IntoView {
    let query = use_query_map();
    let mailbox =
        Memo::new(move |_| query.with(|q| q.get("m").and_then(|m| m.parse::<i64>().ok())));
    let create = ServerAction::<CreateSnapshot>::new();
    let hold = ServerAction::<SnapshotHold>::new();
    let delete = ServerAction::<DeleteSnapshot>::new();
    let form = reset_after_success(move || create.value().get());
    let screen = Resource::new(
        move || {
            (
                mailbox.get(),
                create.version().get(),
                hold.version().get(),
                delete.version().get(),
            )
        },
        |(mailbox, ..)| async move {
            match mailbox {
                Some(m) => explorer_snapshots(m).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match screen.await {
                    Ok(Some(s)) => view! { <SnapshotsScreenView s create hold delete form /> }.into_any(),
                    Ok(None) => view! { <p class="empty-note">"Choose a mailbox on the Mailboxes screen first."</p> }.into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn SnapshotsScreenView(
    s: SnapshotsScreen,
    create: ServerAction<CreateSnapshot>,
    hold: ServerAction<SnapshotHold>,
    delete: ServerAction<DeleteSnapshot>,
    form: NodeRef<leptos::html::Form>,
) -> impl IntoView {
    let mailbox_id = s.mailbox_id;
    let no_task = s.tasks.is_empty();
    let rows = s
        .snapshots
        .iter()
        .cloned()
        .map(|snap| view! { <SnapshotRow mailbox_id snap hold delete can_export=s.can_export can_restore=s.can_restore /> })
        .collect_view();
    view! {
        <ExplorerHeader mailbox_id display_name=s.display_name.clone() owner=s.owner.clone() tab=Tab::Snapshots can_browse_calendars=s.can_browse_calendars />
        <section class="admin-section">
            <h2>"Snapshots"</h2>
            <p class="muted">
                "A snapshot names an instant of this mailbox. It is ready at once: it is computed from the archive's history, never copied. Browse it, compare it with now, download single items from it. A held snapshot keeps everything it shows from retention purges."
            </p>
            {move || view! { <OutcomeLine outcome=hold.value().get() /> }}
            {move || view! { <OutcomeLine outcome=delete.value().get() /> }}
            {if s.snapshots.is_empty() {
                view! { <p class="empty-note">"No snapshot of this mailbox yet."</p> }.into_any()
            } else {
                view! {
                    <table class="admin-table snapshot-table">
                        <thead>
                            <tr>
                                <th>"Snapshot"</th>
                                <th>"Instant"</th>
                                <th>"From task"</th>
                                <th>"Created"</th>
                                <th>"Hold"</th>
                                <th></th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                }
                    .into_any()
            }}
        </section>
        <section class="admin-section">
            <h2>"Take a snapshot"</h2>
            {if no_task {
                view! {
                    <p class="muted">"No sync task syncs this mailbox, so no snapshot can be made from one. Add the mailbox to a task on the Sync tasks screen."</p>
                }
                    .into_any()
            } else {
                let tasks = s.tasks.clone();
                view! {
                    <ActionForm action=create node_ref=form attr:class="admin-form">
                        <input type="hidden" name="mailbox" value=mailbox_id.to_string() />
                        <label>
                            "Name"
                            <input type="text" name="label" required maxlength="200" placeholder="Before the migration" />
                        </label>
                        <label>
                            "From sync task"
                            <select name="task">
                                {tasks.into_iter().map(|t| view! { <option value=t.id.to_string()>{t.name}</option> }).collect_view()}
                            </select>
                        </label>
                        <label>
                            "Instant (UTC; leave empty for now)"
                            <input type="datetime-local" name="at" />
                        </label>
                        <label class="check">
                            <input type="checkbox" name="hold" value="on" />
                            " Hold: keep what it shows from retention purges"
                        </label>
                        <button type="submit" class="primary" disabled=move || create.pending().get()>"Take snapshot"</button>
                        {move || view! { <OutcomeLine outcome=create.value().get() /> }}
                    </ActionForm>
                }
                    .into_any()
            }}
        </section>
        <section class="admin-section">
            <h2>"Selections"</h2>
            <p class="muted">"Sets of items chosen on the What changed screen (for example everything deleted between two instants), kept for export and restore."</p>
            {if s.selections.is_empty() {
                view! { <p class="empty-note">"No selection yet."</p> }.into_any()
            } else {
                view! {
                    <table class="admin-table">
                        <thead><tr><th>"Selection"</th><th>"Items"</th><th>"Chosen"</th><th>"By"</th><th></th></tr></thead>
                        <tbody>
                            {s.selections.iter().map(|sel| view! {
                                <tr>
                                    <td>{sel.label.clone()}<div class="muted small">{sel.rule.clone()}</div></td>
                                    <td>{sel.items.to_string()}</td>
                                    <td class="nowrap">{sel.created_full.clone()}</td>
                                    <td>{sel.created_by.clone()}</td>
                                    <td class="actions">
                                        {s.can_export.then(|| view! {
                                            <a class="button" href=format!("/admin/export?selection={}", sel.id)>"Export"</a>
                                        })}
                                        {s.can_restore.then(|| view! {
                                            <a class="button" href=format!("/admin/restore?selection={}", sel.id)>"Restore"</a>
                                        })}
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
        </section>
    }
}

#[component]
fn SnapshotRow(
    mailbox_id: i64,
    snap: SnapshotView,
    hold: ServerAction<SnapshotHold>,
    delete: ServerAction<DeleteSnapshot>,
    can_export: bool,
    can_restore: bool,
) -> impl IntoView {
    let at = urlencode(&snap.at);
    let export = format!("/admin/export?snapshot={}", snap.id);
    let restore = format!("/admin/restore?snapshot={}", snap.id);
    let browse = format!("/admin/mailbox?m={mailbox_id}&at={at}");
    let compare = format!("/admin/mailbox/changes?m={mailbox_id}&from={at}");
    let id = snap.id.to_string();
    let delete_id = id.clone();
    let held = snap.hold;
    view! {
        <tr>
            <td><strong>{snap.label.clone()}</strong></td>
            <td class="nowrap">{snap.at_full.clone()}</td>
            <td>{snap.task.clone()}</td>
            <td class="small">{format!("{} by {}", snap.created_full, snap.created_by)}</td>
            <td>
                {held.then(|| view! { <span class="status status-healthy">"Held"</span> })}
            </td>
            <td class="actions">
                <a class="button" href=browse>"Browse"</a>
                <a class="button" href=compare>"Compare with now"</a>
                {can_export.then(|| view! { <a class="button" href=export.clone()>"Export"</a> })}
                {can_restore.then(|| view! { <a class="button" href=restore.clone()>"Restore"</a> })}
                <ActionForm action=hold attr:class="inline">
                    <input type="hidden" name="id" value=id />
                    <input type="hidden" name="hold" value=(!held).to_string() />
                    <button type="submit">{if held { "Release hold" } else { "Hold" }}</button>
                </ActionForm>
                {(!held).then(|| view! {
                    <ActionForm action=delete attr:class="inline">
                        <input type="hidden" name="id" value=delete_id.clone() />
                        <button type="submit" class="danger">"Delete"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}
