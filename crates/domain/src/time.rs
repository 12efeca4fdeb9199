use serde::{Deserialize, Serialize};

/// Unix microseconds: the one time representation in the store, portable across SQL backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp(micros)
    }

    pub fn from_unix_seconds(seconds: i64) -> Self {
        Timestamp(seconds.saturating_mul(1_000_000))
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    /// Microseconds from `earlier` to `self`, never negative.
    pub fn micros_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0).max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_down_also_before_1970() {
        assert_eq!(Timestamp(1_500_000).unix_seconds(), 1);
        assert_eq!(Timestamp(-1).unix_seconds(), -1);
        assert_eq!(Timestamp::from_unix_seconds(7).0, 7_000_000);
        assert_eq!(Timestamp(10).micros_since(Timestamp(25)), 0);
    }
}
