//! The end user's archive: folder tree, message list or search results, and the reader, side by
//! side on a wide screen and one at a time on a phone. Everything on it comes from the archive.

use leptos::prelude::*;
use leptos_router::components::{Form, Redirect};

pub(crate) mod folder_tree;
pub(crate) mod message_list;
pub(crate) mod reader;
pub(crate) mod search_results;

use crate::api::auth::current_user;
use crate::api::error::ApiError;
use crate::api::mail::{
    get_message, list_messages, mail_overview, search_mail, MessageDetail, MessageList, Overview,
    SearchPage,
};
use crate::components::location::{use_mail_location, MailLocation};
use crate::components::topbar::TopBar;
use crate::components::Title;
use folder_tree::FolderTree;
use message_list::MessageListPane;
use reader::ReaderPane;
use search_results::SearchResults;

pub(crate) type ListResource = Resource<Result<Option<MessageList>, ApiError>>;
pub(crate) type SearchResource = Resource<Result<Option<SearchPage>, ApiError>>;
pub(crate) type MessageResource = Resource<Result<Option<MessageDetail>, ApiError>>;

/// The screen's data. All resources are created here, once and in a fixed order: the browser
/// matches the server's serialised results to resources by creation order, so creating them
/// inside conditional or lazily evaluated parts of the view would hand one pane another's data.
#[derive(Clone, Copy)]
struct MailData {
    overview: Resource<Result<Overview, ApiError>>,
    list: ListResource,
    search: SearchResource,
    message: MessageResource,
}

#[component]
pub fn MailPage() -> impl IntoView {
    let location = use_mail_location(false);
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
                loc.within,
                loc.query,
                loc.page,
                loc.sort.unwrap_or_default(),
            )
        },
        |(within, query, page, sort)| async move {
            match query {
                Some(query) => search_mail(within, query, page, sort).await.map(Some),
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
                            <TopBar display_name=user.display_name.clone() admin_home=user.admin_home()>
                                <SearchBox location />
                            </TopBar>
                            <MailScreen location data admin_home=user.admin_home() />
                        }
                            .into_any()
                    }
                    Ok(None) => view! { <Redirect path="/sign-in" /> }.into_any(),
                    Err(e) => view! { <p class="error page-error">{e.to_string()}</p> }.into_any(),
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
    // A search narrowed to one mailbox stays narrowed when it is changed.
    let within = move || {
        location
            .get()
            .within
            .map(|w| w.to_string())
            .unwrap_or_default()
    };
    view! {
        <Form method="GET" action="/mail" attr:class="search-form" attr:role="search">
            <input type="hidden" name="m" prop:value=mailbox />
            <input type="hidden" name="w" prop:value=within />
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
fn MailScreen(
    location: Memo<MailLocation>,
    data: MailData,
    /// For someone whose roles open an admin screen, the way there from an empty archive.
    admin_home: Option<&'static str>,
) -> impl IntoView {
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
                                    {admin_home.map(|href| view! {
                                        <a href=href rel="external">"Go to the admin area"</a>
                                    })}
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
                    Err(e) => view! { <p class="error page-error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
