//! The human-readable table `gpubench run` and `gpubench show` print.

use std::fmt::Write;

use crate::peak::PeakBasis;
use crate::profile::{GemmResult, Profile};
use crate::units::fmt_seconds;

/// One line describing the device a profile measured.
pub fn device_line(p: &Profile) -> String {
    let d = &p.device;
    let mut parts: Vec<String> = Vec::new();
    if d.backend == "cuda" {
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
        None if d.backend == "cuda" => "; not in the spec-sheet table".into(),
        None => String::new(),
    };
    format!("{} ({}){spec}", d.name, parts.join(", "))
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

/// TFLOPS with precision that suits the magnitude (800.1, 12.34, 0.0123).
pub fn fmt_tflops(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

fn opt_tflops(x: Option<f64>) -> String {
    x.map(fmt_tflops).unwrap_or_else(|| "–".into())
}

/// The verification cell: "yes (err 3.1e-4 ≤ 4.0e-3)" or "FAILED (...)".
pub fn verified_cell(r: &GemmResult) -> String {
    let v = &r.verification;
    let word = if v.passed { "yes" } else { "FAILED" };
    format!(
        "{word} ({} pts, err {:.1e} / tol {:.0e})",
        v.checked, v.max_rel_error, v.tolerance
    )
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

/// Renders the results table of a profile, with the device line and notes.
pub fn render(p: &Profile) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Device: {}", device_line(p));
    let mut rows: Vec<[String; 10]> = vec![[
        "dtype".into(),
        "m×n×k".into(),
        "median time".into(),
        "TFLOPS (measured)".into(),
        "min–max TFLOPS".into(),
        "stddev".into(),
        "spec peak".into(),
        "derived peak".into(),
        "efficiency".into(),
        "verified".into(),
    ]];
    for r in &p.results {
        rows.push([
            r.dtype.to_string(),
            r.shape().to_string(),
            fmt_seconds(r.stats_s.median),
            fmt_tflops(r.tflops),
            format!("{}–{}", fmt_tflops(r.tflops_min), fmt_tflops(r.tflops_max)),
            pct(r.stats_s.cv()),
            opt_tflops(r.peak.spec_tflops),
            opt_tflops(r.peak.derived_tflops),
            efficiency_cell(r),
            verified_cell(r),
        ]);
    }
    let widths: Vec<usize> = (0..10)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for (i, row) in rows.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                let pad = widths[c] - cell.chars().count();
                if (2..=7).contains(&c) && i > 0 {
                    format!("{}{cell}", " ".repeat(pad))
                } else {
                    format!("{cell}{}", " ".repeat(pad))
                }
            })
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "TFLOPS = 2·m·n·k / median time (measured: {} timed products per row after warm-up); peaks in TFLOPS: spec = datasheet dense figure, derived = SMs × max clock × FLOPs/clock/SM; stddev as % of the mean time.",
        p.results
            .iter()
            .map(|r| r.stats_s.count.to_string())
            .collect::<Vec<_>>()
            .join("/")
    );
    for r in &p.results {
        let _ = writeln!(
            out,
            "  {} {}: {} ({}, accumulate {}, output {}{}){}",
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
        );
        if let Some(b) = &r.peak.derived_basis {
            let _ = writeln!(out, "    derived peak: {b}");
        }
        if let (Some(p), Some(mhz)) = (
            r.peak.derived_at_measured_clock_tflops,
            r.peak.measured_sm_clock_mhz,
        ) {
            let _ = writeln!(
                out,
                "    derived peak at the measured SM clock ({mhz:.0} MHz mean, NVML): {p:.1} TFLOPS; measured = {:.1}% of it",
                100.0 * r.tflops / p
            );
        }
        if let (Some(g), Some(s)) = (&r.peak.spec_gpu, &r.peak.spec_source) {
            let _ = writeln!(out, "    spec peak: {g} ({s})");
        }
    }
    if p.results
        .iter()
        .any(|r| r.peak.efficiency_basis == Some(PeakBasis::Spec))
    {
        let _ = writeln!(
            out,
            "Efficiency uses the spec-sheet peak: it is what papers' MFU and planning formulas divide by; the derived peak uses the device's max clock, which can exceed the clock the datasheet assumes."
        );
    }
    if p.interrupted == Some(true) {
        let _ = writeln!(
            out,
            "Interrupted: these are the results completed before the stop."
        );
    }
    out
}
