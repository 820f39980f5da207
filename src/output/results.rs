//! The human-readable table `gpubench run` and `gpubench show` print: fitted to a width
//! (`--wide` for every column), notes wrapped below it, and a warning where a figure is
//! unreliable.

use crate::output::format::wrap;
use crate::output::table::{Align, Table, Width};
use crate::output::warnings::{self, Warning};
use crate::peak::PeakBasis;
use crate::profile::{GemmResult, Profile};
use crate::units::fmt_seconds;

/// One line describing the device a profile measured.
pub fn device_line(p: &Profile) -> String {
    let d = &p.device;
    let mut parts: Vec<String> = Vec::new();
    if d.backend == crate::backend::BackendKind::Cuda {
        parts.push(format!("cuda:{}", d.ordinal.unwrap_or(0)));
        if let Some(cc) = &d.compute_capability {
            parts.push(format!("cc {cc}"));
        }
        if let Some(s) = d.sm_count {
            parts.push(format!("{s} SMs"));
        }
        if let Some(c) = d.max_sm_clock_mhz {
            parts.push(format!("{c:.0} MHz max SM clock"));
        }
        if let Some(m) = d.memory_bytes {
            parts.push(format!("{:.1} GiB", m as f64 / (1u64 << 30) as f64));
        }
        if let Some(v) = &d.driver_version {
            parts.push(format!("driver {v}"));
        }
        if let Some(v) = &d.cuda_driver_version {
            parts.push(format!("CUDA {v}"));
        }
        if let Some(v) = &d.cublas_version {
            parts.push(format!("cuBLAS {v}"));
        }
    } else {
        parts.push("cpu".into());
        if let Some(t) = d.threads {
            parts.push(format!("{t} threads"));
        }
        if let Some(s) = &d.simd {
            parts.push(s.clone());
        }
    }
    let spec = match &d.spec_gpu {
        Some(k) => format!("; spec-sheet row: {k}"),
        None if d.backend == crate::backend::BackendKind::Cuda => {
            "; not in the spec-sheet table".into()
        }
        None => String::new(),
    };
    format!("{} ({}){spec}", d.name, parts.join(", "))
}

fn pct(x: f64) -> String {
    crate::output::format::percent(x)
}

/// TFLOPS with 4 significant digits (812.3, 12.34, 0.07914); see [`crate::output::format`].
pub use crate::output::format::tflops as fmt_tflops;

fn opt_tflops(x: Option<f64>) -> String {
    x.map(fmt_tflops).unwrap_or_else(|| "–".into())
}

/// The efficiency cell with its basis.
pub fn efficiency_cell(r: &GemmResult) -> String {
    match (r.efficiency, r.peak.efficiency_basis) {
        (Some(e), Some(PeakBasis::Spec)) => format!("{} of spec", pct(e)),
        (Some(e), Some(PeakBasis::Derived)) => format!("{} of derived", pct(e)),
        (Some(e), Some(PeakBasis::Cpu)) => format!("{} of CPU peak", pct(e)),
        _ => "– (no peak known)".into(),
    }
}

/// Renders the results table of a profile, with the device line, the notes (wrapped to the
/// width) and a warning for each result whose timings look unreliable.
pub fn render(p: &Profile, width: Width) -> String {
    let mut out = String::new();
    // Notes wrap with a hanging indent; a result's own line hangs deeper than its sub-notes.
    let wrap_hang = |text: &str, indent: &str, hang: &str| {
        format!(
            "{indent}{}\n",
            wrap(text, width.columns().saturating_sub(indent.len()), hang)
                .replace('\n', &format!("\n{indent}"))
        )
    };
    let wrap = |text: &str, indent: &str| wrap_hang(text, indent, "  ");
    out.push_str(&wrap(&format!("Device: {}", device_line(p)), ""));
    let mut t = Table::new()
        .column("dtype", Align::Left)
        .column("m×n×k", Align::Left)
        .column("median time", Align::Right)
        .column("TFLOPS", Align::Right)
        .optional("min–max TFLOPS", Align::Right, 3)
        .column("stddev", Align::Right)
        .optional("spec peak (TFLOPS)", Align::Right, 5)
        .optional("derived peak (TFLOPS)", Align::Right, 6)
        .column("efficiency", Align::Left)
        .column("verified", Align::Left)
        .optional("verification", Align::Left, 4);
    for r in &p.results {
        t.row([
            r.dtype.to_string(),
            r.shape().to_string(),
            fmt_seconds(r.stats_s.median),
            fmt_tflops(r.tflops),
            format!("{}–{}", fmt_tflops(r.tflops_min), fmt_tflops(r.tflops_max)),
            pct(r.stats_s.cv()),
            opt_tflops(r.peak.spec_tflops),
            opt_tflops(r.peak.derived_tflops),
            efficiency_cell(r),
            if r.verification.passed {
                "yes"
            } else {
                "FAILED"
            }
            .into(),
            verification_detail(r),
        ]);
    }
    out.push_str(&t.render(width));
    out.push('\n');
    out.push_str(&wrap(
        &format!(
            "TFLOPS = 2·m·n·k / median time (measured: {} timed products per row after warm-up); peaks in TFLOPS: spec = datasheet dense figure, derived = {}; stddev as % of the mean time.",
            p.results
                .iter()
                .map(|r| r.stats_s.count.to_string())
                .collect::<Vec<_>>()
                .join("/"),
            if p.device.backend == crate::backend::BackendKind::Cuda {
                "SMs × max clock × FLOPs/clock/SM"
            } else {
                "cores × measured clock × FLOPs/cycle"
            }
        ),
        "",
    ));
    let hidden = t.hidden(width);
    for r in &p.results {
        out.push_str(&wrap_hang(
            &format!(
                "{} {}: {} ({}, accumulate {}, output {}{}){}",
                r.dtype,
                r.shape(),
                r.api.api,
                r.api.compute_type,
                r.api.accumulator,
                r.api.output_type,
                match r.api.fp8_fast_accum {
                    Some(true) => ", fp8 fast accumulation ON",
                    Some(false) => ", fp8 fast accumulation off",
                    None => "",
                },
                r.api
                    .algorithm
                    .as_ref()
                    .map(|a| format!("; algorithm {a}"))
                    .unwrap_or_default()
            ),
            "  ",
            "    ",
        ));
        if hidden.iter().any(|h| h == "verification") {
            out.push_str(&wrap(
                &format!("verified: {}", verification_detail(r)),
                "    ",
            ));
        }
        if let Some(b) = &r.peak.derived_basis {
            let value = r
                .peak
                .derived_tflops
                .map(|t| format!(" {} TFLOPS", fmt_tflops(t)))
                .unwrap_or_default();
            out.push_str(&wrap(&format!("derived peak{value}: {b}"), "    "));
        }
        if let (Some(p), Some(mhz)) = (
            r.peak.derived_at_measured_clock_tflops,
            r.peak.measured_sm_clock_mhz,
        ) {
            out.push_str(&wrap(
                &format!(
                    "derived peak at the measured SM clock ({mhz:.0} MHz mean, NVML): {} TFLOPS; measured = {:.1}% of it",
                    fmt_tflops(p),
                    100.0 * r.tflops / p
                ),
                "    ",
            ));
        }
        if let (Some(g), Some(s)) = (&r.peak.spec_gpu, &r.peak.spec_source) {
            let value = r
                .peak
                .spec_tflops
                .map(|t| format!(" {} TFLOPS", fmt_tflops(t)))
                .unwrap_or_default();
            out.push_str(&wrap(&format!("spec peak{value}: {g} ({s})"), "    "));
        }
    }
    if p.results
        .iter()
        .any(|r| r.peak.efficiency_basis == Some(PeakBasis::Spec))
    {
        out.push_str(&wrap(
            "Efficiency uses the spec-sheet peak: it is what papers' MFU and planning formulas divide by; the derived peak uses the device's max clock, which can exceed the clock the datasheet assumes.",
            "",
        ));
    }
    if !hidden.is_empty() {
        out.push_str(&wrap(
            &format!(
                "Columns left out to fit {} characters: {} (--wide shows every column).",
                width.columns(),
                hidden.join(", ")
            ),
            "",
        ));
    }
    if let Some(why) = p.incomplete() {
        out.push_str(&wrap(
            &format!("Not complete ({why}): these are the results completed before the stop."),
            "",
        ));
    }
    for w in noise_warnings(p) {
        out.push_str(&wrap(&format!("warning: {w}"), ""));
    }
    out
}

/// The warnings every result of a profile deserves (noisy, outliers, few or tiny products).
/// A sustained run has none: its timeline shows how and when the throughput moved.
pub fn noise_warnings(p: &Profile) -> Vec<Warning> {
    if p.kind == crate::profile::ProfileKind::Sustained {
        return Vec::new();
    }
    let cpu = p.device.backend == crate::backend::BackendKind::Cpu;
    p.results
        .iter()
        .flat_map(|r| warnings::for_result(r, cpu))
        .collect()
}

/// "err 8.6e-8 / tol 1e-4, 256 pts": the largest error against the f64 reference.
fn verification_detail(r: &GemmResult) -> String {
    let v = &r.verification;
    format!(
        "err {:.1e} / tol {:.0e}, {} pts",
        v.max_rel_error, v.tolerance, v.checked
    )
}
