//! A mailbox's contacts in the explorer (`/admin/mailbox/contacts`): the address book as a list
//! to filter, and a card with every field and the photo, now or as of the instant in the URL.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::header::{urlencode, ChooseMailbox, ExplorerHeader, Tab};
use crate::api::calendars::{
    contact_card, contact_list, contacts_open, AddressBookPage, ContactView,
};
use crate::api::error::ApiError;
use crate::components::admin_frame::AdminFrame;
use crate::components::Title;

#[component]
pub fn ContactsPage() -> impl IntoView {
    view! {
        <Title text="Contacts" />
        <AdminFrame permission="browse_calendars" section="browse_mail" wide=true>
            <Contacts />
        </AdminFrame>
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ContactsLocation {
    mailbox: Option<i64>,
    at: Option<String>,
    contact: Option<i64>,
}

impl ContactsLocation {
    fn with_contact(&self, contact: Option<i64>) -> String {
        let mut url = format!(
            "/admin/mailbox/contacts?m={}",
            self.mailbox.unwrap_or_default()
        );
        if let Some(at) = &self.at {
            url.push_str(&format!("&at={}", urlencode(at)));
        }
        if let Some(c) = contact {
            url.push_str(&format!("&c={c}"));
        }
        url
    }
}

#[component]
fn Contacts() -> impl IntoView {
    let query = use_query_map();
    let location = Memo::new(move |_| {
        query.with(|q| ContactsLocation {
            mailbox: q.get("m").and_then(|m| m.parse().ok()),
            at: q.get("at").filter(|a| !a.is_empty()),
            contact: q.get("c").and_then(|c| c.parse().ok()),
        })
    });
    let opened = Resource::new(
        move || {
            let l = location.get();
            (l.mailbox, l.at)
        },
        |(mailbox, at)| async move {
            match mailbox {
                Some(m) => contacts_open(m, at).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let list: Resource<Result<Option<AddressBookPage>, ApiError>> = Resource::new(
        move || {
            let l = location.get();
            (l.mailbox, l.at)
        },
        |(mailbox, at)| async move {
            match mailbox {
                Some(m) => contact_list(m, at).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let card: Resource<Result<Option<ContactView>, ApiError>> = Resource::new(
        move || {
            let l = location.get();
            (l.mailbox, l.contact)
        },
        |(mailbox, contact)| async move {
            match (mailbox, contact) {
                (Some(m), Some(c)) => contact_card(m, c).await.map(Some),
                _ => Ok(None),
            }
        },
    );
    view! {
        <div class="explorer">
            <Suspense fallback=|| view! { <div class="loading">"Opening the contacts…"</div> }>
                {move || Suspend::new(async move {
                    match opened.await {
                        Ok(None) => view! { <ChooseMailbox /> }
                            .into_any(),
                        Ok(Some(o)) => {
                            let empty = o.instant.as_ref().is_some_and(|i| i.before_first_sync);
                            view! {
                                <ExplorerHeader
                                    mailbox_id=o.mailbox_id
                                    display_name=o.display_name.clone()
                                    owner=o.owner.clone()
                                    tab=Tab::Contacts
                                    instant=o.instant.clone()
                                    can_snapshot=o.can_snapshot
                                    can_browse_calendars=true
                                />
                                {if empty {
                                    view! { <p class="empty-note explorer-empty">"Nothing to show at that instant."</p> }.into_any()
                                } else {
                                    view! { <AddressBook location list card /> }.into_any()
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

#[component]
fn AddressBook(
    location: Memo<ContactsLocation>,
    list: Resource<Result<Option<AddressBookPage>, ApiError>>,
    card: Resource<Result<Option<ContactView>, ApiError>>,
) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    view! {
        <div class="contacts-layout">
            <section class="contact-list" aria-label="Contacts">
                <input
                    type="search"
                    class="filter"
                    placeholder="Find a contact by name, address or company"
                    aria-label="Find a contact"
                    on:input=move |ev| filter.set(event_target_value(&ev))
                    prop:value=filter
                />
                <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
                    {move || Suspend::new(async move {
                        match list.await {
                            Ok(Some(all)) if all.contacts.is_empty() => view! {
                                <p class="empty-note">"This mailbox has no contacts at this instant."</p>
                            }
                                .into_any(),
                            Ok(Some(all)) => view! { <ContactRows all location filter /> }.into_any(),
                            Ok(None) => ().into_any(),
                            Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
            <section class="contact-pane" aria-label="Contact">
                <Transition fallback=|| view! { <div class="loading">"Opening…"</div> }>
                    {move || Suspend::new(async move {
                        match card.await {
                            Ok(Some(c)) => view! { <ContactCardView c /> }.into_any(),
                            Ok(None) => view! { <p class="empty-note">"Choose a contact to see its card."</p> }.into_any(),
                            Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </div>
    }
}

#[component]
fn ContactRows(
    all: AddressBookPage,
    location: Memo<ContactsLocation>,
    filter: RwSignal<String>,
) -> impl IntoView {
    let total = all.contacts.len();
    let without = all.without_details;
    let contacts = StoredValue::new(all.contacts);
    let shown = move || {
        let words = filter.get().to_lowercase();
        contacts
            .read_value()
            .iter()
            .filter(|c| {
                let hay = format!("{} {} {}", c.name, c.email, c.company).to_lowercase();
                words.split_whitespace().all(|w| hay.contains(w))
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    view! {
        <ul class="contact-rows">
            {move || {
                let l = location.get();
                shown()
                    .into_iter()
                    .map(|c| {
                        let selected = l.contact == Some(c.item_id);
                        view! {
                            <li>
                                <a href=l.with_contact(Some(c.item_id)) class:selected=selected>
                                    <span class="avatar" aria-hidden="true">{c.initials.clone()}</span>
                                    <span class="contact-line">
                                        <span class="contact-name">{c.name.clone()}</span>
                                        <span class="muted small">
                                            {[c.email.clone(), c.company.clone()]
                                                .into_iter()
                                                .filter(|p| !p.is_empty())
                                                .collect::<Vec<_>>()
                                                .join(" · ")}
                                        </span>
                                    </span>
                                </a>
                            </li>
                        }
                    })
                    .collect_view()
            }}
        </ul>
        <p class="muted small">
            {move || format!("{} of {total} contacts", shown().len())}
            {(without > 0).then(|| format!(" · {without} archived before their details were kept"))}
        </p>
    }
}

fn rows(items: Vec<crate::api::calendars::Labelled>) -> impl IntoView {
    items
        .into_iter()
        .map(|i| {
            view! {
                <dt>{i.label}</dt>
                <dd>{i.value}</dd>
            }
        })
        .collect_view()
}

#[component]
fn ContactCardView(c: ContactView) -> impl IntoView {
    let portrait = match c.photo.clone() {
        Some(src) => view! { <img class="contact-photo" src=src alt=format!("Photo of {}", c.name) /> }
            .into_any(),
        None => view! { <span class="contact-photo avatar large" aria-hidden="true">{c.initials.clone()}</span> }
            .into_any(),
    };
    let addresses = c
        .addresses
        .iter()
        .map(|a| {
            let lines = a
                .lines
                .iter()
                .map(|l| view! { <span>{l.clone()}</span><br /> })
                .collect_view();
            view! {
                <dt>{a.label.clone()}</dt>
                <dd><address>{lines}</address></dd>
            }
        })
        .collect_view();
    view! {
        <article class="contact-card">
            <header class="contact-head">
                {portrait}
                <div>
                    <h2>{c.name.clone()}</h2>
                    {(!c.work.is_empty()).then(|| view! { <p class="muted">{c.work.clone()}</p> })}
                </div>
            </header>
            {(!c.details_kept).then(|| view! {
                <p class="muted small">"Archived before properties were kept: only the name and first address are known here. The item itself is in the archive."</p>
            })}
            {c.details_kept.then(|| view! {
                <p class="card-actions">
                    <a class="button" href=format!("/admin/download/{}/vcf", c.item_id) download="" rel="external">"Download .vcf"</a>
                </p>
            })}
            <dl class="contact-facts">
                {rows(c.emails.clone())}
                {rows(c.phones.clone())}
                {addresses}
                {c.web_page.clone().map(|href| {
                    let text = href.clone();
                    view! {
                        <dt>"Web page"</dt>
                        <dd><a href=href rel="noopener noreferrer nofollow" target="_blank">{text}</a></dd>
                    }
                })}
                {rows(c.other.clone())}
                {(!c.categories.is_empty()).then(|| view! { <dt>"Categories"</dt><dd>{c.categories.join(", ")}</dd> })}
            </dl>
            {(!c.notes.is_empty()).then(|| view! {
                <h3>"Notes"</h3>
                <pre class="event-body">{c.notes.clone()}</pre>
            })}
        </article>
    }
}
