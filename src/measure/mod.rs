//! Every measuring loop, independent of the backend: warm-up and timed sampling
//! ([`sampler`]), one point with its algorithm search, verification and telemetry
//! ([`point`]), the `--duration` loop and its windows ([`sustained`]), statistics
//! ([`stats`]), the checks before the first product ([`setup`]), verification ([`verify`]), copy bandwidth ([`bandwidth`]) and Ctrl-C
//! ([`interrupt`]).
//!
//! The loop follows the source's snippet (time many products, report 2·m·n·k / median) but
//! fixes its flaws: warm-up bounded by iterations *and* time so clocks settle, every sample
//! kept (device time on a GPU), a minimum count *and* duration, and a verified output.

pub mod bandwidth;
pub mod interrupt;
pub mod point;
pub mod sampler;
pub mod setup;
pub use crate::stats;
pub mod sustained;
#[cfg(test)]
pub mod testing;
pub mod verify;

pub use sampler::{Phase, ProgressFn, Samples};
