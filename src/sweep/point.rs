//! Measuring one point: prepare the GEMM once, time each candidate algorithm the library
//! offers (up to `--algos`), verify each, keep the fastest verified one, and attach the
//! telemetry read while it was timed.
//!
//! cuBLASLt's heuristic returns several algorithms; its first choice is usually but not
//! always the fastest (`docs/measuring.md` §4.5), and an algorithm can compute wrong results, so
//! every candidate is verified and only verified candidates can win. The result records the
//! default choice's and the best choice's TFLOPS in `algo_search`.

use std::time::Instant;

use crate::backend::{Backend, GemmRequest, PreparedGemm};
use crate::measure::{self, Phase, ProgressFn};
pub use crate::profile::{AlgoSearch, Candidate};
use crate::profile::{GemmResult, TimingSettings};
use crate::telemetry::{self, Sampler};

/// A copy of a result's algorithm search (`None` when it had none).
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
                candidates.push(Candidate {
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
            Err(e) => candidates.push(Candidate {
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
    candidates: Vec<Candidate>,
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
    let s = measure::sample(gemm, settings, &mut |phase, frac| {
        if phase == Phase::Warmup {
            timing_from = Instant::now();
        }
        progress(phase, frac)
    })?;
    let timing_to = Instant::now();
    let mut r = measure::finish(backend, req, settings, gemm, s)?;
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
