//! Accounts at an identity provider, linked to users by the provider's issuer and subject.

use crate::{now_micros, AccountError, Accounts, User, UserId};

impl Accounts {
    pub async fn user_by_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<User>, AccountError> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM user_identities WHERE issuer = $1 AND subject = $2",
        )
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.db.pool)
        .await?;
        match id {
            Some(id) => self.user(id).await,
            None => Ok(None),
        }
    }

    pub async fn link_identity(
        &self,
        user: UserId,
        issuer: &str,
        subject: &str,
    ) -> Result<(), AccountError> {
        sqlx::query(
            "INSERT INTO user_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (issuer, subject) DO NOTHING",
        )
        .bind(issuer)
        .bind(subject)
        .bind(user)
        .bind(now_micros())
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    /// A user without a local password under `wanted`, or `wanted-2`, `wanted-3`, ... when the
    /// name is taken (a provider's user names need not match ours).
    pub async fn create_sso_user(
        &self,
        wanted: &str,
        display_name: &str,
    ) -> Result<User, AccountError> {
        let base: String = wanted
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
            .take(180)
            .collect();
        let base = if base.is_empty() {
            "user".to_owned()
        } else {
            base
        };
        for n in 1..=50 {
            let name = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            match self.create_user(&name, display_name, None).await {
                Ok(user) => return Ok(user),
                Err(AccountError::UsernameTaken(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(AccountError::UsernameTaken(base))
    }
}
