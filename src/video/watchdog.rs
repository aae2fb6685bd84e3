//! A bound on how long FFmpeg may read for one step: opening a file, or decoding one frame.
//!
//! A damaged or crafted file can send a demuxer scanning for a sync code through gigabytes, or
//! around a loop, while the caller waits for a frame that never comes; an investigator's
//! overnight queue would stop at that file. FFmpeg checks an interrupt callback on every read;
//! vigil's returns "stop" when the current step has run longer than its limit. Time counts only
//! while a step runs, so a preview decoder left idle for an hour is not "stalled".
//!
//! The limits are far above what a healthy file needs (the slowest frame seen here, an 8-bit
//! JPEG 2000 picture, decodes in well under a second), so they fire only on files that would
//! otherwise hang.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// Opening (headers and stream probing) may take this long.
const OPEN_LIMIT_MS: u64 = 60_000;
/// One frame (or one seek) may take this long; `VIGIL_DECODE_STALL_MS` overrides it (tests
/// use it to make the watchdog fire on a healthy file).
const STEP_LIMIT_MS: u64 = 30_000;

/// Shared between the reader (which marks steps) and FFmpeg's interrupt callback.
#[derive(Debug, Clone)]
pub struct Watchdog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    origin: Instant,
    /// Microseconds since `origin` at which the current step began, plus one; 0 when idle.
    busy_since: AtomicU64,
    /// The current step's limit, microseconds.
    limit_us: AtomicU64,
    /// Set once the callback has stopped a read.
    fired: AtomicBool,
}

impl Watchdog {
    /// A watchdog in its opening step.
    pub fn opening() -> Self {
        let w = Self {
            inner: Arc::new(Inner {
                origin: Instant::now(),
                busy_since: AtomicU64::new(0),
                limit_us: AtomicU64::new(OPEN_LIMIT_MS * 1000),
                fired: AtomicBool::new(false),
            }),
        };
        w.begin(OPEN_LIMIT_MS);
        w
    }

    fn now_us(&self) -> u64 {
        self.inner.origin.elapsed().as_micros() as u64
    }

    fn begin(&self, limit_ms: u64) {
        self.inner
            .limit_us
            .store(limit_ms * 1000, Ordering::Relaxed);
        self.inner
            .busy_since
            .store(self.now_us() + 1, Ordering::Relaxed);
    }

    /// Starts a decoding step (one frame, one seek).
    pub fn step(&self) {
        self.begin(step_limit_ms());
    }

    /// Ends the current step: idle time does not count.
    pub fn idle(&self) {
        self.inner.busy_since.store(0, Ordering::Relaxed);
    }

    /// True once the watchdog has stopped a read.
    pub fn fired(&self) -> bool {
        self.inner.fired.load(Ordering::Relaxed)
    }

    /// The limit of a decoding step, in seconds, for messages.
    pub fn step_limit_s(&self) -> f64 {
        step_limit_ms() as f64 / 1000.0
    }

    /// The interrupt callback's answer: true means "abort this read".
    pub fn should_stop(&self) -> bool {
        let since = self.inner.busy_since.load(Ordering::Relaxed);
        if since == 0 {
            return false;
        }
        let over = self.now_us() + 1 > since + self.inner.limit_us.load(Ordering::Relaxed);
        if over {
            self.inner.fired.store(true, Ordering::Relaxed);
        }
        over
    }
}

fn step_limit_ms() -> u64 {
    static LIMIT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::env::var("VIGIL_DECODE_STALL_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(STEP_LIMIT_MS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_while_a_step_runs() {
        let w = Watchdog::opening();
        assert!(!w.should_stop());
        w.idle();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(!w.should_stop(), "idle time does not count");
        w.begin(0);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(w.should_stop());
        assert!(w.fired());
    }
}
