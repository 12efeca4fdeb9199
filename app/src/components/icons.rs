//! Small inline icons: no icon font or emoji font needed on the machine showing the page.

use leptos::prelude::*;

#[component]
pub fn PaperclipIcon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 16 16" width="13" height="13" aria-hidden="true">
            <path
                d="M10.5 4.5 5.8 9.2a1.25 1.25 0 0 0 1.8 1.8l5-5a2.5 2.5 0 0 0-3.6-3.6l-5 5a3.75 3.75 0 0 0 5.3 5.3l4.2-4.2"
                fill="none"
                stroke="currentColor"
                stroke-width="1.4"
                stroke-linecap="round"
            />
        </svg>
    }
}
