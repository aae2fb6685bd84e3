//! Times as people read them: timestamps in footage and the moments records were made.

/// `hh:mm:ss.mmm` for a time in seconds, as reviewers read timestamps.
pub fn format_hms(seconds: f64) -> String {
    let ms_total = (seconds.max(0.0) * 1000.0).round() as u64;
    let (h, rest) = (ms_total / 3_600_000, ms_total % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, ms) = (rest / 1000, rest % 1000);
    format!("{h:02}:{m:02}:{s:02}.{ms:03}")
}

/// The current time in UTC as RFC 3339 (`2026-11-29T10:06:13Z`), for records that must say
/// when something happened.
pub fn now_utc() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hms_rounds_to_milliseconds() {
        assert_eq!(format_hms(0.0), "00:00:00.000");
        assert_eq!(format_hms(3725.4567), "01:02:05.457");
        assert_eq!(format_hms(-1.0), "00:00:00.000");
    }
}
