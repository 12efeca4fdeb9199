//! When each mailbox of a sync task runs: `runs_per_day` slots per UTC day, every mailbox at its
//! own stable offset inside the period so a task's mailboxes spread over the period instead of
//! all starting at once. Pure functions: the server stores nothing but the task settings.

use std::time::Duration;

use archive::Timestamp;
use time::{Duration as TimeDuration, OffsetDateTime, Time};

const DAY_MS: u64 = 86_400_000;

/// The length of one period. `runs_per_day` is clamped to 1..=[`crate::MAX_RUNS_PER_DAY`].
pub fn period(runs_per_day: u32) -> Duration {
    Duration::from_millis(DAY_MS / u64::from(runs_per_day.clamp(1, crate::MAX_RUNS_PER_DAY)))
}

/// FNV-1a: stable across Rust versions and platforms, unlike `DefaultHasher`, so offsets do
/// not move when the server is upgraded.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0xff;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in part.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Where inside each period this mailbox of this task runs.
pub fn stable_offset(task_id: &str, mailbox_id: &str, runs_per_day: u32) -> Duration {
    let period_ms = DAY_MS / u64::from(runs_per_day.clamp(1, crate::MAX_RUNS_PER_DAY));
    Duration::from_millis(fnv1a(&[task_id, mailbox_id]) % period_ms)
}

/// The first scheduled run strictly after `after`.
pub fn next_run_after(
    task_id: &str,
    mailbox_id: &str,
    runs_per_day: u32,
    after: OffsetDateTime,
) -> OffsetDateTime {
    let n = u64::from(runs_per_day.clamp(1, crate::MAX_RUNS_PER_DAY));
    let period_ms = DAY_MS / n;
    let offset_ms = fnv1a(&[task_id, mailbox_id]) % period_ms;
    let utc = after.to_offset(time::UtcOffset::UTC);
    let day_start = utc.replace_time(Time::MIDNIGHT);
    for day in 0..2i64 {
        let start = day_start + TimeDuration::days(day);
        for i in 0..n {
            let ms = i * period_ms + offset_ms;
            let at = start + TimeDuration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX));
            if at > utc {
                return at.to_offset(after.offset());
            }
        }
    }
    // Unreachable: the first slot of the next day is always later than `after`.
    day_start
        + TimeDuration::days(1)
        + TimeDuration::milliseconds(i64::try_from(offset_ms).unwrap_or(0))
}

/// The runs in `[from, until)`, for a schedule preview.
pub fn runs_between(
    task_id: &str,
    mailbox_id: &str,
    runs_per_day: u32,
    from: OffsetDateTime,
    until: OffsetDateTime,
) -> Vec<OffsetDateTime> {
    let mut out = Vec::new();
    let mut t = from - TimeDuration::nanoseconds(1);
    loop {
        t = next_run_after(task_id, mailbox_id, runs_per_day, t);
        if t >= until {
            return out;
        }
        out.push(t);
    }
}

/// The next scheduled run of a task's mailbox strictly after `after`: `runs_per_day` slots a
/// day, at the mailbox's stable offset .
pub fn next_run(task_id: i64, address: &str, runs_per_day: u32, after: Timestamp) -> Timestamp {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(after.0) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let next = next_run_after(&task_id.to_string(), address, runs_per_day, at);
    Timestamp(i64::try_from(next.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn offset_is_stable_and_inside_the_period() {
        let a = stable_offset("task-1", "alice@example.com", 4);
        assert_eq!(a, stable_offset("task-1", "alice@example.com", 4));
        assert!(a < period(4));
        // Fixed value: changing the hash would silently move every mailbox's schedule.
        assert_eq!(fnv1a(&["a", "b"]), fnv1a(&["a", "b"]));
        assert_ne!(fnv1a(&["ab", ""]), fnv1a(&["a", "b"]));
        assert_eq!(fnv1a(&[""]), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn mailboxes_spread_over_the_period() {
        let offsets: Vec<Duration> = (0..200)
            .map(|i| stable_offset("task-7", &format!("user{i}@example.com"), 6))
            .collect();
        let p = period(6).as_millis();
        let quarters: Vec<usize> = (0..4)
            .map(|q| {
                offsets
                    .iter()
                    .filter(|o| o.as_millis() * 4 / p == q)
                    .count()
            })
            .collect();
        for q in quarters {
            assert!(
                (25..=75).contains(&q),
                "uneven spread: {q} of 200 in a quarter"
            );
        }
    }

    #[test]
    fn next_run_is_strictly_after_and_periodic() {
        let t0 = datetime!(2026-03-10 13:37:00 UTC);
        let first = next_run_after("t", "m", 4, t0);
        assert!(first > t0);
        assert!(first - t0 <= TimeDuration::hours(6));
        let second = next_run_after("t", "m", 4, first);
        assert_eq!(second - first, TimeDuration::hours(6));
        // Asking exactly at a slot gives the next slot, not the same one.
        assert_eq!(next_run_after("t", "m", 4, first), second);
        let offset = stable_offset("t", "m", 4);
        let since_midnight = first - first.replace_time(Time::MIDNIGHT);
        let ms = u64::try_from(since_midnight.whole_milliseconds()).unwrap_or(0);
        assert_eq!(ms % (6 * 3_600_000), offset.as_millis() as u64);
    }

    #[test]
    fn once_a_day_and_day_rollover() {
        let t0 = datetime!(2026-12-31 23:59:59.999 UTC);
        let next = next_run_after("t", "m", 1, t0);
        assert!(next > t0 && next - t0 <= TimeDuration::days(1));
        let runs = runs_between(
            "t",
            "m",
            3,
            datetime!(2026-01-01 0:00 UTC),
            datetime!(2026-01-03 0:00 UTC),
        );
        assert_eq!(runs.len(), 6);
        // Zero runs per day is treated as one, never as a division by zero.
        assert_eq!(period(0), period(1));
    }

    #[test]
    fn keeps_the_callers_offset() {
        let t0 = datetime!(2026-05-01 10:00 +02:00);
        let next = next_run_after("t", "m", 24, t0);
        assert_eq!(next.offset(), t0.offset());
        assert!(next > t0 && next - t0 <= TimeDuration::hours(1));
    }
}
