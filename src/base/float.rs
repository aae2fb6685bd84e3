//! Subnormal floats flushed to zero for the float work vigil does in its own code: training the
//! head (burn's CPU backend), rendering the kit, the novelty scorer and evaluation.
//!
//! Why: on Intel CPUs an arithmetic instruction that reads or produces a subnormal number
//! (|x| < 1.2e-38 for f32) takes a microcode assist that costs on the order of a hundred cycles.
//! Training the MIL head drives some weights, gradients and Adagrad terms into that range, and
//! each iteration got slower than the last: 200 iterations took 272 s with the default float mode
//! and 16 s with flush-to-zero (FTZ) and denormals-are-zero (DAZ) set (issue 9). Values that small
//! carry no information for these computations, so treating them as zero changes nothing a user
//! can see, except that results are bit-identical only to other runs in the same mode.
//!
//! The mode is a per-thread register (MXCSR on x86-64, FPCR on aarch64), so it is set by a scoped
//! guard around the work on the thread that does it and restored afterwards, also when the work
//! panics (`no_denormals`, an RAII guard). Threads the work starts must enter the mode themselves;
//! burn's `flex` backend as vigil builds it (no `rayon` feature) computes on the calling thread.
//! ONNX Runtime's own threads are not affected; it has its own session option for that.
//!
//! Rust's documentation calls changing these flags undefined behaviour because the compiler
//! assumes the default mode when it folds constants; the consequence is that a constant-folded
//! operation may keep a subnormal that the same operation at run time would flush. Nothing in
//! vigil depends on subnormal values either way.

/// Runs `work` on this thread with subnormal inputs read as zero and subnormal results flushed
/// to zero (x86/x86-64: MXCSR.DAZ and FTZ; aarch64: FPCR.FZ), then restores the previous mode.
/// On other targets it simply runs `work`.
#[inline]
pub fn flush_denormals<T>(work: impl FnOnce() -> T) -> T {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    {
        // SAFETY: the guard only sets and restores this thread's float control bits; no memory
        // is touched. See the module doc for what "undefined" means here and why it is harmless
        // for vigil's numbers.
        #[allow(unsafe_code)]
        unsafe {
            no_denormals::no_denormals(work)
        }
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
    {
        work()
    }
}

/// What the CPU does with subnormals on this thread right now, found by doing the arithmetic
/// (not by reading a register), so that a test can check the mode inside the thread that
/// computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloatMode {
    /// A result below the normal range becomes zero (FTZ).
    pub flushes_results: bool,
    /// A subnormal operand is read as zero (DAZ; aarch64's FZ does both).
    pub zeroes_inputs: bool,
}

impl FloatMode {
    /// Measures the current thread's mode.
    pub fn current() -> Self {
        let min = std::hint::black_box(f32::MIN_POSITIVE);
        let tiny = std::hint::black_box(f32::from_bits(1));
        Self {
            flushes_results: std::hint::black_box(min * 0.5) == 0.0,
            zeroes_inputs: std::hint::black_box(tiny + 0.0) == 0.0,
        }
    }

    /// Both flushes are on: no instruction sees or makes a subnormal.
    pub fn is_flushing(self) -> bool {
        self.flushes_results && self.zeroes_inputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    fn the_guard_flushes_and_restores() {
        let before = FloatMode::current();
        assert!(
            !before.flushes_results && !before.zeroes_inputs,
            "{before:?}"
        );
        let inside = flush_denormals(FloatMode::current);
        assert!(inside.is_flushing(), "{inside:?}");
        assert_eq!(FloatMode::current(), before);
        // Nested guards restore the outer mode, not the default.
        let nested = flush_denormals(|| {
            flush_denormals(|| ());
            FloatMode::current()
        });
        assert!(nested.is_flushing());
    }

    #[test]
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    fn the_mode_is_restored_after_a_panic() {
        let r = std::panic::catch_unwind(|| flush_denormals(|| panic!("in the work")));
        assert!(r.is_err());
        assert!(!FloatMode::current().flushes_results);
    }

    #[test]
    fn the_work_result_is_returned() {
        assert_eq!(flush_denormals(|| 41 + 1), 42);
    }
}
