//! Per-mailbox request context: the in-flight limit, request statistics and the retry loop that
//! obeys throttling (Retry-After, BackOffMilliseconds) and backs off on transient failures.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Semaphore;

use crate::error::SourceError;
use crate::source::WellKnown;

/// Exchange Online allows 4 concurrent requests per mailbox and app; on-premises budgets are
/// similar. Staying under it avoids provoking throttling in the first place.
pub const DEFAULT_IN_FLIGHT: usize = 4;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request, counting the first one.
    pub max_attempts: u32,
    /// First back-off for 5xx and transport errors; doubled per attempt, with jitter.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Upper bound on a server-requested wait (BackOffMilliseconds of ~300 s do occur).
    pub max_server_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            max_server_wait: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// Exponential back-off with ±50% jitter so parallel mailboxes do not retry in lockstep.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_backoff
            .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX));
        let capped = exp.min(self.max_backoff);
        let factor = rand::thread_rng().gen_range(0.5..1.5);
        capped.mul_f64(factor)
    }
}

#[derive(Debug, Default)]
pub struct RequestStats {
    /// HTTP requests sent for this mailbox, retries included.
    pub requests: AtomicU64,
    /// Requests (or batch sub-requests) the server throttled.
    pub throttled: AtomicU64,
    /// Retries after transient failures.
    pub retries: AtomicU64,
}

/// Everything a connector needs to know about the mailbox it is working on.
pub struct MailboxCtx {
    pub address: String,
    pub stats: RequestStats,
    pub policy: RetryPolicy,
    /// Set by [`crate::source::MailboxSource::open`]: the folder whose children are the
    /// mailbox's top-level folders.
    pub root_folder_id: OnceLock<String>,
    /// Set by [`crate::source::MailboxSource::open`]: folder id -> role of the standard folders
    /// the server identified (those it does not have are absent).
    pub well_known: OnceLock<HashMap<String, WellKnown>>,
    permits: Semaphore,
}

/// What one attempt of a request came to.
pub enum Attempt<T> {
    Done(T),
    /// The server said how long to wait (Retry-After, BackOffMilliseconds).
    Throttled(Duration),
    /// 5xx, 503 or a transport error: back off exponentially.
    Transient(String),
    /// Retry at once (a refreshed access token).
    Again,
    Fail(SourceError),
}

impl MailboxCtx {
    pub fn new(address: &str, in_flight: usize, policy: RetryPolicy) -> MailboxCtx {
        MailboxCtx {
            address: address.to_string(),
            stats: RequestStats::default(),
            policy,
            root_folder_id: OnceLock::new(),
            well_known: OnceLock::new(),
            permits: Semaphore::new(in_flight.max(1)),
        }
    }

    pub fn requests(&self) -> u64 {
        self.stats.requests.load(Ordering::Relaxed)
    }

    pub fn throttled(&self) -> u64 {
        self.stats.throttled.load(Ordering::Relaxed)
    }

    /// The role of a folder, from the map [`crate::source::MailboxSource::open`] resolved.
    pub fn role_of(&self, folder_id: &str) -> Option<WellKnown> {
        self.well_known.get()?.get(folder_id).copied()
    }

    pub fn note_throttled(&self, n: u64) {
        self.stats.throttled.fetch_add(n, Ordering::Relaxed);
    }

    /// Runs `attempt` (one HTTP request) until it is done, under the in-flight limit, waiting
    /// as the server asks or backing off. The permit is released while waiting so a throttled
    /// request does not block the mailbox's other work from noticing the throttling too.
    pub async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, SourceError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        let mut tries = 0u32;
        loop {
            tries += 1;
            let outcome = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .map_err(|e| SourceError::Transport(e.to_string()))?;
                self.stats.requests.fetch_add(1, Ordering::Relaxed);
                attempt().await
            };
            let wait = match outcome {
                Attempt::Done(v) => return Ok(v),
                Attempt::Fail(e) => return Err(e),
                Attempt::Throttled(d) => {
                    self.note_throttled(1);
                    if tries >= self.policy.max_attempts {
                        return Err(SourceError::Throttled {
                            attempts: tries,
                            retry_after: Some(d),
                        });
                    }
                    d.min(self.policy.max_server_wait)
                }
                Attempt::Transient(why) => {
                    if tries >= self.policy.max_attempts {
                        return Err(SourceError::Transport(why));
                    }
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(mailbox = %self.address, %why, tries, "transient failure, backing off");
                    self.policy.backoff(tries - 1)
                }
                Attempt::Again => {
                    if tries >= self.policy.max_attempts {
                        return Err(SourceError::Auth("token refused repeatedly".into()));
                    }
                    Duration::ZERO
                }
            };
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        let first = p.backoff(0);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(150));
        let late = p.backoff(10);
        assert!(late >= Duration::from_millis(500) && late <= Duration::from_millis(1500));
    }

    #[tokio::test]
    async fn run_retries_throttled_then_succeeds() {
        let ctx = MailboxCtx::new("a@example.com", 4, RetryPolicy::default());
        let mut n = 0;
        let r = ctx
            .run(|| {
                n += 1;
                let k = n;
                async move {
                    if k < 3 {
                        Attempt::Throttled(Duration::from_millis(1))
                    } else {
                        Attempt::Done(k)
                    }
                }
            })
            .await;
        assert_eq!(r, Ok(3));
        assert_eq!(ctx.requests(), 3);
        assert_eq!(ctx.throttled(), 2);
    }
}
