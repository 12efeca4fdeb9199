use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{now_micros, AccountError, Accounts, User, UserId};

/// What the browser receives when a session starts: the token goes into an HttpOnly cookie.
/// (Cross-site requests are refused by the server from their Origin, so no second token is
/// needed.)
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub expires_at: i64,
}

/// A live session, looked up from the cookie's token.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub expires_at: i64,
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

impl Accounts {
    pub async fn create_session(
        &self,
        user_id: UserId,
        lifetime: Duration,
    ) -> Result<NewSession, AccountError> {
        let token = random_token();
        let now = now_micros();
        let lifetime = i64::try_from(lifetime.as_micros()).unwrap_or(i64::MAX);
        let expires_at = now.saturating_add(lifetime);
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(&self.db.pool)
        .await?;
        Ok(NewSession { token, expires_at })
    }

    /// The session for a cookie token, if it exists and has not expired.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, AccountError> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.display_name, u.disabled, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
        )
        .bind(token_hash(token))
        .bind(now_micros())
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Session {
            user: User {
                id: row.try_get("id")?,
                username: row.try_get("username")?,
                display_name: row.try_get("display_name")?,
                disabled: false,
            },
            expires_at: row.try_get("expires_at")?,
        }))
    }

    /// Signs the user out everywhere: every session of theirs ends.
    pub async fn end_sessions(&self, user_id: UserId) -> Result<u64, AccountError> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.db.pool)
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn delete_session(&self, token: &str) -> Result<(), AccountError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash(token))
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// Removes expired sessions; returns how many.
    pub async fn purge_expired_sessions(&self) -> Result<u64, AccountError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_micros())
            .execute(&self.db.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::Accounts;

    testkit::each_backend!(session_lifecycle);
    async fn session_lifecycle(kit: &testkit::TestDb) {
        let accounts = Accounts::new(kit.db.clone());
        let user = accounts
            .create_user("dana", "Dana", Some("password-1"))
            .await
            .expect("create");
        let new = accounts
            .create_session(user.id, Duration::from_secs(3600))
            .await
            .expect("session");
        assert_eq!(new.token.len(), 43, "256 random bits, base64url");

        let found = accounts.session(&new.token).await.expect("lookup");
        let found = found.expect("session exists");
        assert_eq!(found.user, user);
        assert_eq!(found.expires_at, new.expires_at);

        assert!(accounts.session("forged").await.expect("lookup").is_none());

        accounts.delete_session(&new.token).await.expect("delete");
        assert!(accounts
            .session(&new.token)
            .await
            .expect("lookup")
            .is_none());
    }

    testkit::each_backend!(expired_sessions_are_invisible_and_purged);
    async fn expired_sessions_are_invisible_and_purged(kit: &testkit::TestDb) {
        let accounts = Accounts::new(kit.db.clone());
        let user = accounts
            .create_user("erin", "Erin", Some("password-1"))
            .await
            .expect("create");
        let new = accounts
            .create_session(user.id, Duration::ZERO)
            .await
            .expect("session");
        assert!(accounts
            .session(&new.token)
            .await
            .expect("lookup")
            .is_none());
        assert_eq!(accounts.purge_expired_sessions().await.expect("purge"), 1);
    }
}
