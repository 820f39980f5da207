//! What a measured profile contributes to an estimate: the best valid GEMM throughput for
//! the training dtype, the spec-sheet row of its device, its measured power and memory.
//!
//! A profile may hold one result per dtype (`gpubench run`) or many shapes of one dtype (a
//! sweep). The peak is the fastest result of the dtype that passed verification: a wrong
//! answer computed quickly is not a throughput (`docs/measuring.md` §4.5).

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
}

impl MeasuredPeak {
    /// "best valid of 12 bf16 results: 2048×2048×13312" or "bf16 8192×8192×8192".
    pub fn describe(&self) -> String {
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
    })
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
