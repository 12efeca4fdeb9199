//! Microsoft Graph v1.0 subset under `/v1.0`: mail folders (list, children, delta), message
//! delta per folder, raw MIME (`$value`), calendarView delta, contacts delta and `$batch`; the
//! writes and listings of a restore are in `graph_restore.rs`.
//!
//! Requests are routed by hand (not by axum) so that `$batch` sub-requests go through exactly the
//! same code, throttling and counting as top-level requests.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use crate::mailbox::{self, ChangeType, Folder, FolderKind, Item, ItemKind, Mailbox};
use crate::properties;
use crate::state::{ItemFault, SimState, SyncToken};
use crate::{dates, graph_change};

/// JSON batching accepts at most 20 requests (json-batching.md).
const MAX_BATCH: usize = 20;
const DEFAULT_PAGE: usize = 10;
const MAX_PAGE: usize = 1000;

pub enum Body {
    Json(Value),
    Raw(&'static str, Vec<u8>),
    Empty,
}

pub struct GraphResponse {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl GraphResponse {
    pub(crate) fn json(status: StatusCode, body: Value) -> GraphResponse {
        GraphResponse {
            status,
            headers: Vec::new(),
            body: Body::Json(body),
        }
    }

    pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> GraphResponse {
        GraphResponse::json(
            status,
            json!({"error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": "2026-01-01T00:00:00",
                    "request-id": "00000000-0000-0000-0000-000000000001",
                    "client-request-id": "00000000-0000-0000-0000-000000000002"
                }
            }}),
        )
    }

    pub(crate) fn with_header(mut self, k: &str, v: String) -> GraphResponse {
        self.headers.push((k.to_string(), v));
        self
    }

    fn into_http(self) -> Response {
        let mut resp = match self.body {
            Body::Json(v) => (self.status, axum::Json(v)).into_response(),
            Body::Raw(ct, bytes) => {
                (self.status, [(header::CONTENT_TYPE, ct)], bytes).into_response()
            }
            Body::Empty => self.status.into_response(),
        };
        for (k, v) in self.headers {
            if let (Ok(name), Ok(value)) = (
                header::HeaderName::try_from(k.as_str()),
                HeaderValue::from_str(&v),
            ) {
                resp.headers_mut().insert(name, value);
            }
        }
        resp
    }
}

/// What the router needs from a request, whether top-level or inside a batch.
pub(crate) struct Req<'a> {
    pub(crate) method: &'a str,
    /// Path below `/v1.0`, starting with `/`.
    pub(crate) path: &'a str,
    pub(crate) query: BTreeMap<String, String>,
    pub(crate) prefer: Vec<String>,
    /// `http://host:port`, for absolute nextLink/deltaLink URLs.
    pub(crate) origin: &'a str,
    pub(crate) body: &'a [u8],
    /// The media type of the body, lower case, parameters dropped.
    pub(crate) content_type: Option<String>,
    /// The app roles of the bearer token.
    pub(crate) roles: &'a [String],
}

impl Req<'_> {
    pub(crate) fn immutable_ids(&self) -> bool {
        self.prefer.iter().any(|p| {
            p.replace(' ', "")
                .eq_ignore_ascii_case("IdType=\"ImmutableId\"")
        })
    }

    pub(crate) fn page_size(&self) -> usize {
        self.prefer
            .iter()
            .find_map(|p| p.trim().strip_prefix("odata.maxpagesize="))
            .and_then(|n| n.trim().parse::<usize>().ok())
            .unwrap_or(DEFAULT_PAGE)
            .clamp(1, MAX_PAGE)
    }
}

fn prefer_values<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    values
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn parse_query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The roles of a valid bearer token.
fn bearer_roles(state: &SimState, headers: &HeaderMap) -> Option<Vec<String>> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| state.tokens.roles(t.trim()))
}

fn media_type(v: &str) -> String {
    v.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn unauthorized() -> GraphResponse {
    GraphResponse::error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        "Access token has expired or is not yet valid.",
    )
    .with_header("www-authenticate", "Bearer error=\"invalid_token\"".into())
}

pub async fn graph_endpoint(
    State(state): State<Arc<SimState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let latency = state.faults().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let Some(roles) = bearer_roles(&state, &headers) else {
        state.count("graph:unauthorized", None);
        return unauthorized().into_http();
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let origin = format!("http://{host}");
    let path = uri.path().strip_prefix("/v1.0").unwrap_or(uri.path());
    if path == "/$batch" && method == Method::POST {
        state.count("graph:$batch", None);
        return batch(&state, &body, &origin, &roles).into_http();
    }
    let req = Req {
        method: method.as_str(),
        path,
        query: parse_query(uri.query().unwrap_or("")),
        prefer: prefer_values(
            headers
                .get_all("prefer")
                .iter()
                .filter_map(|v| v.to_str().ok()),
        ),
        origin: &origin,
        body: &body,
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(media_type),
        roles: &roles,
    };
    dispatch(&state, &req, false).into_http()
}

/// A per-item failure of one `$value` download (a `$batch` sub-response when batched).
pub(crate) fn item_fault_response(fault: ItemFault) -> GraphResponse {
    match fault {
        ItemFault::ServerBusy { backoff_ms } => GraphResponse::json(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": {"code": "TooManyRequests", "message": "Please retry again later."}}),
        )
        .with_header("Retry-After", format!("{:.3}", backoff_ms as f64 / 1000.0)),
        ItemFault::InternalError => GraphResponse::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "An internal server error occurred. The operation failed.",
        ),
        ItemFault::Unavailable | ItemFault::BatchStopped => GraphResponse::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The service is temporarily unavailable.",
        )
        .with_header("Retry-After", "0.05".to_string()),
        ItemFault::MimeConversionFailed => GraphResponse::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ErrorMimeContentConversionFailed",
            "Unable to convert the MIME content of the item.",
        ),
        ItemFault::NotFound => item_not_found(),
    }
}

/// The values of a sub-request's header (names compared without regard to case).
fn batch_header<'a>(
    headers: Option<&'a serde_json::Map<String, Value>>,
    name: &str,
) -> Vec<&'a str> {
    headers
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .filter_map(|(_, v)| v.as_str())
        .collect()
}

fn batch(state: &SimState, body: &[u8], origin: &str, roles: &[String]) -> GraphResponse {
    let Ok(doc) = serde_json::from_slice::<Value>(body) else {
        return GraphResponse::error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Invalid batch payload format.",
        );
    };
    let Some(requests) = doc.get("requests").and_then(Value::as_array) else {
        return GraphResponse::error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Invalid batch payload format.",
        );
    };
    if requests.len() > MAX_BATCH {
        return GraphResponse::error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Number of requests exceeds the limit of 20.",
        );
    }
    let mut statuses: BTreeMap<String, u16> = BTreeMap::new();
    let mut responses = Vec::new();
    for r in requests {
        let id = r
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if id.is_empty() || statuses.contains_key(&id) {
            return GraphResponse::error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Each request in a batch needs a unique id.",
            );
        }
        let failed_dependency = r
            .get("dependsOn")
            .and_then(Value::as_array)
            .is_some_and(|deps| {
                deps.iter()
                    .filter_map(Value::as_str)
                    .any(|d| statuses.get(d).is_none_or(|s| *s >= 400))
            });
        let resp = if failed_dependency {
            GraphResponse::error(
                StatusCode::FAILED_DEPENDENCY,
                "FailedDependency",
                "A dependent request failed.",
            )
        } else {
            let method = r.get("method").and_then(Value::as_str).unwrap_or("GET");
            let url = r.get("url").and_then(Value::as_str).unwrap_or("");
            let url = url.strip_prefix("/v1.0").unwrap_or(url);
            let (path, query) = url.split_once('?').unwrap_or((url, ""));
            let path = if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{path}")
            };
            let headers = r.get("headers").and_then(Value::as_object);
            let prefer = prefer_values(batch_header(headers, "prefer").into_iter());
            let content_type = batch_header(headers, "content-type")
                .first()
                .map(|v| media_type(v));
            // A JSON body travels as an object; any other body as a string.
            let sub_body = match r.get("body") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::String(text)) => text.clone().into_bytes(),
                Some(other) => other.to_string().into_bytes(),
            };
            if !sub_body.is_empty() && content_type.is_none() {
                // json-batching.md: a request with a body must say its Content-Type.
                GraphResponse::error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "Content-Type header is required for a request with a body.",
                )
            } else {
                let req = Req {
                    method,
                    path: &path,
                    query: parse_query(query),
                    prefer,
                    origin,
                    body: &sub_body,
                    content_type,
                    roles,
                };
                dispatch(state, &req, true)
            }
        };
        statuses.insert(id.clone(), resp.status.as_u16());
        let headers: serde_json::Map<String, Value> = resp
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let (mut headers, body) = (headers, resp.body);
        let body = match body {
            Body::Json(v) => {
                headers.insert("Content-Type".into(), "application/json".into());
                v
            }
            // Non-JSON sub-response bodies travel base64-encoded (json-batching.md).
            Body::Raw(ct, bytes) => {
                headers.insert("Content-Type".into(), ct.into());
                Value::String(STANDARD.encode(bytes))
            }
            Body::Empty => Value::Null,
        };
        responses.push(
            json!({"id": id, "status": resp.status.as_u16(), "headers": headers, "body": body}),
        );
    }
    // Real batches answer out of order; reversing keeps that visible and deterministic.
    responses.reverse();
    GraphResponse::json(StatusCode::OK, json!({ "responses": responses }))
}

fn dispatch(state: &SimState, req: &Req, in_batch: bool) -> GraphResponse {
    let decoded: Vec<String> = req
        .path
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let (user, rest) = match segments.as_slice() {
        ["users", user, rest @ ..] => (user.to_string(), rest),
        _ => {
            if !in_batch {
                state.count("graph:unknown", None);
            }
            return GraphResponse::error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Resource not found for the segment.",
            );
        }
    };
    let endpoint = endpoint_name(req.method, rest);
    if in_batch {
        state.count_sub(&endpoint, &user);
    } else {
        state.count(&endpoint, Some(&user));
    }
    {
        let store = state.store();
        match store.get(&user.to_ascii_lowercase()) {
            None => {
                return GraphResponse::error(
                    StatusCode::NOT_FOUND,
                    "ErrorInvalidUser",
                    &format!("The requested user '{user}' is invalid."),
                )
            }
            Some(mb) if !mb.access_granted => {
                return GraphResponse::error(
                    StatusCode::FORBIDDEN,
                    "ErrorAccessDenied",
                    "Access to OData is disabled: the application access policy does not allow this mailbox.",
                )
            }
            Some(_) => {}
        }
    }
    state.arrival(&user);
    if let Some(retry_after) = state.graph_admit(&user) {
        state.throttle_window(&user, std::time::Duration::from_secs_f64(retry_after));
        return GraphResponse::json(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": {
                "code": "TooManyRequests",
                "innerError": {"code": "429", "date": "2026-01-01T00:00:00", "message": "Please retry after",
                               "request-id": "00000000-0000-0000-0000-000000000003", "status": "429"},
                "message": "Please retry again later."
            }}),
        )
        .with_header("Retry-After", format!("{retry_after:.3}"));
    }
    let base = format!("{}/v1.0/users/{}", req.origin, user);
    if req.method != "GET" {
        return crate::graph_restore::write(state, req, &user, rest, &base);
    }
    let mut store = state.store();
    let Some(mb) = store.get_mut(&user.to_ascii_lowercase()) else {
        return GraphResponse::error(
            StatusCode::NOT_FOUND,
            "ErrorInvalidUser",
            "The requested user is invalid.",
        );
    };
    let resp = match rest {
        // The user resource: what `$select=displayName,mail` asks for, and the ids.
        [] => GraphResponse::json(
            StatusCode::OK,
            json!({
                "@odata.context": format!("{}/v1.0/$metadata#users/$entity", req.origin),
                "id": format!("{:08x}-0000-0000-0000-000000000000", mb.index),
                "displayName": mb.display_name,
                "mail": mb.address,
                "userPrincipalName": mb.address,
            }),
        ),
        ["mailFolders"] => child_folders(mb, req, "msgfolderroot", &base),
        ["mailFolders", "delta"] => folders_delta(mb, req, &base),
        ["mailFolders", id] => match mb.resolve_folder(id) {
            Some(f) if f.kind != FolderKind::Calendar && f.kind != FolderKind::Contacts => {
                GraphResponse::json(StatusCode::OK, folder_json(mb, f))
            }
            _ => folder_not_found(),
        },
        ["mailFolders", id, "childFolders"] => child_folders(mb, req, id, &base),
        ["mailFolders", id, "messages", "delta"] => {
            let Some(folder) = mb.resolve_folder(id).map(|f| f.id.clone()) else {
                return GraphResponse::error(
                    StatusCode::NOT_FOUND,
                    "ErrorSyncFolderNotFound",
                    "The sync folder was not found.",
                );
            };
            items_delta(
                mb,
                req,
                DeltaKind::Messages,
                &folder,
                &format!("{base}/mailFolders/{folder}/messages/delta"),
            )
        }
        ["messages", id, "$value"] => match find_item(mb, id) {
            Some(item) if item.kind == ItemKind::Message => {
                match state.take_item_fault(&mb.address, item.n) {
                    Some(fault) => {
                        if let ItemFault::ServerBusy { backoff_ms } = fault {
                            state.throttle_window(
                                &mb.address,
                                std::time::Duration::from_millis(backoff_ms),
                            );
                        }
                        item_fault_response(fault)
                    }
                    None => GraphResponse {
                        status: StatusCode::OK,
                        headers: Vec::new(),
                        body: Body::Raw("message/rfc822", item.data.clone()),
                    },
                }
            }
            _ => item_not_found(),
        },
        ["contacts", id, "photo", "$value"]
        | ["contactFolders", _, "contacts", id, "photo", "$value"] => contact_photo(state, mb, id),
        ["events", id] | ["calendar" | "calendars", .., "events", id] => {
            graph_change::get_event(mb, req, id, |item| {
                event_json(mb, item, req.immutable_ids())
            })
        }
        ["messages", id] => match find_item(mb, id) {
            Some(item) if item.kind == ItemKind::Message => {
                GraphResponse::json(StatusCode::OK, message_json(mb, item, req.immutable_ids()))
            }
            _ => item_not_found(),
        },
        ["calendarView", "delta"] => {
            let Some(folder) = mb.well_known("calendar").map(|f| f.id.clone()) else {
                return folder_not_found();
            };
            items_delta(
                mb,
                req,
                DeltaKind::Events,
                &folder,
                &format!("{base}/calendarView/delta"),
            )
        }
        ["contacts", "delta"] => {
            let Some(folder) = mb.well_known("contacts").map(|f| f.id.clone()) else {
                return folder_not_found();
            };
            items_delta(
                mb,
                req,
                DeltaKind::Contacts,
                &folder,
                &format!("{base}/contacts/delta"),
            )
        }
        ["contactFolders", id, "contacts", "delta"] => {
            let Some(folder) = mb
                .resolve_folder(id)
                .filter(|f| f.kind == FolderKind::Contacts)
                .map(|f| f.id.clone())
            else {
                return folder_not_found();
            };
            items_delta(
                mb,
                req,
                DeltaKind::Contacts,
                &folder,
                &format!("{base}/contactFolders/{folder}/contacts/delta"),
            )
        }
        _ => crate::graph_restore::read(mb, req, rest, &base).unwrap_or_else(|| {
            GraphResponse::error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Resource not found for the segment.",
            )
        }),
    };
    let mut applied = Vec::new();
    if req.immutable_ids() {
        applied.push("IdType=\"ImmutableId\"".to_string());
    }
    if let Some(p) = req
        .prefer
        .iter()
        .find(|p| p.starts_with("odata.maxpagesize="))
    {
        applied.push(p.clone());
    }
    if applied.is_empty() {
        resp
    } else {
        resp.with_header("Preference-Applied", applied.join(","))
    }
}

fn endpoint_name(method: &str, rest: &[&str]) -> String {
    if method != "GET" {
        return format!(
            "graph:{}",
            crate::graph_restore::write_endpoint(method, rest)
        );
    }
    let name = match rest {
        ["mailFolders"] => "mailFolders",
        ["mailFolders", "delta"] => "mailFolders.delta",
        ["mailFolders", _] => "mailFolders.get",
        ["mailFolders", _, "childFolders"] => "childFolders",
        ["mailFolders", _, "messages", "delta"] => "messages.delta",
        ["messages", _, "$value"] => "messages.$value",
        ["messages", _] => "messages.get",
        ["events", _] | ["calendar" | "calendars", .., "events", _] => "events.get",
        ["calendarView", "delta"] => "calendarView.delta",
        ["contacts", "delta"] | ["contactFolders", _, "contacts", "delta"] => "contacts.delta",
        ["contacts", _, "photo", "$value"]
        | ["contactFolders", _, "contacts", _, "photo", "$value"] => "contacts.photo",
        other => crate::graph_restore::read_endpoint(other),
    };
    format!("graph:{name}")
}

/// A contact's photo (profilephoto-get: `GET /users/{id}/contactfolders/{id}/contacts/{id}/photo/$value`).
/// Exchange keeps contact photos as JPEG; a contact without one is 404 `ErrorItemNotFound`.
fn contact_photo(state: &SimState, mb: &Mailbox, id: &str) -> GraphResponse {
    let Some(item) = find_item(mb, id).filter(|i| i.kind == ItemKind::Contact) else {
        return item_not_found();
    };
    if let Some(fault) = state.take_follow_up_fault(&mb.address, item.n) {
        if let ItemFault::ServerBusy { backoff_ms } = fault {
            state.throttle_window(&mb.address, std::time::Duration::from_millis(backoff_ms));
        }
        return item_fault_response(fault);
    }
    match properties::contact_photo(&item.data).and_then(|b64| STANDARD.decode(b64.trim()).ok()) {
        Some(bytes) => GraphResponse {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: Body::Raw("image/jpeg", bytes),
        },
        None => GraphResponse::error(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "The photo wasn't found.",
        ),
    }
}

pub(crate) fn folder_not_found() -> GraphResponse {
    GraphResponse::error(
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

pub(crate) fn item_not_found() -> GraphResponse {
    GraphResponse::error(
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

pub(crate) fn find_item<'a>(mb: &'a Mailbox, id: &str) -> Option<&'a Item> {
    let parsed = mailbox::parse_item_id(id).filter(|p| p.mailbox == mb.index)?;
    let item = mb.items.get(&parsed.n)?;
    match parsed.move_gen {
        Some(g) if g != item.move_gen => None,
        _ => Some(item),
    }
}

pub(crate) fn folder_json(mb: &Mailbox, f: &Folder) -> Value {
    json!({
        "id": f.id,
        "displayName": f.name,
        "parentFolderId": f.parent,
        "childFolderCount": mb.child_count(&f.id),
        "unreadItemCount": mb.unread_count(&f.id),
        "totalItemCount": mb.items_in(&f.id).count(),
        "isHidden": f.hidden,
    })
}

/// Whether a folder shows up in mailFolders lists and delta. Hidden folders (and the folders
/// below them) only with `includeHiddenFolders=true`, as the v1.0 list documents it; the delta is
/// assumed to behave the same. Graph v1.0 reports no folder class, and the simulator lists only
/// mail-class folders (IPF.Note), leaving out configuration folders such as Conversation
/// Action Settings **[simplification]**.
pub(crate) fn listed(mb: &Mailbox, req: &Req, f: &Folder) -> bool {
    let class = f.class();
    let mail_class = class.eq_ignore_ascii_case("IPF.Note")
        || class
            .get(..9)
            .is_some_and(|p| p.eq_ignore_ascii_case("IPF.Note."));
    let include_hidden = req
        .query
        .get("includeHiddenFolders")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    f.kind == FolderKind::Mail && mail_class && (include_hidden || !mb.hidden_from_view(&f.id))
}

fn child_folders(mb: &Mailbox, req: &Req, parent: &str, base: &str) -> GraphResponse {
    let Some(parent) = mb.resolve_folder(parent).map(|f| f.id.clone()) else {
        return folder_not_found();
    };
    let top = req
        .query
        .get("$top")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, MAX_PAGE);
    let skip = req
        .query
        .get("$skip")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    let name_filter = match req.query.get("$filter") {
        None => None,
        Some(f) => match crate::graph_restore::name_filter(f, "displayName") {
            Some(names) => Some(names),
            None => return crate::graph_restore::bad_filter(),
        },
    };
    let all: Vec<&Folder> = mb
        .folders
        .values()
        .filter(|f| f.parent.as_deref() == Some(parent.as_str()) && listed(mb, req, f))
        .filter(|f| {
            name_filter
                .as_ref()
                .is_none_or(|names| names.iter().any(|n| n.eq_ignore_ascii_case(&f.name)))
        })
        .collect();
    let value: Vec<Value> = all
        .iter()
        .skip(skip)
        .take(top)
        .map(|f| folder_json(mb, f))
        .collect();
    let mut body = json!({
        "@odata.context": format!("{base}/$metadata#mailFolders"),
        "value": value,
    });
    if skip + top < all.len() {
        let filter = req
            .query
            .get("$filter")
            .map(|f| format!("&$filter={}", crate::odata::encode(f)))
            .unwrap_or_default();
        body["@odata.nextLink"] = Value::String(format!(
            "{base}/mailFolders/{parent}/childFolders?$top={top}&$skip={}{filter}",
            skip + top
        ));
    }
    GraphResponse::json(StatusCode::OK, body)
}

fn gone(initial_url: &str) -> GraphResponse {
    GraphResponse::error(
        StatusCode::GONE,
        "SyncStateNotFound",
        "The sync state generation is not found or has expired. Please do a full resync.",
    )
    .with_header("Location", initial_url.to_string())
}

/// The watermark a delta request continues from: 0 for an initial request.
fn delta_since(req: &Req, kind: &str, scope: &str, mb: &Mailbox) -> Result<u64, ()> {
    let token = req
        .query
        .get("$deltatoken")
        .or_else(|| req.query.get("$skiptoken"));
    match token {
        None => Ok(0),
        Some(t) => SyncToken::check(t, kind, scope, mb).ok_or(()),
    }
}

fn delta_links(page_more: bool, link_base: &str, token: &SyncToken) -> (&'static str, String) {
    if page_more {
        (
            "@odata.nextLink",
            format!("{link_base}?$skiptoken={}", token.to_url()),
        )
    } else {
        (
            "@odata.deltaLink",
            format!("{link_base}?$deltatoken={}", token.to_url()),
        )
    }
}

fn folders_delta(mb: &Mailbox, req: &Req, base: &str) -> GraphResponse {
    let Some(root) = mb.well_known("msgfolderroot").map(|f| f.id.clone()) else {
        return folder_not_found();
    };
    let link_base = format!("{base}/mailFolders/delta");
    let Ok(since) = delta_since(req, "gfd", &root, mb) else {
        return gone(&link_base);
    };
    let changes: Vec<_> = mb
        .folder_changes(&root, since)
        .into_iter()
        .filter(|c| match c.kind {
            ChangeType::Delete => mb
                .folder_tombstones
                .iter()
                .any(|t| t.id == c.folder_id && t.kind == FolderKind::Mail),
            _ => mb
                .folders
                .get(&c.folder_id)
                .is_some_and(|f| listed(mb, req, f)),
        })
        .collect();
    let size = req.page_size();
    let take = size.min(changes.len());
    let more = take < changes.len();
    let seq = if more { changes[take - 1].seq } else { mb.seq };
    let value: Vec<Value> = changes[..take]
        .iter()
        .filter_map(|c| match c.kind {
            ChangeType::Delete => {
                Some(json!({"id": c.folder_id, "@removed": {"reason": "deleted"}}))
            }
            _ => mb.folders.get(&c.folder_id).map(|f| folder_json(mb, f)),
        })
        .collect();
    let token = SyncToken {
        kind: "gfd".into(),
        scope: root,
        seq,
        epoch: mb.epoch,
        skip: 0,
    };
    let (key, mut link) = delta_links(more, &link_base, &token);
    // Real tokens encode the initial query; here the parameter travels along in the link.
    if let Some(v) = req.query.get("includeHiddenFolders") {
        link.push_str(&format!("&includeHiddenFolders={v}"));
    }
    let mut body = json!({"@odata.context": format!("{base}/$metadata#Collection(mailFolder)"), "value": value});
    body[key] = Value::String(link);
    GraphResponse::json(StatusCode::OK, body)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DeltaKind {
    Messages,
    Events,
    Contacts,
}

fn items_delta(
    mb: &Mailbox,
    req: &Req,
    kind: DeltaKind,
    folder: &str,
    link_base: &str,
) -> GraphResponse {
    let immutable = req.immutable_ids();
    // A calendarView window is part of the delta scope: the links must carry it.
    let (token_kind, scope, window) = match kind {
        DeltaKind::Messages => ("gmd", folder.to_string(), None),
        DeltaKind::Contacts => ("gct", folder.to_string(), None),
        DeltaKind::Events => {
            let token = req
                .query
                .get("$deltatoken")
                .or_else(|| req.query.get("$skiptoken"));
            let window = match token {
                Some(t) => SyncToken::parse(t).and_then(|t| {
                    let (s, e) = t.scope.split_once('~')?;
                    Some((s.to_string(), e.to_string()))
                }),
                None => match (req.query.get("startDateTime"), req.query.get("endDateTime")) {
                    (Some(s), Some(e)) => Some((normalise_time(s), normalise_time(e))),
                    _ => {
                        return GraphResponse::error(
                            StatusCode::BAD_REQUEST,
                            "ErrorInvalidParameter",
                            "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
                        )
                    }
                },
            };
            let Some((s, e)) = window else {
                return gone(link_base);
            };
            ("gcd", format!("{s}~{e}"), Some((s, e)))
        }
    };
    let position = match req
        .query
        .get("$deltatoken")
        .or_else(|| req.query.get("$skiptoken"))
    {
        None => Some((0, 0)),
        Some(t) => SyncToken::position(t, token_kind, &scope, mb),
    };
    let Some((since, skip)) = position else {
        return gone(link_base);
    };
    let mut changes = mb.item_changes(folder, since);
    let view = window.as_ref().map(|(ws, we)| {
        (
            dates::parse_xs(ws).unwrap_or(i64::MIN),
            dates::parse_xs(we).unwrap_or(i64::MAX),
        )
    });
    if let (Some((ws, we)), Some((from, to))) = (&window, view) {
        changes.retain(|c| {
            c.kind == ChangeType::Delete
                || mb.items.get(&c.n).is_some_and(|i| {
                    graph_change::in_view(&i.data, from, to)
                        .unwrap_or_else(|| event_in_window(&i.data, ws, we))
                })
        });
    }
    let size = req.page_size();
    if let (DeltaKind::Events, Some(view)) = (kind, view) {
        // Graph pages calendarView by entry, and a series is many entries: a page can end
        // inside one change, which the next token then names with the entries already sent.
        let mut entries: Vec<(u64, Value)> = Vec::new();
        for c in &changes {
            let listed = graph_change::calendar_view_entries(mb, c, view, immutable, |item| {
                event_json(mb, item, immutable)
            });
            entries.extend(listed.into_iter().map(|v| (c.seq, v)));
        }
        // The change the last page ended in comes first, unless it changed again since.
        if changes.first().is_some_and(|c| c.seq == since + 1) {
            let sent = skip.min(entries.iter().filter(|(q, _)| *q == since + 1).count());
            entries.drain(..sent);
        }
        let more = entries.len() > size;
        let page: Vec<(u64, Value)> = entries.iter().take(size).cloned().collect();
        let (seq, skip) = match page.last() {
            Some((last, _)) if more => {
                let sent = page.iter().filter(|(q, _)| q == last).count()
                    + if *last == since + 1 { skip } else { 0 };
                let whole = entries.iter().filter(|(q, _)| q == last).count()
                    + if *last == since + 1 { skip } else { 0 };
                if sent == whole {
                    (*last, 0)
                } else {
                    (last - 1, sent)
                }
            }
            _ => (mb.seq, 0),
        };
        let token = SyncToken {
            kind: token_kind.into(),
            scope,
            seq,
            epoch: mb.epoch,
            skip,
        };
        let (key, link) = delta_links(more, link_base, &token);
        let value: Vec<Value> = page.into_iter().map(|(_, v)| v).collect();
        let mut body = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)", "value": value});
        body[key] = Value::String(link);
        return GraphResponse::json(StatusCode::OK, body);
    }
    let take = size.min(changes.len());
    let more = take < changes.len();
    let seq = if more { changes[take - 1].seq } else { mb.seq };
    let odata_type = match kind {
        DeltaKind::Messages => "#microsoft.graph.message",
        DeltaKind::Events => "#microsoft.graph.event",
        DeltaKind::Contacts => "#microsoft.graph.contact",
    };
    let value: Vec<Value> = changes[..take]
        .iter()
        .filter_map(|c| {
            if c.kind == ChangeType::Delete {
                let id = if immutable {
                    mailbox::immutable_item_id(mb.index, c.n)
                } else {
                    mailbox::rest_item_id(mb.index, c.n, c.move_gen)
                };
                return Some(
                    json!({"@odata.type": odata_type, "id": id, "@removed": {"reason": "deleted"}}),
                );
            }
            let item = mb.items.get(&c.n)?;
            Some(match kind {
                DeltaKind::Messages => message_json(mb, item, immutable),
                DeltaKind::Events => event_json(mb, item, immutable),
                DeltaKind::Contacts => contact_json(mb, item, immutable),
            })
        })
        .collect();
    let token = SyncToken {
        kind: token_kind.into(),
        scope,
        seq,
        epoch: mb.epoch,
        skip: 0,
    };
    let (key, link) = delta_links(more, link_base, &token);
    let mut body = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(item)", "value": value});
    body[key] = Value::String(link);
    GraphResponse::json(StatusCode::OK, body)
}

pub(crate) fn graph_item_id(mb: &Mailbox, item: &Item, immutable: bool) -> String {
    if immutable {
        mailbox::immutable_item_id(mb.index, item.n)
    } else {
        mailbox::rest_item_id(mb.index, item.n, item.move_gen)
    }
}

pub(crate) fn etag(item: &Item) -> String {
    format!("W/\"{}\"", mailbox::change_key(item.modseq))
}

pub(crate) fn message_json(mb: &Mailbox, item: &Item, immutable: bool) -> Value {
    let from = mailbox::mime_header(&item.data, "From").unwrap_or_default();
    json!({
        "@odata.type": "#microsoft.graph.message",
        "@odata.etag": etag(item),
        "id": graph_item_id(mb, item, immutable),
        "subject": mailbox::mime_header(&item.data, "Subject"),
        "isRead": item.is_read,
        "isDraft": item.restore.as_ref().is_some_and(|m| m.is_draft),
        "parentFolderId": item.folder,
        "internetMessageId": mailbox::mime_header(&item.data, "Message-ID"),
        "sender": {"emailAddress": {"name": display_part(&from), "address": address_part(&from)}},
    })
}

pub(crate) fn display_part(from: &str) -> String {
    from.split('<')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches('"')
        .to_string()
}

pub(crate) fn address_part(from: &str) -> String {
    match (from.find('<'), from.find('>')) {
        (Some(a), Some(b)) if a < b => from[a + 1..b].to_string(),
        _ => from.trim().to_string(),
    }
}

/// ICS date-time (`20250610T090000Z` or `20250610`) to `2025-06-10T09:00:00`.
fn ics_time(v: &str) -> String {
    let d: String = v.chars().filter(|c| c.is_ascii_digit()).collect();
    if d.len() >= 14 {
        format!(
            "{}-{}-{}T{}:{}:{}",
            &d[0..4],
            &d[4..6],
            &d[6..8],
            &d[8..10],
            &d[10..12],
            &d[12..14]
        )
    } else if d.len() >= 8 {
        format!("{}-{}-{}T00:00:00", &d[0..4], &d[4..6], &d[6..8])
    } else {
        String::new()
    }
}

/// Query time (`2025-01-01T00:00:00Z`, `2025-01-01T00:00:00.0000000`) to the same 19-char form,
/// so windows compare as strings (everything in the simulator is UTC).
fn normalise_time(v: &str) -> String {
    v.chars().take(19).collect()
}

fn event_in_window(ics: &[u8], start: &str, end: &str) -> bool {
    let s = mailbox::text_property(ics, "DTSTART")
        .map(|v| ics_time(&v))
        .unwrap_or_default();
    let e = mailbox::text_property(ics, "DTEND")
        .map(|v| ics_time(&v))
        .unwrap_or_else(|| s.clone());
    s.as_str() < end && e.as_str() > start
}

pub(crate) fn event_json(mb: &Mailbox, item: &Item, immutable: bool) -> Value {
    let prop = |n: &str| mailbox::text_property(&item.data, n).unwrap_or_default();
    let organizer = prop("ORGANIZER");
    let mut v = json!({
        "@odata.type": "#microsoft.graph.event",
        "@odata.etag": etag(item),
        "id": graph_item_id(mb, item, immutable),
        "iCalUId": prop("UID"),
        "subject": prop("SUMMARY"),
        "body": {"contentType": "text", "content": prop("DESCRIPTION")},
        "location": {"displayName": prop("LOCATION")},
        "organizer": {"emailAddress": {"address": organizer.trim_start_matches("mailto:").trim_start_matches("MAILTO:")}},
        "showAs": "busy",
    });
    if let (Some(obj), Value::Object(fields)) = (
        v.as_object_mut(),
        properties::graph_event_fields(&item.data),
    ) {
        obj.extend(fields);
    }
    v
}

pub(crate) fn contact_json(mb: &Mailbox, item: &Item, immutable: bool) -> Value {
    let prop = |n: &str| mailbox::text_property(&item.data, n).unwrap_or_default();
    let n = prop("N");
    let mut parts = n.split(';');
    let surname = parts.next().unwrap_or("").to_string();
    let given = parts.next().unwrap_or("").to_string();
    let emails: Vec<Value> = String::from_utf8_lossy(&item.data)
        .lines()
        .filter(|l| l.to_ascii_uppercase().starts_with("EMAIL"))
        .filter_map(|l| l.split_once(':').map(|(_, v)| v.trim().to_string()))
        .map(|a| json!({"name": prop("FN"), "address": a}))
        .collect();
    let phones: Vec<Value> = String::from_utf8_lossy(&item.data)
        .lines()
        .filter(|l| l.to_ascii_uppercase().starts_with("TEL"))
        .filter_map(|l| {
            l.split_once(':')
                .map(|(_, v)| Value::String(v.trim().to_string()))
        })
        .collect();
    let mut v = json!({
        "@odata.type": "#microsoft.graph.contact",
        "@odata.etag": etag(item),
        "id": graph_item_id(mb, item, immutable),
        "parentFolderId": item.folder,
        "displayName": prop("FN"),
        "fileAs": prop("FN"),
        "givenName": given,
        "surname": surname,
        "companyName": prop("ORG").trim_end_matches(';'),
        "jobTitle": prop("TITLE"),
        "emailAddresses": emails,
        "businessPhones": phones,
    });
    if let (Some(obj), Value::Object(fields)) = (
        v.as_object_mut(),
        properties::graph_contact_fields(&item.data),
    ) {
        obj.extend(fields);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_and_times() {
        assert_eq!(percent_decode("a%20b%2Fc+d"), "a b/c d");
        assert_eq!(percent_decode("50%"), "50%");
        assert_eq!(ics_time("20250610T090000Z"), "2025-06-10T09:00:00");
        assert_eq!(ics_time("20250610"), "2025-06-10T00:00:00");
        let ics =
            b"BEGIN:VEVENT\r\nDTSTART:20250610T090000Z\r\nDTEND:20250610T100000Z\r\nEND:VEVENT\r\n";
        assert!(event_in_window(
            ics,
            "2025-06-01T00:00:00",
            "2025-07-01T00:00:00"
        ));
        assert!(!event_in_window(
            ics,
            "2025-07-01T00:00:00",
            "2025-08-01T00:00:00"
        ));
    }
}
