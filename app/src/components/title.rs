//! The page's title in the browser tab: "Mail archive · Sync & Recover".
//!
//! The server writes it into the page's `<head>` through leptos_meta. In the browser, a move to
//! another page sets it directly: leptos_meta's browser half (its head management) would be
//! carried by every bundle for this one line.

use leptos::prelude::*;

const PRODUCT: &str = "Sync & Recover";

#[component]
pub fn Title(text: &'static str) -> impl IntoView {
    let full = format!("{text} · {PRODUCT}");
    // Both halves leave the same mark in the page, an empty placeholder (what `()` renders and
    // hydrates): leptos_meta's title renders nothing there, and the browser's `()` would look for
    // a placeholder the server never wrote.
    #[cfg(feature = "ssr")]
    {
        (view! { <leptos_meta::Title text=full /> }, ())
    }
    #[cfg(not(feature = "ssr"))]
    {
        // Effects run only in the browser, after hydration.
        Effect::new(move |_| document().set_title(&full));
    }
}
