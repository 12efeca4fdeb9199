//! Microsoft Graph connector (Exchange Online), app-only with client credentials. Every request
//! asks for immutable ids, so an item keeps its id when moved between folders.

mod calendar;
pub mod parse;
pub mod properties;
mod source;

pub use source::GraphSource;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::context::{Attempt, MailboxCtx};
use crate::error::SourceError;
use crate::source::{FetchError, Fetched, ItemContent};
use parse::BatchResponse;

const IMMUTABLE_IDS: &str = "IdType=\"ImmutableId\"";
/// JSON batching accepts at most 20 requests.
pub const MAX_BATCH: usize = 20;

#[derive(Debug, Clone)]
pub struct GraphConfig {
    /// `https://graph.microsoft.com/v1.0`, no trailing slash.
    pub graph_base: String,
    /// `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub scope: String,
    /// `Prefer: odata.maxpagesize` for delta queries.
    pub page_size: u32,
    /// Messages per `$batch` of `$value` downloads (at most 20).
    pub batch_size: usize,
    /// The calendarView window for event delta (v1.0 has event delta only for a window).
    pub calendar_window: (String, String),
    /// Renew the token this long before it expires.
    pub refresh_margin: Duration,
    pub timeout: Duration,
}

impl GraphConfig {
    pub fn new(tenant: &str, client_id: &str, client_secret: &str) -> GraphConfig {
        GraphConfig {
            graph_base: "https://graph.microsoft.com/v1.0".into(),
            token_url: format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            scope: "https://graph.microsoft.com/.default".into(),
            page_size: 100,
            batch_size: MAX_BATCH,
            calendar_window: ("2000-01-01T00:00:00Z".into(), "2100-01-01T00:00:00Z".into()),
            refresh_margin: Duration::from_secs(300),
            timeout: Duration::from_secs(120),
        }
    }
}

/// A token-endpoint answer that is not an OAuth answer at all (5xx, throttling, no connection):
/// worth retrying, unlike a refusal.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct TokenTransport(String);

struct CachedToken {
    token: String,
    renew_at: Instant,
}

pub struct GraphClient {
    http: reqwest::Client,
    config: GraphConfig,
    token: tokio::sync::Mutex<Option<CachedToken>>,
    token_requests: AtomicU64,
}

impl GraphClient {
    pub fn new(config: GraphConfig) -> Result<GraphClient, SourceError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| SourceError::Transport(e.to_string()))?;
        Ok(GraphClient {
            http,
            config,
            token: tokio::sync::Mutex::new(None),
            token_requests: AtomicU64::new(0),
        })
    }

    pub fn config(&self) -> &GraphConfig {
        &self.config
    }

    /// Token requests made so far (not counted against any mailbox).
    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    /// A valid access token, from the cache unless it is about to expire.
    pub async fn access_token(&self) -> Result<String, SourceError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref() {
            if Instant::now() < t.renew_at {
                return Ok(t.token.clone());
            }
        }
        let (token, lifetime) = self.request_token().await?;
        // Short-lived tokens (tests) still get used for half their life.
        let margin = self.config.refresh_margin.min(lifetime / 2);
        *cached = Some(CachedToken {
            token: token.clone(),
            renew_at: Instant::now() + lifetime.saturating_sub(margin),
        });
        Ok(token)
    }

    async fn invalidate_token(&self, refused: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.token == refused) {
            *cached = None;
        }
    }

    /// The client-credentials grant (`oauth2`), the secret in the form body as Entra ID expects.
    /// Returns the token and how long it lives.
    async fn request_token(&self) -> Result<(String, Duration), SourceError> {
        use oauth2::basic::BasicClient;
        use oauth2::{
            AuthType, ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl,
        };

        self.token_requests.fetch_add(1, Ordering::Relaxed);
        let token_url = TokenUrl::new(self.config.token_url.clone())
            .map_err(|e| SourceError::Protocol(format!("token endpoint URL: {e}")))?;
        let client = BasicClient::new(ClientId::new(self.config.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.config.client_secret.clone()))
            .set_token_uri(token_url)
            .set_auth_type(AuthType::RequestBody);
        let http = self.http.clone();
        let send = move |request: oauth2::HttpRequest| {
            let http = http.clone();
            async move {
                let (parts, body) = request.into_parts();
                let sent = http
                    .request(parts.method, parts.uri.to_string())
                    .headers(parts.headers)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| TokenTransport(format!("token endpoint: {e}")))?;
                let status = sent.status();
                if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                    return Err(TokenTransport(format!("token endpoint HTTP {status}")));
                }
                let headers = sent.headers().clone();
                let bytes = sent
                    .bytes()
                    .await
                    .map_err(|e| TokenTransport(format!("token endpoint: {e}")))?;
                let mut response = oauth2::HttpResponse::new(bytes.to_vec());
                *response.status_mut() = status;
                *response.headers_mut() = headers;
                Ok::<_, TokenTransport>(response)
            }
        };
        let answer = client
            .exchange_client_credentials()
            .add_scope(Scope::new(self.config.scope.clone()))
            .request_async(&send)
            .await;
        match answer {
            Ok(t) => Ok((
                t.access_token().secret().clone(),
                t.expires_in().unwrap_or(Duration::from_secs(3600)),
            )),
            // invalid_client (AADSTS7000215: wrong secret), unauthorized_client (AADSTS700016:
            // no such application), ...: the description carries Entra's AADSTS code.
            Err(RequestTokenError::ServerResponse(r)) => Err(SourceError::Auth(format!(
                "{}: {}",
                r.error(),
                r.error_description()
                    .map(String::as_str)
                    .unwrap_or_default()
            ))),
            Err(RequestTokenError::Request(e)) => Err(SourceError::Transport(e.to_string())),
            Err(RequestTokenError::Parse(e, _)) => {
                Err(SourceError::Protocol(format!("token response: {e}")))
            }
            Err(RequestTokenError::Other(why)) => Err(SourceError::Auth(why)),
        }
    }

    /// One request built by `request` around the current token, retried on throttling, 5xx
    /// and transport errors; the raw body of the 2xx answer.
    async fn send_authorised(
        &self,
        mb: &MailboxCtx,
        request: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<Vec<u8>, SourceError> {
        mb.run(|| async {
            let token = match self.access_token().await {
                Ok(t) => t,
                Err(SourceError::Transport(e)) => return Attempt::Transient(e),
                Err(e) => return Attempt::Fail(e),
            };
            self.classify(request(&token).send().await, &token).await
        })
        .await
    }

    /// One GET with retries, returning the raw body of a 2xx answer.
    async fn get(
        &self,
        mb: &MailboxCtx,
        url: &str,
        page_size: Option<u32>,
    ) -> Result<Vec<u8>, SourceError> {
        self.send_authorised(mb, |token| {
            let req = self
                .http
                .get(url)
                .bearer_auth(token)
                .header("Prefer", IMMUTABLE_IDS);
            match page_size {
                Some(n) => req.header("Prefer", format!("odata.maxpagesize={n}")),
                None => req,
            }
        })
        .await
    }

    async fn classify(
        &self,
        sent: reqwest::Result<reqwest::Response>,
        token: &str,
    ) -> Attempt<Vec<u8>> {
        let resp = match sent {
            Ok(r) => r,
            Err(e) => return Attempt::Transient(e.to_string()),
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse::parse_retry_after);
        let bytes = match resp.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => return Attempt::Transient(e.to_string()),
        };
        if status.is_success() {
            return Attempt::Done(bytes);
        }
        if status == StatusCode::UNAUTHORIZED {
            self.invalidate_token(token).await;
            return Attempt::Again;
        }
        let err = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| parse::parse_error(&v));
        let code = err.as_ref().map(|e| e.code.clone()).unwrap_or_default();
        let message = err.map(|e| e.message).unwrap_or_default();
        classify_status(status.as_u16(), &code, &message, retry_after)
    }

    pub async fn get_json(
        &self,
        mb: &MailboxCtx,
        url: &str,
        page_size: Option<u32>,
    ) -> Result<Value, SourceError> {
        let bytes = self.get(mb, url, page_size).await?;
        serde_json::from_slice(&bytes).map_err(|e| SourceError::Protocol(format!("{url}: {e}")))
    }

    /// Every entry of a collection, following `@odata.nextLink`, `page_size` to a page.
    pub async fn list_all(
        &self,
        mb: &MailboxCtx,
        first: String,
        page_size: Option<u32>,
    ) -> Result<Vec<Value>, SourceError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        let mut pages = 0u32;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > 100_000 {
                return Err(SourceError::Protocol("a listing that never ends".into()));
            }
            let page = self.get_json(mb, &url, page_size).await?;
            if let Some(values) = page.get("value").and_then(Value::as_array) {
                out.extend(values.iter().cloned());
            }
            next = page
                .get("@odata.nextLink")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        Ok(out)
    }

    /// One write (POST, PATCH, DELETE) with an optional JSON body, retried on throttling and
    /// 5xx like a read. Returns the raw body of the 2xx answer.
    pub async fn send_json(
        &self,
        mb: &MailboxCtx,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Vec<u8>, SourceError> {
        self.send_authorised(mb, |token| {
            let req = self
                .http
                .request(method.clone(), url)
                .bearer_auth(token)
                .header("Prefer", IMMUTABLE_IDS);
            match body {
                Some(b) => req.json(b),
                None => req,
            }
        })
        .await
    }

    /// One authenticated PUT of raw bytes (a contact's photo), retried like any write.
    pub async fn put_bytes(
        &self,
        mb: &MailboxCtx,
        url: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<Vec<u8>, SourceError> {
        self.send_authorised(mb, |token| {
            self.http
                .put(url)
                .bearer_auth(token)
                .header("Content-Type", content_type)
                .body(bytes.to_vec())
        })
        .await
    }

    /// One chunk to an attachment upload session. The upload URL is pre-authenticated: it gets
    /// no Authorization header (Microsoft: sending one may fail the upload with 401).
    pub async fn put_upload_chunk(
        &self,
        mb: &MailboxCtx,
        upload_url: &str,
        start: u64,
        total: u64,
        chunk: &[u8],
    ) -> Result<Vec<u8>, SourceError> {
        let end = start + chunk.len() as u64 - 1;
        let body = chunk.to_vec();
        mb.run(|| async {
            let sent = self
                .http
                .put(upload_url)
                .header("Content-Range", format!("bytes {start}-{end}/{total}"))
                .header("Content-Type", "application/octet-stream")
                .body(body.clone())
                .send()
                .await;
            self.classify(sent, "").await
        })
        .await
    }

    /// One `$batch` POST of GET sub-requests (relative URLs), retried as a whole only when the
    /// envelope itself fails.
    pub async fn batch_get(
        &self,
        mb: &MailboxCtx,
        urls: &[String],
    ) -> Result<Vec<BatchResponse>, SourceError> {
        let requests: Vec<Value> = urls
            .iter()
            .enumerate()
            .map(|(i, u)| json!({"id": i.to_string(), "method": "GET", "url": u, "headers": {"Prefer": IMMUTABLE_IDS}}))
            .collect();
        let body = json!({ "requests": requests });
        let url = format!("{}/$batch", self.config.graph_base);
        let bytes = self
            .send_authorised(mb, |token| {
                self.http.post(&url).bearer_auth(token).json(&body)
            })
            .await?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| SourceError::Protocol(format!("$batch: {e}")))?;
        parse::parse_batch(&v)
    }

    /// Raw MIME of many messages through one `$batch`. Each sub-response is that message's
    /// outcome: a 429 or 5xx inside the batch is retryable (the engine pauses the mailbox for
    /// the Retry-After and asks again), a 404 is "not found", other refusals are recorded.
    pub async fn fetch_mime(
        &self,
        mb: &MailboxCtx,
        ids: &[String],
    ) -> Result<Vec<Fetched>, SourceError> {
        let urls: Vec<String> = ids
            .iter()
            .map(|id| {
                format!(
                    "/users/{}/messages/{}/$value",
                    path_segment(&mb.address),
                    path_segment(id)
                )
            })
            .collect();
        let responses = self.batch_get(mb, &urls).await?;
        let mut out = Vec::with_capacity(ids.len());
        let mut answered = vec![false; ids.len()];
        for r in responses {
            let Some(index) = r.id.parse::<usize>().ok().filter(|i| *i < ids.len()) else {
                return Err(SourceError::Protocol(format!(
                    "unexpected batch response id {}",
                    r.id
                )));
            };
            answered[index] = true;
            let id = ids[index].clone();
            let code = parse::parse_error(&r.body)
                .map(|e| e.code)
                .unwrap_or_default();
            let reason = format!("HTTP {} {code}", r.status).trim_end().to_string();
            let content = match r.status {
                200 => match r.body_bytes() {
                    Ok(bytes) => Ok(ItemContent::raw(bytes)),
                    Err(e) => Err(FetchError::Retryable {
                        reason: e.to_string(),
                        wait: None,
                        throttled: false,
                    }),
                },
                429 => {
                    mb.note_throttled(1);
                    Err(FetchError::Retryable {
                        reason,
                        wait: r.retry_after(),
                        throttled: true,
                    })
                }
                // 401: the token expired between the envelope and this sub-request.
                401 | 500..=599 => Err(FetchError::Retryable {
                    reason,
                    wait: r.retry_after(),
                    throttled: false,
                }),
                403 => {
                    return Err(SourceError::AccessDenied(
                        "the app may not read this mailbox's messages".into(),
                    ))
                }
                404 => Err(FetchError::NotFound(reason)),
                _ => Err(FetchError::Permanent(reason)),
            };
            out.push(Fetched { id, content });
        }
        // A batch answer that leaves requests out is a partial batch: ask for those again.
        for (i, done) in answered.iter().enumerate() {
            if !done {
                out.push(Fetched {
                    id: ids[i].clone(),
                    content: Err(FetchError::Retryable {
                        reason: "no answer in the $batch response".into(),
                        wait: None,
                        throttled: false,
                    }),
                });
            }
        }
        Ok(out)
    }
}

/// How often a contact photo that the server throttled or failed is asked for again within a
/// page before the page itself fails (and is synced again later, nothing stored half).
const PHOTO_ATTEMPTS: u32 = 5;

impl GraphClient {
    /// The photos of contacts in one contact folder through `$batch`
    /// (`/contactFolders/{id}/contacts/{id}/photo/$value`), one answer per id in order: `None`
    /// when the contact has none (404). A throttled or failed sub-request pauses the mailbox as
    /// the server asked and is sent again; one that still fails fails the call, so the contacts
    /// are never stored as if their photo had been removed.
    pub async fn contact_photos(
        &self,
        mb: &MailboxCtx,
        folder: &str,
        ids: &[String],
    ) -> Result<Vec<Option<pim::Photo>>, SourceError> {
        use base64::Engine;
        let mut out: Vec<Option<pim::Photo>> = vec![None; ids.len()];
        let size = self.config.batch_size.clamp(1, MAX_BATCH);
        for (chunk_no, chunk) in ids.chunks(size).enumerate() {
            let mut pending: Vec<usize> = (0..chunk.len()).collect();
            let mut tries = 0u32;
            while !pending.is_empty() {
                tries += 1;
                let urls: Vec<String> = pending
                    .iter()
                    .map(|i| {
                        format!(
                            "/users/{}/contactFolders/{}/contacts/{}/photo/$value",
                            path_segment(&mb.address),
                            path_segment(folder),
                            path_segment(&chunk[*i])
                        )
                    })
                    .collect();
                let responses = self.batch_get(mb, &urls).await?;
                let mut answered = vec![false; pending.len()];
                let mut again = Vec::new();
                let mut wait: Option<Duration> = None;
                let mut why = String::new();
                for r in responses {
                    let Some(k) = r.id.parse::<usize>().ok().filter(|k| *k < pending.len()) else {
                        return Err(SourceError::Protocol(format!(
                            "unexpected batch response id {}",
                            r.id
                        )));
                    };
                    answered[k] = true;
                    let i = pending[k];
                    match r.status {
                        200 => {
                            let data = r.body_bytes()?;
                            out[chunk_no * size + i] = Some(pim::Photo {
                                content_type: r
                                    .headers
                                    .get("content-type")
                                    .cloned()
                                    .unwrap_or_else(|| "image/jpeg".into()),
                                data: base64::engine::general_purpose::STANDARD.encode(data),
                            });
                        }
                        404 => {}
                        403 => {
                            return Err(SourceError::AccessDenied(
                                "the app may not read this mailbox's contacts".into(),
                            ))
                        }
                        status => {
                            if status == 429 {
                                mb.note_throttled(1);
                            }
                            wait = wait.max(r.retry_after());
                            why = format!("contact photo: HTTP {status}");
                            again.push(i);
                        }
                    }
                }
                again.extend(
                    answered
                        .iter()
                        .zip(&pending)
                        .filter(|(done, _)| !**done)
                        .map(|(_, i)| *i),
                );
                if again.is_empty() {
                    break;
                }
                if tries >= PHOTO_ATTEMPTS {
                    return Err(match wait {
                        Some(d) => SourceError::Throttled {
                            attempts: tries,
                            retry_after: Some(d),
                        },
                        None => SourceError::Transport(why),
                    });
                }
                // The next batch waits out the pause, as every request of the mailbox does.
                mb.pause(wait.unwrap_or(Duration::from_millis(200 * u64::from(tries))));
                pending = again;
            }
        }
        Ok(out)
    }
}

/// Percent-encodes a value for use as one URL path segment (user ids may hold `+`, `#`, `/`).
pub fn path_segment(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'@' | b'.' | b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn classify_status<T>(
    status: u16,
    code: &str,
    message: &str,
    retry_after: Option<Duration>,
) -> Attempt<T> {
    let detail = format!("HTTP {status} {code}: {message}");
    match status {
        429 => match retry_after {
            Some(d) => Attempt::Throttled(d),
            None => Attempt::Transient(detail),
        },
        410 => Attempt::Fail(SourceError::InvalidSyncState),
        400 if matches!(
            code,
            "SyncStateNotFound" | "SyncStateInvalid" | "ResyncRequired"
        ) =>
        {
            Attempt::Fail(SourceError::InvalidSyncState)
        }
        403 => Attempt::Fail(SourceError::AccessDenied(detail)),
        404 => match code {
            "ErrorInvalidUser"
            | "ResourceNotFound"
            | "Request_ResourceNotFound"
            | "MailboxNotEnabledForRESTAPI"
            | "MailboxNotFound" => Attempt::Fail(SourceError::MailboxNotFound(detail)),
            "ErrorItemNotFound" => Attempt::Fail(SourceError::ItemNotFound(detail)),
            _ => Attempt::Fail(SourceError::FolderNotFound(detail)),
        },
        500..=599 => Attempt::Transient(detail),
        _ => Attempt::Fail(SourceError::Server {
            code: code.to_string(),
            message: format!("HTTP {status}: {message}"),
        }),
    }
}
