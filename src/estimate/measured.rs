//! What a measured profile contributes to an estimate: the best valid GEMM throughput for
//! the training dtype, the spec-sheet row of its device, its measured power and memory.
//!
//! A profile may hold one result per dtype (`gpubench run`) or many shapes of one dtype (a
//! sweep). The peak is the fastest result of the dtype that passed verification: a wrong
//! answer computed quickly is not a throughput (`docs/measuring.md` §4.5). A node's profile
//! (`gpubench run --device all`, one result per GPU) gives the median of its GPUs instead: a
//! job runs at the pace of its GPUs together, not of the fastest one.

use crate::dtype::DType;
use crate::error::usage;
use crate::profile::{GemmResult, Profile};

/// The measured peak an estimate uses, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredPeak {
    /// Median-based TFLOPS of the chosen result.
    pub tflops: f64,
    pub dtype: DType,
    /// Index of the chosen result in `profile.results`.
    pub index: usize,
    /// `m×n×k` of the chosen result.
    pub shape: String,
    /// Results of this dtype, and how many passed verification.
    pub of_dtype: usize,
    pub valid: usize,
    /// Whether the dtype was chosen by the bf16 → fp16 fallback.
    pub fell_back: bool,
    /// Spec-sheet peak and table row recorded with the result, if the device is in the table.
    pub spec_tflops: Option<f64>,
    pub spec_gpu: Option<String>,
    /// From a node's profile: the spread of its GPUs (`tflops` is their median).
    pub node: Option<NodeSpread>,
}

/// The GPUs of a node for one dtype and shape: how many, their median, fastest and slowest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeSpread {
    pub gpus: usize,
    pub median: f64,
    pub fastest: f64,
    pub slowest: f64,
}

impl NodeSpread {
    /// Median, fastest and slowest of the GPUs' TFLOPS (`None` when empty).
    pub fn of(tflops: &[f64]) -> Option<NodeSpread> {
        let s = crate::stats::Stats::of(tflops)?;
        Some(NodeSpread {
            gpus: tflops.len(),
            median: s.median,
            fastest: s.max,
            slowest: s.min,
        })
    }
}

impl MeasuredPeak {
    /// "best valid of 12 bf16 results: 2048×2048×13312", "bf16 8192×8192×8192", or for a node
    /// "median of 8 GPUs, bf16 8192×8192×8192 (fastest 801.2, slowest 702.4 TFLOPS)".
    pub fn describe(&self) -> String {
        if let Some(n) = &self.node {
            return format!(
                "median of {} GPUs, {} {} (fastest {}, slowest {} TFLOPS)",
                n.gpus,
                self.dtype,
                self.shape,
                crate::units::tflops(n.fastest),
                crate::units::tflops(n.slowest)
            );
        }
        if self.of_dtype > 1 {
            format!(
                "best valid of {} {} results, {}",
                self.of_dtype, self.dtype, self.shape
            )
        } else {
            format!("{} {}", self.dtype, self.shape)
        }
    }
}

fn shape_of(r: &GemmResult) -> String {
    if r.batch > 1 {
        format!("{}×{}×{} ×{}", r.m, r.n, r.k, r.batch)
    } else {
        format!("{}×{}×{}", r.m, r.n, r.k)
    }
}

/// The dtypes a profile has results for, in order of first appearance.
fn dtypes(profile: &Profile) -> Vec<DType> {
    let mut out = Vec::new();
    for r in &profile.results {
        if !out.contains(&r.dtype) {
            out.push(r.dtype);
        }
    }
    out
}

/// Picks the measured peak for `dtype`, or for bf16 else fp16 when `dtype` is `None`.
/// `origin` names the file in errors (all usage errors: the fix is another flag or file).
pub fn best_result(
    profile: &Profile,
    dtype: Option<DType>,
    origin: &str,
) -> anyhow::Result<MeasuredPeak> {
    let present = dtypes(profile);
    let list = || {
        if present.is_empty() {
            "no results".to_string()
        } else {
            let names: Vec<&str> = present.iter().map(|d| d.name()).collect();
            format!("results for {}", names.join(", "))
        }
    };
    let (dtype, fell_back) = match dtype {
        Some(d) => (d, false),
        None if present.contains(&DType::Bf16) => (DType::Bf16, false),
        None if present.contains(&DType::Fp16) => (DType::Fp16, true),
        None => {
            let fix = match present.first() {
                Some(d) if profile.device.backend == crate::backend::BackendKind::Cpu => format!(
                    "a CPU profile has no bf16; pass --dtype {d} to plan from its {d} results"
                ),
                Some(d) => {
                    format!("measure one with 'gpubench run --dtype bf16', or pass --dtype {d}")
                }
                None => "measure one with 'gpubench run --dtype bf16'".to_string(),
            };
            return Err(usage(format!(
                "{origin}: has no bf16 or fp16 result (it has {}); {fix}",
                list()
            )));
        }
    };
    let of_dtype: Vec<(usize, &GemmResult)> = profile
        .results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.dtype == dtype)
        .collect();
    if of_dtype.is_empty() {
        return Err(usage(format!(
            "{origin}: has no {dtype} result (it has {}); measure one with 'gpubench run --dtype {dtype}' or pass another --dtype",
            list()
        )));
    }
    let valid: Vec<&(usize, &GemmResult)> = of_dtype
        .iter()
        .filter(|(_, r)| r.valid() && r.tflops.is_finite() && r.tflops > 0.0)
        .collect();
    if let Some(node) = node_median(&valid) {
        return Ok(node_peak(
            profile,
            dtype,
            node,
            of_dtype.len(),
            valid.len(),
            fell_back,
        ));
    }
    let Some(&&(index, best)) = valid
        .iter()
        .max_by(|a, b| a.1.tflops.total_cmp(&b.1.tflops))
    else {
        return Err(usage(format!(
            "{origin}: none of its {} {dtype} results passed verification; measure again",
            of_dtype.len()
        )));
    };
    Ok(MeasuredPeak {
        tflops: best.tflops,
        dtype,
        index,
        shape: shape_of(best),
        of_dtype: of_dtype.len(),
        valid: valid.len(),
        fell_back,
        spec_tflops: best.peak.spec_tflops,
        spec_gpu: best
            .peak
            .spec_gpu
            .clone()
            .or_else(|| profile.device.spec_gpu.clone()),
        node: None,
    })
}

/// For the valid results of a node's profile (results naming two GPUs or more): per shape,
/// the spread of the GPUs; the shape whose median is highest, and the result nearest that
/// median (its index). `None` for a profile of one GPU.
fn node_median(valid: &[&(usize, &GemmResult)]) -> Option<(usize, NodeSpread)> {
    let gpus: std::collections::BTreeSet<u32> = valid
        .iter()
        .filter_map(|(_, r)| r.gpu.as_ref().map(|g| g.ordinal))
        .collect();
    if gpus.len() < 2 {
        return None;
    }
    let mut shapes: Vec<String> = Vec::new();
    for (_, r) in valid {
        let s = shape_of(r);
        if !shapes.contains(&s) {
            shapes.push(s);
        }
    }
    shapes
        .iter()
        .filter_map(|s| {
            let of: Vec<&(usize, &GemmResult)> = valid
                .iter()
                .copied()
                .filter(|(_, r)| shape_of(r) == *s)
                .collect();
            let tflops: Vec<f64> = of.iter().map(|(_, r)| r.tflops).collect();
            let spread = NodeSpread::of(&tflops)?;
            let nearest = of.iter().min_by(|a, b| {
                (a.1.tflops - spread.median)
                    .abs()
                    .total_cmp(&(b.1.tflops - spread.median).abs())
            })?;
            Some((nearest.0, spread))
        })
        .max_by(|a, b| a.1.median.total_cmp(&b.1.median))
}

fn node_peak(
    profile: &Profile,
    dtype: DType,
    (index, node): (usize, NodeSpread),
    of_dtype: usize,
    valid: usize,
    fell_back: bool,
) -> MeasuredPeak {
    let r = &profile.results[index];
    MeasuredPeak {
        tflops: node.median,
        dtype,
        index,
        shape: shape_of(r),
        of_dtype,
        valid,
        fell_back,
        spec_tflops: r.peak.spec_tflops,
        spec_gpu: r
            .peak
            .spec_gpu
            .clone()
            .or_else(|| profile.device.spec_gpu.clone()),
        node: Some(node),
    }
}

/// Mean board power (W) measured during a result: `telemetry.power_w_mean` of result
/// `preferred`, else of the first result that has one. Returns the watts and the result's
/// description.
pub fn power_w(profile: &Profile, preferred: usize) -> Option<(f64, String)> {
    let of = |r: &GemmResult| {
        r.telemetry
            .as_ref()
            .and_then(|t| t.power_w_mean)
            .filter(|w| w.is_finite() && *w > 0.0)
    };
    let first = profile
        .results
        .get(preferred)
        .and_then(|r| of(r).map(|w| (w, r)));
    let (w, r) = first.or_else(|| profile.results.iter().find_map(|r| of(r).map(|w| (w, r))))?;
    Some((w, format!("mean during {} {}", r.dtype, shape_of(r))))
}

/// Device memory the profile recorded, in bytes.
pub fn device_memory_bytes(profile: &Profile) -> Option<f64> {
    profile
        .device
        .memory_bytes
        .filter(|b| *b > 0)
        .map(|b| b as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile with one bf16 result per TFLOPS given, each from its own GPU when `node`.
    fn profile(tflops: &[f64], node: bool) -> Profile {
        crate::measure::testing::profile_with(DType::Bf16, tflops, node)
    }

    #[test]
    fn a_node_gives_the_median_of_its_gpus_not_the_fastest() {
        let p = profile(&[800.0, 790.0, 400.0, 480.0], true);
        let b = best_result(&p, None, "node.json").unwrap();
        assert_eq!(b.tflops, 635.0);
        let n = b.node.unwrap();
        assert_eq!((n.gpus, n.fastest, n.slowest), (4, 800.0, 400.0));
        // a result nearest the median stands for the node (power, spec row): of the two middle
        // ones, the first in GPU order (790, cuda:1)
        assert_eq!(b.index, 1);
        assert_eq!(
            b.describe(),
            "median of 4 GPUs, bf16 64×64×64 (fastest 800.0, slowest 400.0 TFLOPS)"
        );
        // A failed GPU is left out of the median.
        let mut p = profile(&[800.0, 790.0, 400.0], true);
        p.results[2].verification.passed = false;
        assert_eq!(best_result(&p, None, "node.json").unwrap().tflops, 795.0);
    }

    #[test]
    fn one_gpu_gives_its_fastest_valid_result() {
        let p = profile(&[800.0, 790.0, 400.0], false);
        let b = best_result(&p, None, "gpu.json").unwrap();
        assert_eq!((b.tflops, b.index, b.node), (800.0, 0, None));
        assert_eq!(b.describe(), "best valid of 3 bf16 results, 64×64×64");
    }
}
