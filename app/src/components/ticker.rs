//! A signal that moves on a timer, for screens that show background work as it goes.

use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::*;

/// Moves every `period` while `active` says so (in the browser only: on the server no effect
/// runs, so a page renders once).
pub fn ticker(
    period: Duration,
    active: impl Fn() -> bool + Send + Sync + 'static,
) -> RwSignal<u64> {
    let active = Arc::new(active);
    let tick = RwSignal::new(0u64);
    Effect::new(move |_| {
        let active = active.clone();
        let handle = set_interval_with_handle(
            move || {
                if active() {
                    tick.update(|t| *t = t.wrapping_add(1));
                }
            },
            period,
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    });
    tick
}
