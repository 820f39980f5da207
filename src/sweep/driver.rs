//! The sweep loop: every (dtype, shape) point measured in order, the profile saved after
//! each one, a stop request (Ctrl-C) honoured between points, and a failure saved as an
//! interrupted profile before it is reported.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::backend::{Backend, GemmRequest, GemmShape};
use crate::dtype::DType;
use crate::measure::Phase;
use crate::profile::{GemmResult, Profile, TimingSettings};
use crate::telemetry::Sampler;

use super::summary::{best_so_far, Best};
use crate::measure::point::measure_point;

/// What to sweep and how.
#[derive(Debug, Clone)]
pub struct SweepSpec {
    pub dtypes: Vec<DType>,
    pub shapes: Vec<GemmShape>,
    pub settings: TimingSettings,
    /// Candidate algorithms timed per point.
    pub algos: usize,
    pub seed: u64,
    /// The first point warms up for at least this long, so the clocks settle before the
    /// sweep's figures are taken.
    pub settle_secs: f64,
}

/// How a sweep ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Completed,
    /// Stopped between points by a stop request; the points done are in the profile.
    Interrupted,
}

/// What the caller shows while a sweep runs.
pub trait Observer {
    /// Point `index` (0-based) of `total` starts.
    fn start(&mut self, index: usize, total: usize, dtype: DType, shape: GemmShape);
    /// Warm-up / timing progress of the current point.
    fn progress(&mut self, _phase: Phase, _frac: f64) {}
    /// Point `index` is done; `best` is the best verified point of its dtype so far.
    fn done(&mut self, index: usize, total: usize, result: &GemmResult, best: Option<&Best>);
}

/// Runs the sweep into `profile`, calling `save` after every point. Returns how it ended;
/// on an error, marks the profile interrupted and saves it (when it has points) first.
pub fn run(
    backend: &dyn Backend,
    spec: &SweepSpec,
    profile: &mut Profile,
    sampler: Option<&Sampler>,
    stop: &AtomicBool,
    save: &mut dyn FnMut(&Profile) -> anyhow::Result<()>,
    observer: &mut dyn Observer,
) -> anyhow::Result<Ending> {
    let total = spec.dtypes.len() * spec.shapes.len();
    let mut index = 0;
    for &dtype in &spec.dtypes {
        for &shape in &spec.shapes {
            if stop.load(Ordering::SeqCst) {
                return interrupted(profile, save);
            }
            observer.start(index, total, dtype, shape);
            let req = GemmRequest {
                dtype,
                shape,
                input_sets: crate::measure::setup::input_sets(
                    backend,
                    dtype,
                    shape,
                    spec.settings.cold,
                ),
                seed: spec.seed.wrapping_add(index as u64),
                fp8_fast_accum: false,
            };
            let mut settings = spec.settings.clone();
            if index == 0 {
                settings.warmup_secs = settings.warmup_secs.max(spec.settle_secs);
            }
            let mut progress = |p: Phase, f: f64| observer.progress(p, f);
            let result =
                measure_point(backend, &req, &settings, spec.algos, sampler, &mut progress);
            let result = match result {
                Ok(r) => r,
                Err(e) => {
                    profile.interrupted = Some(true);
                    if !profile.results.is_empty() {
                        save(profile)?;
                    }
                    return Err(e.context(format!(
                        "sweep stopped at {dtype} {shape} (point {} of {total}); the {} points done are kept",
                        index + 1,
                        profile.results.len()
                    )));
                }
            };
            profile.results.push(result);
            save(profile)?;
            let best = best_so_far(&profile.results, dtype);
            observer.done(
                index,
                total,
                profile.results.last().expect("pushed"),
                best.as_ref(),
            );
            index += 1;
        }
    }
    Ok(Ending::Completed)
}

fn interrupted(
    profile: &mut Profile,
    save: &mut dyn FnMut(&Profile) -> anyhow::Result<()>,
) -> anyhow::Result<Ending> {
    profile.interrupted = Some(true);
    if !profile.results.is_empty() {
        save(profile)?;
    }
    Ok(Ending::Interrupted)
}
