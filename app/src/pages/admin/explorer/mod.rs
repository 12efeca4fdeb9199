//! The explorer: every archived mailbox in the administrator's scope (`/admin/mailboxes`), one
//! of them now or as of an instant (`mailbox`), its calendar (`calendar`) and contacts
//! (`contacts`), its snapshots (`snapshots`) and what changed between two instants (`changes`).

use leptos::prelude::*;

mod calendar;
mod changes;
mod contacts;
mod header;
mod mailbox;
mod search;
mod snapshots;

pub use calendar::CalendarPage;
pub use changes::ChangesPage;
pub use contacts::ContactsPage;
pub use mailbox::ExplorerMailboxPage;
pub use search::AdminSearchPage;
pub use snapshots::SnapshotsPage;

use crate::api::explorer::{explorer_mailboxes, ExplorerMailbox};
use crate::components::admin_frame::AdminFrame;
use crate::components::Title;

#[component]
pub fn MailboxesPage() -> impl IntoView {
    view! {
        <Title text="Mailboxes" />
        <AdminFrame permission="browse_mail">
            <Mailboxes />
        </AdminFrame>
    }
}

#[component]
fn Mailboxes() -> impl IntoView {
    let list = Resource::new(|| (), |_| explorer_mailboxes());
    let filter = RwSignal::new(String::new());
    view! {
        <section class="admin-section">
            <h1>"Mailboxes"</h1>
            <p class="muted">
                "Every archived mailbox your role reaches. Open one to browse it as it is now or as it was at any instant, take snapshots and see what changed. Each opening is in the audit log and in the owner's access log."
            </p>
            <form method="GET" action="/admin/search" class="across-form" role="search">
                <input
                    type="search"
                    name="q"
                    placeholder="Search the mail of every mailbox (words, from:, subject:, has:attachment…)"
                    aria-label="Search mail in every mailbox"
                />
                <button type="submit">"Search mail"</button>
            </form>
            <input
                type="search"
                class="filter"
                placeholder="Find a mailbox by name, address, task or status"
                aria-label="Find a mailbox"
                on:input=move |ev| filter.set(event_target_value(&ev))
                prop:value=filter
            />
            <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(all) if all.is_empty() => {
                            view! {
                                <p class="empty-note">
                                    "No mailbox is archived yet. Add a sync task on the Sync tasks screen, or import mail with the command line."
                                </p>
                            }
                                .into_any()
                        }
                        Ok(all) => view! { <MailboxTable all filter /> }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn matches(m: &ExplorerMailbox, words: &str) -> bool {
    let hay = format!(
        "{} {} {}",
        m.display_name,
        m.owner,
        m.syncs
            .iter()
            .map(|s| format!("{} {} {}", s.task, s.connection, s.status))
            .collect::<Vec<_>>()
            .join(" ")
    )
    .to_lowercase();
    words
        .to_lowercase()
        .split_whitespace()
        .all(|w| hay.contains(w))
}

#[component]
fn MailboxTable(all: Vec<ExplorerMailbox>, filter: RwSignal<String>) -> impl IntoView {
    let total = all.len();
    let all = StoredValue::new(all);
    let shown = move || {
        let words = filter.get();
        all.read_value()
            .iter()
            .filter(|m| matches(m, &words))
            .cloned()
            .collect::<Vec<_>>()
    };
    view! {
        <table class="admin-table mailbox-table">
            <thead>
                <tr>
                    <th>"Mailbox"</th>
                    <th>"Items"</th>
                    <th>"Size"</th>
                    <th>"Sync"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {move || {
                    shown()
                        .into_iter()
                        .map(|m| {
                            let href = format!("/admin/mailbox?m={}", m.id);
                            view! {
                                <tr>
                                    <td>
                                        <a href=href.clone() class="strong-link">{m.display_name.clone()}</a>
                                        <div class="muted small">{m.owner.clone()}</div>
                                    </td>
                                    <td class="nowrap">{m.items.to_string()}</td>
                                    <td class="nowrap">{m.size.clone()}</td>
                                    <td>
                                        {if m.syncs.is_empty() {
                                            view! { <span class="muted small">"Imported, not synced"</span> }.into_any()
                                        } else {
                                            m.syncs
                                                .iter()
                                                .map(|s| {
                                                    view! {
                                                        <div class="sync-line">
                                                            <span class=format!("status status-{}", s.status)>{s.status.clone()}</span>
                                                            " "
                                                            {format!("{} · {}", s.task, s.connection)}
                                                            <div class="muted small">
                                                                {s.last_sync.clone().map(|t| format!("Last sync {t}")).unwrap_or_else(|| "Not synced yet".into())}
                                                            </div>
                                                            {s.reason.clone().map(|r| view! { <div class="reason">{r}</div> })}
                                                        </div>
                                                    }
                                                })
                                                .collect_view()
                                                .into_any()
                                        }}
                                    </td>
                                    <td class="actions">
                                        <a class="button" href=href>"Open"</a>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()
                }}
            </tbody>
        </table>
        <p class="muted small">{move || format!("{} of {total} mailboxes", shown().len())}</p>
    }
}
