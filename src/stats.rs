//! Summary statistics over timing samples, because one timing is not a measurement: median,
//! mean, min, max and standard deviation.
//!
//! A leaf module (it imports nothing of gpubench): the backends time their copies with it,
//! the measuring loop its products, and the profile stores its [`Stats`]; `measure::stats`
//! names the same module.

use serde::{Deserialize, Serialize};

/// Median, mean, min, max and sample standard deviation of a set of samples (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub count: usize,
    pub median: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// Sample standard deviation (n − 1); 0 for a single sample.
    pub stddev: f64,
}

impl Stats {
    /// Statistics of `samples`; `None` when empty or when any sample is not finite.
    pub fn of(samples: &[f64]) -> Option<Stats> {
        if samples.is_empty() || samples.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let n = samples.len();
        // Median by selection, O(n): a million samples take milliseconds, not a full sort.
        let mut work = samples.to_vec();
        let (_, &mut upper, _) = work.select_nth_unstable_by(n / 2, f64::total_cmp);
        let median = if n % 2 == 1 {
            upper
        } else {
            // the lower middle is the largest value left of the upper one
            let lower = work[..n / 2]
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
            (lower + upper) / 2.0
        };
        let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
        let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        // Welford's algorithm: stable for a million samples of similar size.
        let mut mean = 0.0;
        let mut m2 = 0.0;
        for (i, &x) in samples.iter().enumerate() {
            let d = x - mean;
            mean += d / (i + 1) as f64;
            m2 += d * (x - mean);
        }
        let stddev = if n > 1 {
            (m2 / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Some(Stats {
            count: n,
            median,
            mean,
            min,
            max,
            stddev,
        })
    }

    /// Coefficient of variation (stddev / mean).
    pub fn cv(&self) -> f64 {
        if self.mean > 0.0 {
            self.stddev / self.mean
        } else {
            0.0
        }
    }
}

/// TFLOPS for `flops` done in `seconds`.
pub fn tflops(flops: f64, seconds: f64) -> f64 {
    flops / seconds / 1e12
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_and_even_medians() {
        let s = Stats::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.mean), (2.0, 1.0, 3.0, 2.0));
        assert!((s.stddev - 1.0).abs() < 1e-12);
        let s = Stats::of(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert!((s.stddev - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn single_and_empty() {
        let s = Stats::of(&[0.5]).unwrap();
        assert_eq!((s.median, s.stddev, s.count), (0.5, 0.0, 1));
        assert!(Stats::of(&[]).is_none());
        assert!(Stats::of(&[1.0, f64::NAN]).is_none());
    }

    #[test]
    fn stable_for_large_offsets() {
        let v: Vec<f64> = (0..1000).map(|i| 1e9 + (i % 2) as f64).collect();
        let s = Stats::of(&v).unwrap();
        assert!((s.stddev - 0.50025).abs() < 1e-4, "{}", s.stddev);
    }

    #[test]
    fn tflops_formula() {
        // 2·16384³ FLOPs in 11.1 ms ≈ 792 TFLOPS
        let t = tflops(2.0 * 16384f64.powi(3), 0.0111);
        assert!((t - 792.5).abs() < 0.5, "{t}");
    }

    proptest::proptest! {
        #[test]
        fn order_invariants(v in proptest::collection::vec(1e-6f64..1.0, 1..200)) {
            let s = Stats::of(&v).unwrap();
            proptest::prop_assert!(s.min <= s.median && s.median <= s.max);
            proptest::prop_assert!(s.min <= s.mean + 1e-12 && s.mean <= s.max + 1e-12);
            proptest::prop_assert!(s.stddev >= 0.0);
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let n = sorted.len();
            let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
            proptest::prop_assert_eq!(s.median, median);
            proptest::prop_assert_eq!((s.min, s.max), (sorted[0], sorted[n - 1]));
        }
    }
}
