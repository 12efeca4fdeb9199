//! Signing in with an identity a provider vouched for: find or create the user, bring their
//! addresses and provider roles up to date, start a session, and log it.

use std::net::IpAddr;
use std::time::Duration;

use accounts::{NewSession, User};
use sso::Identity;

use crate::{Access, AccessError, AuditAction, NewAuditEntry};

/// What the server's `[sso]` settings say about people who arrive from the provider.
#[derive(Debug, Clone, Default)]
pub struct SsoPolicy {
    /// Provider role or group values and the role each one gives here.
    pub role_map: Vec<(String, String)>,
    /// Given once to a user created by a sign-on; none means an end user.
    pub default_role: Option<String>,
    /// Whether someone unknown here gets an account on their first sign-on.
    pub create_users: bool,
}

#[derive(Debug, Clone)]
pub enum SsoSignIn {
    Started { user: User, session: NewSession },
    Refused(SsoRefusal),
}

/// Why a person the provider vouched for is still not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoRefusal {
    /// Unknown here, and sign-ons do not create accounts.
    NoAccount,
    Disabled,
}

impl Access {
    pub async fn sign_in_sso(
        &self,
        identity: &Identity,
        policy: &SsoPolicy,
        client: Option<IpAddr>,
        lifetime: Duration,
    ) -> Result<SsoSignIn, AccessError> {
        let accounts = &self.inner.accounts;
        let roles = &self.inner.roles;
        let known = accounts
            .user_by_identity(&identity.issuer, &identity.subject)
            .await?;
        let (user, created) = match known {
            Some(user) => (user, false),
            None if policy.create_users => {
                let wanted = identity
                    .username
                    .clone()
                    .or_else(|| identity.email.clone())
                    .unwrap_or_else(|| identity.subject.clone());
                let wanted = wanted.split('@').next().unwrap_or("user").to_owned();
                let display = identity.name.clone().unwrap_or_else(|| wanted.clone());
                let user = accounts.create_sso_user(&wanted, &display).await?;
                accounts
                    .link_identity(user.id, &identity.issuer, &identity.subject)
                    .await?;
                (user, true)
            }
            None => {
                self.log_sso(None, identity, client, "refused", "no account here")
                    .await?;
                return Ok(SsoSignIn::Refused(SsoRefusal::NoAccount));
            }
        };
        if user.disabled {
            self.log_sso(Some(&user), identity, client, "refused", "account disabled")
                .await?;
            return Ok(SsoSignIn::Refused(SsoRefusal::Disabled));
        }
        // Only a verified address is believed: anyone can type any address into a profile.
        if let (Some(email), true) = (&identity.email, identity.email_verified) {
            if let Err(e) = accounts.add_address(user.id, email).await {
                tracing::warn!(user = %user.username, error = %e, "address from sign-on not added");
            }
        }
        let all_roles = roles.list().await?;
        let mapped: Vec<i64> = policy
            .role_map
            .iter()
            .filter(|(value, _)| identity.roles.iter().any(|r| r == value))
            .filter_map(|(_, role)| all_roles.iter().find(|r| &r.name == role).map(|r| r.id))
            .collect();
        roles.replace_sso_roles(user.id, &mapped).await?;
        if created {
            if let Some(role) = policy
                .default_role
                .as_ref()
                .and_then(|name| all_roles.iter().find(|r| &r.name == name))
            {
                roles.assign(user.id, role.id, &crate::Scope::All).await?;
            }
        }
        let session = accounts.create_session(user.id, lifetime).await?;
        self.log_sso(
            Some(&user),
            identity,
            client,
            "ok",
            if created { "account created" } else { "" },
        )
        .await?;
        Ok(SsoSignIn::Started { user, session })
    }

    async fn log_sso(
        &self,
        user: Option<&User>,
        identity: &Identity,
        client: Option<IpAddr>,
        outcome: &str,
        why: &str,
    ) -> Result<(), AccessError> {
        let detail = format!(
            "single sign-on as {} at {}{}",
            identity.subject,
            identity.issuer,
            if why.is_empty() {
                String::new()
            } else {
                format!(": {why}")
            }
        );
        self.inner
            .audit
            .append(&NewAuditEntry {
                actor_user_id: user.map(|u| u.id),
                actor: user
                    .map(|u| u.username.clone())
                    .or_else(|| identity.username.clone())
                    .unwrap_or_else(|| identity.subject.clone()),
                actor_role: String::new(),
                client_address: client.map(|ip| ip.to_string()).unwrap_or_default(),
                action: if outcome == "ok" {
                    AuditAction::SignIn
                } else {
                    AuditAction::SignInFailed
                },
                target_mailbox: None,
                target_owner: String::new(),
                detail,
                outcome: outcome.to_owned(),
            })
            .await?;
        Ok(())
    }
}
