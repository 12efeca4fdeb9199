//! The frame around every admin page: top bar, section tabs, and the check that the visitor is
//! an administrator (the server refuses the calls anyway; this spares others the trouble).

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::api::auth::current_user;
use crate::components::topbar::TopBar;

/// Signed-out visitors go to sign-in; signed-in users who are not administrators are told.
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
                    Err(e) => view! { <p class="error page-error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
