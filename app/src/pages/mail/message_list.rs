//! A folder's messages, a page at a time, sortable, and walkable with the keyboard.

use leptos::prelude::*;

use crate::api::mail::{MessageList, MessageRow, PAGE_SIZE};
use crate::components::icons::PaperclipIcon;
use crate::components::location::MailLocation;

use super::ListResource;

/// Moves keyboard focus between the rows of a list: up/down arrows; Enter opens the focused row
/// (rows are links).
pub(super) fn list_keys(ev: leptos::ev::KeyboardEvent) {
    use leptos::wasm_bindgen::JsCast;
    let step_down = match ev.key().as_str() {
        "ArrowDown" => true,
        "ArrowUp" => false,
        _ => return,
    };
    ev.prevent_default();
    let Some(active) = document().active_element() else {
        return;
    };
    let target = if active.class_list().contains("row") {
        if step_down {
            active.next_element_sibling()
        } else {
            active.previous_element_sibling()
        }
    } else {
        active.query_selector("a.row").ok().flatten()
    };
    if let Some(row) = target.and_then(|t| t.dyn_into::<leptos::web_sys::HtmlElement>().ok()) {
        let _ = row.focus();
    }
}

#[component]
pub(crate) fn MessageListPane(location: Memo<MailLocation>, list: ListResource) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <div class="loading">"Loading messages…"</div> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(Some(list)) => view! { <MessageTable location list /> }.into_any(),
                    Ok(None) => {
                        view! { <p class="empty">"This mailbox has no folders yet."</p> }.into_any()
                    }
                    Err(e) => view! { <p class="error pane-error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn MessageTable(location: Memo<MailLocation>, list: MessageList) -> impl IntoView {
    let loc = location.get_untracked();
    let mailbox = list.mailbox_id;
    let folder = list.folder.clone();
    let sort = loc.sort.clone().unwrap_or_else(|| "date".to_owned());
    let sort_link = {
        let folder_id = folder.id;
        let loc = loc.clone();
        move |key: &'static str, label: &'static str| {
            // Clicking the current column flips its direction; another column starts with the
            // natural order (newest date, A to Z, largest size).
            let (current, ascending) = match sort.strip_suffix("-asc") {
                Some(name) => (name.to_owned(), true),
                None => (sort.clone(), false),
            };
            let next = if current == key {
                if ascending {
                    key.to_owned()
                } else {
                    format!("{key}-asc")
                }
            } else if key == "sender" || key == "subject" {
                format!("{key}-asc")
            } else {
                key.to_owned()
            };
            let href = MailLocation {
                sort: Some(next),
                ..loc.in_folder(mailbox, folder_id)
            }
            .to_url();
            let arrow = (current == key).then_some(if ascending { " ↑" } else { " ↓" });
            view! {
                <a href=href class="sort" class:active=current == key>
                    {label}
                    {arrow}
                </a>
            }
        }
    };
    let first = loc.skipped + 1;
    let last = loc.skipped + list.rows.len();
    let range = if list.rows.is_empty() {
        String::new()
    } else {
        format!("{first}–{last} of {}", folder.total)
    };
    let next_href = list.next.clone().map(|after| {
        MailLocation {
            after: Some(after),
            skipped: loc.skipped + PAGE_SIZE,
            message: None,
            ..loc.clone()
        }
        .to_url()
    });
    let first_href = (loc.after.is_some()).then(|| {
        MailLocation {
            after: None,
            skipped: 0,
            message: None,
            ..loc.clone()
        }
        .to_url()
    });
    let rows = list.rows.clone();
    // Rows link to this folder explicitly, even when the URL named none (the defaults).
    let base = MailLocation {
        mailbox: Some(mailbox),
        folder: Some(folder.id),
        ..loc.clone()
    };
    view! {
        <div class="pane-head">
            <h2>{folder.name.clone()}</h2>
            <span class="muted">{range}</span>
        </div>
        <div class="sort-bar">
            <span class="muted">"Sort:"</span>
            {sort_link("date", "Date")}
            {sort_link("sender", "From")}
            {sort_link("subject", "Subject")}
            {sort_link("size", "Size")}
        </div>
        {if rows.is_empty() {
            view! { <p class="empty">"This folder is empty."</p> }.into_any()
        } else {
            view! {
                <div class="rows" tabindex="0" on:keydown=list_keys aria-label="Message list">
                    {rows
                        .into_iter()
                        .map(|row| view! { <Row location base=base.clone() row /> })
                        .collect_view()}
                </div>
            }
                .into_any()
        }}
        <div class="pager">
            {first_href.map(|href| view! { <a href=href>"← First page"</a> })}
            <span class="spacer"></span>
            {next_href.map(|href| view! { <a href=href>"Next page →"</a> })}
        </div>
    }
}

/// One message in a list. A search hit (`found_in` set) shows its folder and snippet instead of
/// its size.
#[component]
pub(crate) fn Row(
    location: Memo<MailLocation>,
    base: MailLocation,
    row: MessageRow,
    /// The folder path of a search hit.
    #[prop(optional)]
    found_in: Option<String>,
    /// Escaped snippet with `<mark>`s, from the search crate.
    #[prop(default = None)]
    snippet_html: Option<String>,
) -> impl IntoView {
    let id = row.id;
    let href = base.with_message(id).to_url();
    let selected = move || location.get().message == Some(id);
    let is_hit = found_in.is_some();
    view! {
        <a href=href class="row" class:hit=is_hit data-id=id.to_string()>
            <div class="row-line" class:unread=!row.is_read class:selected=selected>
                <span class="sender" title=row.sender_address.clone()>
                    {row.sender.clone()}
                </span>
                <span class="date" title=row.date_full.clone()>
                    {row.date.clone()}
                </span>
                <span class="subject">
                    {row.has_attachments.then(|| view! { <span class="clip" title="Has attachments"><PaperclipIcon /></span> })}
                    {row.subject.clone()}
                </span>
                {match found_in {
                    Some(path) => {
                        view! {
                            <span class="folder-path">{path}</span>
                            {snippet_html.map(|html| view! { <span class="snippet" inner_html=html></span> })}
                        }
                            .into_any()
                    }
                    None => view! { <span class="size">{row.size.clone()}</span> }.into_any(),
                }}
            </div>
        </a>
    }
}
