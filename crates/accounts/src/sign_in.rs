//! Signing in with a local password: the one place that decides how attempts are limited and
//! what a refusal says. The portal only supplies the client's address and sets the cookie.

use std::net::IpAddr;
use std::time::Duration;

use crate::throttle::{Admission, Settled};
use crate::{AccountError, Accounts, NewSession, SignInThrottle, User};

/// How long an attempt waits for its turn while others for the same name or address are being
/// checked, before it is refused as busy.
const BUSY_WAIT: Duration = Duration::from_secs(10);

/// One attempt, as typed.
#[derive(Debug, Clone)]
pub struct SignInAttempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// The browser's address, when known: failures count per address as well as per name, so
    /// one client cannot try many names and many clients cannot hammer one name unnoticed.
    pub client: Option<IpAddr>,
    pub session_lifetime: Duration,
}

/// Why an attempt did not start a session. Refusals are answers for the person at the form,
/// not failures of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInRefusal {
    MissingFields,
    WrongCredentials,
    /// Too many failures for this name or from this address; the wait is rounded up to minutes.
    TooManyAttempts {
        minutes: u64,
    },
    /// Attempts for this name or from this address kept the server busy for seconds.
    Busy,
}

impl SignInRefusal {
    pub fn message(&self) -> String {
        match self {
            SignInRefusal::MissingFields => "Enter your user name and password.".to_owned(),
            SignInRefusal::WrongCredentials => "Wrong user name or password.".to_owned(),
            SignInRefusal::TooManyAttempts { minutes } => {
                format!("Too many failed attempts. Try again in {minutes} minutes.")
            }
            SignInRefusal::Busy => {
                "Many sign-ins are being checked right now. Try again in a moment.".to_owned()
            }
        }
    }
}

#[derive(Debug, Clone)]
pub enum SignInOutcome {
    Started { user: User, session: NewSession },
    Refused(SignInRefusal),
}

impl Accounts {
    pub async fn sign_in(
        &self,
        throttle: &SignInThrottle,
        attempt: SignInAttempt<'_>,
    ) -> Result<SignInOutcome, AccountError> {
        let name_key = format!("user:{}", attempt.username.trim().to_lowercase());
        let addr_key = attempt.client.map(|ip| format!("addr:{ip}"));
        let keys: Vec<&str> = std::iter::once(name_key.as_str())
            .chain(addr_key.as_deref())
            .collect();
        if attempt.username.trim().is_empty() || attempt.password.is_empty() {
            return Ok(SignInOutcome::Refused(SignInRefusal::MissingFields));
        }
        // The attempt is admitted before the password is checked (see `SignInThrottle`): when
        // enough are being checked for this name or address, it waits its turn, briefly.
        let started = std::time::Instant::now();
        loop {
            match throttle.begin(&keys) {
                Ok(()) => break,
                Err(Admission::Blocked(wait)) => {
                    return Ok(SignInOutcome::Refused(SignInRefusal::TooManyAttempts {
                        minutes: wait.as_secs().div_ceil(60).max(1),
                    }))
                }
                Err(Admission::Busy) if started.elapsed() < BUSY_WAIT => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(Admission::Busy) => return Ok(SignInOutcome::Refused(SignInRefusal::Busy)),
            }
        }
        let checked = self.authenticate(attempt.username, attempt.password).await;
        let settled = match &checked {
            Ok(Some(_)) => Settled::Succeeded,
            Ok(None) => Settled::Failed,
            Err(_) => Settled::Abandoned,
        };
        throttle.settle(&keys, &name_key, settled);
        let Some(user) = checked? else {
            tracing::info!(username = %attempt.username.trim(), "sign-in refused");
            return Ok(SignInOutcome::Refused(SignInRefusal::WrongCredentials));
        };
        let session = self
            .create_session(user.id, attempt.session_lifetime)
            .await?;
        tracing::info!(username = %user.username, "signed in");
        Ok(SignInOutcome::Started { user, session })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt<'a>(username: &'a str, password: &'a str, client: &str) -> SignInAttempt<'a> {
        SignInAttempt {
            username,
            password,
            client: client.parse().ok(),
            session_lifetime: Duration::from_secs(3600),
        }
    }

    testkit::each_backend!(refusals_are_counted_per_name_and_per_address);
    async fn refusals_are_counted_per_name_and_per_address(kit: &testkit::TestDb) {
        let accounts = Accounts::new(kit.db.clone());
        accounts
            .create_user("alice", "Alice", Some("right password"))
            .await
            .expect("alice");
        let throttle = SignInThrottle::new(2, Duration::from_secs(600));
        let refused = |o: SignInOutcome| match o {
            SignInOutcome::Refused(r) => r,
            SignInOutcome::Started { .. } => panic!("should have been refused"),
        };
        let empty = accounts
            .sign_in(&throttle, attempt(" ", "x", "192.0.2.1"))
            .await
            .expect("answer");
        assert_eq!(refused(empty), SignInRefusal::MissingFields);
        for _ in 0..2 {
            let wrong = accounts
                .sign_in(&throttle, attempt("alice", "wrong", "192.0.2.1"))
                .await
                .expect("answer");
            assert_eq!(refused(wrong), SignInRefusal::WrongCredentials);
        }
        // The right password from another address is still refused: the name is locked.
        let locked = accounts
            .sign_in(&throttle, attempt("ALICE", "right password", "192.0.2.99"))
            .await
            .expect("answer");
        assert!(matches!(
            refused(locked),
            SignInRefusal::TooManyAttempts { minutes: 10 }
        ));
        // The first address is locked for other names too.
        let other = accounts
            .sign_in(&throttle, attempt("bob", "whatever", "192.0.2.1"))
            .await
            .expect("answer");
        assert!(matches!(
            refused(other),
            SignInRefusal::TooManyAttempts { .. }
        ));
        // A fresh throttle lets the right password in and hands out a live session.
        let fresh = SignInThrottle::new(2, Duration::from_secs(600));
        match accounts
            .sign_in(&fresh, attempt("alice", "right password", "192.0.2.1"))
            .await
            .expect("answer")
        {
            SignInOutcome::Started { user, session } => {
                assert_eq!(user.username, "alice");
                let live = accounts.session(&session.token).await.expect("lookup");
                assert_eq!(live.map(|s| s.user.id), Some(user.id));
            }
            SignInOutcome::Refused(r) => panic!("refused: {r:?}"),
        }
    }
}
