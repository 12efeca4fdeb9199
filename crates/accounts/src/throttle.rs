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

    /// How long the caller must wait before another attempt under `key`, if at all.
    pub fn retry_after(&self, key: &str) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let (count, since) = failures.get(key)?;
        let elapsed = since.elapsed();
        (*count >= self.max_failures && elapsed < self.window).then(|| self.window - elapsed)
    }

    pub fn record_failure(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Keep the map from growing without bound under a spray of random names.
        if failures.len() > 100_000 {
            let window = self.window;
            failures.retain(|_, (_, since)| since.elapsed() < window);
        }
        let entry = failures
            .entry(key.to_owned())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

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
            throttle.record_failure("alice");
        }
        assert!(throttle.retry_after("alice").is_none());
        throttle.record_failure("alice");
        let wait = throttle.retry_after("alice").expect("blocked");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(50));
        assert!(throttle.retry_after("bob").is_none());
        throttle.record_success("alice");
        assert!(throttle.retry_after("alice").is_none());
    }

    #[test]
    fn window_expiry_unblocks() {
        let throttle = SignInThrottle::new(1, Duration::from_millis(20));
        throttle.record_failure("k");
        assert!(throttle.retry_after("k").is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(throttle.retry_after("k").is_none());
    }
}
