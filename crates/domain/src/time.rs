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

    /// UTC, to the microsecond when there is a fraction (`2026-12-02T05:26:36.25Z`), so that
    /// an instant in a link is exactly the stored one.
    pub fn to_rfc3339(self) -> String {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1000)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| self.unix_seconds().to_string())
    }

    /// An RFC 3339 date-time (any offset), or a `datetime-local` value without one
    /// (`2026-12-02T05:26`, taken as UTC).
    pub fn parse_instant(text: &str) -> Option<Timestamp> {
        use time::format_description::well_known::Rfc3339;
        let text = text.trim();
        if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
            return Some(Timestamp(
                i64::try_from(t.unix_timestamp_nanos() / 1000).ok()?,
            ));
        }
        let local = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
        let local_s =
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        let t = time::PrimitiveDateTime::parse(text, &local_s)
            .or_else(|_| time::PrimitiveDateTime::parse(text, &local))
            .ok()?;
        Some(Timestamp::from_unix_seconds(
            t.assume_utc().unix_timestamp(),
        ))
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

    #[test]
    fn instants_read_and_write_as_rfc3339() {
        let t = Timestamp::from_unix_seconds(1_796_189_196);
        assert_eq!(t.to_rfc3339(), "2026-12-02T05:26:36Z");
        assert_eq!(Timestamp::parse_instant("2026-12-02T05:26:36Z"), Some(t));
        assert_eq!(
            Timestamp::parse_instant("2026-12-02T06:26:36+01:00"),
            Some(t)
        );
        assert_eq!(
            Timestamp::parse_instant("2026-12-02T05:26"),
            Some(Timestamp::from_unix_seconds(1_796_189_160))
        );
        let fine = Timestamp(t.0 + 250_000);
        assert_eq!(fine.to_rfc3339(), "2026-12-02T05:26:36.25Z");
        assert_eq!(Timestamp::parse_instant(&fine.to_rfc3339()), Some(fine));
        assert_eq!(Timestamp::parse_instant("yesterday"), None);
        assert_eq!(Timestamp::parse_instant("2026-13-02T05:26"), None);
    }
}
