//! The audit log as a CSV file, for those whose role includes the audit log.

use std::collections::HashMap;
use std::net::SocketAddr;

use app::api::audit::ssr::{action_words, filter};
use app::format::precise_date;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use super::{caller, refusal, WebState};

/// A CSV field: quoted when it holds a separator, a quote or a line break; a leading `=`, `+`,
/// `-` or `@` is prefixed with `'` so a spreadsheet never runs it as a formula.
pub(super) fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// At most this many entries per file: narrow the filters for more.
const MAX_ROWS: u32 = 10_000;

pub async fn audit_csv(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let ctx = &state.ctx;
    let caller = match caller(ctx, peer, &headers).await {
        Ok(c) => c,
        Err(e) => return refusal(e),
    };
    let get = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
    let filter = match filter(
        get("actor"),
        get("action"),
        get("mailbox"),
        get("from"),
        get("until"),
        None,
    ) {
        Ok(f) => f,
        Err(e) => return refusal(e),
    };
    let entries = match caller.audit() {
        Ok(audit) => match audit.list(&filter, MAX_ROWS).await {
            Ok(entries) => entries,
            Err(e) => return refusal(e.into()),
        },
        Err(e) => return refusal(e.into()),
    };
    let mut out =
        String::from("seq,when_utc,actor,role,client,action,mailbox,detail,outcome,hash\r\n");
    for e in &entries {
        let cells = [
            e.seq.to_string(),
            precise_date(e.at),
            e.actor.clone(),
            e.actor_role.clone(),
            e.client_address.clone(),
            action_words(&e.action),
            e.target_owner.clone(),
            e.detail.clone(),
            e.outcome.clone(),
            e.hash.clone(),
        ];
        let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit-log.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        out,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
