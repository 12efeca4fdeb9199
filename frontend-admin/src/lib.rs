//! Browser entry point of the admin screens: the same app as the mail screen's bundle, with the
//! admin pages compiled in.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
