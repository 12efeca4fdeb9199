//! HTTP wiring: the Leptos pages and server functions, downloads, health and metrics, and the
//! layers every request passes through (cross-site request refusal, metrics, tracing).

mod audit;
mod jobs;
mod legacy;
mod mail;
pub mod sso;

use std::time::{Duration, Instant};

use app::api::context::{caller_for, client_ip_behind, AppContext};
use app::api::error::ApiError;
use app::{shell, App};
use axum::extract::{FromRef, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use crate::config::Settings;
use crate::telemetry::metrics_handle;

/// The name the browser bundle is built under when no bundle.txt names the hashed ones.
pub const OUTPUT_NAME: &str = "sync-recover";

/// The built bundles' hashed names, from the site's `bundle.txt` (scripts/build-site.sh writes
/// `mail=`, `admin=` and `stylesheet=` lines); None when the site is not built, a name is not
/// one the script writes, or a file it names is missing.
pub fn bundles(site_root: &std::path::Path) -> Option<app::Bundles> {
    let text = std::fs::read_to_string(site_root.join("bundle.txt")).ok()?;
    let value = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
            .filter(|name| {
                !name.is_empty()
                    && !name.starts_with('.')
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            })
            .map(str::to_owned)
    };
    let bundles = app::Bundles {
        mail: value("mail")?,
        admin: value("admin")?,
        stylesheet: value("stylesheet")?,
    };
    let pkg = site_root.join("pkg");
    let present = [
        format!("{}.js", bundles.mail),
        format!("{}_bg.wasm", bundles.mail),
        format!("{}.js", bundles.admin),
        format!("{}_bg.wasm", bundles.admin),
        bundles.stylesheet.clone(),
    ]
    .iter()
    .all(|file| pkg.join(file).is_file());
    present.then_some(bundles)
}

#[derive(Clone)]
pub(crate) struct WebState {
    leptos_options: LeptosOptions,
    metrics: PrometheusHandle,
    ctx: AppContext,
    /// For the health check: the database every store shares.
    db: database::Database,
    /// Single sign-on, when configured.
    sso: Option<std::sync::Arc<sso::SsoSetup>>,
    /// Fetches a message's remote images when its reader asks ("Show images").
    images: mailview::ImageFetcher,
    /// The largest file the Legacy migration screen may upload, in bytes.
    upload_limit: u64,
}

impl FromRef<WebState> for LeptosOptions {
    fn from_ref(state: &WebState) -> Self {
        state.leptos_options.clone()
    }
}

/// The routes the router serves besides the pages and the server functions, listed once: the
/// router is built from this list, and the access matrix test walks it, so a route cannot be
/// added without the test asking for its row.
fn plain_routes() -> Vec<(&'static str, axum::routing::MethodRouter<WebState>)> {
    vec![
        ("/healthz", get(healthz)),
        // Every method: the token is checked first, so any request without one gets 401.
        (
            "/legacy/v1/submissions",
            axum::routing::any(legacy::submissions),
        ),
        // Streams to disk up to worker.upload_limit_mb, so axum's own body limit is off here.
        (
            "/admin/legacy/upload",
            axum::routing::any(legacy::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        ),
        ("/metrics", get(metrics)),
        ("/admin/audit.csv", get(audit::audit_csv)),
        ("/admin/jobs/{job}/download", get(jobs::export_file)),
        ("/admin/jobs/{job}/part/{part}", get(jobs::export_part)),
        ("/admin/jobs/{job}/report.csv", get(jobs::report_csv)),
        ("/auth/sso/start", get(sso::start)),
        ("/auth/sso/callback", get(sso::callback)),
        ("/mail/body/{item}", get(mail::message_body)),
        ("/download/{item}/eml", get(mail::message_eml)),
        ("/download/{item}/attachment/{index}", get(mail::attachment)),
        ("/admin/mail/body/{item}", get(mail::admin_message_body)),
        ("/admin/download/{item}/eml", get(mail::admin_message_eml)),
        ("/admin/download/{item}/ics", get(mail::admin_event_ics)),
        ("/admin/download/{item}/vcf", get(mail::admin_contact_vcf)),
        (
            "/admin/download/{item}/attachment/{index}",
            get(mail::admin_attachment),
        ),
    ]
}

/// A refusal of a plain route, with the status of the wire error.
pub(crate) fn refusal(error: ApiError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    (status, format!("{error}\n")).into_response()
}

/// The caller of a plain route's request (the client address as `client_ip` finds it).
pub(crate) async fn caller(
    ctx: &AppContext,
    peer: std::net::SocketAddr,
    headers: &axum::http::HeaderMap,
) -> Result<access::Caller, ApiError> {
    let client = client_ip_behind(peer.ip(), headers, &ctx.trusted_proxies);
    caller_for(ctx, headers, client).await
}

/// The app's routes, listed once per process. Listing them renders the app with resource loading
/// suppressed through a process-wide flag (leptos_server's `SuppressResourceLoad`): a page that
/// a running portal renders at that moment waits for ever (leptos issue 4773). A process that
/// starts several portals (the integration tests) must therefore list them only once.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Every endpoint a request can reach: the plain routes, the pages and the server functions
/// (`POST /api/...`), sorted.
pub fn endpoints() -> Vec<String> {
    let mut all: Vec<String> = plain_routes()
        .into_iter()
        .map(|(path, _)| path.to_owned())
        .collect();
    all.extend(route_list().iter().map(|r| r.path().to_owned()));
    all.extend(leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path.to_owned()));
    all.sort();
    all.dedup();
    all
}

pub fn router(
    settings: &Settings,
    ctx: AppContext,
    db: database::Database,
    sso: Option<std::sync::Arc<sso::SsoSetup>>,
    images: mailview::ImageFetcher,
) -> Router {
    let site_root = &settings.server.site_root;
    let bundles = bundles(site_root);
    let leptos_options = LeptosOptions::builder()
        .output_name(
            bundles
                .as_ref()
                .map_or_else(|| OUTPUT_NAME.to_owned(), |b| b.mail.clone()),
        )
        .site_root(settings.server.site_root.to_string_lossy().as_ref())
        .site_pkg_dir("pkg")
        .site_addr(settings.server.listen)
        .env(leptos::config::Env::PROD)
        .build();
    let state = WebState {
        leptos_options: leptos_options.clone(),
        metrics: metrics_handle(),
        ctx: ctx.clone(),
        db,
        sso,
        images,
        upload_limit: settings.worker.upload_limit_mb.saturating_mul(1024 * 1024),
    };
    let routes = route_list();
    // What every page's rendering finds in its context: the app's handles and the bundles.
    let context = move || {
        provide_context(ctx.clone());
        if let Some(b) = &bundles {
            provide_context(b.clone());
        }
    };

    plain_routes()
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router.route(path, handler)
        })
        .nest_service("/pkg", bundle_files(site_root))
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            WebState,
            _,
        >(context, shell))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            sso::sign_in_gate,
        ))
        .layer(middleware::from_fn(refuse_cross_site))
        // The browser bundle shrinks to about a third; pages and server function answers too.
        // Export files are zips already, streamed with their length: sent as they are.
        .layer(
            CompressionLayer::new().compress_when(
                DefaultPredicate::new()
                    .and(NotForContentType::const_new("application/zip"))
                    .and(NotForContentType::const_new("application/octet-stream")),
            ),
        )
        .layer(middleware::from_fn(record_metrics))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The bundle's files: their names carry their content's hash, so a browser keeps them for a
/// year without asking again; each is sent as the brotli or gzip file built next to it when the
/// browser takes that encoding (no compression per request).
fn bundle_files(site_root: &std::path::Path) -> axum::routing::MethodRouter {
    let files = tower_http::services::ServeDir::new(site_root.join("pkg"))
        .precompressed_br()
        .precompressed_gzip();
    axum::routing::get_service(files).layer(middleware::map_response(
        |mut response: Response| async move {
            // Only a file found: a missing one may appear with the next build.
            if response.status().is_success() {
                response.headers_mut().insert(
                    header::CACHE_CONTROL,
                    header::HeaderValue::from_static("public, max-age=31536000, immutable"),
                );
            }
            response
        },
    ))
}

/// What a node without the web role answers: its health and its metrics, nothing else.
pub fn node_router(db: database::Database) -> Router {
    let metrics = metrics_handle();
    Router::new()
        .route(
            "/healthz",
            axum::routing::get(move || {
                let db = db.clone();
                async move { database_health(&db).await }
            }),
        )
        .route(
            "/metrics",
            axum::routing::get(move || {
                let rendered = metrics.render();
                async move {
                    (
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        rendered,
                    )
                        .into_response()
                }
            }),
        )
        .layer(TraceLayer::new_for_http())
}

/// 200 when the database answers, 503 otherwise: what a load balancer should look at.
async fn healthz(State(state): State<WebState>) -> Response {
    database_health(&state.db).await
}

async fn database_health(db: &database::Database) -> Response {
    // A load balancer wants an answer, not a request that waits for the pool's 30 seconds.
    let problem = match tokio::time::timeout(Duration::from_secs(2), db.ping()).await {
        Ok(Ok(())) => return (StatusCode::OK, "ok\n").into_response(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "no answer within 2 s".to_owned(),
    };
    tracing::error!(error = %problem, "health check: database unreachable");
    (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
}

async fn metrics(State(state): State<WebState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method, "status" => status).increment(1);
    metrics::histogram!("http_request_duration_seconds").record(started.elapsed().as_secs_f64());
    response
}

/// Refuses state-changing requests sent by another site (cross-site request forgery). Browsers
/// always send `Origin` or `Sec-Fetch-Site` with such requests; a request from a page of this
/// portal matches the `Host` it was sent to.
async fn refuse_cross_site(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && is_cross_site(&request) {
        tracing::warn!(uri = %request.uri(), "refused a cross-site request");
        return (
            StatusCode::FORBIDDEN,
            "cross-site requests are not accepted\n",
        )
            .into_response();
    }
    next.run(request).await
}

fn is_cross_site(request: &Request) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site == "cross-site" || site == "same-site" {
            return true;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'));
    origin == "null" || origin_host.is_none() || origin_host != host
}
