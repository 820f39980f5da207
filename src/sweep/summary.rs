//! What a sweep found, per dtype: the best shape and its TFLOPS, and the median and geometric
//! mean over the verified points. Invalid (failed verification) points are counted but never
//! chosen as best nor averaged.

use crate::backend::GemmShape;
use crate::dtype::DType;
use crate::profile::GemmResult;

/// The summary of one dtype's points.
#[derive(Debug, Clone, PartialEq)]
pub struct DtypeSummary {
    pub dtype: DType,
    /// Points measured.
    pub points: usize,
    /// Points that passed verification.
    pub valid: usize,
    /// The fastest verified point.
    pub best: Option<Best>,
    /// Median TFLOPS over verified points.
    pub median_tflops: Option<f64>,
    /// Geometric mean TFLOPS over verified points.
    pub geomean_tflops: Option<f64>,
}

/// The fastest verified point.
#[derive(Debug, Clone, PartialEq)]
pub struct Best {
    pub shape: GemmShape,
    pub tflops: f64,
    /// Against the result's reference peak (spec when known).
    pub efficiency: Option<f64>,
    /// Index of the result in the profile.
    pub index: usize,
}

/// Summaries for each dtype in the order they first appear.
pub fn summarize(results: &[GemmResult]) -> Vec<DtypeSummary> {
    let mut dtypes: Vec<DType> = Vec::new();
    for r in results {
        if !dtypes.contains(&r.dtype) {
            dtypes.push(r.dtype);
        }
    }
    dtypes
        .into_iter()
        .map(|d| summarize_dtype(results, d))
        .collect()
}

fn summarize_dtype(results: &[GemmResult], dtype: DType) -> DtypeSummary {
    let mine: Vec<(usize, &GemmResult)> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.dtype == dtype)
        .collect();
    let valid: Vec<(usize, &GemmResult)> = mine
        .iter()
        .copied()
        .filter(|(_, r)| r.valid() && r.tflops.is_finite() && r.tflops > 0.0)
        .collect();
    let tf: Vec<f64> = valid.iter().map(|(_, r)| r.tflops).collect();
    DtypeSummary {
        dtype,
        points: mine.len(),
        valid: valid.len(),
        best: best_of(&valid),
        median_tflops: median(&tf),
        geomean_tflops: geomean(&tf),
    }
}

fn best_of(valid: &[(usize, &GemmResult)]) -> Option<Best> {
    valid
        .iter()
        .max_by(|a, b| a.1.tflops.total_cmp(&b.1.tflops))
        .map(|(i, r)| Best {
            shape: r.shape(),
            tflops: r.tflops,
            efficiency: r.efficiency,
            index: *i,
        })
}

/// The best verified point of `dtype` so far (for the progress bar).
pub fn best_so_far(results: &[GemmResult], dtype: DType) -> Option<Best> {
    summarize_dtype(results, dtype).best
}

/// Median of positive values; `None` when empty.
pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    })
}

/// Geometric mean of positive values (through logarithms, so a few hundred values never
/// overflow); `None` when empty or when any value is not positive.
pub fn geomean(v: &[f64]) -> Option<f64> {
    if v.is_empty() || v.iter().any(|x| *x <= 0.0 || !x.is_finite()) {
        return None;
    }
    Some((v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_geomean() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        let g = geomean(&[1.0, 10.0, 100.0]).unwrap();
        assert!((g - 10.0).abs() < 1e-12, "{g}");
        assert_eq!(geomean(&[1.0, 0.0]), None);
        let many = vec![1000.0; 500];
        assert!((geomean(&many).unwrap() - 1000.0).abs() < 1e-9);
    }
}
