//! The administrator's area: server connections and sync tasks. The server refuses every call
//! from a non-administrator; the pages only spare them the trouble.

pub mod connections;
pub mod tasks;

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::api::auth::current_user;
use crate::components::topbar::TopBar;
use crate::pages::sign_in::error_text;

/// The frame around every admin page: top bar, section tabs, and the check that the visitor is
/// an administrator (signed-out visitors go to sign-in, others are told).
#[component]
pub fn AdminFrame(current: &'static str, children: ChildrenFn) -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <div class="loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) if user.is_admin => {
                        view! {
                            <TopBar display_name=user.display_name is_admin=true>
                                <nav class="admin-tabs" aria-label="Administration">
                                    <a href="/admin/connections" class:current=current == "connections">
                                        "Server connections"
                                    </a>
                                    <a href="/admin/tasks" class:current=current == "tasks">
                                        "Sync tasks"
                                    </a>
                                </nav>
                            </TopBar>
                            <main class="admin-page">{children.with_value(|c| c())}</main>
                        }
                            .into_any()
                    }
                    Ok(Some(user)) => {
                        view! {
                            <TopBar display_name=user.display_name is_admin=false>
                                <span></span>
                            </TopBar>
                            <main class="centered">
                                <div class="card">
                                    <h1>"Administrators only"</h1>
                                    <p class="muted">"Your account cannot manage connections or sync tasks."</p>
                                    <a href="/mail">"Go to your archive"</a>
                                </div>
                            </main>
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

/// A one-line result of an admin action, green or red.
#[component]
pub fn OutcomeLine(
    outcome: Option<Result<crate::api::admin::Outcome, ServerFnError>>,
) -> impl IntoView {
    match outcome {
        Some(Ok(o)) if o.ok => {
            Some(view! { <p class="outcome ok" role="status">{o.message}</p> }.into_any())
        }
        Some(Ok(o)) => {
            Some(view! { <p class="outcome error" role="alert">{o.message}</p> }.into_any())
        }
        Some(Err(e)) => {
            Some(view! { <p class="outcome error" role="alert">{error_text(&e)}</p> }.into_any())
        }
        None => None,
    }
}

/// A form reference that empties its form once its action succeeds, so the next entry starts
/// clean (a failed attempt keeps what was typed).
pub fn reset_after_success(
    outcome: impl Fn() -> Option<Result<crate::api::admin::Outcome, ServerFnError>> + 'static,
) -> NodeRef<leptos::html::Form> {
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(outcome)) = outcome() {
            if outcome.ok {
                if let Some(form) = form.get() {
                    form.reset();
                }
            }
        }
    });
    form
}
