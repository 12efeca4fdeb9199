use leptos::prelude::*;

use crate::api::auth::SignOut;
use crate::components::PostForm;

/// The bar across the top: the product, an optional middle part (search), who is signed in.
#[component]
pub fn TopBar(
    display_name: String,
    /// Where the "Admin" link goes, for users whose roles open an admin screen.
    admin_home: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <header class="topbar">
            <a class="brand" href="/mail">
                "Sync & Recover"
            </a>
            <div class="topbar-middle">{children()}</div>
            {admin_home
                .map(|href| {
                    view! {
                        // A full page load: the admin screens are a bundle of their own.
                        <a class="topbar-link" href=href rel="external">
                            "Admin"
                        </a>
                    }
                })}
            <a class="topbar-link muted" href="/access-log" title="Who else opened your mail">
                "Access log"
            </a>
            <span class="muted user-name">{display_name}</span>
            <PostForm action=sign_out args=|| Some(SignOut {})>
                <button type="submit" class="link">
                    "Sign out"
                </button>
            </PostForm>
        </header>
    }
}
