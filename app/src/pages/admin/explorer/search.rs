//! Search across mailboxes (`/admin/search`): the full query language over every mailbox the
//! role's scope reaches, or the ones picked; each hit says whose mailbox it is in and opens
//! there in the explorer.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::header::urlencode;
use crate::api::explorer::{search_all, AcrossHit, AcrossPage};
use crate::components::admin_frame::AdminFrame;
use crate::components::Title;

#[component]
pub fn AdminSearchPage() -> impl IntoView {
    view! {
        <Title text="Search mailboxes" />
        <AdminFrame permission="browse_mail">
            <AdminSearch />
        </AdminFrame>
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Asked {
    query: String,
    mailboxes: Vec<i64>,
    page: usize,
    sort: String,
}

impl Asked {
    fn page_url(&self, page: usize) -> String {
        let mut url = format!("/admin/search?q={}", urlencode(&self.query));
        for m in &self.mailboxes {
            url.push_str(&format!("&mb={m}"));
        }
        if !self.sort.is_empty() {
            url.push_str(&format!("&sort={}", urlencode(&self.sort)));
        }
        if page > 0 {
            url.push_str(&format!("&page={page}"));
        }
        url
    }
}

#[component]
fn AdminSearch() -> impl IntoView {
    let query = use_query_map();
    let asked = Memo::new(move |_| {
        query.with(|q| Asked {
            query: q.get("q").unwrap_or_default(),
            mailboxes: q
                .get_all("mb")
                .unwrap_or_default()
                .iter()
                .filter_map(|m| m.parse().ok())
                .collect(),
            page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0),
            sort: q.get("sort").unwrap_or_default(),
        })
    });
    let results = Resource::new(
        move || asked.get(),
        |a| async move {
            let ids = a
                .mailboxes
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            search_all(a.query, ids, a.page, a.sort).await
        },
    );
    view! {
        <section class="admin-section">
            <a href="/admin/mailboxes" class="muted small">"← Mailboxes"</a>
            <h1>"Search mailboxes"</h1>
            <p class="muted">
                "Searches the mail of every mailbox your role reaches, or of the ones you pick, with the same words and filters as the mail screen (from:, to:, subject:, has:attachment, after:, before:, folder:). Each search is in the audit log, and in the access log of each owner whose mail it shows."
            </p>
            <Transition fallback=|| view! { <div class="loading">"Searching…"</div> }>
                {move || Suspend::new(async move {
                    match results.await {
                        Ok(page) => view! { <AcrossResults page asked=asked.get_untracked() /> }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn AcrossResults(page: AcrossPage, asked: Asked) -> impl IntoView {
    let options = page
        .mailboxes
        .iter()
        .map(|m| {
            let selected = page.chosen.contains(&m.id);
            view! {
                <option value=m.id.to_string() selected=selected>
                    {format!("{} ({})", m.display_name, m.owner)}
                </option>
            }
        })
        .collect_view();
    let size = page.mailboxes.len().clamp(2, 6).to_string();
    let sort = asked.sort.clone();
    let summary = (!page.query.trim().is_empty() && page.problem.is_none()).then(|| {
        let first = page.page * page.page_size;
        let shown = page.hits.len();
        let range = if shown == 0 {
            String::new()
        } else {
            format!("{}–{} of ", first + 1, first + shown)
        };
        format!(
            "{range}{} found in {} mailbox{}",
            page.total,
            page.searched,
            if page.searched == 1 { "" } else { "es" }
        )
    });
    let rows = page.hits.iter().map(hit_row).collect_view();
    view! {
        <form method="GET" action="/admin/search" class="across-form" role="search">
            <input
                type="search"
                name="q"
                value=page.query.clone()
                placeholder="Words, from:, subject:, has:attachment, after:2026-01-01…"
                aria-label="Search mail in mailboxes"
            />
            <label>
                <span class="small muted">"In (none picked: all of them)"</span>
                <select name="mb" multiple=true size=size aria-label="Mailboxes to search">{options}</select>
            </label>
            <label>
                <span class="small muted">"Order"</span>
                <select name="sort" aria-label="Order">
                    <option value="" selected=sort.is_empty()>"Best match"</option>
                    <option value="newest" selected=sort == "newest">"Newest first"</option>
                    <option value="oldest" selected=sort == "oldest">"Oldest first"</option>
                </select>
            </label>
            <button type="submit" class="primary">"Search"</button>
        </form>
        {page.problem.clone().map(|p| view! { <p class="error">{p}</p> })}
        {summary.map(|s| view! { <p class="muted small across-summary">{s}</p> })}
        {(!page.hits.is_empty()).then(|| view! {
            <table class="admin-table across-table">
                <thead>
                    <tr>
                        <th>"Mailbox"</th>
                        <th>"Message"</th>
                        <th>"Folder"</th>
                        <th>"Date"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        })}
        <nav class="pager">
            {(page.page > 0).then(|| view! { <a class="button" href=asked.page_url(page.page - 1)>"‹ Previous"</a> })}
            {page.more.then(|| view! { <a class="button" href=asked.page_url(page.page + 1)>"Next ›"</a> })}
        </nav>
    }
}

fn hit_row(h: &AcrossHit) -> impl IntoView {
    let row = &h.hit.row;
    let mut href = format!("/admin/mailbox?m={}", h.mailbox_id);
    if let Some(f) = h.hit.folder_id {
        href.push_str(&format!("&f={f}"));
    }
    href.push_str(&format!("&msg={}", row.id));
    let subject = if row.subject.trim().is_empty() {
        "(no subject)".to_owned()
    } else {
        row.subject.clone()
    };
    view! {
        <tr data-mailbox=h.mailbox_id.to_string()>
            <td class="nowrap">{h.mailbox.clone()}</td>
            <td>
                <a href=href class="strong-link">{subject}</a>
                <div class="muted small">{row.sender.clone()}</div>
                {h.hit.snippet_html.clone().map(|s| view! { <div class="snippet small" inner_html=s></div> })}
            </td>
            <td class="small">{h.hit.folder_path.clone()}</td>
            <td class="nowrap small" title=row.date_full.clone()>{row.date.clone()}</td>
        </tr>
    }
}
