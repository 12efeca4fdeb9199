use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::api::auth::{current_user, sign_in_options, sso_refusal, SignIn};
use crate::components::{PostForm, Title};

#[component]
pub fn SignInPage() -> impl IntoView {
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let sign_in = ServerAction::<SignIn>::new();
    let pending = sign_in.pending();
    // Until the page is hydrated the button stays disabled: the form only works with the app
    // running, and an enabled button that does nothing would be worse.
    let ready =
        move || !username.read().trim().is_empty() && !password.read().is_empty() && !pending.get();
    let error = move || match sign_in.value().get() {
        Some(Ok(Some(refusal))) => Some(refusal),
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    };

    // Someone already signed in has nothing to do here.
    let signed_in = Resource::new(|| (), |_| current_user());
    let options = Resource::new(|| (), |_| sign_in_options());
    let query = use_query_map();
    // Only the fixed words of a known code are shown, never text from the address.
    let sso_problem = move || query.read().get("sso").and_then(|code| sso_refusal(&code));

    view! {
        <Title text="Sign in" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                matches!(signed_in.await, Ok(Some(_))).then(|| view! { <Redirect path="/mail" /> })
            })}
        </Suspense>
        <main class="centered">
            <div class="card sign-in">
                <h1 class="brand">"Sync & Recover"</h1>
                <p class="muted">"Sign in to your mail archive."</p>
                {move || sso_problem().map(|words| view! { <p class="error" role="alert">{words}</p> })}
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        options.await.ok().flatten().map(|button| view! {
                            <a class="button primary sso-button" href="/auth/sso/start" rel="external">
                                {format!("Sign in with {}", button.label)}
                            </a>
                            <p class="muted or">"or with a local account"</p>
                        })
                    })}
                </Suspense>
                // Until hydrated the button is disabled: the form is never posted without the app.
                <PostForm
                    action=sign_in
                    args=move || {
                        ready()
                            .then(|| SignIn {
                                username: username.get_untracked(),
                                password: password.get_untracked(),
                            })
                    }
                    class="stack"
                >
                    <label for="username">"User name"</label>
                    <input
                        id="username"
                        name="username"
                        type="text"
                        autocomplete="username"
                        autocapitalize="none"
                        spellcheck="false"
                        required
                        bind:value=username
                    />
                    <label for="password">"Password"</label>
                    <input
                        id="password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        required
                        bind:value=password
                    />
                    <Show when=move || error().is_some()>
                        <p class="error" role="alert">
                            {error}
                        </p>
                    </Show>
                    <button type="submit" class="primary" disabled=move || !ready()>
                        {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </PostForm>
            </div>
        </main>
    }
}
