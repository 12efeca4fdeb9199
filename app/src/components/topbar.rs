use leptos::prelude::*;

use crate::api::auth::SignOut;

/// The bar across the top: the product, an optional middle part (search), who is signed in.
#[component]
pub fn TopBar(
    display_name: String,
    /// Administrators get a link between their archive and the admin area.
    #[prop(optional)]
    is_admin: bool,
    children: Children,
) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <header class="topbar">
            <a class="brand" href="/mail">
                "Sync & Recover"
            </a>
            <div class="topbar-middle">{children()}</div>
            {is_admin
                .then(|| {
                    view! {
                        <a class="topbar-link" href="/admin/tasks">
                            "Admin"
                        </a>
                    }
                })}
            <span class="muted user-name">{display_name}</span>
            <ActionForm action=sign_out>
                <button type="submit" class="link">
                    "Sign out"
                </button>
            </ActionForm>
        </header>
    }
}
