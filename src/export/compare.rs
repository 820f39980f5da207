//! Two profiles side by side (two GPUs, or one GPU on two days): results matched by dtype
//! and shape with the ratio B / A, the best point of each dtype, and what only one has. A
//! node's profile (`run --device all`, a result per GPU) stands in by its median GPU, not its
//! fastest.

use std::fmt::Write;

use crate::backend::GemmShape;
use crate::dtype::DType;
use crate::output::format::tflops as fmt_tflops;
use crate::output::table::{Table, Width};
use crate::profile::{GemmResult, Profile};
use crate::sweep::summary::summarize;
use crate::telemetry;

/// One shape measured in both profiles.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched<'a> {
    pub dtype: DType,
    pub shape: GemmShape,
    pub a: &'a GemmResult,
    pub b: &'a GemmResult,
}

impl Matched<'_> {
    /// B's TFLOPS over A's.
    pub fn ratio(&self) -> f64 {
        self.b.tflops / self.a.tflops
    }
}

/// The result a profile holds for a dtype and shape (the fastest verified one when it holds
/// several, else the fastest).
fn pick(p: &Profile, d: DType, s: GemmShape) -> Option<&GemmResult> {
    p.results
        .iter()
        .filter(|r| r.dtype == d && r.shape() == s)
        .max_by(|x, y| {
            (x.valid(), x.tflops)
                .partial_cmp(&(y.valid(), y.tflops))
                .unwrap()
        })
}

fn keys(p: &Profile) -> Vec<(DType, GemmShape)> {
    let mut out: Vec<(DType, GemmShape)> = Vec::new();
    for r in &p.results {
        let k = (r.dtype, r.shape());
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

/// A dtype and shape.
pub type Key = (DType, GemmShape);

/// Results in both profiles, in A's order; then keys only in A and only in B.
pub fn matches<'a>(a: &'a Profile, b: &'a Profile) -> (Vec<Matched<'a>>, Vec<Key>, Vec<Key>) {
    let (ka, kb) = (keys(a), keys(b));
    let mut both = Vec::new();
    let mut only_a = Vec::new();
    for &(d, s) in &ka {
        match (pick(a, d, s), pick(b, d, s)) {
            (Some(ra), Some(rb)) => both.push(Matched {
                dtype: d,
                shape: s,
                a: ra,
                b: rb,
            }),
            _ => only_a.push((d, s)),
        }
    }
    let only_b = kb.into_iter().filter(|k| !ka.contains(k)).collect();
    (both, only_a, only_b)
}

fn tf_cell(r: &GemmResult) -> String {
    if r.valid() {
        fmt_tflops(r.tflops)
    } else {
        format!("{} (FAILED)", fmt_tflops(r.tflops))
    }
}

fn eff(r: &GemmResult) -> String {
    r.efficiency
        .map(|e| format!("{:.1} %", e * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn per_watt(r: &GemmResult) -> String {
    telemetry::of_result(r)
        .and_then(|t| t.tflops_per_watt)
        .map(|x| format!("{x:.3}"))
        .unwrap_or_else(|| "–".into())
}

fn describe(p: &Profile, name: &str) -> String {
    let line = format!(
        "{name}: {} ({}), {} {}, gpubench {}{}",
        p.device.name,
        p.device.backend,
        p.kind,
        crate::output::format::utc_stamp(&p.created_utc),
        p.tool.version,
        p.incomplete()
            .map(|why| format!(", {why}"))
            .unwrap_or_default()
    );
    crate::output::format::wrap(&line, crate::output::table::DEFAULT_WIDTH, "    ")
}

fn list(keys: &[(DType, GemmShape)]) -> String {
    let mut v: Vec<String> = keys
        .iter()
        .take(6)
        .map(|(d, s)| format!("{d} {s}"))
        .collect();
    if keys.len() > 6 {
        v.push(format!("and {} more", keys.len() - 6));
    }
    v.join(", ")
}

/// A node's profile (results naming two GPUs or more) with, per dtype and shape, only its
/// median GPU's result: of the verified results (else of all), the middle one by TFLOPS, the
/// slower of the two middle ones for an even count, so that every column is one GPU's. Returns
/// the reduced profile and the number of GPUs; `None` for a profile of one device.
pub fn median_gpu(p: &Profile) -> Option<(Profile, usize)> {
    let gpus: std::collections::BTreeSet<u32> = p
        .results
        .iter()
        .filter_map(|r| r.gpu.as_ref().map(|g| g.ordinal))
        .collect();
    if gpus.len() < 2 {
        return None;
    }
    let mut reduced = p.clone();
    reduced.results = keys(p)
        .into_iter()
        .filter_map(|(d, s)| {
            let of: Vec<&GemmResult> = p
                .results
                .iter()
                .filter(|r| r.dtype == d && r.shape() == s)
                .collect();
            let mut pool: Vec<&GemmResult> = of.iter().copied().filter(|r| r.valid()).collect();
            if pool.is_empty() {
                pool = of;
            }
            pool.sort_by(|x, y| x.tflops.total_cmp(&y.tflops));
            pool.get((pool.len().max(1) - 1) / 2).map(|r| (*r).clone())
        })
        .collect();
    Some((reduced, gpus.len()))
}

/// The side-by-side text.
pub fn render(a: &Profile, a_name: &str, b: &Profile, b_name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", describe(a, &format!("A = {a_name}")));
    let _ = writeln!(out, "{}", describe(b, &format!("B = {b_name}")));
    let (ma, mb) = (median_gpu(a), median_gpu(b));
    for (name, m) in [("A", &ma), ("B", &mb)] {
        if let Some((_, n)) = m {
            let _ = writeln!(
                out,
                "{name} is a node of {n} GPUs: its figures are its median GPU's for each dtype and shape (of two middle GPUs, the slower)."
            );
        }
    }
    let a = ma.as_ref().map_or(a, |(p, _)| p);
    let b = mb.as_ref().map_or(b, |(p, _)| p);
    let _ = writeln!(out);
    let (both, only_a, only_b) = matches(a, b);
    let watts = both
        .iter()
        .any(|m| m.a.telemetry.is_some() || m.b.telemetry.is_some());
    if both.is_empty() {
        let _ = writeln!(out, "No dtype and shape measured in both profiles.");
    } else {
        let mut head = vec![
            "dtype",
            "m×n×k",
            "A TFLOPS",
            "B TFLOPS",
            "B / A",
            "A efficiency",
            "B efficiency",
        ];
        if watts {
            head.extend(["A TFLOPS/W", "B TFLOPS/W"]);
        }
        let mut rows = vec![head.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
        for m in &both {
            let mut row = vec![
                m.dtype.to_string(),
                m.shape.to_string(),
                tf_cell(m.a),
                tf_cell(m.b),
                format!("{:.3}×", m.ratio()),
                eff(m.a),
                eff(m.b),
            ];
            if watts {
                row.extend([per_watt(m.a), per_watt(m.b)]);
            }
            rows.push(row);
        }
        out.push_str(&Table::from_rows(&rows).render(Width::All));
    }
    let (sa, sb) = (summarize(&a.results), summarize(&b.results));
    let mut best_rows = vec![vec![
        "best of dtype".to_string(),
        "A TFLOPS (shape)".into(),
        "B TFLOPS (shape)".into(),
        "B / A".into(),
    ]];
    for x in &sa {
        let Some(y) = sb.iter().find(|y| y.dtype == x.dtype) else {
            continue;
        };
        if let (Some(ba), Some(bb)) = (&x.best, &y.best) {
            best_rows.push(vec![
                x.dtype.to_string(),
                format!("{} ({})", fmt_tflops(ba.tflops), ba.shape),
                format!("{} ({})", fmt_tflops(bb.tflops), bb.shape),
                format!("{:.3}×", bb.tflops / ba.tflops),
            ]);
        }
    }
    if best_rows.len() > 1 {
        let _ = writeln!(out);
        out.push_str(&Table::from_rows(&best_rows).render(Width::All));
    }
    if !only_a.is_empty() {
        let _ = writeln!(out, "\nOnly in A: {}", list(&only_a));
    }
    if !only_b.is_empty() {
        let _ = writeln!(out, "\nOnly in B: {}", list(&only_b));
    }
    let _ = writeln!(
        out,
        "\n{}",
        crate::output::format::wrap(
            "TFLOPS are measured (2·m·n·k / median time); B / A above 1 means B is faster. Efficiency is each profile's own (see its peak basis).",
            crate::output::table::DEFAULT_WIDTH,
            "  "
        )
    );
    out
}

#[cfg(test)]
mod node_tests {
    use super::*;

    fn profile(tflops: &[f64], node: bool) -> Profile {
        crate::measure::testing::profile_with(DType::Fp32, tflops, node)
    }

    #[test]
    fn a_node_compares_by_its_median_gpu() {
        let node = profile(&[800.0, 400.0, 790.0, 780.0], true);
        let (m, gpus) = median_gpu(&node).unwrap();
        assert_eq!(gpus, 4);
        assert_eq!(m.results.len(), 1);
        // 400, 780, 790, 800: the slower middle GPU
        assert_eq!(m.results[0].tflops, 780.0);
        assert_eq!(m.results[0].gpu.as_ref().unwrap().ordinal, 3);
        assert!(median_gpu(&profile(&[800.0], false)).is_none());

        let one = profile(&[390.0], false);
        let text = render(&one, "one.json", &node, "node.json");
        assert!(text.contains("B is a node of 4 GPUs"), "{text}");
        assert!(text.contains("780.0") && text.contains("2.000×"), "{text}");
        assert!(!text.contains("800.0"), "{text}");
    }
}
