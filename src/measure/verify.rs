//! Verification, because a fast wrong answer is not a throughput: a sample of output elements
//! against the same row·column computed in f64 on the host. The outcome, [`Verification`], is
//! a profile type (re-exported here).

use crate::backend::{GemmShape, VerifySample};
use crate::dtype::DType;
pub use crate::profile::Verification;

/// Picks `count` distinct rows and columns (about √points each) spread over the matrix,
/// always including the first and last, from a seed.
pub fn sample_indices(shape: GemmShape, points: usize, seed: u64) -> (Vec<u64>, Vec<u64>) {
    let side = ((points as f64).sqrt().ceil() as u64).max(1);
    (
        pick(shape.m, side, seed ^ 0x9e37_79b9_7f4a_7c15),
        pick(shape.n, side, seed ^ 0xc2b2_ae3d_27d4_eb4f),
    )
}

fn pick(len: u64, want: u64, seed: u64) -> Vec<u64> {
    if len <= want {
        return (0..len).collect();
    }
    let mut out = vec![0, len - 1];
    let mut x = seed | 1;
    while (out.len() as u64) < want {
        // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d) % len;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out.sort_unstable();
    out
}

/// Checks the sample against f64 dot products of the same inputs.
pub fn check(sample: &VerifySample, dtype: DType) -> Verification {
    let tol = dtype.tolerance();
    let mut max_rel = 0.0f64;
    let mut max_abs = 0.0f64;
    let mut checked = 0;
    let mut all_finite = true;
    for (r, a) in sample.a_rows.iter().enumerate() {
        for (c, b) in sample.b_cols.iter().enumerate() {
            let got = sample.c[r][c];
            let (mut dot, mut mag) = (0.0f64, 0.0f64);
            for (x, y) in a.iter().zip(b) {
                dot += x * y;
                mag += (x * y).abs();
            }
            checked += 1;
            if !got.is_finite() {
                all_finite = false;
                continue;
            }
            let abs = (got - dot).abs();
            let rel = if mag > 0.0 { abs / mag } else { abs };
            max_abs = max_abs.max(abs);
            max_rel = max_rel.max(rel);
        }
    }
    Verification {
        checked,
        max_rel_error: if all_finite { max_rel } else { f64::INFINITY },
        max_abs_error: if all_finite { max_abs } else { f64::INFINITY },
        tolerance: tol,
        passed: all_finite && checked > 0 && max_rel <= tol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(c_off: f64) -> VerifySample {
        let a = vec![vec![1.0, 2.0, 3.0], vec![-1.0, 0.5, 0.0]];
        let b = vec![vec![1.0, 1.0, 1.0], vec![2.0, -1.0, 0.5]];
        let c = a
            .iter()
            .map(|r| {
                b.iter()
                    .map(|col| r.iter().zip(col).map(|(x, y)| x * y).sum::<f64>() + c_off)
                    .collect()
            })
            .collect();
        VerifySample {
            a_rows: a,
            b_cols: b,
            c,
        }
    }

    #[test]
    fn exact_passes_and_wrong_fails() {
        let v = check(&sample(0.0), DType::Fp32);
        assert!(v.passed);
        assert_eq!(v.checked, 4);
        assert_eq!(v.max_rel_error, 0.0);
        let v = check(&sample(0.5), DType::Bf16);
        assert!(!v.passed);
        assert!(v.max_rel_error > 0.05);
    }

    #[test]
    fn nan_fails() {
        let mut s = sample(0.0);
        s.c[0][0] = f64::NAN;
        let v = check(&s, DType::Fp16);
        assert!(!v.passed);
    }

    #[test]
    fn indices_are_distinct_in_range_and_cover_corners() {
        let (r, c) = sample_indices(GemmShape::square(1000), 256, 7);
        assert_eq!(r.len(), 16);
        assert_eq!(c.len(), 16);
        assert_eq!(r[0], 0);
        assert_eq!(*r.last().unwrap(), 999);
        let mut d = r.clone();
        d.dedup();
        assert_eq!(d.len(), r.len());
        let (r, _) = sample_indices(GemmShape::square(4), 256, 7);
        assert_eq!(r, vec![0, 1, 2, 3]);
    }
}
