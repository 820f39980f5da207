//! CSV export: one row per result, every figure in a plain unit named by its column (TFLOPS,
//! seconds, MHz, W, J, a fraction), for spreadsheets and pandas. Empty cells mean "not
//! measured / not known".

use std::fmt::Write;

use crate::measure::point::algo_search_of;
use crate::profile::{GemmResult, Profile};
use crate::telemetry;

/// The header row's column names.
pub const COLUMNS: [&str; 30] = [
    "device",
    "backend",
    "dtype",
    "m",
    "n",
    "k",
    "batch",
    "tflops",
    "tflops_min",
    "tflops_max",
    "median_s",
    "mean_s",
    "min_s",
    "max_s",
    "stddev_s",
    "samples",
    "spec_peak_tflops",
    "derived_peak_tflops",
    "efficiency_fraction",
    "efficiency_basis",
    "verified",
    "max_rel_error",
    "api",
    "compute_type",
    "algorithm",
    "default_algorithm_tflops",
    "sm_clock_mhz_mean",
    "power_w_mean",
    "tflops_per_watt",
    "energy_per_product_j",
];

/// Renders a profile as CSV (RFC 4180 quoting, `\n` line ends).
pub fn render(p: &Profile) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", COLUMNS.join(","));
    for r in &p.results {
        let cells = row(p, r);
        let line: Vec<String> = cells.iter().map(|c| quote(c)).collect();
        let _ = writeln!(out, "{}", line.join(","));
    }
    out
}

fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

fn opt(x: Option<f64>) -> String {
    x.map(num).unwrap_or_default()
}

fn row(p: &Profile, r: &GemmResult) -> Vec<String> {
    let t = telemetry::of_result(r);
    let s = algo_search_of(r);
    let basis = r
        .peak
        .efficiency_basis
        .and_then(|b| serde_json::to_value(b).ok())
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    vec![
        p.device.name.clone(),
        p.device.backend.clone(),
        r.dtype.to_string(),
        r.m.to_string(),
        r.n.to_string(),
        r.k.to_string(),
        r.batch.to_string(),
        num(r.tflops),
        num(r.tflops_min),
        num(r.tflops_max),
        num(r.stats_s.median),
        num(r.stats_s.mean),
        num(r.stats_s.min),
        num(r.stats_s.max),
        num(r.stats_s.stddev),
        r.stats_s.count.to_string(),
        opt(r.peak.spec_tflops),
        opt(r.peak.derived_tflops),
        opt(r.efficiency),
        basis,
        r.valid().to_string(),
        num(r.verification.max_rel_error),
        r.api.api.clone(),
        r.api.compute_type.clone(),
        r.api.algorithm.clone().unwrap_or_default(),
        opt(s.and_then(|s| s.default_tflops)),
        opt(t.as_ref().and_then(|t| t.sm_clock_mhz_mean)),
        opt(t.as_ref().and_then(|t| t.power_w_mean)),
        opt(t.as_ref().and_then(|t| t.tflops_per_watt)),
        opt(t.as_ref().and_then(|t| t.energy_per_product_j)),
    ]
}

/// Quotes a cell when it holds a comma, a quote or a line break.
pub fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
