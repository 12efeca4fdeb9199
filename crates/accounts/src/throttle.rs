use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits failed sign-in attempts per key (the server uses the user name and the client address
/// as separate keys). In memory: a restart forgets, which is acceptable for slowing guessing down.
#[derive(Debug)]
pub struct SignInThrottle {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl SignInThrottle {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        SignInThrottle {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt under every key before the password is checked, or refuses it with how
    /// long to wait. Counting first, in one locked step, is what stops a burst of parallel
    /// guesses: each of them is counted before any is verified. A success then clears the
    /// keys that belong to the account (`record_success`).
    pub fn begin(&self, keys: &[&str]) -> Result<(), Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let window = self.window;
        let blocked = keys
            .iter()
            .filter_map(|key| {
                let (count, since) = failures.get(*key)?;
                let elapsed = since.elapsed();
                (*count >= self.max_failures && elapsed < window).then(|| window - elapsed)
            })
            .max();
        if let Some(wait) = blocked {
            return Err(wait);
        }
        if failures.len() > 100_000 {
            failures.retain(|_, (_, since)| since.elapsed() < window);
        }
        for key in keys {
            let entry = failures
                .entry((*key).to_owned())
                .or_insert((0, Instant::now()));
            if entry.1.elapsed() >= window {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
        Ok(())
    }

    /// How long the caller must wait before another attempt under `key`, if at all.
    pub fn retry_after(&self, key: &str) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let (count, since) = failures.get(key)?;
        let elapsed = since.elapsed();
        (*count >= self.max_failures && elapsed < self.window).then(|| self.window - elapsed)
    }

    /// Takes back one attempt counted by `begin` under `key`: a successful sign-in is not a
    /// failure of its address, yet must not wipe the failures others made from there.
    pub fn forgive(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = failures.get_mut(key) {
            entry.0 = entry.0.saturating_sub(1);
        }
    }

    /// Clears `key` (the account's own counter, after its password was right).
    pub fn record_success(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures_and_resets_on_success() {
        let throttle = SignInThrottle::new(3, Duration::from_secs(60));
        for _ in 0..2 {
            assert!(throttle.begin(&["alice"]).is_ok());
        }
        assert!(throttle.retry_after("alice").is_none());
        assert!(throttle.begin(&["alice"]).is_ok());
        let wait = throttle.retry_after("alice").expect("blocked");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(50));
        assert!(throttle.retry_after("bob").is_none());
        throttle.record_success("alice");
        assert!(throttle.retry_after("alice").is_none());
    }

    #[test]
    fn begin_counts_before_checking_so_bursts_are_cut_off() {
        let throttle = SignInThrottle::new(3, Duration::from_secs(60));
        let admitted = (0..10)
            .filter(|_| throttle.begin(&["user:alice", "addr:1.2.3.4"]).is_ok())
            .count();
        assert_eq!(admitted, 3);
        // Another name from the same address is refused too: the address key is spent.
        assert!(throttle.begin(&["user:bob", "addr:1.2.3.4"]).is_err());
        // A success clears the account's key only, not the address's.
        throttle.record_success("user:alice");
        assert!(throttle.begin(&["user:alice", "addr:5.6.7.8"]).is_ok());
        assert!(throttle.retry_after("addr:1.2.3.4").is_some());
        // Successful sign-ins from one address (an office behind one IP) never add up.
        for _ in 0..10 {
            assert!(throttle.begin(&["user:carol", "addr:9.9.9.9"]).is_ok());
            throttle.record_success("user:carol");
            throttle.forgive("addr:9.9.9.9");
        }
    }

    #[test]
    fn window_expiry_unblocks() {
        let throttle = SignInThrottle::new(1, Duration::from_millis(20));
        assert!(throttle.begin(&["k"]).is_ok());
        assert!(throttle.retry_after("k").is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(throttle.retry_after("k").is_none());
    }
}
