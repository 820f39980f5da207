//! Markdown export: a heading naming the device, one table row per result with units in the
//! column names, and notes saying where each figure comes from. Pastes into a README or an
//! issue as is.

use std::fmt::Write;

use crate::peak::PeakBasis;
use crate::profile::{GemmResult, Profile};
use crate::sweep::summary::summarize;
use crate::telemetry;

use crate::output::format::tflops as tf;
use crate::output::format::{percent, utc_stamp};

/// Milliseconds with four significant figures.
fn ms(seconds: f64) -> String {
    crate::output::format::sig(seconds * 1e3, 4)
}

fn opt_tf(x: Option<f64>) -> String {
    x.map(tf).unwrap_or_else(|| "–".into())
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn efficiency(r: &GemmResult) -> String {
    match (r.efficiency, r.peak.efficiency_basis) {
        (Some(e), Some(PeakBasis::Spec)) => format!("{} of spec", percent(e)),
        (Some(e), Some(PeakBasis::Derived)) => format!("{} of derived", percent(e)),
        (Some(e), Some(PeakBasis::Cpu)) => format!("{} of CPU peak", percent(e)),
        _ => "–".into(),
    }
}

/// Renders a profile as a Markdown section.
pub fn render(p: &Profile) -> String {
    let mut out = String::new();
    let d = &p.device;
    let _ = writeln!(out, "## gpubench {}: {}\n", p.kind, cell(&d.name));
    let mut facts = vec![format!("backend {}", d.backend)];
    if let Some(cc) = &d.compute_capability {
        facts.push(format!("compute capability {cc}"));
    }
    if let Some(v) = &d.driver_version {
        facts.push(format!("driver {v}"));
    }
    if let Some(v) = &d.cublas_version {
        facts.push(format!("cuBLAS {v}"));
    }
    let _ = writeln!(
        out,
        "Measured {} with gpubench {} ({}).{}\n",
        utc_stamp(&p.created_utc),
        p.tool.version,
        facts.join(", "),
        p.incomplete()
            .map(|why| format!(" Not complete ({why}): only the points completed before the stop."))
            .unwrap_or_default()
    );
    let with_telemetry = p.results.iter().any(|r| r.telemetry.is_some());
    let mut head = vec![
        "dtype",
        "m×n×k",
        "TFLOPS (measured)",
        "min–max TFLOPS",
        "median time (ms)",
        "spec peak (TFLOPS)",
        "derived peak (TFLOPS)",
        "efficiency (% of peak)",
        "verified (max rel. error)",
    ];
    if with_telemetry {
        head.extend(["SM clock mean (MHz)", "power mean (W)", "TFLOPS/W"]);
    }
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let align: Vec<&str> = head
        .iter()
        .enumerate()
        .map(|(i, _)| if i < 2 { "---" } else { "---:" })
        .collect();
    let _ = writeln!(out, "|{}|", align.join("|"));
    for r in &p.results {
        let mut cells = vec![
            r.dtype.to_string(),
            r.shape().to_string(),
            tf(r.tflops),
            format!("{}–{}", tf(r.tflops_min), tf(r.tflops_max)),
            ms(r.stats_s.median),
            opt_tf(r.peak.spec_tflops),
            opt_tf(r.peak.derived_tflops),
            efficiency(r),
            format!(
                "{} ({:.1e})",
                if r.valid() { "yes" } else { "FAILED" },
                r.verification.max_rel_error
            ),
        ];
        if with_telemetry {
            let t = telemetry::of_result(r);
            let f = |x: Option<f64>, prec: usize| {
                x.map(|v| format!("{v:.prec$}"))
                    .unwrap_or_else(|| "–".into())
            };
            cells.push(f(t.as_ref().and_then(|t| t.sm_clock_mhz_mean), 0));
            cells.push(f(t.as_ref().and_then(|t| t.power_w_mean), 1));
            cells.push(f(t.as_ref().and_then(|t| t.tflops_per_watt), 3));
        }
        let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    let _ = writeln!(out);
    if p.results.len() > 1 {
        for s in summarize(&p.results) {
            let Some(b) = &s.best else {
                let _ = writeln!(
                    out,
                    "- **{}**: no verified point among {} measured.",
                    s.dtype, s.points
                );
                continue;
            };
            {
                let _ = writeln!(
                    out,
                    "- **{}**: best {} at {} TFLOPS; median {} TFLOPS, geometric mean {} TFLOPS over {} verified of {} points.",
                    s.dtype,
                    b.shape,
                    tf(b.tflops),
                    opt_tf(s.median_tflops),
                    opt_tf(s.geomean_tflops),
                    s.valid,
                    s.points
                );
            }
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "TFLOPS = 2·m·n·k / median time of one product (measured). Spec peak: datasheet dense figure{}; derived peak: SMs × max clock × FLOPs/clock/SM (or CPU cores × clock × SIMD FLOPs/cycle).{}",
        p.results
            .iter()
            .find_map(|r| r.peak.spec_source.as_ref().map(|s| format!(" ({})", cell(s))))
            .unwrap_or_default(),
        if with_telemetry {
            " Clock and power: mean of NVML readings while the products were timed (measured)."
        } else {
            ""
        }
    );
    out
}
