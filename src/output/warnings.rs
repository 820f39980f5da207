//! Warnings about measurements that look unreliable, each carrying the advice that helps
//! (a longer `--min-time`, a larger `--n`, fewer background processes), printed under the
//! table by `run` and `show` so a noisy figure never goes out without a word.

use std::fmt;

use crate::profile::GemmResult;
use crate::units::fmt_seconds;

use super::format::{percent, sig};

/// The interquartile range above this fraction of the median is called noisy.
pub const MAX_REL_IQR: f64 = 0.10;
/// A standard deviation above this fraction of the mean is called noisy.
pub const MAX_REL_STDDEV: f64 = 0.10;
/// A product slower than this many medians is an outlier.
pub const OUTLIER_FACTOR: f64 = 2.0;
/// Fewer timed products than this cannot show their spread.
pub const MIN_SAMPLES: usize = 5;
/// Products shorter than this measure timer and launch overhead as much as the math.
pub const MIN_PRODUCT_S: f64 = 50e-6;

/// Something about one result's samples that makes its figure less trustworthy.
#[derive(Debug, Clone, PartialEq)]
pub enum Warning {
    /// The samples spread widely around the median.
    Noisy {
        what: String,
        rel_stddev: f64,
        rel_iqr: f64,
        cpu: bool,
    },
    /// Some products took far longer than the median one.
    Outliers {
        what: String,
        count: usize,
        of: usize,
        slowest: f64,
        rel_stddev: f64,
        cpu: bool,
    },
    /// Too few products were timed to judge the spread.
    FewSamples { what: String, count: usize },
    /// Each product is so short that overhead weighs on the figure.
    ShortProducts { what: String, median_s: f64, n: u64 },
    /// In a sweep, this many points had noisy timings or outliers.
    NoisyPoints { noisy: usize, of: usize, cpu: bool },
}

fn quiet_hint(cpu: bool) -> &'static str {
    if cpu {
        "close other programs using the CPU"
    } else {
        "make sure no other process uses the GPU"
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Noisy {
                what,
                rel_stddev,
                rel_iqr,
                cpu,
            } => write!(
                f,
                "{what}: the timings spread widely (stddev {} of the mean, interquartile range {} of the median), so the figure is uncertain; measure longer (--min-time 5) and {}.",
                percent(*rel_stddev),
                percent(*rel_iqr),
                quiet_hint(*cpu)
            ),
            Warning::Outliers {
                what,
                count,
                of,
                slowest,
                rel_stddev,
                cpu,
            } => write!(
                f,
                "{what}: {count} of {of} products took over {OUTLIER_FACTOR}× the median time (the slowest {}×, stddev {} of the mean); other work interrupted the measurement. The median leaves them out, but rerun and {} to be sure.",
                sig(*slowest, 3),
                percent(*rel_stddev),
                quiet_hint(*cpu)
            ),
            Warning::FewSamples { what, count } => write!(
                f,
                "{what}: only {count} product{} timed, too few to judge the spread; raise --iters or --min-time.",
                if *count == 1 { "" } else { "s" }
            ),
            Warning::ShortProducts { what, median_s, n } => write!(
                f,
                "{what}: one product takes only {}, so timer and launch overhead weigh on the figure; a larger size (--n {}) measures the arithmetic.",
                fmt_seconds(*median_s),
                (n * 4).max(1024)
            ),
            Warning::NoisyPoints { noisy, of, cpu } => write!(
                f,
                "{noisy} of {of} points have timings that spread widely or outliers, so their figures are uncertain; time each point longer (--min-time 0.5) and {}.",
                quiet_hint(*cpu)
            ),
        }
    }
}

/// One warning for a sweep: how many of its points are noisy (`None` when none is). Short
/// products and few samples are a sweep's choice (small sizes, short timing), not noise.
pub fn for_sweep(results: &[GemmResult], cpu: bool) -> Option<Warning> {
    let noisy = results
        .iter()
        .filter(|r| {
            for_result(r, cpu)
                .iter()
                .any(|w| matches!(w, Warning::Noisy { .. } | Warning::Outliers { .. }))
        })
        .count();
    (noisy > 0).then_some(Warning::NoisyPoints {
        noisy,
        of: results.len(),
        cpu,
    })
}

/// The `q` quantile (0..=1) of sorted values, interpolated.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The warnings one result deserves (none for a steady measurement).
pub fn for_result(r: &GemmResult, cpu: bool) -> Vec<Warning> {
    let what = format!("{} {}", r.dtype, r.shape());
    let s = &r.stats_s;
    let mut out = Vec::new();
    if s.median > 0.0 && s.median < MIN_PRODUCT_S {
        out.push(Warning::ShortProducts {
            what: what.clone(),
            median_s: s.median,
            n: r.n,
        });
    }
    if s.count < MIN_SAMPLES {
        out.push(Warning::FewSamples {
            what,
            count: s.count,
        });
        return out;
    }
    let mut sorted: Vec<f64> = r
        .samples_s
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    sorted.sort_by(f64::total_cmp);
    let rel_stddev = if s.mean > 0.0 { s.stddev / s.mean } else { 0.0 };
    let rel_iqr = if sorted.len() >= MIN_SAMPLES && s.median > 0.0 {
        (quantile(&sorted, 0.75) - quantile(&sorted, 0.25)) / s.median
    } else {
        0.0
    };
    let slow = sorted
        .iter()
        .filter(|x| **x > OUTLIER_FACTOR * s.median)
        .count();
    // A few far outliers inflate the stddev alone: they get their own warning, and the
    // spread is judged on the interquartile range then.
    if rel_iqr > MAX_REL_IQR || (slow == 0 && rel_stddev > MAX_REL_STDDEV) {
        out.push(Warning::Noisy {
            what: what.clone(),
            rel_stddev,
            rel_iqr,
            cpu,
        });
    }
    if slow > 0 && s.median > 0.0 {
        out.push(Warning::Outliers {
            what,
            count: slow,
            of: s.count,
            slowest: s.max / s.median,
            rel_stddev,
            cpu,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::stats::Stats;

    fn result(samples: &[f64]) -> GemmResult {
        let mut r: GemmResult = serde_json::from_value(serde_json::json!({
            "dtype": "fp32", "m": 1024, "n": 1024, "k": 1024,
            "api": "test", "compute_type": "fp32", "accumulator": "fp32", "output_type": "fp32",
            "input_sets": 1,
            "warmup": {"iterations": 1, "seconds": 0.0},
            "samples_s": [], "stats_s": {"count": 1, "median": 1.0, "mean": 1.0, "min": 1.0, "max": 1.0, "stddev": 0.0},
            "tflops": 1.0, "tflops_max": 1.0, "tflops_min": 1.0,
            "peak": {}, "efficiency": null,
            "verification": {"checked": 1, "max_rel_error": 0.0, "max_abs_error": 0.0, "tolerance": 1e-4, "passed": true}
        }))
        .expect("a test result parses");
        r.samples_s = samples.to_vec();
        r.stats_s = Stats::of(samples).unwrap();
        r
    }

    #[test]
    fn steady_samples_give_no_warning() {
        let r = result(&[0.010, 0.0101, 0.0099, 0.010, 0.0102, 0.0100]);
        assert_eq!(for_result(&r, true), vec![]);
    }

    #[test]
    fn spread_and_outliers_are_named_with_advice() {
        // The first CPU run: stddev about a quarter of the mean.
        let r = result(&[0.010, 0.013, 0.008, 0.016, 0.010, 0.009, 0.012, 0.011]);
        let w = for_result(&r, true);
        assert!(matches!(w[0], Warning::Noisy { .. }), "{w:?}");
        let text = w[0].to_string();
        assert!(
            text.contains("--min-time") && text.contains("CPU"),
            "{text}"
        );
        // One product 40× the median (min TFLOPS far below the median).
        let r = result(&[0.010, 0.010, 0.010, 0.010, 0.010, 0.010, 0.40]);
        let w = for_result(&r, false);
        let o = w.iter().find(|w| matches!(w, Warning::Outliers { .. }));
        let text = o.expect("outlier warning").to_string();
        assert!(text.contains("1 of 7") && text.contains("40.0×"), "{text}");
        // ... and the outlier alone is not called a wide spread.
        assert!(
            !w.iter().any(|w| matches!(w, Warning::Noisy { .. })),
            "{w:?}"
        );
        assert!(text.contains("GPU"), "{text}");
    }

    #[test]
    fn tiny_products_and_few_samples() {
        let r = result(&[2e-6, 2.1e-6]);
        let w = for_result(&r, true);
        assert!(matches!(w[0], Warning::ShortProducts { .. }), "{w:?}");
        assert!(w[0].to_string().contains("--n 4096"), "{}", w[0]);
        assert!(
            matches!(w[1], Warning::FewSamples { count: 2, .. }),
            "{w:?}"
        );
        assert!(w[1].to_string().contains("--iters"));
    }

    #[test]
    fn a_sweep_counts_its_noisy_points() {
        let steady = result(&[0.010, 0.0101, 0.0099, 0.010, 0.0102, 0.0100]);
        let spike = result(&[0.010, 0.010, 0.010, 0.010, 0.010, 0.010, 0.40]);
        assert_eq!(for_sweep(&[steady.clone(), steady.clone()], true), None);
        let w = for_sweep(&[steady, spike], true).unwrap();
        assert!(w.to_string().starts_with("1 of 2 points"), "{w}");
        assert!(w.to_string().contains("--min-time"), "{w}");
    }
}
