//! Content that leaves the archive as files rather than as page data: a message's sanitised
//! body for the reader's sandboxed frame, the `.eml`, single attachments, and a calendar item
//! or contact as `.ics` or `.vcf` written from its stored properties. Each handler checks
//! the session and the caller's right to the item, exactly as the server functions do.

use std::net::SocketAddr;

use app::api::context::AppContext;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{caller, refusal, WebState};

/// Whose reach a route serves: the owner's archive (`/mail`, `/download`), or the explorer's
/// (`/admin/...`: `browse_mail` within its scope, each access in the audit log).
#[derive(Clone, Copy)]
enum Reach {
    Own,
    /// Reading the body in the reader.
    Browse,
    /// Downloading the item or an attachment.
    BrowseDownload,
}

/// The item, if the caller of this request may read it; the refusal otherwise (someone else's
/// item is "not found", like a missing one).
async fn readable_item(
    ctx: &AppContext,
    peer: SocketAddr,
    headers: &HeaderMap,
    item_id: i64,
    reach: Reach,
) -> Result<access::ReadableItem, Response> {
    let caller = caller(ctx, peer, headers).await.map_err(refusal)?;
    match reach {
        Reach::Own => caller.own_mail().item(item_id).await,
        Reach::Browse => async { caller.browse_mail()?.item(item_id).await }.await,
        Reach::BrowseDownload => async { caller.browse_mail()?.download(item_id).await }.await,
    }
    .map_err(|e| refusal(e.into()))
}

/// The item's whole content, for what must parse it (the body, one attachment).
async fn readable_content(
    ctx: &AppContext,
    peer: SocketAddr,
    headers: &HeaderMap,
    item_id: i64,
    reach: Reach,
) -> Result<Vec<u8>, Response> {
    let item = readable_item(ctx, peer, headers, item_id, reach).await?;
    item.raw().await.map_err(|e| refusal(e.into()))
}

/// `attachment; filename=...` with an ASCII fallback and the UTF-8 name (RFC 6266).
pub(super) fn content_disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// Downloads are files, never pages: nothing a browser might render or sniff into HTML.
fn download(name: &str, content_type: &'static str, bytes: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, content_disposition(name)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `?images=1`: the reader asked to see the message's remote images.
#[derive(serde::Deserialize)]
pub struct BodyQuery {
    #[serde(default)]
    images: Option<String>,
}

pub async fn message_body(
    state: State<WebState>,
    peer: ConnectInfo<SocketAddr>,
    item: Path<i64>,
    query: Query<BodyQuery>,
    headers: HeaderMap,
) -> Response {
    body_of(state, peer, item, query, headers, Reach::Own).await
}

pub async fn admin_message_body(
    state: State<WebState>,
    peer: ConnectInfo<SocketAddr>,
    item: Path<i64>,
    query: Query<BodyQuery>,
    headers: HeaderMap,
) -> Response {
    body_of(state, peer, item, query, headers, Reach::Browse).await
}

async fn body_of(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(item_id): Path<i64>,
    Query(query): Query<BodyQuery>,
    headers: HeaderMap,
    reach: Reach,
) -> Response {
    let raw = match readable_content(&state.ctx, peer, &headers, item_id, reach).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let mut view = mailview::render(&raw).ok();
    // Only the addresses this message names are fetched, and only when asked: the request
    // carries no address of its own.
    let wanted = view
        .as_ref()
        .map(|v| v.remote_images.clone())
        .unwrap_or_default();
    if query.images.as_deref() == Some("1") && !wanted.is_empty() {
        let shown = state.images.fetch_all(&wanted).await;
        if !shown.is_empty() {
            view = mailview::render_with_images(&raw, &shown).ok().or(view);
        }
    }
    let html = view.and_then(|v| v.html).unwrap_or_default();
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(mailview::BODY_CSP),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        mailview::body_document(&html),
    )
        .into_response()
}

pub async fn message_eml(
    state: State<WebState>,
    peer: ConnectInfo<SocketAddr>,
    item: Path<i64>,
    headers: HeaderMap,
) -> Response {
    eml_of(state, peer, item, headers, Reach::Own).await
}

pub async fn admin_message_eml(
    state: State<WebState>,
    peer: ConnectInfo<SocketAddr>,
    item: Path<i64>,
    headers: HeaderMap,
) -> Response {
    eml_of(state, peer, item, headers, Reach::BrowseDownload).await
}

async fn eml_of(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(item_id): Path<i64>,
    headers: HeaderMap,
    reach: Reach,
) -> Response {
    let item = match readable_item(&state.ctx, peer, &headers, item_id, reach).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    // Streamed as it is read from the store, so a message of any size is never held whole.
    let content = match item.raw_stream().await {
        Ok(content) => content,
        Err(e) => return refusal(e.into()),
    };
    let subject = item.detail().subject.trim();
    let name = mailview::safe_filename(&format!("{subject}.eml"), "message.eml");
    let body = axum::body::Body::from_stream(futures_util::TryStreamExt::map_err(content, |e| {
        std::io::Error::other(e.to_string())
    }));
    download(&name, "message/rfc822", body)
}

pub async fn attachment(
    state: State<WebState>,
    peer: ConnectInfo<SocketAddr>,
    path: Path<(i64, usize)>,
    headers: HeaderMap,
) -> Response {
    attachment_of(state, peer, path, headers, Reach::Own).await
}

pub async fn admin_attachment(
    state: State<WebState>,
    peer: ConnectInfo<SocketAddr>,
    path: Path<(i64, usize)>,
    headers: HeaderMap,
) -> Response {
    attachment_of(state, peer, path, headers, Reach::BrowseDownload).await
}

async fn attachment_of(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((item_id, index)): Path<(i64, usize)>,
    headers: HeaderMap,
    reach: Reach,
) -> Response {
    let raw = match readable_content(&state.ctx, peer, &headers, item_id, reach).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match mailview::attachment(&raw, index) {
        Ok(Some((meta, bytes))) => {
            let name = mailview::safe_filename(&meta.name, "attachment");
            // Always a download of opaque bytes: an HTML or SVG attachment must never run as a
            // page of this site.
            download(&name, "application/octet-stream", bytes)
        }
        Ok(None) | Err(_) => (StatusCode::NOT_FOUND, "Not found.\n").into_response(),
    }
}

/// Which file a calendar item or contact is downloaded as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PimFile {
    Ics,
    Vcf,
}

pub async fn admin_event_ics(
    state: State<WebState>,
    peer: ConnectInfo<SocketAddr>,
    item: Path<i64>,
    headers: HeaderMap,
) -> Response {
    pim_file_of(state, peer, item, headers, PimFile::Ics).await
}

pub async fn admin_contact_vcf(
    state: State<WebState>,
    peer: ConnectInfo<SocketAddr>,
    item: Path<i64>,
    headers: HeaderMap,
) -> Response {
    pim_file_of(state, peer, item, headers, PimFile::Vcf).await
}

/// A calendar item as iCalendar (attendees, zone, recurrence with its exceptions) or a contact
/// as vCard, written from the record the sync kept: the archived content itself (Exchange's
/// MIME of a meeting, Graph's JSON) would lose what the record holds.
async fn pim_file_of(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(item_id): Path<i64>,
    headers: HeaderMap,
    file: PimFile,
) -> Response {
    let opened = async {
        let caller = caller(&state.ctx, peer, &headers).await?;
        Ok::<_, app::api::error::ApiError>(caller.browse_calendars()?.download(item_id).await?)
    }
    .await;
    let opened = match opened {
        Ok(o) => o,
        Err(e) => return refusal(e),
    };
    let subject = opened.item.detail().subject.trim().to_owned();
    match (file, opened.record) {
        (PimFile::Ics, Some(pim::Record::Event(e))) => {
            let name = mailview::safe_filename(&format!("{subject}.ics"), "event.ics");
            let text = transfer::export::ics::calendar(&[e], chrono::Utc::now());
            download(&name, "text/calendar; charset=utf-8", text.into_bytes())
        }
        (PimFile::Vcf, Some(pim::Record::Contact(c))) => {
            let name = mailview::safe_filename(&format!("{}.vcf", c.shown_name()), "contact.vcf");
            download(&name, "text/vcard; charset=utf-8", transfer::export::vcf::card(&c).into_bytes())
        }
        (_, None) => (
            StatusCode::NOT_FOUND,
            "This item was archived before its properties were kept; download it as .eml instead.\n",
        )
            .into_response(),
        _ => (StatusCode::NOT_FOUND, "Not found.\n").into_response(),
    }
}
