//! An export's file and a job's report, as downloads. The file streams part after part, so a
//! download of any size holds one part in memory; each download is in the audit log with the
//! digest of the bag's manifest (`ExportDesk::download`).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::audit::field;
use super::mail::content_disposition;
use super::{caller, refusal, WebState};

fn file_headers(name: &str, size: u64) -> [(header::HeaderName, HeaderValue); 5] {
    let kind = if name.ends_with(".zip") {
        "application/zip"
    } else {
        "application/octet-stream"
    };
    [
        (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
        (header::CONTENT_DISPOSITION, content_disposition(name)),
        (
            header::CONTENT_LENGTH,
            HeaderValue::from_str(&size.to_string()).unwrap_or(HeaderValue::from_static("0")),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        ),
    ]
}

/// The whole file of a finished export.
pub async fn export_file(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(job): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&state.ctx, peer, &headers).await {
        Ok(c) => c,
        Err(e) => return refusal(e),
    };
    let download = match async { caller.exports()?.download(job, None).await }.await {
        Ok(d) => d,
        Err(e) => return refusal(e.into()),
    };
    let name = download.file.file_name.clone();
    let size = download.file.size;
    let chunks = download.file.chunks();
    (file_headers(&name, size), stream_chunks(download, chunks)).into_response()
}

/// The chunks, read in order as the client takes them, each a segment at a time; a chunk that
/// cannot be read ends the stream with an error, so the client sees a broken download, never a
/// short file.
fn stream_chunks(download: access::ExportDownload, chunks: Vec<(usize, usize)>) -> Body {
    use futures_util::{StreamExt, TryStreamExt};
    let download = std::sync::Arc::new(download);
    let failed = |e: String| std::io::Error::other(e);
    let stream = futures_util::stream::iter(chunks)
        .then(move |(part, chunk)| {
            let download = download.clone();
            async move { download.chunk(part, chunk).await }
        })
        .map_err(move |e| failed(e.to_string()))
        .map_ok(move |bytes| bytes.map_err(move |e| failed(e.to_string())))
        .try_flatten();
    Body::from_stream(stream)
}

/// One part of a finished export (`/part/1` is the first), for files too large to take whole.
pub async fn export_part(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((job, part)): Path<(i64, usize)>,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&state.ctx, peer, &headers).await {
        Ok(c) => c,
        Err(e) => return refusal(e),
    };
    let Some(index) = part.checked_sub(1) else {
        return refusal(app::api::error::ApiError::NotFound);
    };
    let download = match async { caller.exports()?.download(job, Some(index)).await }.await {
        Ok(d) => d,
        Err(e) => return refusal(e.into()),
    };
    let name = download.file.part_name(index);
    let size = download.file.parts.get(index).map_or(0, |p| p.size);
    let chunks: Vec<(usize, usize)> = download
        .file
        .chunks()
        .into_iter()
        .filter(|(p, _)| *p == index)
        .collect();
    (file_headers(&name, size), stream_chunks(download, chunks)).into_response()
}

/// Every outcome of a job, in the order the items were done.
pub async fn report_csv(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(job): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&state.ctx, peer, &headers).await {
        Ok(c) => c,
        Err(e) => return refusal(e),
    };
    // An export's or a restore's: each desk finds only its own kind of job, in its scope.
    let exports = caller.exports().ok();
    let is_export = match &exports {
        Some(d) => d.job(job).await.is_ok(),
        None => false,
    };
    let restores = if is_export {
        None
    } else {
        match caller.restores() {
            Ok(d) => Some(d),
            // An export desk that did not find it: "not found", whatever else is refused.
            Err(_) if exports.is_some() => return refusal(access::AccessError::NotFound.into()),
            Err(e) => return refusal(e.into()),
        }
    };
    let mut out = String::from("outcome,source_path,target_path,detail,when_utc\r\n");
    let mut after = 0;
    loop {
        let page = match (&exports, &restores) {
            (Some(d), _) if is_export => d.report(job, None, after, 5_000).await,
            (_, Some(d)) => d.report(job, None, after, 5_000).await,
            _ => Err(access::AccessError::NotFound),
        };
        let page = match page {
            Ok(p) => p,
            Err(e) => return refusal(e.into()),
        };
        let Some(last) = page.last() else { break };
        after = last.id;
        for o in &page {
            let cells = [
                o.outcome.kind.as_str().to_owned(),
                o.outcome.source_path.clone(),
                o.outcome.target_path.clone(),
                o.outcome.detail.clone(),
                app::format::precise_date(o.at),
            ];
            let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                content_disposition(&format!("job-{job}-report.csv")),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        out,
    )
        .into_response()
}
