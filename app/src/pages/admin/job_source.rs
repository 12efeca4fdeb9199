//! What the export and restore forms share: the link that led to them names what to take
//! (`?m=&folder=&snapshot=&selection=&at=`), and a form with nothing to take says why.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Mailbox, folder, snapshot, selection and instant, as the link gives them.
pub type SourceQuery = (Option<i64>, Option<i64>, Option<i64>, Option<i64>, String);

pub fn source_query() -> Memo<SourceQuery> {
    let query = use_query_map();
    let number = move |name: &str| query.with(|q| q.get(name).and_then(|v| v.parse::<i64>().ok()));
    Memo::new(move |_| {
        (
            number("m"),
            number("folder"),
            number("snapshot"),
            number("selection"),
            query.with(|q| q.get("at").unwrap_or_default()),
        )
    })
}

/// The page when the link names nothing that can be taken.
#[component]
pub fn NothingToTake(title: &'static str, error: String) -> impl IntoView {
    view! {
        <div class="card centered-card">
            <h1>{title}</h1>
            <p class="error">{error}</p>
            <a href="/admin/mailboxes">"Go to the list of mailboxes"</a>
        </div>
    }
}
