//! Measuring a step on the device, cheaply because every layer repeats the same products: each
//! distinct GEMM shape once (with the algorithm search of `gpubench sweep` where the library
//! offers several candidates, and verified), and the copy bandwidth that memory-bound passes
//! are charged at.
//!
//! A step repeats the same few shapes many times (every layer runs the same products), so
//! measuring each distinct shape once and weighting it by its calls per step gives the GEMM
//! time of the whole step at a small fraction of its cost.

use serde::{Deserialize, Serialize};

use super::step::StepGemm;
use crate::backend::{Backend, GemmRequest, GemmShape};
use crate::dtype::DType;
use crate::measure::bandwidth::copy_bandwidth;
use crate::measure::point::{algo_search_of, measure_point};
use crate::measure::setup;
use crate::measure::stats::Stats;
use crate::measure::ProgressFn;
use crate::profile::{GemmResult, TimingSettings};

/// One distinct shape as measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasuredShape {
    pub shape: GemmShape,
    pub dtype: DType,
    /// Calls of this shape in one step (all layers, passes and kinds).
    pub calls_per_step: u64,
    /// Median seconds per call (measured).
    pub median_s: f64,
    /// 2·m·n·k·batch / median / 1e12.
    pub tflops: f64,
    pub stats_s: Stats,
    /// Verified against the host reference.
    pub valid: bool,
    pub max_rel_error: f64,
    pub tolerance: f64,
    /// Library entry point and the algorithm that ran.
    pub api: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// Candidates timed by the algorithm search (1: the library's default only).
    pub algorithms_timed: usize,
    /// The library's default algorithm's TFLOPS, when a search ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_tflops: Option<f64>,
}

impl MeasuredShape {
    /// Summarises a measured result.
    pub fn from_result(r: &GemmResult, calls_per_step: u64) -> Self {
        let search = algo_search_of(r);
        MeasuredShape {
            shape: r.shape(),
            dtype: r.dtype,
            calls_per_step,
            median_s: r.stats_s.median,
            tflops: r.tflops,
            stats_s: r.stats_s,
            valid: r.valid(),
            max_rel_error: r.verification.max_rel_error,
            tolerance: r.verification.tolerance,
            api: r.api.api.clone(),
            algorithm: r.api.algorithm.clone(),
            algorithms_timed: search.as_ref().map_or(1, |s| s.timed),
            default_tflops: search.and_then(|s| s.default_tflops),
        }
    }
}

/// The distinct shapes of a GEMM list with their calls per step, in order of first use.
pub fn distinct_shapes(gemms: &[StepGemm]) -> Vec<(GemmShape, u64)> {
    let mut out: Vec<(GemmShape, u64)> = Vec::new();
    for g in gemms {
        match out.iter_mut().find(|(s, _)| *s == g.shape) {
            Some((_, c)) => *c += g.count,
            None => out.push((g.shape, g.count)),
        }
    }
    out
}

/// How the shapes are measured.
#[derive(Debug, Clone)]
pub struct ShapeOptions {
    pub dtype: DType,
    pub settings: TimingSettings,
    /// Candidate algorithms timed per shape (`--algos`; 1 = the library's choice).
    pub algos: usize,
    pub seed: u64,
}

/// Fails (usage error, before anything is allocated) when a shape does not fit the device.
pub fn check_fits(
    backend: &dyn Backend,
    shapes: &[(GemmShape, u64)],
    opts: &ShapeOptions,
) -> anyhow::Result<()> {
    for (shape, _) in shapes {
        let sets = setup::input_sets(backend, opts.dtype, *shape, opts.settings.cold);
        setup::check_memory(backend, opts.dtype, *shape, sets).map_err(|e| {
            if crate::error::is_usage(&e) {
                crate::error::usage(format!("{e}: lower --micro-batch or --seq"))
            } else {
                e
            }
        })?;
    }
    Ok(())
}

/// Measures one shape: prepared once, every candidate algorithm up to `algos` timed and
/// verified, the fastest verified kept.
pub fn measure_shape(
    backend: &dyn Backend,
    index: usize,
    shape: GemmShape,
    calls_per_step: u64,
    opts: &ShapeOptions,
    progress: &mut ProgressFn<'_>,
) -> anyhow::Result<MeasuredShape> {
    let req = GemmRequest {
        dtype: opts.dtype,
        shape,
        input_sets: setup::input_sets(backend, opts.dtype, shape, opts.settings.cold),
        seed: opts.seed.wrapping_add(index as u64 * 1000),
        fp8_fast_accum: false,
    };
    let r = measure_point(backend, &req, &opts.settings, opts.algos, None, progress)?;
    Ok(MeasuredShape::from_result(&r, calls_per_step))
}

/// The device's memory bandwidth as memory-bound passes see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bandwidth {
    /// Bytes read + written per second by a large copy (measured).
    pub bytes_per_s: f64,
    /// Size of that copy's buffer.
    pub copy_bytes: u64,
    /// Seconds of one small copy (`small_bytes`): the least a memory-bound kernel costs
    /// (launch and synchronisation), charged to passes smaller than that.
    pub small_copy_s: f64,
    pub small_bytes: u64,
    /// Copies timed for each figure (median).
    pub iters: usize,
    /// How it was measured.
    pub method: String,
}

impl Bandwidth {
    /// Seconds one pass of `bytes` takes: bytes / bandwidth, at least the small-copy time.
    pub fn pass_seconds(&self, bytes: f64) -> f64 {
        (bytes / self.bytes_per_s).max(self.small_copy_s)
    }
}

/// Small copies: 64 KiB, well inside any cache, so their time is the per-kernel overhead.
const SMALL_COPY_BYTES: u64 = 64 << 10;

/// Size of the bandwidth copy: at least 4× the L2 cache (and 256 MiB) on a GPU so the copy
/// streams from device memory; 64 MiB on the CPU; never more than a quarter of free memory.
pub fn copy_size(backend: &dyn Backend) -> anyhow::Result<u64> {
    let info = backend.info();
    let want: u64 = if info.backend == crate::backend::BackendKind::Cuda {
        (4 * info.l2_bytes.unwrap_or(64 << 20)).max(256 << 20)
    } else {
        64 << 20
    };
    let cap = backend.free_memory()?.map_or(want, |f| f / 4);
    Ok(want.min(cap).max(SMALL_COPY_BYTES))
}

/// Measures the copy bandwidth (large copy) and the small-copy time with
/// [`copy_bandwidth`], each the median of `iters` copies.
pub fn measure_bandwidth(backend: &dyn Backend, iters: usize) -> anyhow::Result<Bandwidth> {
    let bytes = copy_size(backend)?;
    let bw = copy_bandwidth(backend, bytes, iters)?;
    let small_bw = copy_bandwidth(backend, SMALL_COPY_BYTES, iters.max(20))?;
    if !(bw.is_finite() && bw > 0.0 && small_bw.is_finite() && small_bw > 0.0) {
        anyhow::bail!("the copy-bandwidth measurement returned no usable figure");
    }
    let method = if backend.info().backend == crate::backend::BackendKind::Cuda {
        "device-to-device copy kernel (kernels/copy.cu), timed with CUDA events, stream held until each batch is queued"
    } else {
        "memory-to-memory copy (memcpy), wall clock"
    };
    Ok(Bandwidth {
        bytes_per_s: bw,
        copy_bytes: bytes,
        // copy_bandwidth counts each byte read and written: 2·bytes / time.
        small_copy_s: 2.0 * SMALL_COPY_BYTES as f64 / small_bw,
        small_bytes: SMALL_COPY_BYTES,
        iters,
        method: method.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::step::tests::{spec, tiny_llama};
    use super::*;
    use crate::backend::cpu::CpuBackend;
    use crate::estimate::compute::Recompute;

    #[test]
    fn distinct_shapes_sum_their_counts() {
        let g = spec(tiny_llama(), Recompute::None).gemms();
        let d = distinct_shapes(&g);
        let total: u64 = d.iter().map(|(_, c)| c).sum();
        assert_eq!(total, g.iter().map(|x| x.count).sum::<u64>());
        assert!(d.len() < g.len());
        // scores fwd and context dP share 32×32×16×8; the four other attention products
        // share 32×16×32×8.
        let bh = |m, n, k| GemmShape { m, n, k, batch: 8 };
        let find = |s| d.iter().find(|(x, _)| *x == s).unwrap().1;
        assert_eq!(find(bh(32, 32, 16)), 2 * 2);
        assert_eq!(find(bh(32, 16, 32)), 4 * 2);
    }

    #[test]
    fn cpu_shape_and_bandwidth() {
        let be = CpuBackend::new();
        let opts = ShapeOptions {
            dtype: DType::Fp32,
            settings: TimingSettings {
                warmup_iters: 1,
                warmup_secs: 0.0,
                min_iters: 3,
                min_secs: 0.0,
                max_iters: 100_000,
                cold: false,
                verify_points: 256,
            },
            algos: 4,
            seed: 1,
        };
        let s = GemmShape {
            m: 16,
            n: 8,
            k: 32,
            batch: 3,
        };
        check_fits(&be, &[(s, 5)], &opts).unwrap();
        let m = measure_shape(&be, 0, s, 5, &opts, &mut |_, _| {}).unwrap();
        assert!(m.valid && m.median_s > 0.0 && m.tflops > 0.0);
        assert_eq!((m.calls_per_step, m.algorithms_timed), (5, 1));
        let bw = measure_bandwidth(&be, 3).unwrap();
        assert!(bw.bytes_per_s > 1e8 && bw.small_copy_s > 0.0);
        assert_eq!(bw.pass_seconds(0.0), bw.small_copy_s);
        assert!(bw.pass_seconds(1e12) > 1e12 / bw.bytes_per_s * 0.999);
    }
}
