//! One mailbox in the explorer: the end user's three panes (folders, list or search results,
//! reader), now or as of the instant in the URL (`at`), so a link shows the same state to
//! whoever may open it.

use leptos::prelude::*;
use leptos_router::components::Form;

use super::header::{ChooseMailbox, ExplorerHeader, Tab};
use crate::api::error::ApiError;
use crate::api::explorer::{
    explorer_message, explorer_messages, explorer_overview, explorer_search, ExplorerView,
};
use crate::components::admin_frame::AdminFrame;
use crate::components::location::{use_mail_location, MailLocation};
use crate::components::Title;
use crate::pages::mail::folder_tree::FolderTree;
use crate::pages::mail::message_list::MessageListPane;
use crate::pages::mail::reader::ReaderPane;
use crate::pages::mail::search_results::SearchResults;
use crate::pages::mail::{ListResource, MessageResource, SearchResource};

#[component]
pub fn ExplorerMailboxPage() -> impl IntoView {
    view! {
        <Title text="Mailbox" />
        <AdminFrame permission="browse_mail" wide=true>
            <Explorer />
        </AdminFrame>
    }
}

#[component]
fn Explorer() -> impl IntoView {
    let location = use_mail_location(true);
    // Created once and in a fixed order (see `pages::mail::MailData`).
    let overview: Resource<Result<Option<ExplorerView>, ApiError>> = Resource::new(
        move || {
            let loc = location.get();
            (loc.mailbox, loc.at)
        },
        |(mailbox, at)| async move {
            match mailbox {
                Some(m) => explorer_overview(m, at).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let list: ListResource = Resource::new(
        move || {
            let loc = location.get();
            (
                loc.mailbox,
                loc.folder,
                loc.sort.unwrap_or_default(),
                loc.after,
                loc.at,
                loc.query.is_some(),
            )
        },
        |(mailbox, folder, sort, after, at, searching)| async move {
            match mailbox {
                Some(m) if !searching => explorer_messages(m, folder, sort, after, at).await,
                _ => Ok(None),
            }
        },
    );
    let search: SearchResource = Resource::new(
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
            match (mailbox, query) {
                (Some(m), Some(q)) => explorer_search(m, q, page, sort).await.map(Some),
                _ => Ok(None),
            }
        },
    );
    let message: MessageResource = Resource::new(
        move || location.get().message,
        |id| async move {
            match id {
                Some(id) => explorer_message(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let reading = move || location.get().message.is_some();

    view! {
        <div class="explorer">
            <Suspense fallback=|| view! { <div class="loading">"Opening the mailbox…"</div> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(None) => view! { <ChooseMailbox /> }
                            .into_any(),
                        Ok(Some(view_data)) => {
                            let empty = view_data
                                .instant
                                .as_ref()
                                .is_some_and(|i| i.before_first_sync);
                            let mailbox = view_data.overview.mailbox.clone();
                            let (id, name) = mailbox
                                .map(|m| (m.id, m.display_name))
                                .unwrap_or_default();
                            view! {
                                <ExplorerHeader
                                    mailbox_id=id
                                    display_name=name
                                    owner=view_data.owner.clone()
                                    tab=Tab::Mail
                                    instant=view_data.instant.clone()
                                    can_snapshot=view_data.can_snapshot
                                    can_browse_calendars=view_data.can_browse_calendars
                                />
                                {if empty {
                                    view! { <p class="empty-note explorer-empty">"Nothing to show at that instant."</p> }.into_any()
                                } else {
                                    view! {
                                        <div class="explorer-tools">
                                            <SearchBar location mailbox=id />
                                            {view_data.can_export.then(|| view! { <JobLink location mailbox=id page="/admin/export" label="Export…" /> })}
                                            {view_data.can_restore.then(|| view! { <JobLink location mailbox=id page="/admin/restore" label="Restore…" /> })}
                                        </div>
                                        <div class="mail-layout" class:reading=reading>
                                            <FolderTree location overview=view_data.overview.clone() />
                                            <section class="list-pane" aria-label="Messages">
                                                {move || {
                                                    if location.get().query.is_some() {
                                                        view! { <SearchResults location results=search /> }.into_any()
                                                    } else {
                                                        view! { <MessageListPane location list /> }.into_any()
                                                    }
                                                }}
                                            </section>
                                            <ReaderPane location message />
                                        </div>
                                    }
                                        .into_any()
                                }}
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error page-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// Export or restore (`page`) of the folder shown (with its subfolders) or, before one is
/// chosen, of the whole mailbox, at the instant shown.
#[component]
fn JobLink(
    location: Memo<MailLocation>,
    mailbox: i64,
    page: &'static str,
    label: &'static str,
) -> impl IntoView {
    let href = move || {
        let loc = location.get();
        let mut href = format!("{page}?m={mailbox}");
        if let Some(folder) = loc.folder {
            href.push_str(&format!("&folder={folder}"));
        }
        if let Some(at) = loc.at {
            href.push_str(&format!("&at={}", super::header::urlencode(&at)));
        }
        href
    };
    view! { <a class="button job-link" href=href>{label}</a> }
}

#[component]
fn SearchBar(location: Memo<MailLocation>, mailbox: i64) -> impl IntoView {
    let query = move || location.get().query.unwrap_or_default();
    view! {
        <Form method="GET" action="/admin/mailbox" attr:class="search-form explorer-search" attr:role="search">
            <input type="hidden" name="m" value=mailbox.to_string() />
            <input
                type="search"
                name="q"
                placeholder="Search this mailbox (words, from:, subject:, has:attachment, after:…)"
                aria-label="Search this mailbox"
                prop:value=query
            />
        </Form>
    }
}
