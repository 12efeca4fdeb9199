//! The end user's archive: folder tree, message list or search results, and the reader, side by
//! side on a wide screen and one at a time on a phone. Everything on it comes from the archive.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, Redirect};

use crate::api::auth::current_user;
use crate::api::mail::{
    get_message, list_messages, mail_overview, search_mail, FolderView, MessageDetail, MessageList,
    MessageRow, Overview, SearchPage, PAGE_SIZE,
};
use crate::components::icons::PaperclipIcon;
use crate::components::location::{use_mail_location, MailLocation};
use crate::components::topbar::TopBar;
use crate::pages::sign_in::error_text;

type ListResource = Resource<Result<Option<MessageList>, ServerFnError>>;
type SearchResource = Resource<Result<Option<SearchPage>, ServerFnError>>;
type MessageResource = Resource<Result<Option<MessageDetail>, ServerFnError>>;

/// The screen's data. All resources are created here, once and in a fixed order: the browser
/// matches the server's serialised results to resources by creation order, so creating them
/// inside conditional or lazily evaluated parts of the view would hand one pane another's data.
#[derive(Clone, Copy)]
struct MailData {
    overview: Resource<Result<Overview, ServerFnError>>,
    list: ListResource,
    search: SearchResource,
    message: MessageResource,
}

#[component]
pub fn MailPage() -> impl IntoView {
    let location = use_mail_location();
    let user = Resource::new(|| (), |_| current_user());
    let overview = Resource::new(move || location.get().mailbox, mail_overview);
    let list = Resource::new(
        move || {
            let loc = location.get();
            (
                loc.mailbox,
                loc.folder,
                loc.sort.unwrap_or_default(),
                loc.after,
                loc.query.is_some(),
            )
        },
        |(mailbox, folder, sort, after, searching)| async move {
            if searching {
                return Ok(None);
            }
            list_messages(mailbox, folder, sort, after).await
        },
    );
    let search = Resource::new(
        move || {
            let loc = location.get();
            (
                loc.mailbox,
                loc.query,
                loc.page,
                loc.sort.unwrap_or_default(),
            )
        },
        |(mailbox, query, page, sort)| async move {
            match query {
                Some(query) => search_mail(mailbox, query, page, sort).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let message = Resource::new(
        move || location.get().message,
        |id| async move {
            match id {
                Some(id) => get_message(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let data = MailData {
        overview,
        list,
        search,
        message,
    };

    view! {
        <Title text="Mail archive" />
        <Suspense fallback=|| view! { <div class="loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) => {
                        view! {
                            <TopBar display_name=user.display_name is_admin=user.is_admin>
                                <SearchBox location />
                            </TopBar>
                            <MailScreen location data />
                        }
                            .into_any()
                    }
                    Ok(None) => view! { <Redirect path="/sign-in" /> }.into_any(),
                    Err(e) => view! { <p class="error page-error">{error_text(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SearchBox(location: Memo<MailLocation>) -> impl IntoView {
    let mailbox = move || {
        location
            .get()
            .mailbox
            .map(|m| m.to_string())
            .unwrap_or_default()
    };
    let query = move || location.get().query.unwrap_or_default();
    view! {
        <Form method="GET" action="/mail" attr:class="search-form" attr:role="search">
            <input type="hidden" name="m" prop:value=mailbox />
            <input
                type="search"
                name="q"
                placeholder="Search mail (words, from:, subject:, has:attachment, after:…)"
                aria-label="Search mail"
                prop:value=query
            />
        </Form>
    }
}

#[component]
fn MailScreen(location: Memo<MailLocation>, data: MailData) -> impl IntoView {
    let reading = move || location.get().message.is_some();
    let overview = data.overview;
    view! {
        <Suspense fallback=|| view! { <div class="loading">"Loading your archive…"</div> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(overview) if overview.mailbox.is_none() => {
                        view! {
                            <main class="centered">
                                <div class="card">
                                    <h1>"No archive yet"</h1>
                                    <p class="muted">
                                        "No archived mailbox is linked to your account yet. Once your administrator connects your mailbox, your mail appears here."
                                    </p>
                                </div>
                            </main>
                        }
                            .into_any()
                    }
                    Ok(overview) => {
                        view! {
                            <div class="mail-layout" class:reading=reading>
                                <FolderTree location overview=overview.clone() />
                                <section class="list-pane" aria-label="Messages">
                                    {move || {
                                        if location.get().query.is_some() {
                                            view! { <SearchResults location results=data.search /> }.into_any()
                                        } else {
                                            view! { <MessageListPane location list=data.list /> }.into_any()
                                        }
                                    }}
                                </section>
                                <ReaderPane location message=data.message />
                            </div>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error page-error">{error_text(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn FolderTree(location: Memo<MailLocation>, overview: Overview) -> impl IntoView {
    let collapsed = RwSignal::new(std::collections::HashSet::<i64>::new());
    let Some(mailbox) = overview.mailbox.clone() else {
        return ().into_any();
    };
    let folders = overview.folders.clone();
    let default_folder = overview.default_folder;
    let mailbox_id = mailbox.id;

    // A folder is hidden when any of its ancestors is collapsed.
    let parents: std::collections::HashMap<i64, Option<i64>> =
        folders.iter().map(|f| (f.id, f.parent_id)).collect();
    let hidden = move |folder: &FolderView| {
        let mut parent = folder.parent_id;
        let closed = collapsed.get();
        while let Some(p) = parent {
            if closed.contains(&p) {
                return true;
            }
            parent = parents.get(&p).copied().flatten();
        }
        false
    };

    let several = overview.mailboxes.len() > 1;
    let switcher = several.then(|| {
        let options = overview.mailboxes.clone();
        view! {
            <nav class="mailbox-switcher" aria-label="Mailboxes">
                {options
                    .into_iter()
                    .map(|m| {
                        let href = MailLocation {
                            mailbox: Some(m.id),
                            ..Default::default()
                        }
                            .to_url();
                        let current = m.id == mailbox_id;
                        view! {
                            <a href=href class:current=current>
                                {m.display_name}
                            </a>
                        }
                    })
                    .collect_view()}
            </nav>
        }
    });

    view! {
        <nav class="folder-pane" aria-label="Folders">
            {switcher}
            {(!several)
                .then(|| {
                    view! {
                        <div class="mailbox-name" title=mailbox.name.clone()>
                            {mailbox.display_name.clone()}
                        </div>
                    }
                })}
            <ul class="folder-tree" role="tree">
                {folders
                    .into_iter()
                    .map(|folder| {
                        let id = folder.id;
                        let href = MailLocation::folder(mailbox_id, id).to_url();
                        let selected = move || {
                            let loc = location.get();
                            loc.query.is_none() && loc.folder.or(default_folder) == Some(id)
                        };
                        let is_hidden = {
                            let folder = folder.clone();
                            let hidden = hidden.clone();
                            move || hidden(&folder)
                        };
                        let is_open = move || !collapsed.get().contains(&id);
                        let toggle = move |_| {
                            collapsed
                                .update(|c| {
                                    if !c.remove(&id) {
                                        c.insert(id);
                                    }
                                })
                        };
                        let indent = format!("padding-left: {}rem", 0.5 + folder.depth as f32 * 1.0);
                        view! {
                            <li
                                role="treeitem"
                                class="folder"
                                class:selected=selected
                                class:hidden=is_hidden
                                style=indent
                                aria-expanded=move || {
                                    folder.has_children.then(|| is_open().to_string())
                                }
                            >
                                {folder
                                    .has_children
                                    .then(|| {
                                        view! {
                                            <button
                                                class="toggle"
                                                type="button"
                                                aria-label=move || {
                                                    if is_open() { "Collapse" } else { "Expand" }
                                                }
                                                on:click=toggle
                                            >
                                                {move || if is_open() { "▾" } else { "▸" }}
                                            </button>
                                        }
                                    })}
                                <a href=href class="folder-link">
                                    <span class="folder-name">{folder.name.clone()}</span>
                                    {(folder.unread > 0)
                                        .then(|| {
                                            view! {
                                                <span class="count unread" title="Unread">
                                                    {folder.unread}
                                                </span>
                                            }
                                        })}
                                    <span class="count total" title="Messages">
                                        {folder.total}
                                    </span>
                                </a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </nav>
    }
    .into_any()
}

/// Moves keyboard focus between the rows of a list: up/down arrows; Enter opens the focused row
/// (rows are links).
fn list_keys(ev: leptos::ev::KeyboardEvent) {
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
fn MessageListPane(location: Memo<MailLocation>, list: ListResource) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <div class="loading">"Loading messages…"</div> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(Some(list)) => view! { <MessageTable location list /> }.into_any(),
                    Ok(None) => {
                        view! { <p class="empty">"This mailbox has no folders yet."</p> }.into_any()
                    }
                    Err(e) => view! { <p class="error pane-error">{error_text(&e)}</p> }.into_any(),
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
                ..MailLocation::folder(mailbox, folder_id)
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
fn Row(
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

#[component]
fn SearchResults(location: Memo<MailLocation>, results: SearchResource) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <div class="loading">"Searching…"</div> }>
            {move || Suspend::new(async move {
                match results.await {
                    Ok(Some(page)) => view! { <SearchList location page /> }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(e) => view! { <p class="error pane-error">{error_text(&e)}</p> }.into_any(),
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

#[component]
fn ReaderPane(location: Memo<MailLocation>, message: MessageResource) -> impl IntoView {
    view! {
        <article class="reader-pane" aria-label="Message">
            <Transition fallback=|| view! { <div class="loading">"Opening…"</div> }>
                {move || Suspend::new(async move {
                    match message.await {
                        Ok(Some(message)) => view! { <Reader location message /> }.into_any(),
                        Ok(None) => {
                            view! { <p class="empty reader-empty">"Select a message to read it."</p> }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error pane-error">{error_text(&e)}</p> }.into_any(),
                    }
                })}
            </Transition>
        </article>
    }
}

#[component]
fn Reader(location: Memo<MailLocation>, message: MessageDetail) -> impl IntoView {
    let back_href = MailLocation {
        message: None,
        ..location.get_untracked()
    }
    .to_url();
    let id = message.id;
    let recipients = |label: &'static str, list: Vec<String>| {
        (!list.is_empty()).then(|| {
            view! {
                <div class="header-line">
                    <span class="label">{label}</span>
                    <span>{list.join(", ")}</span>
                </div>
            }
        })
    };
    let blocked = message.remote_images_blocked;
    view! {
        <div class="reader">
            <a href=back_href class="back">"← Back to the list"</a>
            <h1 class="reader-subject">
                {if message.subject.trim().is_empty() { "(no subject)".to_owned() } else { message.subject.clone() }}
            </h1>
            <div class="reader-headers">
                <div class="header-line">
                    <span class="label">"From"</span>
                    <span>
                        <strong>{message.sender.clone()}</strong>
                        {(!message.sender_address.is_empty() && message.sender_address != message.sender)
                            .then(|| format!(" <{}>", message.sender_address))}
                    </span>
                </div>
                {recipients("To", message.to.clone())}
                {recipients("Cc", message.cc.clone())}
                <div class="header-line">
                    <span class="label">"Date"</span>
                    <span>{message.date_full.clone()}</span>
                </div>
            </div>
            <div class="reader-actions">
                <a class="button" href=format!("/download/{id}/eml") download="" rel="external">
                    "Download .eml"
                </a>
                <span class="muted">{message.size.clone()}</span>
            </div>
            {(blocked > 0)
                .then(|| {
                    view! {
                        <p class="notice">
                            {if blocked == 1 {
                                "1 remote image was blocked to protect your privacy.".to_owned()
                            } else {
                                format!("{blocked} remote images were blocked to protect your privacy.")
                            }}
                        </p>
                    }
                })}
            {message.unparsed.then(|| view! {
                <p class="notice">"This message could not be read as MIME. It is archived exactly as received: download the .eml to inspect it."</p>
            })}
            {(!message.attachments.is_empty())
                .then(|| {
                    view! {
                        <ul class="attachments" aria-label="Attachments">
                            {message
                                .attachments
                                .iter()
                                .map(|a| {
                                    view! {
                                        <li>
                                            <a
                                                href=format!("/download/{id}/attachment/{}", a.index)
                                                download=""
                                                rel="external"
                                                title=a.content_type.clone()
                                            >
                                                <PaperclipIcon />
                                                " "
                                                {a.name.clone()}
                                            </a>
                                            <span class="muted">{a.size.clone()}</span>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                })}
            {if message.has_html {
                view! {
                    <iframe
                        class="message-body"
                        title="Message body"
                        sandbox="allow-popups allow-popups-to-escape-sandbox"
                        referrerpolicy="no-referrer"
                        src=format!("/mail/body/{id}")
                    ></iframe>
                }
                    .into_any()
            } else {
                view! { <pre class="plain-body">{message.text.clone().unwrap_or_default()}</pre> }.into_any()
            }}
        </div>
    }
}
