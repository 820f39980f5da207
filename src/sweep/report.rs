//! The text a sweep prints when it ends: per dtype the best shape and its TFLOPS, the median
//! and geometric mean over verified points, then the fastest points.

use std::fmt::Write;

use crate::export::table::{efficiency_cell, fmt_tflops};
use crate::profile::Profile;

use super::point::algo_search_of;
use super::summary::{summarize, DtypeSummary};

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

/// The `top` fastest points (all when `top` is 0) as an aligned table.
pub fn top_table(p: &Profile, top: usize) -> String {
    let mut idx: Vec<usize> = (0..p.results.len()).collect();
    idx.sort_by(|&a, &b| p.results[b].tflops.total_cmp(&p.results[a].tflops));
    if top > 0 {
        idx.truncate(top);
    }
    let mut rows: Vec<Vec<String>> = vec![vec![
        "dtype".into(),
        "m×n×k".into(),
        "TFLOPS (measured)".into(),
        "efficiency".into(),
        "algorithm".into(),
        "vs default algo".into(),
        "verified".into(),
    ]];
    for i in idx {
        let r = &p.results[i];
        let search = algo_search_of(r);
        rows.push(vec![
            r.dtype.to_string(),
            r.shape().to_string(),
            fmt_tflops(r.tflops),
            efficiency_cell(r),
            r.api.algorithm.clone().unwrap_or_else(|| "–".into()),
            search
                .and_then(|s| s.speedup)
                .map(|x| format!("{x:.3}×"))
                .unwrap_or_else(|| "–".into()),
            if r.valid() { "yes" } else { "FAILED" }.into(),
        ]);
    }
    align(&rows)
}

/// Left-aligned columns separated by two spaces.
pub fn align(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, s)| format!("{s}{}", " ".repeat(widths[c] - s.chars().count())))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}
