//! What the algorithm search found for one shape (`GemmResult.algo_search`): every candidate
//! the library offered and timed, the default choice and the fastest verified one.
//!
//! The type lives with the profile schema so that loading a profile never depends on the
//! sweep that fills it ([`crate::sweep::point`] re-exports it).

use serde::{Deserialize, Serialize};

/// What the algorithm search found for one shape (`GemmResult.algo_search`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlgoSearch {
    /// Candidates the library offered.
    pub offered: usize,
    /// Candidates timed (`--algos`, at most `offered`).
    pub timed: usize,
    /// The library's default choice (candidate 0): its TFLOPS and whether it verified.
    pub default_tflops: Option<f64>,
    pub default_valid: bool,
    pub default_algorithm: Option<String>,
    /// The fastest verified candidate.
    pub best_index: usize,
    pub best_tflops: f64,
    pub best_algorithm: Option<String>,
    /// best / default TFLOPS.
    pub speedup: Option<f64>,
    pub candidates: Vec<AlgoCandidate>,
}

/// One timed candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlgoCandidate {
    pub index: usize,
    pub algorithm: Option<String>,
    pub tflops: Option<f64>,
    pub valid: bool,
    pub max_rel_error: Option<f64>,
    /// Why the candidate could not be timed, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
