//! What the server hands to every request (rendering and server functions alike).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use accounts::{Session, SignInThrottle};
use leptos::prelude::*;

use super::error::unavailable;
use super::error::ApiError;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "sr_session";

/// Server functions reach the stores only through `access`: a [`access::Caller`] built from the
/// request, and the handles its grants open.
#[derive(Clone)]
pub struct AppContext {
    pub access: access::Access,
    /// The provider's name for the single sign-on button, when one is configured.
    pub sso_label: Option<String>,
    pub throttle: Arc<SignInThrottle>,
    /// Set when the portal is reached over HTTPS: cookies then carry `Secure`.
    pub secure_cookies: bool,
    pub session_lifetime: Duration,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<IpAddr>>,
}

pub fn app_context() -> Result<AppContext, ApiError> {
    use_context::<AppContext>().ok_or_else(|| unavailable("server context missing"))
}

pub fn request_parts() -> Result<http::request::Parts, ApiError> {
    use_context::<http::request::Parts>().ok_or_else(|| unavailable("request missing"))
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

/// The address of the person's browser: the connection's peer, or, when that peer is one of the
/// configured reverse proxies, the nearest untrusted address in `X-Forwarded-For`. Without this,
/// everyone behind a proxy would share one sign-in limit.
pub fn client_ip(parts: &http::request::Parts, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())?;
    client_ip_behind(peer, &parts.headers, trusted_proxies)
}

/// [`client_ip`] from the connection's peer and the request headers.
pub fn client_ip_behind(
    peer: IpAddr,
    headers: &http::HeaderMap,
    trusted_proxies: &[IpAddr],
) -> Option<IpAddr> {
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    // Each proxy appends the address it received from: walk back from the end past our own.
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted_proxies.contains(ip))
            .unwrap_or(peer),
    )
}

/// The session named by the cookie in these request headers, if it is live. For plain HTTP
/// handlers (downloads) as well as server functions.
pub async fn session_for(
    ctx: &AppContext,
    headers: &http::HeaderMap,
) -> Result<Option<Session>, access::AccessError> {
    let Some(token) = cookie_in(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    ctx.access.session(&token).await.inspect_err(|e| {
        tracing::error!(error = %e, "session lookup failed");
    })
}

/// The caller of this request (for plain HTTP handlers as well as server functions).
pub async fn caller_for(
    ctx: &AppContext,
    headers: &http::HeaderMap,
    client: Option<IpAddr>,
) -> Result<access::Caller, ApiError> {
    let session = session_for(ctx, headers).await?;
    Ok(ctx.access.caller(session, client).await?)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(peer: &str, forwarded: Option<&str>) -> http::request::Parts {
        let mut builder = http::Request::builder();
        if let Some(f) = forwarded {
            builder = builder.header("x-forwarded-for", f);
        }
        let (mut parts, ()) = builder.body(()).expect("request").into_parts();
        let peer: SocketAddr = peer.parse().expect("address");
        parts.extensions.insert(axum::extract::ConnectInfo(peer));
        parts
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.5".parse().expect("ip");
        let via_proxy = parts("10.0.0.5:4000", Some("203.0.113.9, 10.0.0.5"));
        assert_eq!(client_ip(&via_proxy, &[proxy]), "203.0.113.9".parse().ok());
        // Not configured as a proxy: the header is anyone's to forge.
        assert_eq!(client_ip(&via_proxy, &[]), "10.0.0.5".parse().ok());
        let direct = parts("198.51.100.7:5000", Some("1.2.3.4"));
        assert_eq!(client_ip(&direct, &[proxy]), "198.51.100.7".parse().ok());
        // A client-supplied first entry does not help it: the nearest untrusted hop counts.
        let forged = parts("10.0.0.5:4000", Some("1.2.3.4, 203.0.113.9"));
        assert_eq!(client_ip(&forged, &[proxy]), "203.0.113.9".parse().ok());
    }
}
