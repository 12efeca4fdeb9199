use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::api::auth::{current_user, SignOut};

#[component]
pub fn HomePage() -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    let sign_out = ServerAction::<SignOut>::new();

    view! {
        <Title text="Archive" />
        <Suspense fallback=|| view! { <p class="muted centered">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) => {
                        view! {
                            <header class="topbar">
                                <span class="brand">"Sync & Recover"</span>
                                <span class="spacer"></span>
                                <span class="muted">{user.display_name.clone()}</span>
                                <ActionForm action=sign_out>
                                    <button type="submit" class="link">"Sign out"</button>
                                </ActionForm>
                            </header>
                            <main class="centered">
                                <div class="card">
                                    <h1>{format!("Welcome, {}", user.display_name)}</h1>
                                    <p class="muted">
                                        "Signed in as " <strong>{user.username.clone()}</strong> "."
                                    </p>
                                </div>
                            </main>
                        }
                            .into_any()
                    }
                    Ok(None) => view! { <Redirect path="/sign-in" /> }.into_any(),
                    Err(e) => {
                        view! {
                            <main class="centered">
                                <p class="error">{crate::pages::sign_in::error_text(&e)}</p>
                            </main>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}
