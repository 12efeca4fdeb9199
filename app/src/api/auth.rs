//! Who is signed in, signing in and out. The rules of signing in (what is counted, when an
//! account or an address is locked, what a refusal says) are the accounts crate's.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::error::ApiError;

/// Who is signed in, as the pages see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
}

#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<SignedInUser>, ApiError> {
    let session = super::context::current_session().await?;
    Ok(session.map(|s| SignedInUser {
        username: s.user.username,
        display_name: s.user.display_name,
        is_admin: s.user.is_admin,
    }))
}

/// Signs in with a local password and starts a session; the browser is sent to the portal.
/// A refusal (wrong password, too many attempts) is an answer for the person at the form, not a
/// failed call: it comes back as `Ok(Some(reason))`, so the browser logs no HTTP error for a
/// mistyped password.
#[server(endpoint = "sign_in")]
pub async fn sign_in(username: String, password: String) -> Result<Option<String>, ApiError> {
    use super::context::{app_context, client_ip, request_parts, session_cookie};
    use accounts::{SignInAttempt, SignInOutcome};

    let ctx = app_context()?;
    let parts = request_parts()?;
    let attempt = SignInAttempt {
        username: &username,
        password: &password,
        client: client_ip(&parts, &ctx.trusted_proxies),
        session_lifetime: ctx.session_lifetime,
    };
    let outcome = ctx
        .accounts
        .sign_in(&ctx.throttle, attempt)
        .await
        .map_err(super::error::unavailable)?;
    let session = match outcome {
        SignInOutcome::Started { session, .. } => session,
        SignInOutcome::Refused(refusal) => return Ok(Some(refusal.message())),
    };
    let response = expect_context::<leptos_axum::ResponseOptions>();
    if let Ok(value) = http::HeaderValue::from_str(&session_cookie(&ctx, Some(&session.token))) {
        response.append_header(http::header::SET_COOKIE, value);
    }
    leptos_axum::redirect("/mail");
    Ok(None)
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ApiError> {
    use super::context::{app_context, cookie, request_parts, session_cookie, SESSION_COOKIE};

    let ctx = app_context()?;
    let parts = request_parts()?;
    if let Some(token) = cookie(&parts, SESSION_COOKIE) {
        ctx.accounts
            .delete_session(&token)
            .await
            .map_err(super::error::unavailable)?;
    }
    let response = expect_context::<leptos_axum::ResponseOptions>();
    if let Ok(value) = http::HeaderValue::from_str(&session_cookie(&ctx, None)) {
        response.append_header(http::header::SET_COOKIE, value);
    }
    leptos_axum::redirect("/sign-in");
    Ok(())
}
