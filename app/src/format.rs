//! Dates, durations and sizes as the pages show them. All times are shown in UTC: the archive
//! does not know the reader's zone, and a wrong local time is worse than a labelled UTC one.

use domain::Timestamp;
use time::OffsetDateTime;

fn datetime(at: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(at.unix_seconds()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// "Tue 3 Mar 2026 14:05 UTC", for tooltips, the reader and the admin screens.
pub fn full_date(at: Timestamp) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short] [day padding:none] [month repr:short] [year] [hour]:[minute] UTC"
    );
    datetime(at).format(format).unwrap_or_default()
}

/// "Tue 3 Mar 2026 14:05:09 UTC", where the second matters (the audit log).
pub fn precise_date(at: Timestamp) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short] [day padding:none] [month repr:short] [year] [hour]:[minute]:[second] UTC"
    );
    datetime(at).format(format).unwrap_or_default()
}

/// For a message list: the time today, the day this year, else the full date.
pub fn short_date(at: Timestamp) -> String {
    let date = datetime(at);
    let now = OffsetDateTime::now_utc();
    let format = if date.date() == now.date() {
        time::macros::format_description!("[hour]:[minute]")
    } else if date.year() == now.year() {
        time::macros::format_description!("[day padding:none] [month repr:short]")
    } else {
        time::macros::format_description!("[day padding:none] [month repr:short] [year]")
    };
    date.format(format).unwrap_or_default()
}

pub fn human_size(bytes: i64) -> String {
    let bytes = bytes.max(0) as f64;
    if bytes < 1024.0 {
        format!("{bytes} B")
    } else if bytes < 1024.0 * 1024.0 {
        format!("{:.0} KB", (bytes / 1024.0).ceil())
    } else if bytes < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MB", bytes / (1024.0 * 1024.0))
    } else {
        format!("{:.1} GB", bytes / (1024.0 * 1024.0 * 1024.0))
    }
}

/// A run's length: milliseconds below a second, else seconds with one decimal.
pub fn duration(micros: i64) -> String {
    let millis = micros.max(0) / 1000;
    if millis < 1000 {
        format!("{millis} ms")
    } else {
        format!("{:.1} s", millis as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_durations_and_dates() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(50 * 1024), "50 KB");
        assert_eq!(human_size(3 * 1024 * 1024 + 1), "3.0 MB");
        assert_eq!(duration(250_000), "250 ms");
        assert_eq!(duration(1_300_000), "1.3 s");
        assert_eq!(
            full_date(Timestamp::from_unix_seconds(1_772_546_700)),
            "Tue 3 Mar 2026 14:05 UTC"
        );
        assert_eq!(short_date(Timestamp::from_unix_seconds(0)), "1 Jan 1970");
    }
}
