//! The bottom floor: small things every module may use and that use no other vigil module.
//!
//! Owns: the CPU's floating-point mode for vigil's own number crunching (`float`), the
//! allocator's policy for large blocks (`memory`), content hashes (`hash`: streamed SHA-256 of
//! files opened read-only), writes that never leave a half-written file under its final name
//! (`atomic`), times as people read them (`time`), the PNG and font helpers of every picture
//! vigil draws (`plot`), and the clip contract between footage and a model (`clip`: frames,
//! rate, size and resize rule as plain numbers, so that neither `video` nor `model` needs the
//! other). Must not: import any other vigil module (it sits under all of them).

pub mod atomic;
pub mod clip;
pub mod float;
pub mod hash;
pub mod memory;
pub mod plot;
pub mod time;

pub use atomic::{write_atomic, write_atomic_with};
pub use hash::{sha256_bytes, sha256_file};
pub use time::{format_hms, now_utc};
