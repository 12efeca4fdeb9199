//! Accounts and sessions.
//!
//! A session is created after *some* proof of identity (a local password today, OpenID Connect
//! later); nothing here depends on which. Only a SHA-256 of each session token is stored.

mod addresses;
mod identities;
mod password;
mod sessions;
mod sign_in;
mod throttle;
mod users;

pub use password::{hash_password, verify_password};
pub use sessions::{NewSession, Session};
pub use sign_in::{SignInAttempt, SignInOutcome, SignInRefusal};
pub use throttle::SignInThrottle;
pub use users::{User, UserId};

use database::Database;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("a user named `{0}` already exists")]
    UsernameTaken(String),
    #[error("user names are 1 to 200 characters without spaces or control characters")]
    InvalidUsername,
    #[error("passwords need at least {min} characters", min = password::MIN_LENGTH)]
    PasswordTooShort,
    #[error("`{0}` is not a valid mail address")]
    InvalidAddress(String),
    #[error("the address `{0}` belongs to another user")]
    AddressTaken(String),
    #[error("no such user `{0}`")]
    NoSuchUser(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// The accounts store: users and their sessions.
#[derive(Debug, Clone)]
pub struct Accounts {
    db: Database,
}

impl Accounts {
    pub fn new(db: Database) -> Self {
        Accounts { db }
    }
}

/// Microseconds since the Unix epoch: the time unit of every table.
pub(crate) fn now_micros() -> i64 {
    domain::Timestamp::now().0
}
