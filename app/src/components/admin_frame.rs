//! The frame around every admin page: top bar, section tabs, and the check that the visitor is
//! an administrator (the server refuses the calls anyway; this spares others the trouble).

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::api::auth::{current_user, ADMIN_SCREENS};
use crate::components::topbar::TopBar;

/// Signed-out visitors go to sign-in. The tabs are the admin screens the user's roles open;
/// a page outside them says so (the server refuses its calls anyway).
#[component]
pub fn AdminFrame(
    /// The permission this page needs, as in [`ADMIN_SCREENS`].
    permission: &'static str,
    /// Full width, for the explorer's three panes.
    #[prop(optional)]
    wide: bool,
    /// The admin tab this page belongs to, when it is not its permission's (a mailbox's
    /// snapshots and calendar are under "Mailboxes").
    #[prop(optional)]
    section: Option<&'static str>,
    children: ChildrenFn,
) -> impl IntoView {
    let section = section.unwrap_or(permission);
    let user = Resource::new(|| (), |_| current_user());
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <div class="loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) if user.holds(permission) => {
                        let tabs = ADMIN_SCREENS
                            .iter()
                            .filter(|(p, _, _)| user.holds(p))
                            .map(|(p, href, label)| {
                                view! {
                                    <a href=*href class:current=*p == section>
                                        {*label}
                                    </a>
                                }
                            })
                            .collect_view();
                        view! {
                            <TopBar display_name=user.display_name.clone() admin_home=user.admin_home()>
                                <span></span>
                            </TopBar>
                            // A row of its own: nine screens do not fit beside the brand and the
                            // account menu, and a row scrolls sideways on a narrow window.
                            <nav class="admin-tabs" aria-label="Administration">
                                {tabs}
                            </nav>
                            <main class="admin-page" class:wide=wide>{children.with_value(|c| c())}</main>
                        }
                            .into_any()
                    }
                    Ok(Some(user)) => {
                        let (title, text) = if user.admin_home().is_some() {
                            ("Not part of your role", "Your roles do not include this screen.")
                        } else {
                            ("Administrators only", "Your account cannot manage connections, sync tasks or the audit log.")
                        };
                        view! {
                            <TopBar display_name=user.display_name.clone() admin_home=user.admin_home()>
                                <span></span>
                            </TopBar>
                            <main class="centered">
                                <div class="card">
                                    <h1>{title}</h1>
                                    <p class="muted">{text}</p>
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
