use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::api::auth::current_user;

/// `/`: to the archive when signed in, to sign-in otherwise.
#[component]
pub fn HomePage() -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(_)) => view! { <Redirect path="/mail" /> }.into_any(),
                    Ok(None) => view! { <Redirect path="/sign-in" /> }.into_any(),
                    Err(e) => view! { <p class="error page-error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
