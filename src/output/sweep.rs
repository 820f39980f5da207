//! The text a sweep prints when it ends (and `gpubench show` repeats for a sweep): the plan,
//! per dtype the best shape and its TFLOPS, the median and geometric mean over verified
//! points, then the fastest points.

use std::fmt::Write;

use super::format::{sig, wrap};
use super::results::{device_line, efficiency_cell, fmt_tflops};
use super::table::{Align, Table, Width};
use super::warnings;
use crate::measure::point::algo_search_of;
use crate::profile::Profile;
use crate::sweep::summary::{summarize, DtypeSummary};

/// One line per dtype: best, median, geometric mean.
pub fn summary_lines(p: &Profile) -> String {
    let mut out = String::new();
    for s in summarize(&p.results) {
        let _ = writeln!(out, "{}", summary_line(p, &s));
    }
    out
}

fn summary_line(p: &Profile, s: &DtypeSummary) -> String {
    let Some(best) = &s.best else {
        return format!("{}: no verified point among {} measured", s.dtype, s.points);
    };
    let r = &p.results[best.index];
    let mut line = format!(
        "{}: best {} at {} TFLOPS (measured{}); median {} TFLOPS, geometric mean {} TFLOPS over {} verified point{}",
        s.dtype,
        best.shape,
        fmt_tflops(best.tflops),
        if r.efficiency.is_some() {
            format!(", {}", efficiency_cell(r))
        } else {
            String::new()
        },
        s.median_tflops.map(fmt_tflops).unwrap_or_default(),
        s.geomean_tflops.map(fmt_tflops).unwrap_or_default(),
        s.valid,
        if s.valid == 1 { "" } else { "s" }
    );
    if s.valid < s.points {
        let _ = write!(line, " ({} FAILED verification)", s.points - s.valid);
    }
    line
}

/// The `top` fastest points (all when `top` is 0) as an aligned table fitted to `width`.
pub fn top_table(p: &Profile, top: usize, width: Width) -> String {
    let mut idx: Vec<usize> = (0..p.results.len()).collect();
    idx.sort_by(|&a, &b| p.results[b].tflops.total_cmp(&p.results[a].tflops));
    if top > 0 {
        idx.truncate(top);
    }
    let searched = p.results.iter().any(|r| r.algo_search.is_some());
    let mut t = Table::new()
        .column("dtype", Align::Left)
        .column("m×n×k", Align::Left)
        .column("TFLOPS", Align::Right)
        .column("efficiency", Align::Left);
    if searched {
        t = t
            .optional("algorithm", Align::Left, 2)
            .optional("vs default algo", Align::Right, 1);
    }
    t = t.column("verified", Align::Left);
    for i in idx {
        let r = &p.results[i];
        let mut row = vec![
            r.dtype.to_string(),
            r.shape().to_string(),
            fmt_tflops(r.tflops),
            efficiency_cell(r),
        ];
        if searched {
            let search = algo_search_of(r);
            row.push(r.api.algorithm.clone().unwrap_or_else(|| "–".into()));
            row.push(
                search
                    .and_then(|s| s.speedup)
                    .map(|x| format!("{x:.3}×"))
                    .unwrap_or_else(|| "–".into()),
            );
        }
        row.push(if r.valid() { "yes" } else { "FAILED" }.into());
        t.row(row);
    }
    let mut out = t.render(width);
    let hidden = t.hidden(width);
    if !hidden.is_empty() {
        let _ = writeln!(
            out,
            "(left out to fit {} characters: {}; --wide shows them)",
            width.columns(),
            hidden.join(", ")
        );
    }
    out
}

/// What the sweep did about algorithms, from what the backend offered: "one algorithm per
/// shape (the CPU backend offers no choice)", or how many of cuBLASLt's candidates were
/// timed. `requested` is `--algos` when known.
pub fn algorithms_phrase(p: &Profile, requested: Option<u32>) -> String {
    let searches: Vec<_> = p.results.iter().filter_map(algo_search_of).collect();
    if let (Some(timed), Some(offered)) = (
        searches.iter().map(|s| s.timed).max(),
        searches.iter().map(|s| s.offered).max(),
    ) {
        return format!(
            "up to {timed} candidate algorithm{} timed per shape (the library offered up to {offered})",
            if timed == 1 { "" } else { "s" }
        );
    }
    if p.device.backend == crate::backend::BackendKind::Cpu {
        return "one algorithm per shape (the CPU backend offers no choice)".into();
    }
    match requested {
        Some(1) => "the library's default algorithm per shape (--algos 1)".into(),
        Some(_) => "one algorithm per shape (the library offered no other)".into(),
        None => "the library's default algorithm per shape".into(),
    }
}

/// The whole summary `gpubench sweep` prints and `gpubench show` repeats for a sweep: the
/// device, the plan line, one line per dtype, and the `top` fastest points.
pub fn render(p: &Profile, top: usize, requested_algos: Option<u32>, width: Width) -> String {
    let mut out = String::new();
    let device = format!("Device: {}", device_line(p));
    let _ = writeln!(out, "{}", wrap(&device, width.columns(), "  "));
    let mut dtypes = Vec::new();
    let mut shapes = Vec::new();
    for r in &p.results {
        if !dtypes.contains(&r.dtype) {
            dtypes.push(r.dtype);
        }
        if !shapes.contains(&r.shape()) {
            shapes.push(r.shape());
        }
    }
    let total = p
        .planned_results
        .map(|n| n as usize)
        .unwrap_or(p.results.len());
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let plan = format!(
        "Sweep: {} of {total} points measured ({} dtype{} × {} shape{}); per point ≥{} products and ≥{} s after a {} s warm-up; {}.",
        p.results.len(),
        dtypes.len(),
        plural(dtypes.len()),
        shapes.len(),
        plural(shapes.len()),
        p.settings.min_iters,
        sig(p.settings.min_secs, 2),
        sig(p.settings.warmup_secs, 2),
        algorithms_phrase(p, requested_algos)
    );
    let _ = writeln!(out, "{}", wrap(&plan, width.columns(), "  "));
    for line in summary_lines(p).lines() {
        let _ = writeln!(out, "{}", wrap(line, width.columns(), "  "));
    }
    if !p.results.is_empty() {
        out.push('\n');
        out.push_str(&top_table(p, top, width));
    }
    if let Some(w) = warnings::for_sweep(
        &p.results,
        p.device.backend == crate::backend::BackendKind::Cpu,
    ) {
        let _ = writeln!(
            out,
            "{}",
            wrap(&format!("warning: {w}"), width.columns(), "  ")
        );
    }
    out
}
