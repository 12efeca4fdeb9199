//! The pre-authenticated URL of a Graph attachment upload session (outlook-large-attachments.md):
//! `PUT` byte ranges in order with `Content-Range: bytes {start}-{end}/{total}` and no
//! Authorization header; the last range creates the attachment and answers 201 with its
//! `Location`. `DELETE` cancels the session.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::restore::{self, AttachmentRecord};
use crate::state::SimState;

/// Microsoft's advice is to keep each range under 4 MB; the simulator refuses larger ones so a
/// client that ignores it finds out.
const MAX_RANGE: usize = 4 * 1024 * 1024;

pub(crate) struct UploadSession {
    pub mailbox: String,
    /// The user as the session's creating request named it, for the Location URL.
    pub user: String,
    pub n: u64,
    pub message_id: String,
    pub record: AttachmentRecord,
    pub received: Vec<u8>,
    pub expires: Instant,
    pub expiration: String,
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// `bytes 0-2097151/3483322` as (start, end, total).
fn content_range(headers: &HeaderMap) -> Option<(u64, u64, u64)> {
    let v = headers.get(header::CONTENT_RANGE)?.to_str().ok()?.trim();
    let rest = v.strip_prefix("bytes ")?.trim();
    let (range, total) = rest.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    Some((
        a.trim().parse().ok()?,
        b.trim().parse().ok()?,
        total.trim().parse().ok()?,
    ))
}

pub async fn put_range(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mailbox = {
        let uploads = state.uploads.lock().unwrap_or_else(|e| e.into_inner());
        uploads
            .get(&id)
            .filter(|s| Instant::now() < s.expires)
            .map(|s| s.mailbox.clone())
    };
    let Some(mailbox) = mailbox else {
        state.count("upload:put", None);
        return error(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "The upload session does not exist or has expired.",
        );
    };
    state.count("upload:put", Some(&mailbox));
    let latency = state.faults().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    // The URL carries its own authorization; Microsoft says not to send the header, and a
    // request that does may be refused.
    if headers.contains_key(header::AUTHORIZATION) {
        return error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Do not send an Authorization header to the pre-authenticated upload URL.",
        );
    }
    state.arrival(&mailbox);
    if let Some(retry_after) = state.graph_admit(&mailbox) {
        state.throttle_window(&mailbox, Duration::from_secs_f64(retry_after));
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, format!("{retry_after:.3}"))],
            Json(json!({"error": {"code": "TooManyRequests", "message": "Please retry again later."}})),
        )
            .into_response();
    }
    let Some((start, end, total)) = content_range(&headers) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "The Content-Range header is missing or is not of the form bytes {start}-{end}/{total}.",
        );
    };
    let done = {
        let mut uploads = state.uploads.lock().unwrap_or_else(|e| e.into_inner());
        let Some(session) = uploads.get_mut(&id) else {
            return error(
                StatusCode::NOT_FOUND,
                "ErrorItemNotFound",
                "The upload session does not exist or has expired.",
            );
        };
        let expected = session.received.len() as u64;
        if total != session.record.size {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                &format!(
                    "The Content-Range total {total} is not the size the session was created with ({}).",
                    session.record.size
                ),
            );
        }
        if end < start || end >= total || end - start + 1 != body.len() as u64 {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                &format!(
                    "The Content-Range bytes {start}-{end}/{total} does not match the {} bytes sent.",
                    body.len()
                ),
            );
        }
        if body.len() > MAX_RANGE {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "A single PUT may carry at most 4 MB of the file.",
            );
        }
        if start != expected {
            // Ranges must come in order; the answer says where the next one starts.
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                Json(json!({
                    "error": {"code": "InvalidRange", "message": format!("The next range must start at byte {expected}.")},
                    "nextExpectedRanges": [expected.to_string()],
                })),
            )
                .into_response();
        }
        session.received.extend_from_slice(&body);
        if (session.received.len() as u64) < total {
            return (
                StatusCode::OK,
                Json(json!({
                    "@odata.context": format!(
                        "{}/api/v2.0/$metadata#Users('{}')/Messages('{}')/AttachmentSessions/$entity",
                        origin(&headers), session.user, session.message_id
                    ),
                    "ExpirationDateTime": session.expiration,
                    "nextExpectedRanges": [session.received.len().to_string()],
                })),
            )
                .into_response();
        }
        uploads.remove(&id)
    };
    let Some(session) = done else {
        return error(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "The upload session does not exist or has expired.",
        );
    };
    let mut store = state.store();
    let Some(mb) = store.get_mut(&session.mailbox) else {
        return error(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "The mailbox is gone.",
        );
    };
    let index = mb.index;
    match restore::attach(&state, mb, session.n, session.record, &session.received) {
        Ok(k) => {
            let attachment = crate::graph_restore::attachment_id(index, session.n, k);
            let location = format!(
                "{}/api/v2.0/Users('{}')/Messages('{}')/Attachments('{attachment}')",
                origin(&headers),
                session.user,
                session.message_id
            );
            (
                StatusCode::CREATED,
                [
                    (header::LOCATION, location),
                    (header::CONTENT_LENGTH, "0".into()),
                ],
            )
                .into_response()
        }
        Err(_) => error(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "The message of this upload session no longer exists.",
        ),
    }
}

fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// DELETE on the upload URL cancels the session (204).
pub async fn cancel(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    let removed = state
        .uploads
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id);
    state.count(
        "upload:delete",
        removed.as_ref().map(|s| s.mailbox.as_str()),
    );
    match removed {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "The upload session does not exist or has expired.",
        ),
    }
}
