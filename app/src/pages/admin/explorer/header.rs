//! The bar above every explorer screen: whose mailbox, the tabs, and the instant shown.

use leptos::prelude::*;

use crate::api::explorer::InstantView;
pub(super) use crate::components::location::encode as urlencode;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Tab {
    Mail,
    Calendar,
    Contacts,
    Snapshots,
    Changes,
}

impl Tab {
    fn path(self) -> &'static str {
        match self {
            Tab::Mail => "/admin/mailbox",
            Tab::Calendar => "/admin/mailbox/calendar",
            Tab::Contacts => "/admin/mailbox/contacts",
            Tab::Snapshots => "/admin/mailbox/snapshots",
            Tab::Changes => "/admin/mailbox/changes",
        }
    }

    /// The tabs that show the mailbox as of an instant, and so carry the picker.
    fn has_instant(self) -> bool {
        matches!(self, Tab::Mail | Tab::Calendar | Tab::Contacts)
    }
}

#[component]
pub(super) fn ExplorerHeader(
    mailbox_id: i64,
    display_name: String,
    owner: String,
    tab: Tab,
    /// The instant the tab shows (None: now); only the mail, calendar and contacts tabs have
    /// the picker.
    #[prop(default = None)]
    instant: Option<InstantView>,
    #[prop(optional)] can_snapshot: bool,
    #[prop(optional)] can_browse_calendars: bool,
    /// Query parameters the picker keeps (the calendar's month and zone).
    #[prop(default = Vec::new())]
    keep: Vec<(&'static str, String)>,
) -> impl IntoView {
    let at_param = instant
        .as_ref()
        .map(|i| format!("&at={}", urlencode(&i.at)))
        .unwrap_or_default();
    let href = |t: Tab| format!("{}?m={mailbox_id}{at_param}", t.path());
    let snapshots_href = format!("{}?m={mailbox_id}", Tab::Snapshots.path());
    let changes_href = match &instant {
        Some(i) => format!(
            "{}?m={mailbox_id}&from={}",
            Tab::Changes.path(),
            urlencode(&i.at)
        ),
        None => format!("{}?m={mailbox_id}", Tab::Changes.path()),
    };
    let picker = tab.has_instant().then(|| {
        let value = instant.as_ref().map(|i| i.at_input.clone()).unwrap_or_default();
        let now_href = format!("{}?m={mailbox_id}", tab.path());
        let kept = keep
            .into_iter()
            .map(|(name, value)| view! { <input type="hidden" name=name value=value /> })
            .collect_view();
        view! {
            <form method="GET" action=tab.path() class="instant-form">
                <input type="hidden" name="m" value=mailbox_id.to_string() />
                {kept}
                <label>
                    "As of (UTC) "
                    <input type="datetime-local" name="at" value=value aria-label="Show the mailbox as of" />
                </label>
                <button type="submit">"Show"</button>
                {instant.is_some().then(|| view! {
                    <a href=now_href class="button">"Now"</a>
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
    let history_tabs = can_snapshot || matches!(tab, Tab::Snapshots | Tab::Changes);
    let pim_tabs = can_browse_calendars || matches!(tab, Tab::Calendar | Tab::Contacts);
    view! {
        <header class="explorer-header">
            <div class="explorer-title">
                <a href="/admin/mailboxes" class="muted small">"← Mailboxes"</a>
                <h1>{display_name}</h1>
                <span class="muted small">{owner}</span>
            </div>
            <nav class="explorer-tabs" aria-label="Mailbox">
                <a href=href(Tab::Mail) class:current=tab == Tab::Mail>"Mail"</a>
                {pim_tabs.then(|| view! {
                    <a href=href(Tab::Calendar) class:current=tab == Tab::Calendar>"Calendar"</a>
                    <a href=href(Tab::Contacts) class:current=tab == Tab::Contacts>"Contacts"</a>
                })}
                {history_tabs.then(|| view! {
                    <a href=snapshots_href class:current=tab == Tab::Snapshots>"Snapshots"</a>
                    <a href=changes_href class:current=tab == Tab::Changes>"What changed"</a>
                })}
            </nav>
            {picker}
        </header>
        {precision}
    }
}

/// What a mailbox tab shows when the URL names no mailbox.
#[component]
pub(super) fn ChooseMailbox() -> impl IntoView {
    view! {
        <div class="card centered-card">
            <h1>"Choose a mailbox"</h1>
            <a href="/admin/mailboxes">"Go to the list of mailboxes"</a>
        </div>
    }
}
