//! Progress on stderr for the long commands (`score`, `features`, `train`, `kit`).
//!
//! On a terminal: an indicatif bar, redrawn in place. Anywhere else (a CI log, a pipe, a file)
//! indicatif draws nothing, and a job of many minutes would be silent; there a plain line is
//! written every few percent and at least once a minute while work advances, with the elapsed
//! time and an estimate of what is left, so that a log shows where the time goes. Jobs that end
//! within their first ten seconds write nothing, so that short runs (and scripts that read
//! stderr for an error line) see no noise.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::cell::RefCell;
use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

/// A line at least every this many percent.
const STEP_PERCENT: u64 = 5;
/// And at least this often while the position moves, for steps where 5 % takes long.
const QUIET_AT_MOST: Duration = Duration::from_secs(60);
/// Nothing before this: a short job needs no progress lines. `VIGIL_PROGRESS_AFTER_S` changes
/// it (0: from the first step; the tests use that to see the lines of short jobs).
const QUIET_START: Duration = Duration::from_secs(10);

fn quiet_start() -> Duration {
    std::env::var("VIGIL_PROGRESS_AFTER_S")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(QUIET_START, Duration::from_secs_f64)
}

/// A progress display: a bar on a terminal, lines otherwise.
pub struct Meter {
    bar: Option<ProgressBar>,
    lines: RefCell<Lines>,
}

/// The state of the line display (also kept for the bar, which ignores it).
struct Lines {
    prefix: String,
    unit: String,
    len: Option<u64>,
    pos: u64,
    msg: String,
    started: Instant,
    last_line: Option<Instant>,
    /// No line before this much time has passed.
    quiet_start: Duration,
    /// The next multiple of `STEP_PERCENT` that earns a line.
    next_percent: u64,
}

impl Meter {
    /// A meter counting `len` `unit`s (None: not known yet). `template` is indicatif's, used
    /// only on a terminal.
    pub fn new(prefix: &str, len: Option<u64>, unit: &str, template: &str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr_with_hz(4));
            if let Ok(style) = ProgressStyle::with_template(template) {
                b.set_style(style.progress_chars("=> "));
            }
            b.set_prefix(prefix.to_string());
            b
        });
        Self {
            bar,
            lines: RefCell::new(Lines {
                prefix: prefix.to_string(),
                unit: unit.to_string(),
                len,
                pos: 0,
                msg: String::new(),
                started: Instant::now(),
                last_line: None,
                quiet_start: quiet_start(),
                next_percent: STEP_PERCENT,
            }),
        }
    }

    /// Writes lines whatever stderr is (for tests of the line format).
    #[cfg(test)]
    fn lines_only(prefix: &str, len: Option<u64>, unit: &str) -> Self {
        let m = Self::new(prefix, len, unit, "");
        // The documented default, whatever the test's environment says.
        m.lines.borrow_mut().quiet_start = QUIET_START;
        Self { bar: None, ..m }
    }

    /// Changes the bar's look (terminal only).
    pub fn set_template(&self, template: &str) {
        if let (Some(b), Ok(style)) = (&self.bar, ProgressStyle::with_template(template)) {
            b.set_style(style.progress_chars("=> "));
        }
    }

    /// Spins the bar while nothing else moves it (terminal only).
    pub fn enable_steady_tick(&self, every: Duration) {
        if let Some(b) = &self.bar {
            b.enable_steady_tick(every);
        }
    }

    /// Sets the total.
    pub fn set_length(&self, len: u64) {
        if let Some(b) = &self.bar {
            b.set_length(len);
        }
        self.lines.borrow_mut().len = Some(len);
    }

    /// Sets what the line or bar says after the count.
    pub fn set_message(&self, msg: impl Into<String>) {
        let msg = msg.into();
        if let Some(b) = &self.bar {
            b.set_message(msg.clone());
        }
        self.lines.borrow_mut().msg = msg;
    }

    /// Moves to `pos`; off a terminal, writes a line when a step of `STEP_PERCENT` is crossed
    /// or a minute has passed.
    pub fn set_position(&self, pos: u64) {
        if let Some(b) = &self.bar {
            b.set_position(pos);
            return;
        }
        let line = self.lines.borrow_mut().advance(pos, Instant::now());
        if let Some(line) = line {
            say(&line);
        }
    }

    /// Writes a line above the bar, or just a line.
    pub fn println(&self, line: impl AsRef<str>) {
        match &self.bar {
            Some(b) => b.println(line.as_ref()),
            None => say(line.as_ref()),
        }
    }

    /// Runs `f` with the bar hidden (for writing to stderr).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(b) => b.suspend(f),
            None => f(),
        }
    }

    /// Clears the bar; off a terminal, writes the closing line with the total time (when the
    /// job wrote progress lines at all).
    pub fn finish(&self) {
        match &self.bar {
            Some(b) => b.finish_and_clear(),
            None => {
                if let Some(line) = self.lines.borrow().finished(Instant::now()) {
                    say(&line);
                }
            }
        }
    }
}

impl Lines {
    /// The line to write on moving to `pos` at `now`, if one is due.
    fn advance(&mut self, pos: u64, now: Instant) -> Option<String> {
        let moved = pos != self.pos;
        self.pos = pos;
        if now.duration_since(self.started) < self.quiet_start {
            return None;
        }
        let percent = self.percent();
        let crossed = percent.is_some_and(|p| p >= self.next_percent);
        let quiet_long =
            moved && now.duration_since(self.last_line.unwrap_or(self.started)) >= QUIET_AT_MOST;
        if !crossed && !quiet_long {
            return None;
        }
        if let Some(p) = percent {
            // The next step above where we are now (a jump may cross several).
            self.next_percent = (p / STEP_PERCENT + 1) * STEP_PERCENT;
        }
        self.last_line = Some(now);
        Some(self.line(now))
    }

    fn percent(&self) -> Option<u64> {
        self.len
            .filter(|&l| l > 0)
            .map(|l| (self.pos.min(l) * 100) / l)
    }

    fn line(&self, now: Instant) -> String {
        let elapsed = now.duration_since(self.started).as_secs_f64();
        let mut s = match (self.len, self.percent()) {
            (Some(len), Some(p)) => format!(
                "{}: {p:>3} % ({}/{len} {})",
                self.prefix, self.pos, self.unit
            ),
            _ => format!("{}: {} {}", self.prefix, self.pos, self.unit),
        };
        if !self.msg.is_empty() {
            s.push_str(" · ");
            s.push_str(&self.msg);
        }
        s.push_str(&format!(" · {} elapsed", seconds(elapsed)));
        if let Some(len) = self.len
            && self.pos > 0
            && self.pos < len
        {
            let left = elapsed * (len - self.pos) as f64 / self.pos as f64;
            s.push_str(&format!(", ~{} left", seconds(left)));
        }
        s
    }

    fn finished(&self, now: Instant) -> Option<String> {
        let elapsed = now.duration_since(self.started);
        (self.last_line.is_some() || elapsed >= self.quiet_start).then(|| {
            format!(
                "{}: finished {} {} in {}",
                self.prefix,
                self.pos,
                self.unit,
                seconds(elapsed.as_secs_f64())
            )
        })
    }
}

/// Writes a progress line. A line that cannot be written (stderr closed, as in
/// `vigil score F 2>&1 | head`) is dropped: progress is never worth stopping the work for, and
/// `eprintln!` would panic.
fn say(line: &str) {
    use std::io::Write as _;
    // Ignored on purpose: see above.
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// "42 s", "12 min 05 s".
fn seconds(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.0} s")
    } else {
        let whole = s.round() as u64;
        format!("{} min {:02} s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_every_five_percent_and_none_between() {
        let m = Meter::lines_only("train", Some(200), "iterations");
        let t0 = m.lines.borrow().started;
        let mut l = m.lines.borrow_mut();
        let mut written = Vec::new();
        for it in 1..=200u64 {
            if let Some(s) = l.advance(it, t0 + Duration::from_millis(10_000 + it * 10)) {
                written.push((it, s));
            }
        }
        let at: Vec<u64> = written.iter().map(|(it, _)| *it).collect();
        assert_eq!(at, (1..=20).map(|k| k * 10).collect::<Vec<_>>());
        assert!(
            written[0]
                .1
                .starts_with("train:   5 % (10/200 iterations) · "),
            "{}",
            written[0].1
        );
        assert!(written[0].1.contains("elapsed, ~"), "{}", written[0].1);
        assert!(written[19].1.starts_with("train: 100 % (200/200"));
        assert!(!written[19].1.contains("left"));
    }

    #[test]
    fn a_jump_over_several_steps_writes_one_line() {
        let m = Meter::lines_only("kit", Some(10), "videos");
        let t0 = m.lines.borrow().started;
        let mut l = m.lines.borrow_mut();
        let t = t0 + QUIET_START;
        assert!(l.advance(3, t).is_some());
        assert_eq!(l.next_percent, 35);
        assert!(l.advance(3, t).is_none());
        assert!(l.advance(4, t).is_some());
    }

    #[test]
    fn a_slow_step_still_writes_a_line_a_minute() {
        let m = Meter::lines_only("features", Some(10_000), "clips");
        let t0 = m.lines.borrow().started;
        let mut l = m.lines.borrow_mut();
        assert!(l.advance(1, t0 + Duration::from_secs(30)).is_none());
        let s = l.advance(2, t0 + Duration::from_secs(61));
        assert!(s.is_some_and(|s| s.contains("1 min 01 s elapsed")));
        assert!(l.advance(3, t0 + Duration::from_secs(100)).is_none());
        assert!(l.advance(4, t0 + Duration::from_secs(122)).is_some());
        // No movement, no line.
        assert!(l.advance(4, t0 + Duration::from_secs(200)).is_none());
    }

    #[test]
    fn messages_and_unknown_lengths() {
        let m = Meter::lines_only("score", None, "clips");
        m.set_message("CPU · 3.0 video-s/s");
        let t0 = m.lines.borrow().started;
        let line = m.lines.borrow().line(t0 + Duration::from_secs(5));
        assert_eq!(line, "score: 0 clips · CPU · 3.0 video-s/s · 5 s elapsed");
        m.set_length(4);
        assert!(m.lines.borrow_mut().advance(1, t0 + QUIET_START).is_some());
        assert_eq!(
            m.lines.borrow().finished(t0 + Duration::from_secs(125)),
            Some("score: finished 1 clips in 2 min 05 s".into())
        );
    }

    #[test]
    fn short_jobs_stay_quiet() {
        let m = Meter::lines_only("score", Some(10), "clips");
        let t0 = m.lines.borrow().started;
        let mut l = m.lines.borrow_mut();
        for pos in 1..=10 {
            assert!(
                l.advance(pos, t0 + Duration::from_millis(pos * 500))
                    .is_none()
            );
        }
        assert!(l.finished(t0 + Duration::from_secs(6)).is_none());
    }
}
