//! What the server hands to every request (rendering and server functions alike).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use accounts::{Accounts, Session, SignInThrottle};
use leptos::prelude::*;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "sr_session";

#[derive(Clone)]
pub struct AppContext {
    pub accounts: Accounts,
    pub archive: archive::Archive,
    pub search: Arc<search::SearchIndex>,
    /// Connections, tasks and the sync worker (asking it for a run wakes it).
    pub sync: syncer::SyncService,
    pub throttle: Arc<SignInThrottle>,
    /// Set when the portal is reached over HTTPS: cookies then carry `Secure`.
    pub secure_cookies: bool,
    pub session_lifetime: Duration,
}

pub fn app_context() -> Result<AppContext, ServerFnError> {
    use_context::<AppContext>().ok_or_else(|| ServerFnError::new("server context missing"))
}

pub fn request_parts() -> Result<http::request::Parts, ServerFnError> {
    use_context::<http::request::Parts>().ok_or_else(|| ServerFnError::new("request missing"))
}

pub fn cookie(parts: &http::request::Parts, name: &str) -> Option<String> {
    cookie_in(&parts.headers, name)
}

pub fn cookie_in(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

pub fn client_address(parts: &http::request::Parts) -> Option<SocketAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|info| info.0)
}

/// The caller's session, if their cookie names a live one.
pub async fn current_session() -> Result<Option<Session>, ServerFnError> {
    let ctx = app_context()?;
    let parts = request_parts()?;
    session_for(&ctx, &parts.headers)
        .await
        .map_err(|_| ServerFnError::new("The archive is unavailable right now."))
}

/// The session named by the cookie in these request headers, if it is live. For plain HTTP
/// handlers (downloads) as well as server functions.
pub async fn session_for(
    ctx: &AppContext,
    headers: &http::HeaderMap,
) -> Result<Option<Session>, accounts::AccountError> {
    let Some(token) = cookie_in(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    ctx.accounts.session(&token).await.inspect_err(|e| {
        tracing::error!(error = %e, "session lookup failed");
    })
}

/// A `Set-Cookie` value for the session cookie; `None` clears it.
pub fn session_cookie(ctx: &AppContext, token: Option<&str>) -> String {
    let secure = if ctx.secure_cookies { "; Secure" } else { "" };
    match token {
        Some(token) => format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            ctx.session_lifetime.as_secs()
        ),
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}
