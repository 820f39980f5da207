//! The telemetry summary a result stores (`GemmResult.telemetry`): clocks, power, temperature
//! and throttle reasons while it was timed, and a sustained run's timeline.
//!
//! The type lives with the profile schema so that loading a profile never depends on the
//! sampler; `telemetry` computes it ([`crate::telemetry::summarize`]) and re-exports it.

use serde::{Deserialize, Serialize};

/// Per-result telemetry summary (`GemmResult.telemetry`). Key names are part of the profile
/// format (the estimate command reads `power_w_mean`); a missing figure reads as `None`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Telemetry {
    /// Where the readings come from (`nvml`, or `none` when only throughput was recorded;
    /// empty when a file leaves it out).
    #[serde(default)]
    pub source: String,
    /// Readings inside the timed window (0 when a file leaves it out).
    #[serde(default)]
    pub samples: usize,
    pub sm_clock_mhz_min: Option<f64>,
    pub sm_clock_mhz_mean: Option<f64>,
    pub sm_clock_mhz_max: Option<f64>,
    pub mem_clock_mhz_mean: Option<f64>,
    /// Mean board power over the window (W), as NVML reports it.
    pub power_w_mean: Option<f64>,
    pub power_w_max: Option<f64>,
    pub temperature_c_max: Option<f64>,
    /// Throttle (clock-event) reasons seen in any reading, NVML's names in snake case.
    #[serde(default)]
    pub throttle_reasons: Vec<String>,
    /// Mean power × median time of one product (J).
    pub energy_per_product_j: Option<f64>,
    /// Measured TFLOPS / mean power.
    pub tflops_per_watt: Option<f64>,
    /// Throughput, clock and power over time (sustained runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<TimelinePoint>>,
}

/// One window of a sustained run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    /// Window start and end, seconds since timing began.
    pub t_start_s: f64,
    pub t_end_s: f64,
    /// Products completed in the window.
    pub products: usize,
    /// 2·m·n·k · products / their summed device time.
    pub tflops: f64,
    pub sm_clock_mhz_mean: Option<f64>,
    pub mem_clock_mhz_mean: Option<f64>,
    pub power_w_mean: Option<f64>,
    pub temperature_c_max: Option<f64>,
    #[serde(default)]
    pub throttle_reasons: Vec<String>,
}
