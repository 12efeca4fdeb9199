use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits failed sign-in attempts per key (the server uses the user name and the client address
/// as separate keys). In memory: a restart forgets, which is acceptable for slowing guessing down.
///
/// Attempts being checked count against the limit too, so a burst of parallel guesses cannot
/// get more than the limit checked: those beyond it wait their turn ([`Admission::Busy`]) until
/// the ones in flight are settled. Only failures lock a key out; many people signing in at once
/// from one address (an office behind one IP) are served one batch after another, not refused.
#[derive(Debug)]
pub struct SignInThrottle {
    max_failures: u32,
    window: Duration,
    keys: Mutex<HashMap<String, KeyState>>,
}

#[derive(Debug)]
struct KeyState {
    failures: u32,
    since: Instant,
    in_flight: u32,
}

/// Why `begin` did not admit an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Too many failures: refused for this long.
    Blocked(Duration),
    /// Enough attempts are being checked right now: try again in a moment.
    Busy,
}

/// How an admitted attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The password was right: the account's own failures are cleared.
    Succeeded,
    /// A wrong name or password: a failure under every key.
    Failed,
    /// Not decided (the check itself failed): nothing counted.
    Abandoned,
}

impl SignInThrottle {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        SignInThrottle {
            max_failures,
            window,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Admits an attempt under every key before its password is checked, or says why not.
    /// Admitted attempts must be settled with [`SignInThrottle::settle`].
    pub fn begin(&self, keys: &[&str]) -> Result<(), Admission> {
        let mut states = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let window = self.window;
        let blocked = keys
            .iter()
            .filter_map(|key| self.blocked_for(states.get(*key)?))
            .max();
        if let Some(wait) = blocked {
            return Err(Admission::Blocked(wait));
        }
        let busy = keys.iter().any(|key| {
            states.get(*key).is_some_and(|state| {
                self.live_failures(state) + state.in_flight >= self.max_failures
            })
        });
        if busy {
            return Err(Admission::Busy);
        }
        if states.len() > 100_000 {
            states.retain(|_, state| state.in_flight > 0 || state.since.elapsed() < window);
        }
        for key in keys {
            let state = states.entry((*key).to_owned()).or_insert(KeyState {
                failures: 0,
                since: Instant::now(),
                in_flight: 0,
            });
            state.in_flight += 1;
        }
        Ok(())
    }

    /// Ends an admitted attempt. `account_key` is the key of the account it was for: a success
    /// clears that key's failures only, never the address's (a valid account must not reset
    /// the limit of an address someone guesses other people's passwords from).
    pub fn settle(&self, keys: &[&str], account_key: &str, outcome: Settled) {
        let mut states = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            let Some(state) = states.get_mut(*key) else {
                continue;
            };
            state.in_flight = state.in_flight.saturating_sub(1);
            match outcome {
                Settled::Failed => {
                    if state.since.elapsed() >= self.window {
                        state.failures = 0;
                        state.since = Instant::now();
                    }
                    state.failures += 1;
                }
                Settled::Succeeded if *key == account_key => state.failures = 0,
                Settled::Succeeded | Settled::Abandoned => {}
            }
        }
    }

    /// How long the caller must wait before another attempt under `key`, if at all.
    pub fn retry_after(&self, key: &str) -> Option<Duration> {
        let states = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        self.blocked_for(states.get(key)?)
    }

    /// The failures that still count: none once the window since the first has passed.
    fn live_failures(&self, state: &KeyState) -> u32 {
        if state.since.elapsed() < self.window {
            state.failures
        } else {
            0
        }
    }

    /// How long a key stays locked, if it is.
    fn blocked_for(&self, state: &KeyState) -> Option<Duration> {
        (self.live_failures(state) >= self.max_failures)
            .then(|| self.window.saturating_sub(state.since.elapsed()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: [&str; 2] = ["user:alice", "addr:1.2.3.4"];

    fn fail(throttle: &SignInThrottle, keys: &[&str]) {
        throttle.begin(keys).expect("admitted");
        throttle.settle(keys, keys[0], Settled::Failed);
    }

    #[test]
    fn blocks_after_max_failures_and_resets_on_success() {
        let throttle = SignInThrottle::new(3, Duration::from_secs(60));
        for _ in 0..2 {
            fail(&throttle, &["alice"]);
        }
        assert!(throttle.retry_after("alice").is_none());
        fail(&throttle, &["alice"]);
        let wait = throttle.retry_after("alice").expect("blocked");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(50));
        assert!(matches!(
            throttle.begin(&["alice"]),
            Err(Admission::Blocked(_))
        ));
        assert!(throttle.retry_after("bob").is_none());
    }

    #[test]
    fn a_burst_gets_no_more_than_the_limit_checked() {
        let throttle = SignInThrottle::new(3, Duration::from_secs(60));
        let admitted = (0..10).filter(|_| throttle.begin(&ALICE).is_ok()).count();
        assert_eq!(admitted, 3, "the rest wait until those are settled");
        assert_eq!(throttle.begin(&ALICE), Err(Admission::Busy));
        // The three were wrong: the name and the address are locked, for other names too.
        for _ in 0..3 {
            throttle.settle(&ALICE, ALICE[0], Settled::Failed);
        }
        assert!(matches!(throttle.begin(&ALICE), Err(Admission::Blocked(_))));
        assert!(matches!(
            throttle.begin(&["user:bob", "addr:1.2.3.4"]),
            Err(Admission::Blocked(_))
        ));
        // A success elsewhere clears the account's key only, not the address's.
        throttle
            .begin(&["user:alice", "addr:5.6.7.8"])
            .expect_err("the name is locked");
        assert!(throttle.retry_after("addr:1.2.3.4").is_some());
    }

    #[test]
    fn an_office_behind_one_address_signs_in_batch_after_batch() {
        let throttle = SignInThrottle::new(3, Duration::from_secs(60));
        let mut signed_in = 0;
        for person in 0..50 {
            let name = format!("user:person{person}");
            let keys = [name.as_str(), "addr:9.9.9.9"];
            // Busy means "a moment": once those in flight are settled, there is room.
            if throttle.begin(&keys).is_err() {
                panic!("person {person} was turned away");
            }
            throttle.settle(&keys, keys[0], Settled::Succeeded);
            signed_in += 1;
        }
        assert_eq!(signed_in, 50);
        assert!(throttle.retry_after("addr:9.9.9.9").is_none());
        // An abandoned check (the database did not answer) counts as nothing.
        throttle.begin(&ALICE).expect("admitted");
        throttle.settle(&ALICE, ALICE[0], Settled::Abandoned);
        assert!(throttle.retry_after(ALICE[0]).is_none());
    }

    #[test]
    fn window_expiry_unblocks() {
        let throttle = SignInThrottle::new(1, Duration::from_millis(20));
        fail(&throttle, &["k"]);
        assert!(throttle.retry_after("k").is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(throttle.retry_after("k").is_none());
        assert!(throttle.begin(&["k"]).is_ok());
    }
}
