//! `sso`: signing in through an OpenID Connect provider (Entra ID, Keycloak, Okta, ...).
//!
//! [`Sso::begin`] stores a fresh state, nonce and PKCE verifier and returns the provider's
//! authorization URL; [`Sso::finish`] takes the state back (once), exchanges the code with the
//! verifier, and checks the ID token's signature (the provider's published keys), issuer,
//! audience, expiry and nonce. What comes out is an [`Identity`]; which user that is, and with
//! which roles, the `access` crate decides.

#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use database::Database;
use domain::Timestamp;
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use sqlx::Row;

/// How long a sign-in may take between leaving for the provider and coming back.
const PENDING_FOR: Duration = Duration::from_secs(600);
/// How long the provider's discovery document and keys are trusted before they are fetched again.
const METADATA_FOR: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
pub struct SsoConfig {
    /// Exactly as the provider's discovery document names itself, e.g.
    /// `https://login.microsoftonline.com/<tenant-id>/v2.0`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
    /// Where the provider sends the browser back: `<public url>/auth/sso/callback`.
    pub redirect_url: String,
    /// The ID-token claim that lists the user's roles or groups (`roles` for Entra app roles).
    pub roles_claim: String,
}

/// A person as the provider vouched for them, after every check passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub username: Option<String>,
    /// The values of the configured roles claim (a string or a list of strings).
    pub roles: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("the sign-in provider cannot be reached: {0}")]
    ProviderUnavailable(String),
    #[error("the sign-in provider is not configured as it answers: {0}")]
    Misconfigured(String),
    /// The provider said no (the user cancelled, or is not allowed into this application).
    #[error("the sign-in provider refused: {0}")]
    Refused(String),
    #[error("this sign-in was not started here, was already used, or took too long")]
    UnknownState,
    #[error("the provider's answer did not pass the checks: {0}")]
    InvalidToken(String),
    #[error("database: {0}")]
    Storage(#[from] sqlx::Error),
}

type Http = openidconnect::reqwest::Client;

pub struct Sso {
    db: Database,
    config: SsoConfig,
    http: Http,
    metadata: tokio::sync::Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

impl std::fmt::Debug for Sso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sso")
            .field("issuer", &self.config.issuer)
            .finish_non_exhaustive()
    }
}

impl Sso {
    pub fn new(db: Database, config: SsoConfig) -> Result<Sso, SsoError> {
        IssuerUrl::new(config.issuer.clone())
            .map_err(|e| SsoError::Misconfigured(format!("issuer URL: {e}")))?;
        RedirectUrl::new(config.redirect_url.clone())
            .map_err(|e| SsoError::Misconfigured(format!("redirect URL: {e}")))?;
        let http = Http::builder()
            // A provider's redirect must never be followed by the server (SSRF).
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| SsoError::Misconfigured(e.to_string()))?;
        Ok(Sso {
            db,
            config,
            http,
            metadata: tokio::sync::Mutex::new(None),
        })
    }

    async fn metadata(&self, refresh: bool) -> Result<CoreProviderMetadata, SsoError> {
        let mut cached = self.metadata.lock().await;
        if let Some((at, meta)) = cached.as_ref() {
            if !refresh && at.elapsed() < METADATA_FOR {
                return Ok(meta.clone());
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| SsoError::Misconfigured(e.to_string()))?;
        let meta = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| match e {
                openidconnect::DiscoveryError::Validation(why) => SsoError::Misconfigured(why),
                other => SsoError::ProviderUnavailable(error_chain(&other)),
            })?;
        *cached = Some((Instant::now(), meta.clone()));
        Ok(meta)
    }

    fn client(
        &self,
        meta: CoreProviderMetadata,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        SsoError,
    > {
        let redirect = RedirectUrl::new(self.config.redirect_url.clone())
            .map_err(|e| SsoError::Misconfigured(e.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            meta,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a sign-in: the URL to send the browser to.
    pub async fn begin(&self) -> Result<String, SsoError> {
        let client = self.client(self.metadata(false).await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in self.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        let now = Timestamp::now().0;
        let cutoff = now.saturating_sub(i64::try_from(PENDING_FOR.as_micros()).unwrap_or(0));
        sqlx::query("DELETE FROM sso_logins WHERE created_at < $1")
            .bind(cutoff)
            .execute(&self.db.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sso_logins (state, nonce, pkce_verifier, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(state.secret())
        .bind(nonce.secret())
        .bind(verifier.secret())
        .bind(now)
        .execute(&self.db.pool)
        .await?;
        Ok(url.to_string())
    }

    /// Takes the pending sign-in of `state` (once) and returns its nonce and PKCE verifier.
    async fn take(&self, state: &str) -> Result<(Nonce, PkceCodeVerifier), SsoError> {
        let mut tx = self.db.pool.begin().await?;
        let row =
            sqlx::query("SELECT nonce, pkce_verifier, created_at FROM sso_logins WHERE state = $1")
                .bind(state)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(SsoError::UnknownState)?;
        sqlx::query("DELETE FROM sso_logins WHERE state = $1")
            .bind(state)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let created: i64 = row.try_get("created_at")?;
        let age = Timestamp::now().micros_since(Timestamp(created));
        if age > i64::try_from(PENDING_FOR.as_micros()).unwrap_or(i64::MAX) {
            return Err(SsoError::UnknownState);
        }
        Ok((
            Nonce::new(row.try_get("nonce")?),
            PkceCodeVerifier::new(row.try_get("pkce_verifier")?),
        ))
    }

    /// The browser came back with `code` and `state` (or `error`): the verified identity.
    pub async fn finish(
        &self,
        state: &str,
        code: Option<&str>,
        error: Option<&str>,
    ) -> Result<Identity, SsoError> {
        let (nonce, verifier) = self.take(state).await?;
        if let Some(error) = error {
            return Err(SsoError::Refused(error.to_owned()));
        }
        let code = code.ok_or_else(|| SsoError::Refused("no code in the answer".into()))?;
        let client = self.client(self.metadata(false).await?)?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| SsoError::Misconfigured(e.to_string()))?
            .set_pkce_verifier(verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(r) => {
                    SsoError::Refused(r.error().to_string())
                }
                other => SsoError::ProviderUnavailable(error_chain(&other)),
            })?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| SsoError::InvalidToken("no ID token in the answer".into()))?;
        let verifier = client.id_token_verifier();
        let claims = match id_token.claims(&verifier, &nonce) {
            Ok(claims) => claims.clone(),
            // Keys rotate: fetch them once more before calling the signature bad.
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
                let fresh = self.client(self.metadata(true).await?)?;
                let fresh_verifier = fresh.id_token_verifier();
                let claims = id_token
                    .claims(&fresh_verifier, &nonce)
                    .map_err(|e| SsoError::InvalidToken(e.to_string()))?
                    .clone();
                claims
            }
            Err(e) => return Err(SsoError::InvalidToken(e.to_string())),
        };
        // The token is verified as a whole: reading one more claim from its payload is safe.
        let roles = claim_values(&id_token.to_string(), &self.config.roles_claim);
        Ok(Identity {
            issuer: claims.issuer().to_string(),
            subject: claims.subject().to_string(),
            email: claims.email().map(|e| e.to_string()),
            email_verified: claims.email_verified().unwrap_or(false),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.to_string()),
            username: claims.preferred_username().map(|u| u.to_string()),
            roles,
        })
    }
}

/// The string values of `claim` in a JWT's payload: a string, or a list of strings.
fn claim_values(jwt: &str, claim: &str) -> Vec<String> {
    let Some(payload) = jwt.split('.').nth(1) else {
        return Vec::new();
    };
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')) else {
        return Vec::new();
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Vec::new();
    };
    match value.get(claim) {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_claim_as_string_or_list() {
        let jwt = |payload: &str| format!("h.{}.s", URL_SAFE_NO_PAD.encode(payload));
        assert_eq!(
            claim_values(&jwt(r#"{"roles":["a","b"]}"#), "roles"),
            ["a", "b"]
        );
        assert_eq!(claim_values(&jwt(r#"{"groups":"g1"}"#), "groups"), ["g1"]);
        assert!(claim_values(&jwt(r#"{"roles":5}"#), "roles").is_empty());
        assert!(claim_values("not a jwt", "roles").is_empty());
    }
}
