//! Single sign-on: `/auth/sso/start` sends the browser to the provider, `/auth/sso/callback`
//! takes it back, has the `sso` crate verify the answer and the `access` crate sign the person
//! in. A refusal goes back to the sign-in page with a code that page knows the words for.

use std::collections::HashMap;
use std::net::SocketAddr;

use access::{SsoPolicy, SsoRefusal, SsoSignIn};
use app::api::context::{client_ip_behind, session_cookie};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sso::{Sso, SsoError};

use super::WebState;

/// The provider and what the settings say about the people it sends.
pub struct SsoSetup {
    pub sso: Sso,
    pub policy: SsoPolicy,
    pub auto_redirect: bool,
}

fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_owned())],
    )
        .into_response()
}

fn refused(code: &str) -> Response {
    see_other(&format!("/sign-in?sso={code}"))
}

fn code_of(e: &SsoError) -> &'static str {
    match e {
        SsoError::ProviderUnavailable(_) => "unavailable",
        SsoError::Refused(_) => "refused",
        SsoError::UnknownState => "expired",
        SsoError::InvalidToken(_) => "unverified",
        SsoError::Misconfigured(_) | SsoError::Storage(_) => "broken",
    }
}

pub(crate) async fn start(State(state): State<WebState>) -> Response {
    let Some(setup) = state.sso.clone() else {
        return (StatusCode::NOT_FOUND, "single sign-on is not configured\n").into_response();
    };
    match setup.sso.begin().await {
        Ok(url) => see_other(&url),
        Err(e) => {
            tracing::error!(error = %e, "single sign-on could not start");
            refused(code_of(&e))
        }
    }
}

pub(crate) async fn callback(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(setup) = state.sso.clone() else {
        return (StatusCode::NOT_FOUND, "single sign-on is not configured\n").into_response();
    };
    let ctx = &state.ctx;
    let client = client_ip_behind(peer.ip(), &headers, &ctx.trusted_proxies);
    let identity = match setup
        .sso
        .finish(
            query.get("state").map(String::as_str).unwrap_or_default(),
            query.get("code").map(String::as_str),
            query.get("error").map(String::as_str),
        )
        .await
    {
        Ok(identity) => identity,
        Err(e) => {
            tracing::warn!(error = %e, "single sign-on refused");
            return refused(code_of(&e));
        }
    };
    match ctx
        .access
        .sign_in_sso(&identity, &setup.policy, client, ctx.session_lifetime)
        .await
    {
        Ok(SsoSignIn::Started { session, .. }) => {
            let mut response = see_other("/mail");
            if let Ok(cookie) = HeaderValue::from_str(&session_cookie(ctx, Some(&session.token))) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Ok(SsoSignIn::Refused(SsoRefusal::NoAccount)) => refused("no_account"),
        Ok(SsoSignIn::Refused(SsoRefusal::Disabled)) => refused("disabled"),
        Err(e) => {
            tracing::error!(error = %e, "single sign-on failed on the server");
            refused("broken")
        }
    }
}

/// With `auto_redirect`, the sign-in page is skipped: straight to the provider, unless
/// `?local=1` (the built-in administrator's way in) or a refusal is to be shown.
pub(crate) async fn sign_in_gate(
    State(state): State<WebState>,
    Query(query): Query<HashMap<String, String>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let auto = state.sso.as_ref().is_some_and(|s| s.auto_redirect);
    if auto
        && request.uri().path() == "/sign-in"
        && !query.contains_key("local")
        && !query.contains_key("sso")
    {
        return see_other("/auth/sso/start");
    }
    next.run(request).await
}
