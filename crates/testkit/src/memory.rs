//! A process's memory as Linux reports it (`/proc/self/status`), for the benchmarks' peak and
//! current resident sets. Zero where there is no such file.

/// A field of `/proc/self/status` (`"VmHWM:"` the peak resident set, `"VmRSS:"` the current
/// one), in MB.
pub fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Sets the peak resident set back to the current one, so the next peak is that of what runs
/// next.
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
