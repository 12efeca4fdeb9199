//! The audit log: who did what, from where, to whose mailbox. Filters, paging, the CSV download
//! and a check of the hash chain.

use leptos::prelude::*;

use crate::api::audit::{audit_entries, AuditPage, VerifyAudit};
use crate::components::admin_frame::AdminFrame;
use crate::components::location::encode as urlencode;
use crate::components::Title;

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <Title text="Audit log" />
        <AdminFrame permission="audit_log">
            <AuditLog />
        </AdminFrame>
    }
}

#[component]
fn AuditLog() -> impl IntoView {
    let actor = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let mailbox = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let until = RwSignal::new(String::new());
    // Older pages: the `before` cursor of each page shown, so "Newer" can step back.
    let cursors = RwSignal::new(Vec::<i64>::new());
    let filters = move || {
        (
            actor.get(),
            action.get(),
            mailbox.get(),
            from.get(),
            until.get(),
            cursors.get().last().copied(),
        )
    };
    let page = Resource::new(filters, |(actor, action, mailbox, from, until, before)| {
        audit_entries(actor, action, mailbox, from, until, before)
    });
    let verify = ServerAction::<VerifyAudit>::new();
    let csv_href = move || {
        format!(
            "/admin/audit.csv?actor={}&action={}&mailbox={}&from={}&until={}",
            urlencode(&actor.get()),
            urlencode(&action.get()),
            urlencode(&mailbox.get()),
            urlencode(&from.get()),
            urlencode(&until.get())
        )
    };

    view! {
        <section class="admin-section">
            <h1>"Audit log"</h1>
            <p class="muted">
                "Every sign-in, every change to connections, tasks, users and roles, and every time someone opens, downloads or searches mail that is not their own. Entries are chained by their hashes: none can be changed or removed unnoticed."
            </p>
            <div class="audit-filters">
                <label>
                    "Who"
                    <input type="search" placeholder="user name" prop:value=actor on:change=move |ev| { cursors.set(Vec::new()); actor.set(event_target_value(&ev)); } />
                </label>
                <label>
                    "What"
                    <select on:change=move |ev| { cursors.set(Vec::new()); action.set(event_target_value(&ev)); }>
                        <option value="">"Any action"</option>
                        {move || page.get().and_then(Result::ok).map(|p: AuditPage| p.actions.into_iter().map(|a| {
                            let label = a.replace('_', " ");
                            let selected = action.get() == a;
                            view! { <option value=a selected=selected>{label}</option> }
                        }).collect_view())}
                    </select>
                </label>
                <label>
                    "Mailbox"
                    <input type="search" placeholder="owner address" prop:value=mailbox on:change=move |ev| { cursors.set(Vec::new()); mailbox.set(event_target_value(&ev)); } />
                </label>
                <label>
                    "From"
                    <input type="date" prop:value=from on:change=move |ev| { cursors.set(Vec::new()); from.set(event_target_value(&ev)); } />
                </label>
                <label>
                    "Until"
                    <input type="date" prop:value=until on:change=move |ev| { cursors.set(Vec::new()); until.set(event_target_value(&ev)); } />
                </label>
                <a class="button" href=csv_href rel="external" download="audit-log.csv">"Download CSV"</a>
                <ActionForm action=verify attr:class="inline-form">
                    <button type="submit">"Verify the chain"</button>
                </ActionForm>
            </div>
            {move || verify.value().get().map(|r| match r {
                Ok(text) => {
                    let class = if text.starts_with("Broken") { "outcome error" } else { "outcome ok" };
                    view! { <p class=class role="status">{text}</p> }.into_any()
                }
                Err(e) => view! { <p class="outcome error" role="alert">{e.to_string()}</p> }.into_any(),
            })}
            <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(p) if p.rows.is_empty() => view! { <p class="empty">"No entry matches."</p> }.into_any(),
                        Ok(p) => {
                            let next = p.next_before;
                            view! {
                                <table class="admin-table audit-table">
                                    <thead>
                                        <tr>
                                            <th>"#"</th>
                                            <th>"When (UTC)"</th>
                                            <th>"Who"</th>
                                            <th>"Role"</th>
                                            <th>"From"</th>
                                            <th>"What"</th>
                                            <th>"Mailbox"</th>
                                            <th>"Details"</th>
                                            <th>"Result"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {p.rows.into_iter().map(|r| view! {
                                            <tr>
                                                <td class="num">{r.seq}</td>
                                                <td class="nowrap">{r.when}</td>
                                                <td>{r.actor}</td>
                                                <td class="muted">{r.role}</td>
                                                <td class="muted">{r.client}</td>
                                                <td>{r.action}</td>
                                                <td>{r.mailbox}</td>
                                                <td class="detail">{r.detail}</td>
                                                <td class=format!("outcome-{}", r.outcome)>{r.outcome.clone()}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                <div class="pager">
                                    <button
                                        disabled=move || cursors.get().is_empty()
                                        on:click=move |_| cursors.update(|c| { c.pop(); })
                                    >"Newer"</button>
                                    <button
                                        disabled=next.is_none()
                                        on:click=move |_| if let Some(n) = next { cursors.update(|c| c.push(n)); }
                                    >"Older"</button>
                                </div>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
