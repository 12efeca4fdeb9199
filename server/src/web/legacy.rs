//! The endpoint the legacy agents submit to:
//!
//! ```text
//! POST /legacy/v1/submissions
//! Authorization: Bearer srla_…            (an agent token an administrator created)
//! Content-Type: application/json          (legacy::Submission, at most 8 MiB)
//! ```
//!
//! Answers JSON: 200 with the receipt (also for a repeat of a submission id, marked
//! `duplicate`, and for a migrated user, marked `ignored`); 400 with `message`, `problems` and
//! `count` for a malformed one; 401 without a live token; 405 for another method; 413 past the
//! size limit. Sessions and cookies play no part: the token is the only proof.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use legacy::{Submission, MAX_SUBMISSION_BYTES};

use super::WebState;

fn answer(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "message": message }))).into_response()
}

pub(crate) async fn submissions(
    State(state): State<WebState>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let agent = match token {
        Some(token) => match state.ctx.access.agent(token).await {
            Ok(agent) => agent,
            Err(e) => {
                tracing::error!(error = %e, "legacy agent authentication failed");
                return answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The archive is unavailable right now; submit again later.",
                );
            }
        },
        None => None,
    };
    let Some(agent) = agent else {
        let mut response = answer(
            StatusCode::UNAUTHORIZED,
            "A live agent token is needed (Authorization: Bearer srla_…); an administrator creates one on the Legacy migration screen.",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return response;
    };
    if method != Method::POST {
        return answer(StatusCode::METHOD_NOT_ALLOWED, "Submissions are POSTed.");
    }
    let bytes = match axum::body::to_bytes(body, MAX_SUBMISSION_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("A submission may be at most {MAX_SUBMISSION_BYTES} bytes: split it."),
            )
        }
    };
    let submission = match Submission::parse(&bytes) {
        Ok(s) => s,
        Err(refusal) => {
            tracing::warn!(
                agent = agent.agent().id,
                problems = refusal.count,
                "legacy submission refused"
            );
            return (StatusCode::BAD_REQUEST, Json(refusal)).into_response();
        }
    };
    match agent.submit(&submission).await {
        Ok(receipt) => Json(receipt).into_response(),
        Err(access::AccessError::Invalid { message, .. }) => {
            answer(StatusCode::BAD_REQUEST, &message)
        }
        Err(e) => {
            tracing::error!(error = %e, "legacy submission failed");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "The archive is unavailable right now; submit again later.",
            )
        }
    }
}
