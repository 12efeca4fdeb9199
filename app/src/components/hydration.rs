//! Marks the document once the browser has attached the reactive state to the server's HTML.
//! Browser tests wait for `<html data-hydrated="true">` before they interact with a page; a person
//! never sees it.

use leptos::prelude::*;

pub fn mark_hydrated() {
    // Effects run only in the browser, after hydration: the marker cannot appear on the server.
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            // A missing attribute only slows a browser test down: nothing to report to a person.
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
