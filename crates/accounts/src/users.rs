use sqlx::Row;

use crate::{hash_password, now_micros, verify_password, AccountError, Accounts};

pub use domain::UserId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    /// A disabled user cannot sign in, and their sessions stop working.
    pub disabled: bool,
}

impl User {
    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        Ok(User {
            id: row.try_get("id")?,
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
            disabled: row.try_get::<i64, _>("disabled")? != 0,
        })
    }
}

fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 200
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A fixed argon2id hash of a random string: verifying against it when a user does not exist
/// costs the same time as a real check, so response times do not reveal which names exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8wP5u7Qk3bqfVq7C3jO0dJ9yC0m2sXy6l3kVYQwz4Zk";

impl Accounts {
    /// Creates a user. `password` is `None` for accounts that only sign in through single sign-on.
    pub async fn create_user(
        &self,
        username: &str,
        display_name: &str,
        password: Option<&str>,
    ) -> Result<User, AccountError> {
        let username = username.trim().to_lowercase();
        if !valid_username(&username) {
            return Err(AccountError::InvalidUsername);
        }
        let hash = match password {
            Some(p) => Some(hash_blocking(p).await?),
            None => None,
        };
        let inserted = sqlx::query(
            "INSERT INTO users (username, display_name, password_hash, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO NOTHING",
        )
        .bind(&username)
        .bind(display_name.trim())
        .bind(hash)
        .bind(now_micros())
        .execute(&self.db.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(AccountError::UsernameTaken(username));
        }
        self.find_user(&username)
            .await?
            .ok_or(AccountError::NoSuchUser(username))
    }

    pub async fn find_user(&self, username: &str) -> Result<Option<User>, AccountError> {
        let row = sqlx::query(
            "SELECT id, username, display_name, disabled FROM users WHERE username = $1",
        )
        .bind(username.trim().to_lowercase())
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(row.as_ref().map(User::from_row).transpose()?)
    }

    pub async fn list_users(&self) -> Result<Vec<User>, AccountError> {
        let rows =
            sqlx::query("SELECT id, username, display_name, disabled FROM users ORDER BY username")
                .fetch_all(&self.db.pool)
                .await?;
        Ok(rows.iter().map(User::from_row).collect::<Result<_, _>>()?)
    }

    pub async fn set_password(&self, username: &str, password: &str) -> Result<(), AccountError> {
        let hash = hash_blocking(password).await?;
        let updated = sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
            .bind(hash)
            .bind(username.trim().to_lowercase())
            .execute(&self.db.pool)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(AccountError::NoSuchUser(username.to_owned()));
        }
        Ok(())
    }

    /// Checks a local password. `None` for an unknown user, a wrong password, or an account
    /// without a local password, all indistinguishable to the caller.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<User>, AccountError> {
        let row = sqlx::query(
            "SELECT id, username, display_name, disabled, password_hash FROM users \
             WHERE username = $1",
        )
        .bind(username.trim().to_lowercase())
        .fetch_optional(&self.db.pool)
        .await?;
        let (user, hash) = match row {
            Some(row) => {
                let hash: Option<String> = row.try_get("password_hash")?;
                (Some(User::from_row(&row)?), hash)
            }
            None => (None, None),
        };
        let matched = {
            let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
            let password = password.to_owned();
            tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                .await
                .unwrap_or(false)
        };
        // A disabled account is refused like a wrong password, after the same work.
        Ok(if matched {
            user.filter(|u| !u.disabled)
        } else {
            None
        })
    }

    pub async fn user(&self, id: UserId) -> Result<Option<User>, AccountError> {
        let row =
            sqlx::query("SELECT id, username, display_name, disabled FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?;
        Ok(row.as_ref().map(User::from_row).transpose()?)
    }

    /// Disables or re-enables a user. Disabling ends every session of theirs at once.
    pub async fn set_disabled(&self, id: UserId, disabled: bool) -> Result<(), AccountError> {
        let mut tx = self.db.pool.begin().await?;
        let done = sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(i64::from(disabled))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(AccountError::NoSuchUser(id.to_string()));
        }
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn hash_blocking(password: &str) -> Result<String, AccountError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use crate::AccountError;
    use crate::Accounts;

    testkit::each_backend!(create_and_authenticate);
    async fn create_and_authenticate(kit: &testkit::TestDb) {
        let accounts = Accounts::new(kit.db.clone());
        let user = accounts
            .create_user(" Alice ", "Alice Archer", Some("s3cret-pass"))
            .await
            .expect("create");
        assert_eq!(user.username, "alice");
        assert_eq!(user.display_name, "Alice Archer");

        let ok = accounts
            .authenticate("ALICE", "s3cret-pass")
            .await
            .expect("auth");
        assert_eq!(ok.map(|u| u.id), Some(user.id));
        assert!(accounts
            .authenticate("alice", "wrong-pass")
            .await
            .expect("auth")
            .is_none());
        assert!(accounts
            .authenticate("nobody", "s3cret-pass")
            .await
            .expect("auth")
            .is_none());
    }

    testkit::each_backend!(duplicate_and_invalid_names_are_refused);
    async fn duplicate_and_invalid_names_are_refused(kit: &testkit::TestDb) {
        let accounts = Accounts::new(kit.db.clone());
        accounts
            .create_user("bob", "Bob", Some("password-1"))
            .await
            .expect("create");
        let again = accounts.create_user("BOB", "Bob", Some("password-2")).await;
        assert!(matches!(again, Err(AccountError::UsernameTaken(_))));
        let spaced = accounts.create_user("b o b", "Bob", None).await;
        assert!(matches!(spaced, Err(AccountError::InvalidUsername)));
    }

    testkit::each_backend!(sso_only_account_cannot_use_a_password);
    async fn sso_only_account_cannot_use_a_password(kit: &testkit::TestDb) {
        let accounts = Accounts::new(kit.db.clone());
        accounts
            .create_user("carol", "Carol", None)
            .await
            .expect("create");
        assert!(accounts
            .authenticate("carol", "")
            .await
            .expect("auth")
            .is_none());
        accounts
            .set_password("carol", "now-has-one")
            .await
            .expect("set password");
        assert!(accounts
            .authenticate("carol", "now-has-one")
            .await
            .expect("auth")
            .is_some());
    }
}

#[cfg(test)]
mod dummy_hash_tests {
    #[test]
    fn dummy_hash_is_a_valid_phc_string() {
        // If it did not parse, verification would fail fast and reveal unknown user names.
        assert!(argon2::password_hash::PasswordHash::new(super::DUMMY_HASH).is_ok());
    }
}
