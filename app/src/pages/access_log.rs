//! "Who opened my mail": every time someone other than the owner opened, downloaded or searched
//! the owner's archived mail, with their name and role, newest first.

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::api::audit::my_access_log;
use crate::api::auth::{current_user, SignOutEverywhere};
use crate::components::topbar::TopBar;
use crate::components::{PostForm, Title};

#[component]
pub fn AccessLogPage() -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    let log = Resource::new(|| (), |_| my_access_log());
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    view! {
        <Title text="Access to your mail" />
        <Suspense fallback=|| view! { <div class="loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match (user.await, log.await) {
                    (Ok(Some(user)), Ok(rows)) => {
                        let body = if rows.is_empty() {
                            view! {
                                <p class="empty">
                                    "Nobody else has opened, downloaded or searched your archived mail."
                                </p>
                            }
                                .into_any()
                        } else {
                            view! {
                                <table class="admin-table">
                                    <thead>
                                        <tr>
                                            <th>"When (UTC)"</th>
                                            <th>"Who"</th>
                                            <th>"Role"</th>
                                            <th>"What"</th>
                                            <th>"Details"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {rows
                                            .into_iter()
                                            .map(|r| view! {
                                                <tr>
                                                    <td class="nowrap">{r.when}</td>
                                                    <td>{r.actor}</td>
                                                    <td class="muted">{r.role}</td>
                                                    <td>{r.action}</td>
                                                    <td class="detail">{r.detail}</td>
                                                </tr>
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        };
                        view! {
                            <TopBar display_name=user.display_name.clone() admin_home=user.admin_home()>
                                <a class="topbar-link" href="/mail">"Back to your mail"</a>
                            </TopBar>
                            <main class="admin-page">
                                <section class="admin-section">
                                    <h1>"Access to your mail"</h1>
                                    <p class="muted">
                                        "Administrators may open archived mail to help you or when the law requires it. Each time someone other than you opens, downloads or searches your mail, it is listed here."
                                    </p>
                                    {body}
                                </section>
                                <section class="admin-section">
                                    <h2>"Your sessions"</h2>
                                    <p class="muted">
                                        "Left yourself signed in on another computer? End every session of yours, this one too."
                                    </p>
                                    <PostForm
                                        action=everywhere
                                        args=|| Some(SignOutEverywhere {})
                                        class="inline-form"
                                    >
                                        <button type="submit">"Sign out on every device"</button>
                                    </PostForm>
                                </section>
                            </main>
                        }
                            .into_any()
                    }
                    (Ok(None), _) => view! { <Redirect path="/sign-in" /> }.into_any(),
                    (Err(e), _) | (_, Err(e)) => {
                        view! { <p class="error page-error">{e.to_string()}</p> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
