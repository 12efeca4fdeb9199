//! Who is signed in, signing in and out. The rules of signing in (what is counted, when an
//! account or an address is locked, what a refusal says) are the accounts crate's.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::error::ApiError;

/// Who is signed in, as the pages see it. The permissions only decide what the pages offer;
/// every server function checks them again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    pub username: String,
    pub display_name: String,
    /// Permission names (`connections`, `sync_tasks`, `audit_log`, ...).
    pub permissions: Vec<String>,
}

/// The admin screens, in tab order: permission, address, tab label.
pub const ADMIN_SCREENS: [(&str, &str, &str); 9] = [
    ("sync_tasks", "/admin/tasks", "Sync tasks"),
    ("browse_mail", "/admin/mailboxes", "Mailboxes"),
    ("jobs", "/admin/jobs", "Jobs"),
    ("connections", "/admin/connections", "Server connections"),
    ("retention", "/admin/retention", "Retention"),
    ("legacy_import", "/admin/legacy", "Legacy migration"),
    ("users", "/admin/users", "Users"),
    ("roles", "/admin/roles", "Roles"),
    ("audit_log", "/admin/audit", "Audit log"),
];

impl SignedInUser {
    /// `jobs` is the Jobs screen: held with `export` or `restore`.
    pub fn holds(&self, permission: &str) -> bool {
        if permission == "jobs" {
            return self.holds("export") || self.holds("restore");
        }
        self.permissions.iter().any(|p| p == permission)
    }

    /// The first admin screen the user may open, if any.
    pub fn admin_home(&self) -> Option<&'static str> {
        ADMIN_SCREENS
            .iter()
            .find(|(p, _, _)| self.holds(p))
            .map(|(_, href, _)| *href)
    }
}

/// How the sign-in page offers single sign-on (going straight to the provider, when set up so,
/// happens on the server before the page is rendered).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoButton {
    /// "Sign in with <label>".
    pub label: String,
}

/// Why a single sign-on did not sign anyone in: the code travels in `/sign-in?sso=<code>`, and
/// only these words are ever shown for it (a made-up link cannot put other words on the page).
pub const SSO_REFUSALS: [(&str, &str); 7] = [
    ("unavailable", "The sign-in service of your organisation cannot be reached right now. Try again shortly."),
    ("refused", "Your organisation's sign-in service did not let you in."),
    ("expired", "That sign-in was not started here or took too long. Please sign in again."),
    ("unverified", "The answer from your organisation's sign-in service could not be verified, so you were not signed in."),
    ("broken", "Single sign-on is not working on this server. Tell your administrator."),
    ("no_account", "There is no account for you here yet. Ask your administrator to add you."),
    ("disabled", "Your account here is disabled. Ask your administrator."),
];

pub fn sso_refusal(code: &str) -> Option<&'static str> {
    SSO_REFUSALS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, words)| *words)
}

#[server(endpoint = "sign_in_options", output = super::codec::Json)]
pub async fn sign_in_options() -> Result<Option<SsoButton>, ApiError> {
    let ctx = super::context::app_context()?;
    Ok(ctx.sso_label.map(|label| SsoButton { label }))
}

#[server(endpoint = "current_user", output = super::codec::Json)]
pub async fn current_user() -> Result<Option<SignedInUser>, ApiError> {
    match super::access::caller().await {
        Ok(caller) => Ok(Some(SignedInUser {
            username: caller.user().username.clone(),
            display_name: caller.user().display_name.clone(),
            permissions: caller
                .permissions()
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
        })),
        Err(ApiError::SignedOut) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Signs in with a local password and starts a session; the browser is sent to the portal.
/// A refusal (wrong password, too many attempts) is an answer for the person at the form, not a
/// failed call: it comes back as `Ok(Some(reason))`, so the browser logs no HTTP error for a
/// mistyped password.
#[server(endpoint = "sign_in", output = super::codec::Json)]
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
    let outcome = ctx.access.sign_in(&ctx.throttle, attempt).await?;
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

/// Ends every session of the signed-in user, on every device, and goes to sign-in.
#[server(endpoint = "sign_out_everywhere", output = super::codec::Json)]
pub async fn sign_out_everywhere() -> Result<(), ApiError> {
    use super::context::{app_context, session_cookie};
    let caller = super::access::caller().await?;
    caller.sign_out_everywhere().await?;
    let ctx = app_context()?;
    let response = expect_context::<leptos_axum::ResponseOptions>();
    if let Ok(value) = http::HeaderValue::from_str(&session_cookie(&ctx, None)) {
        response.append_header(http::header::SET_COOKIE, value);
    }
    leptos_axum::redirect("/sign-in");
    Ok(())
}

#[server(endpoint = "sign_out", output = super::codec::Json)]
pub async fn sign_out() -> Result<(), ApiError> {
    use super::context::{
        app_context, client_ip, cookie, request_parts, session_cookie, SESSION_COOKIE,
    };

    let ctx = app_context()?;
    let parts = request_parts()?;
    if let Some(token) = cookie(&parts, SESSION_COOKIE) {
        ctx.access
            .sign_out(&token, client_ip(&parts, &ctx.trusted_proxies))
            .await?;
    }
    let response = expect_context::<leptos_axum::ResponseOptions>();
    if let Ok(value) = http::HeaderValue::from_str(&session_cookie(&ctx, None)) {
        response.append_header(http::header::SET_COOKIE, value);
    }
    leptos_axum::redirect("/sign-in");
    Ok(())
}
