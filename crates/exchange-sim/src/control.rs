//! Changes to a mailbox made "in the source" while the simulator runs as its own process, so
//! browser tests can delete and move mail between two syncs as a person in Outlook would:
//!
//! ```text
//! POST /_control/{address}/delete?folder=inbox&index=0
//! POST /_control/{address}/move?folder=inbox&index=1&to=deleteditems
//! ```
//!
//! `folder` and `to` are folder ids, well-known names or paths; `index` counts the folder's items
//! oldest first. Not part of any Microsoft protocol: the simulator listens on loopback only.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use crate::state::{SimHandle, SimState};

pub async fn control(
    State(state): State<Arc<SimState>>,
    Path((address, action)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> (StatusCode, String) {
    let handle = SimHandle { state };
    let folder = params.get("folder").map_or("inbox", String::as_str);
    let index: usize = match params.get("index").map(|i| i.parse()) {
        None => 0,
        Some(Ok(i)) => i,
        Some(Err(_)) => return (StatusCode::BAD_REQUEST, "index is not a number\n".into()),
    };
    let item = match handle.list_items(&address, folder) {
        Ok(items) => match items.get(index) {
            Some(item) => *item,
            None => {
                return (
                    StatusCode::NOT_FOUND,
                    format!("{folder} has no item {index}\n"),
                )
            }
        },
        Err(e) => return (StatusCode::NOT_FOUND, format!("{e}\n")),
    };
    let done = match action.as_str() {
        "delete" => handle.delete_item(&address, item),
        "move" => match params.get("to") {
            Some(to) => handle.move_item(&address, item, to),
            None => return (StatusCode::BAD_REQUEST, "move needs to=<folder>\n".into()),
        },
        other => return (StatusCode::NOT_FOUND, format!("no action {other}\n")),
    };
    match done {
        Ok(()) => (StatusCode::OK, format!("{action} done\n")),
        Err(e) => (StatusCode::BAD_REQUEST, format!("{e}\n")),
    }
}
