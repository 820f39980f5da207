//! Measuring one point: prepare the GEMM once, time each candidate algorithm the library
//! offers (up to `--algos`), verify each, keep the fastest verified one, and attach the
//! telemetry read while it was timed.
//!
//! cuBLASLt's heuristic returns several algorithms; its first choice is usually but not
//! always the fastest (`docs/measuring.md` §4.5), and an algorithm can compute wrong results, so
//! every candidate is verified and only verified candidates can win. The result records the
//! default choice's and the best choice's TFLOPS in `algo_search`.

use std::time::Instant;

use super::sampler::{self, Phase, ProgressFn, Samples};
use super::verify;
use crate::backend::{Backend, GemmRequest, PreparedGemm};
use crate::peak::{self, PeakBasis, PeakInfo};
use crate::profile::{GemmResult, TimingSettings};
use crate::stats::{tflops, Stats};
use crate::telemetry::{self, Sampler};

pub use crate::profile::{AlgoCandidate, AlgoSearch};

/// Reads a result's algorithm search back from its JSON.
pub fn algo_search_of(r: &GemmResult) -> Option<AlgoSearch> {
    r.algo_search.clone()
}

/// Prepares and measures one point: every candidate algorithm up to `algos`, each sampled,
/// verified and (with a sampler) given telemetry; returns the fastest verified candidate's
/// result, or the default's when none verified.
pub fn measure_point(
    backend: &dyn Backend,
    req: &GemmRequest,
    settings: &TimingSettings,
    algos: usize,
    sampler: Option<&Sampler>,
    progress: &mut ProgressFn<'_>,
) -> anyhow::Result<GemmResult> {
    let mut gemm = backend.prepare(req)?;
    let offered = gemm.algorithm_count().max(1);
    let tried = algos.clamp(1, offered);
    if tried == 1 {
        return timed(backend, req, settings, gemm.as_mut(), sampler, progress);
    }
    let mut results: Vec<(usize, GemmResult)> = Vec::new();
    let mut candidates = Vec::new();
    for i in 0..tried {
        let mut prog = |p: Phase, f: f64| progress(p, (i as f64 + f) / tried as f64);
        let outcome = gemm
            .select_algorithm(i)
            .and_then(|_| timed(backend, req, settings, gemm.as_mut(), sampler, &mut prog));
        match outcome {
            Ok(r) => {
                candidates.push(AlgoCandidate {
                    index: i,
                    algorithm: r.api.algorithm.clone(),
                    tflops: Some(r.tflops),
                    valid: r.valid(),
                    max_rel_error: Some(r.verification.max_rel_error),
                    error: None,
                });
                results.push((i, r));
            }
            // The default must run; a later candidate that fails is recorded and skipped.
            Err(e) if i == 0 => return Err(e),
            Err(e) => candidates.push(AlgoCandidate {
                index: i,
                algorithm: None,
                tflops: None,
                valid: false,
                max_rel_error: None,
                error: Some(format!("{e:#}").replace('\n', " ")),
            }),
        }
    }
    Ok(choose(offered, tried, results, candidates))
}

/// Picks the fastest verified candidate (the lowest index on a tie; the default when none
/// verified) and attaches the search record.
pub fn choose(
    offered: usize,
    timed: usize,
    mut results: Vec<(usize, GemmResult)>,
    candidates: Vec<AlgoCandidate>,
) -> GemmResult {
    let default = results.iter().find(|(i, _)| *i == 0).map(|(_, r)| r);
    let default_tflops = default.map(|r| r.tflops);
    let default_valid = default.is_some_and(|r| r.valid());
    let default_algorithm = default.and_then(|r| r.api.algorithm.clone());
    let best_pos = results
        .iter()
        .enumerate()
        .filter(|(_, (_, r))| r.valid())
        .max_by(|a, b| {
            a.1 .1
                .tflops
                .total_cmp(&b.1 .1.tflops)
                .then(b.1 .0.cmp(&a.1 .0))
        })
        .map(|(pos, _)| pos)
        .unwrap_or(0);
    let (best_index, mut best) = results.swap_remove(best_pos);
    let search = AlgoSearch {
        offered,
        timed,
        default_tflops,
        default_valid,
        default_algorithm,
        best_index,
        best_tflops: best.tflops,
        best_algorithm: best.api.algorithm.clone(),
        speedup: default_tflops.filter(|d| *d > 0.0).map(|d| best.tflops / d),
        candidates,
    };
    best.algo_search = Some(search);
    best
}

/// Samples and verifies the prepared GEMM with its current algorithm, attaching telemetry
/// from the readings taken between the end of warm-up and the end of timing.
pub fn timed(
    backend: &dyn Backend,
    req: &GemmRequest,
    settings: &TimingSettings,
    gemm: &mut dyn PreparedGemm,
    sampler: Option<&Sampler>,
    progress: &mut ProgressFn<'_>,
) -> anyhow::Result<GemmResult> {
    let mut timing_from = Instant::now();
    let s = sampler::sample(gemm, settings, &mut |phase, frac| {
        if phase == Phase::Warmup {
            timing_from = Instant::now();
        }
        progress(phase, frac)
    })?;
    let timing_to = Instant::now();
    let mut r = finish(backend, req, settings, gemm, s)?;
    if let Some(sm) = sampler {
        let readings = sm.window(timing_from, timing_to);
        if !readings.is_empty() {
            let t = telemetry::summarize(&readings, r.stats_s.median, r.tflops);
            telemetry::set_peak_at_measured_clock(&mut r, &t, backend.info());
            r.telemetry = Some(t);
        }
        sm.prune_before(timing_to);
    }
    Ok(r)
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

/// Verifies a sampled GEMM and assembles its result (shared by the point
/// loop and the sustained loop).
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
        gpu: None,
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

    #[test]
    fn cold_sets_exceed_three_l2() {
        let sets = cold_input_sets(10 << 20, Some(50 << 20));
        assert_eq!(sets, 15);
        assert!(sets as u64 * (10 << 20) >= 3 * (50 << 20));
        assert_eq!(cold_input_sets(1 << 30, Some(50 << 20)), 2);
    }
}
