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
use axum::extract::{FromRequest, State};
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

/// An upload of a file to import, from the Legacy migration screen's form
/// (`multipart/form-data`, field `file`). Streamed to disk one chunk at a time, stopped at the
/// configured limit; the browser is sent back to the screen with what happened.
pub(crate) async fn upload(
    State(state): State<WebState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    method: Method,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Response {
    let caller = match super::caller(&state.ctx, peer, &headers).await {
        Ok(c) => c,
        Err(e) => return super::refusal(e),
    };
    let desk = match caller.legacy() {
        Ok(d) => d,
        Err(e) => return super::refusal(e.into()),
    };
    if method != Method::POST {
        return answer(StatusCode::METHOD_NOT_ALLOWED, "Uploads are POSTed.");
    }
    let back = |query: String| {
        axum::response::Redirect::to(&format!("/admin/legacy?{query}")).into_response()
    };
    let said = |key: &str, text: &str| format!("{key}={}", urlencoding(text));
    let mut multipart = match axum::extract::Multipart::from_request(request, &state).await {
        Ok(m) => m,
        Err(e) => {
            return back(said(
                "upload_error",
                &format!("The upload could not be read: {e}."),
            ))
        }
    };
    let limit = state.upload_limit;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return back(said("upload_error", "Choose a file to upload.")),
            Err(e) => return back(said("upload_error", &format!("The upload broke off: {e}."))),
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_owned();
        let target = match desk.upload_target(&name) {
            Ok(t) => t,
            Err(e) => return back(said("upload_error", &e.to_string())),
        };
        if target.exists() {
            return back(said(
                "upload_error",
                &format!("A file named “{name}” is waiting in the import folder already."),
            ));
        }
        match write_field(field, &target, limit).await {
            Ok(bytes) => {
                if let Err(e) = desk.uploaded(&name, bytes).await {
                    tracing::error!(error = %e, "upload not in the audit log");
                }
                return back(said("uploaded", &name));
            }
            Err(why) => return back(said("upload_error", &why)),
        }
    }
}

/// Writes the field to `NAME.part` beside the target and renames it once whole: a file in the
/// import folder is always complete.
async fn write_field(
    mut field: axum::extract::multipart::Field<'_>,
    target: &std::path::Path,
    limit: u64,
) -> Result<u64, String> {
    use tokio::io::AsyncWriteExt;
    let folder = target.parent().unwrap_or(std::path::Path::new("."));
    tokio::fs::create_dir_all(folder)
        .await
        .map_err(|e| format!("The import folder cannot be written: {e}."))?;
    let part = target.with_extension(format!(
        "{}part",
        target
            .extension()
            .map(|e| format!("{}.", e.to_string_lossy()))
            .unwrap_or_default()
    ));
    let mut file = tokio::fs::File::create(&part)
        .await
        .map_err(|e| format!("The import folder cannot be written: {e}."))?;
    let mut written = 0u64;
    let outcome: Result<(), String> = async {
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| format!("The upload broke off: {e}."))?
        {
            written += chunk.len() as u64;
            if written > limit {
                return Err(format!(
                    "The file is larger than the upload limit of {} MB (worker.upload_limit_mb); copy it into the import folder on the server instead.",
                    limit / (1024 * 1024)
                ));
            }
            file.write_all(&chunk)
                .await
                .map_err(|e| format!("The file cannot be written: {e}."))?;
        }
        file.sync_all()
            .await
            .map_err(|e| format!("The file cannot be written: {e}."))?;
        Ok(())
    }
    .await;
    if let Err(why) = outcome {
        let _ = tokio::fs::remove_file(&part).await;
        return Err(why);
    }
    tokio::fs::rename(&part, target)
        .await
        .map_err(|e| format!("The file cannot be written: {e}."))?;
    Ok(written)
}

/// Percent-encoding for a query value (what a redirect carries back to the screen).
fn urlencoding(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
