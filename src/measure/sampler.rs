//! Sampling one prepared GEMM: a warm-up bounded by iterations and time, then timed batches
//! until both a minimum count and a minimum duration are reached.
//!
//! The loop follows the source's snippet (time many products, report 2·m·n·k / median) but
//! fixes its flaws: warm-up bounded by iterations *and* time so clocks settle, every sample
//! kept (device time on a GPU), a minimum count *and* duration, and a verified output.

use std::time::Instant;

use crate::backend::PreparedGemm;
use crate::profile::{TimingSettings, WarmupRecord};

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
    fn batch_sizes() {
        assert_eq!(batch_size(0.01, 1000), 10);
        assert_eq!(batch_size(1.0, 1000), 1);
        assert_eq!(batch_size(1e-6, 1000), MAX_BATCH);
        assert_eq!(batch_size(1e-6, 5), 5);
    }
}
