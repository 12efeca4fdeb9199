//! The bar above every explorer screen: whose mailbox, the tabs, and the instant shown.

use leptos::prelude::*;

use crate::api::explorer::InstantView;
pub(super) use crate::components::location::encode as urlencode;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Tab {
    Mail,
    Snapshots,
    Changes,
}

#[component]
pub(super) fn ExplorerHeader(
    mailbox_id: i64,
    display_name: String,
    owner: String,
    tab: Tab,
    /// The instant the mail tab shows (None: now); only the mail tab has the picker.
    #[prop(default = None)]
    instant: Option<InstantView>,
    #[prop(optional)] can_snapshot: bool,
) -> impl IntoView {
    let at_param = instant
        .as_ref()
        .map(|i| format!("&at={}", urlencode(&i.at)))
        .unwrap_or_default();
    let mail_href = format!("/admin/mailbox?m={mailbox_id}{at_param}");
    let snapshots_href = format!("/admin/mailbox/snapshots?m={mailbox_id}");
    let changes_href = match &instant {
        Some(i) => format!(
            "/admin/mailbox/changes?m={mailbox_id}&from={}",
            urlencode(&i.at)
        ),
        None => format!("/admin/mailbox/changes?m={mailbox_id}"),
    };
    let picker = (tab == Tab::Mail).then(|| {
        let value = instant.as_ref().map(|i| i.at_input.clone()).unwrap_or_default();
        view! {
            <form method="GET" action="/admin/mailbox" class="instant-form">
                <input type="hidden" name="m" value=mailbox_id.to_string() />
                <label>
                    "As of (UTC) "
                    <input type="datetime-local" name="at" value=value aria-label="Show the mailbox as of" />
                </label>
                <button type="submit">"Show"</button>
                {instant.is_some().then(|| view! {
                    <a href=format!("/admin/mailbox?m={mailbox_id}") class="button">"Now"</a>
                })}
            </form>
        }
    });
    let precision = instant.as_ref().map(|i| {
        view! {
            <p class="instant-note" class:empty-instant=i.before_first_sync>
                <strong>{format!("As of {}. ", i.at_full)}</strong>
                {i.precision.clone()}
            </p>
        }
    });
    view! {
        <header class="explorer-header">
            <div class="explorer-title">
                <a href="/admin/mailboxes" class="muted small">"← Mailboxes"</a>
                <h1>{display_name}</h1>
                <span class="muted small">{owner}</span>
            </div>
            <nav class="explorer-tabs" aria-label="Mailbox">
                <a href=mail_href class:current=tab == Tab::Mail>"Mail"</a>
                {(can_snapshot || tab != Tab::Mail).then(|| view! {
                    <a href=snapshots_href class:current=tab == Tab::Snapshots>"Snapshots"</a>
                    <a href=changes_href class:current=tab == Tab::Changes>"What changed"</a>
                })}
            </nav>
            {picker}
        </header>
        {precision}
    }
}
