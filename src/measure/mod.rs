//! Measuring one GEMM on any backend: warm-up, timed sampling, statistics, verification,
//! peaks, and the resulting [`GemmResult`].
//!
//! The loop follows the source's snippet (time many products, report 2·m·n·k / median) but
//! fixes its flaws: warm-up bounded by iterations *and* time so clocks settle, every sample
//! kept (device time on a GPU), a minimum count *and* duration, and a verified output.

pub mod verify;

pub use crate::stats;

use std::time::Instant;

use crate::backend::{Backend, GemmRequest, PreparedGemm};
use crate::peak::{self, PeakBasis, PeakInfo};
use crate::profile::{GemmResult, TimingSettings, WarmupRecord};
use stats::{tflops, Stats};

/// What the timing loop is doing, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Warmup,
    Timing,
}

/// Progress callback: phase and fraction done (0–1).
pub type ProgressFn<'a> = dyn FnMut(Phase, f64) + 'a;

/// Timed samples of one prepared GEMM.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    pub warmup: WarmupRecord,
    pub samples_s: Vec<f64>,
}

/// Warm-up cap: a warm-up never runs longer than this many times its minimum duration.
const WARMUP_CAP_FACTOR: f64 = 10.0;

/// Largest batch handed to `run` at once, and the time a batch aims for.
const MAX_BATCH: usize = 256;
const BATCH_TARGET_S: f64 = 0.1;

fn batch_size(per_product_s: f64, remaining: usize) -> usize {
    let by_time = if per_product_s > 0.0 {
        (BATCH_TARGET_S / per_product_s) as usize
    } else {
        MAX_BATCH
    };
    by_time.clamp(1, MAX_BATCH).min(remaining.max(1))
}

/// Runs warm-up then timing on a prepared GEMM.
pub fn sample(
    gemm: &mut dyn PreparedGemm,
    settings: &TimingSettings,
    progress: &mut ProgressFn<'_>,
) -> anyhow::Result<Samples> {
    // Warm-up: at least `warmup_iters` products and `warmup_secs`, capped in time.
    let start = Instant::now();
    let mut warm_iters = 0usize;
    let mut per = 0.0f64;
    let cap = settings.warmup_secs * WARMUP_CAP_FACTOR;
    loop {
        let elapsed = start.elapsed().as_secs_f64();
        let iters_done = warm_iters >= settings.warmup_iters;
        let time_done = elapsed >= settings.warmup_secs;
        if (iters_done && time_done) || (warm_iters > 0 && elapsed >= cap) {
            break;
        }
        let remaining_iters = settings.warmup_iters.saturating_sub(warm_iters);
        let remaining_time = ((settings.warmup_secs - elapsed).max(0.0) / per.max(1e-9)) as usize;
        let want = if warm_iters == 0 {
            1
        } else {
            batch_size(per, remaining_iters.max(remaining_time).max(1))
        };
        let t = gemm.run(want)?;
        per = t.iter().sum::<f64>() / t.len().max(1) as f64;
        warm_iters += t.len();
        let frac_i = warm_iters as f64 / settings.warmup_iters.max(1) as f64;
        let frac_t = start.elapsed().as_secs_f64() / settings.warmup_secs.max(1e-9);
        progress(Phase::Warmup, frac_i.min(frac_t).min(1.0));
    }
    let warmup = WarmupRecord {
        iterations: warm_iters,
        seconds: start.elapsed().as_secs_f64(),
    };

    // Timing: at least `min_iters` and `min_secs`, at most `max_iters`.
    let start = Instant::now();
    let mut samples: Vec<f64> = Vec::with_capacity(settings.min_iters.max(16));
    loop {
        let n = samples.len();
        let elapsed = start.elapsed().as_secs_f64();
        if n >= settings.max_iters || (n >= settings.min_iters && elapsed >= settings.min_secs) {
            break;
        }
        let need_iters = settings.min_iters.saturating_sub(n);
        let need_time = ((settings.min_secs - elapsed).max(0.0) / per.max(1e-9)).ceil() as usize;
        let want = batch_size(per, need_iters.max(need_time).max(1)).min(settings.max_iters - n);
        let t = gemm.run(want)?;
        if !t.is_empty() {
            per = t.iter().sum::<f64>() / t.len() as f64;
        }
        samples.extend(t);
        let frac_i = samples.len() as f64 / settings.min_iters.max(1) as f64;
        let frac_t = start.elapsed().as_secs_f64() / settings.min_secs.max(1e-9);
        progress(Phase::Timing, frac_i.min(frac_t).min(1.0));
    }
    Ok(Samples {
        warmup,
        samples_s: samples,
    })
}

/// The peaks of one result on a backend: spec (from the table row the device matched) and
/// derived (from the backend).
pub fn peaks_for(backend: &dyn Backend, dtype: crate::dtype::DType) -> PeakInfo {
    let info = backend.info();
    let spec = info
        .spec_gpu
        .as_deref()
        .and_then(|k| peak::lookup(k).ok())
        .and_then(|g| g.peak(dtype).map(|p| (g, p)));
    let kind = if info.backend == crate::backend::BackendKind::Cpu {
        PeakBasis::Cpu
    } else {
        PeakBasis::Derived
    };
    PeakInfo::choose(spec, backend.derived_peak(dtype), kind)
}

/// Prepares, samples and verifies one GEMM and returns its result.
pub fn measure(
    backend: &dyn Backend,
    req: &GemmRequest,
    settings: &TimingSettings,
    progress: &mut ProgressFn<'_>,
) -> anyhow::Result<GemmResult> {
    let mut gemm = backend.prepare(req)?;
    let s = sample(gemm.as_mut(), settings, progress)?;
    finish(backend, req, settings, gemm.as_mut(), s)
}

/// Verifies a sampled GEMM and assembles its result (split from [`measure`] so that callers
/// timing several algorithms of one prepared GEMM can reuse it).
pub fn finish(
    backend: &dyn Backend,
    req: &GemmRequest,
    settings: &TimingSettings,
    gemm: &mut dyn PreparedGemm,
    s: Samples,
) -> anyhow::Result<GemmResult> {
    let stats = Stats::of(&s.samples_s).ok_or_else(|| {
        anyhow::anyhow!("no valid timing samples for {} {}", req.dtype, req.shape)
    })?;
    let (rows, cols) = verify::sample_indices(req.shape, settings.verify_points, req.seed);
    let vs = gemm.verify_sample(&rows, &cols)?;
    let verification = verify::check(&vs, req.dtype);
    let flops = req.shape.flops();
    let peak = peaks_for(backend, req.dtype);
    let measured = tflops(flops, stats.median);
    let efficiency = peak.reference().map(|p| measured / p);
    Ok(GemmResult {
        dtype: req.dtype,
        m: req.shape.m,
        n: req.shape.n,
        k: req.shape.k,
        batch: req.shape.batch,
        api: gemm.api(),
        input_sets: req.input_sets,
        warmup: s.warmup,
        samples_s: s.samples_s,
        stats_s: stats,
        tflops: measured,
        tflops_max: tflops(flops, stats.min),
        tflops_min: tflops(flops, stats.max),
        peak,
        efficiency,
        verification,
        telemetry: None,
        algo_search: None,
    })
}

/// Number of input sets for `--cold`: enough that their total is at least 3× the L2 size.
pub fn cold_input_sets(set_bytes: u64, l2_bytes: Option<u64>) -> u32 {
    let l2 = l2_bytes.unwrap_or(64 << 20);
    let need = 3 * l2;
    (need.div_ceil(set_bytes.max(1))).clamp(2, 1024) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::testing::FakeBackend;
    use crate::backend::Backend;

    /// A prepared product of the test backend that takes `per` seconds (slept, so the
    /// loop's wall-clock limits see it too).
    fn product(per: f64) -> Box<dyn PreparedGemm + 'static> {
        let be: &'static FakeBackend =
            Box::leak(Box::new(FakeBackend::new(vec![(per, true)]).sleeping()));
        // 1000³ products are 2e9 FLOPs: the backend's time scale is 1.
        let req = crate::backend::GemmRequest {
            dtype: crate::dtype::DType::Fp32,
            shape: crate::backend::GemmShape::square(1000),
            input_sets: 1,
            seed: 0,
            fp8_fast_accum: false,
        };
        be.prepare(&req).unwrap()
    }

    fn settings() -> TimingSettings {
        TimingSettings {
            warmup_iters: 3,
            warmup_secs: 0.02,
            min_iters: 10,
            min_secs: 0.05,
            max_iters: 1000,
            cold: false,
            verify_points: 16,
        }
    }

    #[test]
    fn meets_both_minimums() {
        let mut g = product(0.001);
        let mut phases = Vec::new();
        let s = sample(g.as_mut(), &settings(), &mut |p, _| phases.push(p)).unwrap();
        assert!(s.warmup.iterations >= 3);
        assert!(s.warmup.seconds >= 0.02);
        assert!(s.samples_s.len() >= 10);
        // 0.05 s at 1 ms a product needs about 50 samples
        assert!(s.samples_s.len() >= 45, "{}", s.samples_s.len());
        assert!(phases.contains(&Phase::Warmup) && phases.contains(&Phase::Timing));
    }

    #[test]
    fn max_iters_bounds_timing() {
        let mut g = product(0.0001);
        let mut st = settings();
        st.min_secs = 10.0;
        st.max_iters = 40;
        let s = sample(g.as_mut(), &st, &mut |_, _| {}).unwrap();
        assert_eq!(s.samples_s.len(), 40);
    }

    #[test]
    fn cold_sets_exceed_three_l2() {
        let sets = cold_input_sets(10 << 20, Some(50 << 20));
        assert_eq!(sets, 15);
        assert!(sets as u64 * (10 << 20) >= 3 * (50 << 20));
        assert_eq!(cold_input_sets(1 << 30, Some(50 << 20)), 2);
    }

    #[test]
    fn batch_sizes() {
        assert_eq!(batch_size(0.01, 1000), 10);
        assert_eq!(batch_size(1.0, 1000), 1);
        assert_eq!(batch_size(1e-6, 1000), MAX_BATCH);
        assert_eq!(batch_size(1e-6, 5), 5);
    }
}
