//! The rules that pick the GPUs of a cluster worth a look, as pure functions over the
//! measured points, so each rule is tested on its own and `gpubench report` only gathers and
//! prints.
//!
//! A point is one result of one rank (a dtype and a shape). It is flagged when:
//! - its TFLOPS is below `threshold` × the median of the same dtype and shape over all ranks
//!   (a slow GPU, or a slow node), or over the ranks of its own node (a slow GPU among good
//!   neighbours);
//! - it failed verification (the GPU computes wrong results);
//! - it did no work (a rank file without results, or a zero throughput);
//! - telemetry saw a clock-limiting throttle reason (power cap, thermal or hardware slowdown);
//! - its efficiency is below `--min-efficiency` of the spec-sheet peak;
//! - it measured the CPU while other ranks measured GPUs (its GPU did not open).

use std::collections::BTreeMap;
use std::fmt;

/// What the rules compare against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// A point below this fraction of the median of its dtype and shape is flagged (0.9).
    pub threshold: f64,
    /// Lowest accepted efficiency (measured / spec-sheet peak), when given.
    pub min_efficiency: Option<f64>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            threshold: 0.9,
            min_efficiency: None,
        }
    }
}

/// One measured result of one rank, as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub rank: u32,
    pub host: String,
    /// What was measured: dtype and shape (`bf16 8192×8192×8192`); points compare only
    /// with points of the same key.
    pub key: String,
    /// `cuda` or `cpu`.
    pub backend: crate::backend::BackendKind,
    pub tflops: f64,
    pub verified: bool,
    /// Measured / spec-sheet peak, where the peak is known.
    pub efficiency: Option<f64>,
    /// Throttle reasons telemetry saw that lower the clock.
    pub throttle: Vec<String>,
}

/// Why a point (or a rank) was flagged.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// Below the threshold of the median over all ranks.
    BelowMedian {
        tflops: f64,
        median: f64,
    },
    /// Below the threshold of the median over the ranks of its node.
    BelowNodeMedian {
        tflops: f64,
        median: f64,
    },
    FailedVerification,
    NoWork,
    Throttled(Vec<String>),
    BelowEfficiency {
        efficiency: f64,
        floor: f64,
    },
    /// Measured the CPU while other ranks measured GPUs.
    NoGpu,
}

impl Reason {
    /// A short tag for scripts (`below_median`, `failed_verification`, …).
    pub fn tag(&self) -> &'static str {
        match self {
            Reason::BelowMedian { .. } => "below_median",
            Reason::BelowNodeMedian { .. } => "below_node_median",
            Reason::FailedVerification => "failed_verification",
            Reason::NoWork => "no_work",
            Reason::Throttled(_) => "throttled",
            Reason::BelowEfficiency { .. } => "below_min_efficiency",
            Reason::NoGpu => "no_gpu",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |a: f64, b: f64| (a / b) * 100.0;
        match self {
            Reason::BelowMedian { tflops, median } => write!(
                f,
                "{:.0} % of the median over all ranks ({} of {} TFLOPS)",
                pct(*tflops, *median),
                crate::units::tflops(*tflops),
                crate::units::tflops(*median)
            ),
            Reason::BelowNodeMedian { tflops, median } => write!(
                f,
                "{:.0} % of its node's median ({} of {} TFLOPS)",
                pct(*tflops, *median),
                crate::units::tflops(*tflops),
                crate::units::tflops(*median)
            ),
            Reason::FailedVerification => f.write_str("failed verification (wrong results)"),
            Reason::NoWork => f.write_str("no work measured"),
            Reason::Throttled(r) => write!(f, "throttled: {}", r.join(", ")),
            Reason::BelowEfficiency { efficiency, floor } => write!(
                f,
                "{:.1} % of the spec-sheet peak, under the {:.1} % floor",
                efficiency * 100.0,
                floor * 100.0
            ),
            Reason::NoGpu => f.write_str("measured the CPU while other ranks measured GPUs"),
        }
    }
}

/// A flagged point: which rank, what, why.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    pub rank: u32,
    pub host: String,
    /// The point's key, or `-` for a rank-wide reason.
    pub what: String,
    pub reason: Reason,
}

/// Median of the values (mean of the two middle ones for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Medians of TFLOPS per key over all points, and per (host, key). Failed, idle and CPU
/// points among GPU points are left out, so that they do not pull the median down.
pub fn medians(points: &[Point]) -> (BTreeMap<String, f64>, BTreeMap<(String, String), f64>) {
    let gpu_present = points
        .iter()
        .any(|p| p.backend != crate::backend::BackendKind::Cpu);
    let counted = |p: &&Point| {
        p.verified
            && p.tflops.is_finite()
            && p.tflops > 0.0
            && !(gpu_present && p.backend == crate::backend::BackendKind::Cpu)
    };
    let mut all: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut node: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for p in points.iter().filter(counted) {
        all.entry(p.key.clone()).or_default().push(p.tflops);
        node.entry((p.host.clone(), p.key.clone()))
            .or_default()
            .push(p.tflops);
    }
    let m = |v: Vec<f64>| median(&v).unwrap_or(0.0);
    (
        all.into_iter().map(|(k, v)| (k, m(v))).collect(),
        node.into_iter().map(|(k, v)| (k, m(v))).collect(),
    )
}

/// Every flag the rules raise for the points, in point order. Ranks that measured nothing
/// are passed in `idle_ranks` (rank, host) and flagged as [`Reason::NoWork`].
pub fn check(points: &[Point], idle_ranks: &[(u32, String)], rules: &Rules) -> Vec<Flag> {
    let (all, node) = medians(points);
    let gpu_present = points
        .iter()
        .any(|p| p.backend != crate::backend::BackendKind::Cpu);
    let mut flags = Vec::new();
    for (rank, host) in idle_ranks {
        flags.push(Flag {
            rank: *rank,
            host: host.clone(),
            what: "-".into(),
            reason: Reason::NoWork,
        });
    }
    for p in points {
        let mut flag = |reason| {
            flags.push(Flag {
                rank: p.rank,
                host: p.host.clone(),
                what: p.key.clone(),
                reason,
            })
        };
        if !(p.tflops.is_finite() && p.tflops > 0.0) {
            flag(Reason::NoWork);
            continue;
        }
        if gpu_present && p.backend == crate::backend::BackendKind::Cpu {
            flag(Reason::NoGpu);
            continue;
        }
        if !p.verified {
            flag(Reason::FailedVerification);
        }
        if let Some(&m) = all.get(&p.key) {
            if m > 0.0 && p.tflops < rules.threshold * m {
                flag(Reason::BelowMedian {
                    tflops: p.tflops,
                    median: m,
                });
            }
        }
        if let Some(&m) = node.get(&(p.host.clone(), p.key.clone())) {
            if m > 0.0 && p.tflops < rules.threshold * m {
                flag(Reason::BelowNodeMedian {
                    tflops: p.tflops,
                    median: m,
                });
            }
        }
        if !p.throttle.is_empty() {
            flag(Reason::Throttled(p.throttle.clone()));
        }
        if let (Some(floor), Some(e)) = (rules.min_efficiency, p.efficiency) {
            if e < floor {
                flag(Reason::BelowEfficiency {
                    efficiency: e,
                    floor,
                });
            }
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(rank: u32, host: &str, tflops: f64) -> Point {
        Point {
            rank,
            host: host.into(),
            key: "bf16 8192×8192×8192".into(),
            backend: crate::backend::BackendKind::Cuda,
            tflops,
            verified: true,
            efficiency: Some(tflops / 989.0),
            throttle: vec![],
        }
    }

    fn reasons(flags: &[Flag], rank: u32) -> Vec<&'static str> {
        flags
            .iter()
            .filter(|f| f.rank == rank)
            .map(|f| f.reason.tag())
            .collect()
    }

    #[test]
    fn medians_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 1.0]), Some(1.0));
    }

    #[test]
    fn a_slow_gpu_is_flagged_against_all_and_its_node() {
        let mut pts: Vec<Point> = (0..8).map(|r| pt(r, "a", 800.0)).collect();
        pts.extend((8..16).map(|r| pt(r, "b", 790.0)));
        pts[3].tflops = 700.0; // 0.875 of 800
        let flags = check(&pts, &[], &Rules::default());
        assert_eq!(reasons(&flags, 3), ["below_median", "below_node_median"]);
        assert_eq!(flags.len(), 2, "{flags:?}");
        // At exactly the threshold nothing is flagged; --threshold moves the line.
        let loose = Rules {
            threshold: 0.85,
            ..Rules::default()
        };
        assert!(check(&pts, &[], &loose).is_empty());
    }

    #[test]
    fn a_slow_node_is_flagged_against_all_but_not_its_own_median() {
        let mut pts: Vec<Point> = (0..8).map(|r| pt(r, "a", 800.0)).collect();
        pts.extend((8..12).map(|r| pt(r, "b", 600.0)));
        let flags = check(&pts, &[], &Rules::default());
        for r in 8..12 {
            assert_eq!(reasons(&flags, r), ["below_median"], "{flags:?}");
        }
        assert!(reasons(&flags, 0).is_empty());
    }

    #[test]
    fn keys_compare_only_with_themselves() {
        let mut pts = vec![pt(0, "a", 800.0), pt(1, "a", 800.0)];
        let mut f32pt = pt(2, "a", 60.0);
        f32pt.key = "fp32 8192×8192×8192".into();
        pts.push(f32pt);
        assert!(check(&pts, &[], &Rules::default()).is_empty());
    }

    #[test]
    fn failed_verification_throttling_efficiency_no_work_and_no_gpu() {
        let mut pts: Vec<Point> = (0..6).map(|r| pt(r, "a", 800.0)).collect();
        pts[1].verified = false;
        pts[2].throttle = vec!["hw_slowdown".into()];
        pts[4].backend = crate::backend::BackendKind::Cpu;
        pts[4].tflops = 1.0;
        pts[5].tflops = 0.0;
        let rules = Rules {
            min_efficiency: Some(0.85),
            ..Rules::default()
        };
        let flags = check(&pts, &[(9, "c".into())], &rules);
        assert!(reasons(&flags, 1).contains(&"failed_verification"));
        assert!(reasons(&flags, 2).contains(&"throttled"));
        assert!(reasons(&flags, 0).contains(&"below_min_efficiency"));
        assert_eq!(reasons(&flags, 4), ["no_gpu"]);
        assert_eq!(reasons(&flags, 5), ["no_work"]);
        assert_eq!(reasons(&flags, 9), ["no_work"]);
        // The failed and CPU points did not pull the median down.
        let (all, _) = medians(&pts);
        assert_eq!(all["bf16 8192×8192×8192"], 800.0);
        // Only the CPU: nobody is "without a GPU".
        let cpu: Vec<Point> = (0..3)
            .map(|r| Point {
                backend: crate::backend::BackendKind::Cpu,
                ..pt(r, "a", 1.0)
            })
            .collect();
        assert!(check(&cpu, &[], &Rules::default()).is_empty());
    }

    #[test]
    fn reasons_read_as_sentences() {
        let r = Reason::BelowMedian {
            tflops: 700.0,
            median: 800.0,
        };
        assert_eq!(
            r.to_string(),
            "88 % of the median over all ranks (700.0 of 800.0 TFLOPS)"
        );
    }
}
