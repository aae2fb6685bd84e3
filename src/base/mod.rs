//! The bottom floor: small things every module may use and that use no other vigil module.
//!
//! Owns: the CPU's floating-point mode for vigil's own number crunching (`float`), the
//! allocator's policy for large blocks (`memory`). Must not:
//! import any other vigil module (it sits under all of them).

pub mod float;
pub mod memory;
