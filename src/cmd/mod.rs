//! One file per command of the binary. Each turns its parsed arguments into library calls and
//! an exit code; what they share (exit codes, the pack, Ctrl-C, JSON lines) is in `main.rs`.

pub(crate) mod bank;
pub(crate) mod doctor;
pub(crate) mod eval;
pub(crate) mod export;
pub(crate) mod key;
pub(crate) mod mil;
pub(crate) mod open;
pub(crate) mod probe;
pub(crate) mod score;
pub(crate) mod verify;
