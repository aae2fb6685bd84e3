//! Standard output that a closed pipe does not crash.
//!
//! `vigil score --json F | head -c 100` closes the pipe after 100 bytes; Rust's `println!`
//! then panics ("failed printing to stdout: Broken pipe"). As ripgrep does, vigil treats a
//! reader that went away as the end of its output: later writes are dropped, nothing is printed
//! about it, and the work that does not go to stdout (an `--output` file, the cache, an export)
//! still completes.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

static GONE: AtomicBool = AtomicBool::new(false);
static FAILED: AtomicBool = AtomicBool::new(false);

/// True when output was lost to a write error other than a closed pipe (the exit code says so).
pub fn failed() -> bool {
    FAILED.load(Ordering::Relaxed)
}

/// True once a write found stdout's reader gone.
pub fn gone() -> bool {
    GONE.load(Ordering::Relaxed)
}

/// Records that stdout's reader has gone.
pub fn set_gone() {
    GONE.store(true, Ordering::Relaxed);
}

/// Writes `args` to stdout. A broken pipe makes this and every later write a no-op; another
/// write error (a full disk behind a redirect) is said once on stderr, as output lost.
pub fn write(args: std::fmt::Arguments<'_>) {
    if gone() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        set_gone();
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            FAILED.store(true, Ordering::Relaxed);
            eprintln!("vigil: error: cannot write to standard output: {e}");
        }
    }
}
