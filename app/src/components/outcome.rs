//! The one-line answer to an admin action, and forms that empty themselves after one.

use leptos::prelude::*;

use crate::api::admin::Outcome;
use crate::api::error::ApiError;

/// A one-line result of an action: green when done, red with the refusal's words.
#[component]
pub fn OutcomeLine(outcome: Option<Result<Outcome, ApiError>>) -> impl IntoView {
    match outcome {
        Some(Ok(o)) => {
            Some(view! { <p class="outcome ok" role="status">{o.message}</p> }.into_any())
        }
        Some(Err(e)) => {
            Some(view! { <p class="outcome error" role="alert">{e.to_string()}</p> }.into_any())
        }
        None => None,
    }
}

/// A form reference that empties its form once its action succeeds, so the next entry starts
/// clean (a refused attempt keeps what was typed).
pub fn reset_after_success(
    outcome: impl Fn() -> Option<Result<Outcome, ApiError>> + 'static,
) -> NodeRef<leptos::html::Form> {
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = outcome() {
            if let Some(form) = form.get() {
                form.reset();
            }
        }
    });
    form
}
