//! One message: headers, the sanitised body in a sandboxed frame, attachments.

use leptos::prelude::*;

use crate::api::mail::MessageDetail;
use crate::components::icons::PaperclipIcon;
use crate::components::location::MailLocation;

use super::MessageResource;

#[component]
pub(crate) fn ReaderPane(location: Memo<MailLocation>, message: MessageResource) -> impl IntoView {
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
                        Err(e) => view! { <p class="error pane-error">{e.to_string()}</p> }.into_any(),
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
    let prefix = location.get_untracked().content_prefix();
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
    // "Show images" reloads the frame with the images the server fetched for this message.
    let show_images = RwSignal::new(false);
    let body_src = move || {
        if show_images.get() {
            format!("{prefix}/mail/body/{id}?images=1")
        } else {
            format!("{prefix}/mail/body/{id}")
        }
    };
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
                    <span>
                        {message.date_full.clone()}
                        {message.date_note.clone().map(|note| view! { <span class="muted date-note">" ("{note}")"</span> })}
                    </span>
                </div>
            </div>
            <div class="reader-actions">
                <a class="button" href=format!("{prefix}/download/{id}/eml") download="" rel="external">
                    "Download .eml"
                </a>
                <span class="muted">{message.size.clone()}</span>
            </div>
            {(blocked > 0)
                .then(|| {
                    view! {
                        <p class="notice images-notice">
                            <span>
                                {move || if show_images.get() {
                                    "Remote images are shown, loaded through the archive: the sender cannot see you.".to_owned()
                                } else if blocked == 1 {
                                    "1 remote image was blocked to protect your privacy.".to_owned()
                                } else {
                                    format!("{blocked} remote images were blocked to protect your privacy.")
                                }}
                            </span>
                            <Show when=move || !show_images.get()>
                                <button type="button" class="link show-images" on:click=move |_| show_images.set(true)>
                                    "Show images"
                                </button>
                            </Show>
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
                                                href=format!("{prefix}/download/{id}/attachment/{}", a.index)
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
                        src=body_src
                    ></iframe>
                }
                    .into_any()
            } else {
                view! { <pre class="plain-body">{message.text.clone().unwrap_or_default()}</pre> }.into_any()
            }}
        </div>
    }
}
