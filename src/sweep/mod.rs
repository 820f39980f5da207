//! Shape sweeps, because one square size is not the most a GPU does: measure many GEMM
//! shapes, keep every point in one profile as it completes, and report the best.
//!
//! One square size is not what a GPU can do: throughput depends on m, n and k and on which
//! library algorithm runs (mamf-finder found the H100's best bf16 product at
//! 2048×2048×13312). A sweep parses ranges ([`range`]), builds the grid of shapes ([`grid`]),
//! measures each point with the algorithm search and telemetry ([`crate::measure::point`]),
//! saves the profile after every point ([`driver`]) and summarizes ([`summary`]); the text
//! it prints at the end is `output::sweep`.

pub mod driver;
pub mod grid;
pub mod range;
pub mod summary;

#[cfg(test)]
mod tests;
