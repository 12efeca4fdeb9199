//! Retention: how long the archive keeps each kind of item, by default and per mailbox; a dry
//! run of the purge; the purge itself and its history.

use std::time::Duration;

use leptos::prelude::*;

use crate::api::retention::{
    purge_dry_run, purge_jobs, retention_policy, KeepView, MailboxDryRunView, OverrideView,
    SetDefaultRetention, SetMailboxRetention, StartPurge,
};
use crate::components::admin_frame::AdminFrame;
use crate::components::job_lines::JobLines;
use crate::components::outcome::OutcomeLine;
use crate::components::ticker::ticker;
use crate::components::Title;

#[component]
pub fn RetentionPage() -> impl IntoView {
    view! {
        <Title text="Retention" />
        <AdminFrame permission="retention">
            <Retention />
        </AdminFrame>
    }
}

const KINDS: [(&str, &str); 3] = [
    ("mail", "Mail"),
    ("calendar", "Calendar"),
    ("contacts", "Contacts"),
];

#[component]
fn Retention() -> impl IntoView {
    let save_default = ServerAction::<SetDefaultRetention>::new();
    let save_mailbox = ServerAction::<SetMailboxRetention>::new();
    let policy = Resource::new(
        move || (save_default.version().get(), save_mailbox.version().get()),
        |_| retention_policy(),
    );
    view! {
        <section class="admin-section">
            <h1>"Retention"</h1>
            <p class="muted">
                "How long the archive keeps what it holds. A purge removes items past their keep time for good, with their content once no other mailbox shares it. Whatever a held snapshot shows is always kept."
            </p>
            <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
                {move || Suspend::new(async move {
                    match policy.await {
                        Ok(p) => {
                            let mailboxes = p.mailboxes.clone();
                            view! {
                                {p.floor.clone().map(|f| view! { <p class="notice" role="note">{f}</p> })}
                                <DefaultForm mail=p.mail.clone() calendar=p.calendar.clone() contacts=p.contacts.clone() changed=p.changed.clone() action=save_default />
                                <Overrides overrides=p.overrides.clone() mailboxes action=save_mailbox />
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <Purge />
    }
}

/// One row of a rule form: a day count (empty: for ever) and what it counts from.
#[component]
fn RuleInputs(kind: &'static str, rule: Option<KeepView>) -> impl IntoView {
    let days = rule
        .as_ref()
        .and_then(|r| r.days)
        .map(|d| d.to_string())
        .unwrap_or_default();
    let archived = rule.as_ref().is_some_and(|r| r.basis == "archived");
    view! {
        <input
            type="number"
            min="1"
            max="36500"
            name=format!("{kind}_days")
            value=days
            placeholder="for ever"
            aria-label=format!("{kind}: days to keep")
        />
        <span class="muted">" days "</span>
        <select name=format!("{kind}_basis") aria-label=format!("{kind}: counted from")>
            <option value="left_source" selected=!archived>"after it left the mailbox"</option>
            <option value="archived" selected=archived>"after it was archived"</option>
        </select>
    }
}

#[component]
fn DefaultForm(
    mail: KeepView,
    calendar: KeepView,
    contacts: KeepView,
    changed: String,
    action: ServerAction<SetDefaultRetention>,
) -> impl IntoView {
    let rules = [mail, calendar, contacts];
    view! {
        <h2>"Default"</h2>
        <ActionForm action attr:class="admin-form retention-form">
            <table class="rule-table">
                <tbody>
                    {KINDS
                        .iter()
                        .zip(rules)
                        .map(|((kind, label), rule)| {
                            view! {
                                <tr>
                                    <th scope="row">{*label}</th>
                                    <td><RuleInputs kind rule=Some(rule) /></td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            <p class="muted small">{changed}" · Leave the days empty to keep for ever."</p>
            <button type="submit" class="primary" disabled=move || action.pending().get()>
                "Save default"
            </button>
            {move || view! { <OutcomeLine outcome=action.value().get() /> }}
        </ActionForm>
    }
}

fn rule_words(rule: &Option<KeepView>) -> String {
    match rule {
        Some(r) => r.words.clone(),
        None => "as the default".to_owned(),
    }
}

#[component]
fn Overrides(
    overrides: Vec<OverrideView>,
    mailboxes: Vec<(i64, String)>,
    action: ServerAction<SetMailboxRetention>,
) -> impl IntoView {
    let has_mailboxes = !mailboxes.is_empty();
    view! {
        <h2>"Mailboxes with their own rules"</h2>
        {if overrides.is_empty() {
            view! { <p class="empty">"None: every mailbox follows the default."</p> }.into_any()
        } else {
            view! {
                <table class="admin-table">
                    <thead>
                        <tr>
                            <th>"Mailbox"</th>
                            <th>"Mail"</th>
                            <th>"Calendar"</th>
                            <th>"Contacts"</th>
                            <th>"Changed"</th>
                            <th></th>
                        </tr>
                    </thead>
                    <tbody>
                        {overrides
                            .into_iter()
                            .map(|o| {
                                view! {
                                    <tr>
                                        <td class="mono">{o.mailbox.clone()}</td>
                                        <td>{rule_words(&o.mail)}</td>
                                        <td>{rule_words(&o.calendar)}</td>
                                        <td>{rule_words(&o.contacts)}</td>
                                        <td class="muted small">{o.changed.clone()}</td>
                                        <td class="actions">
                                            <ActionForm action attr:class="inline">
                                                <input type="hidden" name="mailbox" value=o.mailbox_id.to_string() />
                                                {KINDS
                                                    .iter()
                                                    .map(|(kind, _)| {
                                                        view! {
                                                            <input type="hidden" name=format!("{kind}_mode") value="default" />
                                                            <input type="hidden" name=format!("{kind}_days") value="" />
                                                            <input type="hidden" name=format!("{kind}_basis") value="left_source" />
                                                        }
                                                    })
                                                    .collect_view()}
                                                <button type="submit">"Follow the default"</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            }
                .into_any()
        }}
        {has_mailboxes.then(|| view! {
            <details class="override-form">
                <summary>"Give a mailbox its own rules"</summary>
                <ActionForm action attr:class="admin-form retention-form">
                    <label>
                        "Mailbox"
                        <select name="mailbox" required>
                            {mailboxes
                                .iter()
                                .map(|(id, name)| view! { <option value=id.to_string()>{name.clone()}</option> })
                                .collect_view()}
                        </select>
                    </label>
                    <table class="rule-table">
                        <tbody>
                            {KINDS
                                .iter()
                                .map(|(kind, label)| {
                                    view! {
                                        <tr>
                                            <th scope="row">{*label}</th>
                                            <td>
                                                <select name=format!("{kind}_mode") aria-label=format!("{kind}: rule")>
                                                    <option value="default">"As the default"</option>
                                                    <option value="own">"Its own:"</option>
                                                </select>
                                                " "
                                                <RuleInputs kind rule=None />
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                    <button type="submit" class="primary" disabled=move || action.pending().get()>
                        "Save for this mailbox"
                    </button>
                </ActionForm>
            </details>
        })}
        {move || view! { <OutcomeLine outcome=action.value().get() /> }}
    }
}

#[component]
fn Purge() -> impl IntoView {
    let dry_run = Action::new(|_: &()| purge_dry_run(None));
    let start = ServerAction::<StartPurge>::new();
    let confirmed = RwSignal::new(false);
    // A purge runs in the background: its line refreshes every few seconds.
    let tick = ticker(Duration::from_secs(3), || true);
    let jobs = Resource::new(
        move || (start.version().get(), tick.get()),
        |_| purge_jobs(),
    );
    view! {
        <section class="admin-section">
            <h2>"Purge"</h2>
            <p class="muted">
                "A dry run lists what a purge would remove now, and removes nothing. A purge skips any mailbox while it syncs; the next purge takes it."
            </p>
            <div class="purge-actions">
                <button type="button" on:click=move |_| { dry_run.dispatch(()); } disabled=move || dry_run.pending().get()>
                    {move || if dry_run.pending().get() { "Counting…" } else { "Dry run" }}
                </button>
                <ActionForm action=start attr:class="inline">
                    <label class="confirm">
                        <input type="checkbox" required=true bind:checked=confirmed />
                        " I understand a purge deletes archived content for good"
                    </label>
                    <button type="submit" class="danger" disabled=move || !confirmed.get() || start.pending().get()>
                        "Purge now"
                    </button>
                </ActionForm>
            </div>
            {move || view! { <OutcomeLine outcome=start.value().get() /> }}
            {move || {
                dry_run.value().get().map(|result| match result {
                    Ok(view) => {
                        view! {
                            <div class="dry-run">
                                <p class="outcome ok" role="status">{view.summary.clone()}</p>
                                {view.mailboxes.into_iter().map(|m| view! { <DryRunMailbox m /> }).collect_view()}
                            </div>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="outcome error" role="alert">{e.to_string()}</p> }.into_any(),
                })
            }}
            <h3>"Recent purges"</h3>
            <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
                {move || Suspend::new(async move {
                    match jobs.await {
                        Ok(list) if list.is_empty() => {
                            view! { <p class="empty">"No purge yet."</p> }.into_any()
                        }
                        Ok(list) => {
                            view! { <JobLines jobs=list class="purge-jobs" /> }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn DryRunMailbox(m: MailboxDryRunView) -> impl IntoView {
    let shown = m.sample.len() as u64;
    let total = m.mail + m.calendar + m.contacts;
    view! {
        <article class="dry-run-mailbox">
            <h4 class="mono">{m.mailbox.clone()}</h4>
            <p class="muted small">{m.rules.clone()}</p>
            <p>
                {format!(
                    "{} messages, {} calendar items, {} contacts ({}) would go; {} kept by held snapshots.",
                    m.mail, m.calendar, m.contacts, m.size, m.held
                )}
            </p>
            {(!m.sample.is_empty()).then(|| view! {
                <table class="admin-table">
                    <thead>
                        <tr>
                            <th>"Kind"</th>
                            <th>"Subject"</th>
                            <th>"Date"</th>
                            <th>"Left the mailbox"</th>
                            <th>"Archived"</th>
                            <th>"Size"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {m.sample
                            .into_iter()
                            .map(|c| view! {
                                <tr>
                                    <td>{c.kind}</td>
                                    <td>{c.subject}</td>
                                    <td>{c.date}</td>
                                    <td>{c.left}</td>
                                    <td>{c.archived}</td>
                                    <td>{c.size}</td>
                                </tr>
                            })
                            .collect_view()}
                    </tbody>
                </table>
            })}
            {(total > shown).then(|| view! { <p class="muted small">{format!("… and {} more.", total - shown)}</p> })}
        </article>
    }
}
