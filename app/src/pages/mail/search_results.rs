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
        {page.problem.clone().map(|problem| view! { <p class="notice" role="status">{problem}</p> })}
        <div class="rows" tabindex="0" on:keydown=list_keys aria-label="Search results">
            {page
                .hits
                .into_iter()
                .map(|hit| {
                    view! {
                        <Row
                            location
                            base=loc.clone()
                            row=hit.row
                            found_in=hit.folder_path
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
