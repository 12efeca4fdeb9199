//! A form that calls a server function, without leptos' `ActionForm`.
//!
//! `ActionForm` reads the function's arguments out of the form's fields with serde_qs, whose
//! reader alone was about 4% of the mail screen's bundle, for forms whose fields are already
//! signals or which have none.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// Before the page is hydrated, a plain POST to the function's address (the server answers a
/// browser's form post with the function's redirect). After, submitting runs `action` with what
/// `args` gives, and nothing when it gives nothing.
#[component]
pub fn PostForm<S, A>(
    action: ServerAction<S>,
    args: A,
    #[prop(optional)] class: Option<&'static str>,
    children: Children,
) -> impl IntoView
where
    S: ServerFn + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
    A: Fn() -> Option<S> + 'static,
{
    view! {
        <form
            class=class
            method="post"
            action=S::url()
            on:submit=move |ev| {
                ev.prevent_default();
                if let Some(input) = args() {
                    action.dispatch(input);
                }
            }
        >
            {children()}
        </form>
    }
}
