//! Search hits with the folder each is in and a snippet around the match.

use leptos::prelude::*;

use crate::api::mail::SearchPage;
use crate::components::location::MailLocation;

use super::message_list::{list_keys, Row};
use super::SearchResource;

#[component]
pub(crate) fn SearchResults(
    location: Memo<MailLocation>,
    results: SearchResource,
) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <div class="loading">"Searching…"</div> }>
            {move || Suspend::new(async move {
                match results.await {
                    Ok(Some(page)) => view! { <SearchList location page /> }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(e) => view! { <p class="error pane-error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn SearchList(location: Memo<MailLocation>, page: SearchPage) -> impl IntoView {
    let loc = location.get_untracked();
    let close_href = MailLocation {
        mailbox: loc.mailbox,
        folder: loc.folder,
        explorer: loc.explorer,
        at: loc.at.clone(),
        ..Default::default()
    }
    .to_url();
    let summary = match (&page.problem, page.total) {
        (Some(_), _) => String::new(),
        (None, 0) => "No messages match.".to_owned(),
        (None, 1) => "1 message".to_owned(),
        (None, n) => format!("{n} messages"),
    };
    let pages = page.total.div_ceil(page.page_size.max(1));
    let prev_href = (page.page > 0).then(|| {
        MailLocation {
            page: page.page - 1,
            message: None,
            ..loc.clone()
        }
        .to_url()
    });
    let next_href = (page.page + 1 < pages).then(|| {
        MailLocation {
            page: page.page + 1,
            message: None,
            ..loc.clone()
        }
        .to_url()
    });
    // Narrowing to one mailbox, or back to all of them: the first page, nothing open.
    let within_href = |within: Option<i64>| {
        MailLocation {
            within,
            page: 0,
            message: None,
            ..loc.clone()
        }
        .to_url()
    };
    let mailbox_filter = (!page.mailboxes.is_empty()).then(|| {
        let all_href = within_href(None);
        let all_active = page.within.is_none();
        view! {
            <div class="sort-bar mailbox-filter" aria-label="Mailboxes searched">
                <span class="muted">"In:"</span>
                <a href=all_href class="sort" class:active=all_active>"All my mailboxes"</a>
                {page
                    .mailboxes
                    .iter()
                    .map(|m| {
                        let active = page.within == Some(m.id);
                        view! {
                            <a href=within_href(Some(m.id)) class="sort" class:active=active title=m.name.clone()>
                                {m.display_name.clone()}
                            </a>
                        }
                    })
                    .collect_view()}
            </div>
        }
    });
    let sort = loc.sort.clone().unwrap_or_default();
    let sort_href = |key: &str| {
        MailLocation {
            sort: Some(key.to_owned()),
            page: 0,
            message: None,
            ..loc.clone()
        }
        .to_url()
    };
    view! {
        <div class="pane-head">
            <h2>"Search"</h2>
            <span class="muted">{summary}</span>
            <span class="spacer"></span>
            <a href=close_href class="close-search">"Close search"</a>
        </div>
        <div class="sort-bar">
            <span class="muted">"Sort:"</span>
            <a href=sort_href("relevance") class="sort" class:active=sort.is_empty() || sort == "relevance">"Best match"</a>
            <a href=sort_href("newest") class="sort" class:active=sort == "newest">"Newest"</a>
            <a href=sort_href("oldest") class="sort" class:active=sort == "oldest">"Oldest"</a>
        </div>
        {mailbox_filter}
        {page.problem.clone().map(|problem| view! { <p class="notice" role="status">{problem}</p> })}
        <div class="rows" tabindex="0" on:keydown=list_keys aria-label="Search results">
            {page
                .hits
                .into_iter()
                .map(|hit| {
                    // A hit in another of the person's mailboxes opens there, in its folder, so
                    // the tree beside it is the one it belongs to.
                    let base = if loc.explorer || loc.mailbox == Some(hit.mailbox_id) {
                        loc.clone()
                    } else {
                        MailLocation {
                            mailbox: Some(hit.mailbox_id),
                            folder: hit.folder_id,
                            ..loc.clone()
                        }
                    };
                    let found_in = match hit.mailbox_name {
                        Some(name) => format!("{name} · {}", hit.folder_path),
                        None => hit.folder_path,
                    };
                    view! {
                        <Row
                            location
                            base
                            row=hit.row
                            found_in
                            snippet_html=hit.snippet_html
                        />
                    }
                })
                .collect_view()}
        </div>
        <div class="pager">
            {prev_href.map(|href| view! { <a href=href>"← Previous"</a> })}
            <span class="spacer"></span>
            {next_href.map(|href| view! { <a href=href>"Next →"</a> })}
        </div>
    }
}
