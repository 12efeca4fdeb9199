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
use crate::well_known::WellKnown;

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
    /// Until when the whole mailbox waits: a throttling answer to one request holds back every
    /// request of the mailbox, not just the one that was refused (Exchange's budget is per
    /// mailbox, so the others would only be refused too and prolong the throttling).
    paused_until: std::sync::Mutex<Option<tokio::time::Instant>>,
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
            paused_until: std::sync::Mutex::new(None),
        }
    }

    /// Holds back every request of this mailbox for `wait` (or longer, if a pause already runs
    /// further). Capped by the policy's `max_server_wait`.
    pub fn pause(&self, wait: Duration) {
        let until = tokio::time::Instant::now() + wait.min(self.policy.max_server_wait);
        let mut p = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        if p.is_none_or(|cur| cur < until) {
            *p = Some(until);
        }
    }

    /// The instant the current pause ends, if one is running.
    fn pause_end(&self) -> Option<tokio::time::Instant> {
        let p = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        p.filter(|until| *until > tokio::time::Instant::now())
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
            let outcome = loop {
                let permit = self
                    .permits
                    .acquire()
                    .await
                    .map_err(|e| SourceError::Transport(e.to_string()))?;
                // Checked with the permit held, so nothing is sent between another request's
                // throttling answer and the pause it sets.
                if let Some(until) = self.pause_end() {
                    drop(permit);
                    tokio::time::sleep_until(until).await;
                    continue;
                }
                self.stats.requests.fetch_add(1, Ordering::Relaxed);
                let outcome = attempt().await;
                if let Attempt::Throttled(d) = &outcome {
                    self.pause(*d);
                }
                drop(permit);
                break outcome;
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
                    // The pause set above is the wait; the loop sleeps it off before sending.
                    Duration::ZERO
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

    /// One request's throttling answer holds back the mailbox's other requests: none of them is
    /// sent before the server's back-off has passed. (Virtual time: exact and instant.)
    #[tokio::test(start_paused = true)]
    async fn a_throttled_request_pauses_the_whole_mailbox() {
        use std::sync::Mutex;
        use tokio::time::Instant;
        let ctx = MailboxCtx::new("a@example.com", 4, RetryPolicy::default());
        let start = Instant::now();
        let sent: Mutex<Vec<(usize, Duration)>> = Mutex::new(Vec::new());
        let throttled_once = std::sync::atomic::AtomicBool::new(false);
        let job = |k: usize| {
            let ctx = &ctx;
            let sent = &sent;
            let throttled_once = &throttled_once;
            async move {
                // Request 0 goes first and is throttled for 2 s; the others start 10 ms later,
                // while its pause runs.
                if k > 0 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                ctx.run(|| async {
                    sent.lock().unwrap().push((k, start.elapsed()));
                    if k == 0 && !throttled_once.swap(true, Ordering::SeqCst) {
                        Attempt::Throttled(Duration::from_secs(2))
                    } else {
                        Attempt::Done(k)
                    }
                })
                .await
            }
        };
        let results = futures::future::join_all((0..5).map(job)).await;
        assert!(results.iter().all(|r| r.is_ok()));
        let sent = sent.into_inner().unwrap();
        assert_eq!(sent.len(), 6, "5 requests and one retry: {sent:?}");
        assert_eq!(sent[0], (0, Duration::ZERO));
        for (k, at) in &sent[1..] {
            assert!(
                *at >= Duration::from_secs(2),
                "request {k} went out at {at:?}, inside the 2 s pause"
            );
        }
        assert_eq!(ctx.throttled(), 1);
    }
}
