use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Who is signed in, as the pages see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
}

#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<SignedInUser>, ServerFnError> {
    let session = super::context::current_session().await?;
    Ok(session.map(|s| SignedInUser {
        username: s.user.username,
        display_name: s.user.display_name,
        is_admin: s.user.is_admin,
    }))
}

/// Signs in with a local password and starts a session; the browser is sent to the portal.
/// A refusal (wrong password, too many attempts) is an answer, not a failure: it comes back as
/// `Ok(Some(reason))`, so the browser does not log an HTTP error for a mistyped password.
#[server(endpoint = "sign_in")]
pub async fn sign_in(username: String, password: String) -> Result<Option<String>, ServerFnError> {
    use super::context::{app_context, client_ip, request_parts, session_cookie};

    let ctx = app_context()?;
    let parts = request_parts()?;
    let name_key = format!("user:{}", username.trim().to_lowercase());
    let addr_key = client_ip(&parts, &ctx.trusted_proxies).map(|ip| format!("addr:{ip}"));
    let keys: Vec<&str> = std::iter::once(name_key.as_str())
        .chain(addr_key.as_deref())
        .collect();

    if username.trim().is_empty() || password.is_empty() {
        return Ok(Some("Enter your user name and password.".to_owned()));
    }
    // The attempt is counted before the password is checked (see `SignInThrottle::begin`).
    if let Err(wait) = ctx.throttle.begin(&keys) {
        return Ok(Some(format!(
            "Too many failed attempts. Try again in {} minutes.",
            wait.as_secs().div_ceil(60).max(1)
        )));
    }

    let user = ctx
        .accounts
        .authenticate(&username, &password)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "sign-in failed on the server");
            ServerFnError::new("Signing in is unavailable right now. Try again shortly.")
        })?;
    let Some(user) = user else {
        tracing::info!(username = %username.trim(), "sign-in refused");
        return Ok(Some("Wrong user name or password.".to_owned()));
    };
    // Only the account's own counter is cleared: a valid account must not reset the limit on
    // its address, or it could be used to keep guessing other people's passwords.
    ctx.throttle.record_success(&name_key);
    if let Some(addr_key) = &addr_key {
        ctx.throttle.forgive(addr_key);
    }

    let session = ctx
        .accounts
        .create_session(user.id, ctx.session_lifetime)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "session creation failed");
            ServerFnError::new("Signing in is unavailable right now. Try again shortly.")
        })?;
    let response = expect_context::<leptos_axum::ResponseOptions>();
    if let Ok(value) = http::HeaderValue::from_str(&session_cookie(&ctx, Some(&session.token))) {
        response.append_header(http::header::SET_COOKIE, value);
    }
    tracing::info!(username = %user.username, "signed in");
    leptos_axum::redirect("/mail");
    Ok(None)
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ServerFnError> {
    use super::context::{app_context, cookie, request_parts, session_cookie, SESSION_COOKIE};

    let ctx = app_context()?;
    let parts = request_parts()?;
    if let Some(token) = cookie(&parts, SESSION_COOKIE) {
        ctx.accounts.delete_session(&token).await.map_err(|e| {
            tracing::error!(error = %e, "sign-out failed");
            ServerFnError::new("Signing out failed. Try again.")
        })?;
    }
    let response = expect_context::<leptos_axum::ResponseOptions>();
    if let Ok(value) = http::HeaderValue::from_str(&session_cookie(&ctx, None)) {
        response.append_header(http::header::SET_COOKIE, value);
    }
    leptos_axum::redirect("/sign-in");
    Ok(())
}
