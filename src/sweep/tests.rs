//! Tests of the algorithm search and the sweep loop against the fake backend.

use std::sync::atomic::{AtomicBool, Ordering};

use super::driver::{self, Ending, Observer, SweepSpec};
use super::summary::{summarize, Best};
use crate::backend::testing::{quick_settings, FakeBackend};
use crate::backend::{GemmRequest, GemmShape};
use crate::dtype::DType;
use crate::measure::point::{algo_search_of, measure_point};
use crate::measure::Phase;
use crate::profile::GemmResult;

fn req(n: u64) -> GemmRequest {
    GemmRequest {
        dtype: DType::Fp32,
        shape: GemmShape::square(n),
        input_sets: 1,
        seed: 1,
        fp8_fast_accum: false,
    }
}

#[test]
fn search_keeps_the_fastest_verified_candidate() {
    // algo 1 is fastest but wrong; algo 2 is the fastest correct one.
    let be = FakeBackend::new(vec![
        (2e-3, true),
        (0.5e-3, false),
        (1e-3, true),
        (3e-3, true),
    ]);
    let r = measure_point(&be, &req(64), &quick_settings(), 8, None, &mut |_, _| {}).unwrap();
    assert!(r.valid());
    assert_eq!(r.api.algorithm.as_deref(), Some("algo 2"));
    let s = algo_search_of(&r).unwrap();
    assert_eq!((s.offered, s.timed, s.best_index), (4, 4, 2));
    let flops = GemmShape::square(64).flops();
    let per = |sec: f64| flops / (sec * flops / 2e9) / 1e12;
    assert!((s.default_tflops.unwrap() - per(2e-3)).abs() < 1e-12);
    assert!((s.best_tflops - per(1e-3)).abs() < 1e-12);
    assert!((s.speedup.unwrap() - 2.0).abs() < 1e-9);
    assert!(!s.candidates[1].valid);
    assert!(s.default_valid);
}

#[test]
fn algos_flag_limits_candidates_and_one_means_no_search() {
    let be = FakeBackend::new(vec![(2e-3, true), (1e-3, true), (0.5e-3, true)]);
    let r = measure_point(&be, &req(64), &quick_settings(), 2, None, &mut |_, _| {}).unwrap();
    let s = algo_search_of(&r).unwrap();
    assert_eq!((s.timed, s.best_index), (2, 1));
    let r = measure_point(&be, &req(64), &quick_settings(), 1, None, &mut |_, _| {}).unwrap();
    assert!(r.algo_search.is_none());
    assert_eq!(r.api.algorithm.as_deref(), Some("algo 0"));
}

#[test]
fn no_verified_candidate_keeps_the_invalid_default() {
    let be = FakeBackend::new(vec![(2e-3, false), (1e-3, false)]);
    let r = measure_point(&be, &req(64), &quick_settings(), 4, None, &mut |_, _| {}).unwrap();
    assert!(!r.valid());
    assert_eq!(algo_search_of(&r).unwrap().best_index, 0);
}

struct StopAfter<'a> {
    after: usize,
    stop: &'a AtomicBool,
    seen: Vec<(usize, f64)>,
    phases: usize,
}

impl Observer for StopAfter<'_> {
    fn start(&mut self, _: usize, _: usize, _: DType, _: GemmShape) {}
    fn progress(&mut self, _: Phase, _: f64) {
        self.phases += 1;
    }
    fn done(&mut self, index: usize, _: usize, _: &GemmResult, best: Option<&Best>) {
        self.seen
            .push((index, best.map(|b| b.tflops).unwrap_or(0.0)));
        if index + 1 == self.after {
            self.stop.store(true, Ordering::SeqCst);
        }
    }
}

fn spec(ns: &[u64]) -> SweepSpec {
    SweepSpec {
        dtypes: vec![DType::Fp32],
        shapes: ns.iter().map(|&n| GemmShape::square(n)).collect(),
        settings: quick_settings(),
        algos: 4,
        seed: 7,
        settle_secs: 0.0,
    }
}

#[test]
fn sweep_saves_every_point_and_stops_between_points() {
    let be = FakeBackend::new(vec![(1e-3, true)]);
    let mut profile = crate::measure::setup::new_profile(
        &be,
        quick_settings(),
        crate::profile::ProfileKind::Sweep,
    );
    let stop = AtomicBool::new(false);
    let mut saves = Vec::new();
    let mut obs = StopAfter {
        after: 3,
        stop: &stop,
        seen: vec![],
        phases: 0,
    };
    let ending = driver::run(
        &be,
        &spec(&[8, 16, 32, 64, 128]),
        &mut profile,
        None,
        &stop,
        &mut |p| {
            saves.push((p.results.len(), p.interrupted));
            Ok(())
        },
        &mut obs,
    )
    .unwrap();
    assert_eq!(ending, Ending::Interrupted);
    assert_eq!(profile.results.len(), 3);
    assert_eq!(profile.interrupted, Some(true));
    assert_eq!(
        saves,
        vec![(1, None), (2, None), (3, None), (3, Some(true))]
    );
    assert!(obs.phases > 0);
    // Fake time grows with n³ per product, so TFLOPS are equal; best is the first.
    assert_eq!(obs.seen.len(), 3);
    let sum = summarize(&profile.results);
    assert_eq!(sum[0].points, 3);
    assert_eq!(sum[0].valid, 3);
}

#[test]
fn a_failing_point_saves_the_points_done_as_interrupted() {
    let mut be = FakeBackend::new(vec![(1e-3, true)]);
    be.fail_n = Some(32);
    let mut profile = crate::measure::setup::new_profile(
        &be,
        quick_settings(),
        crate::profile::ProfileKind::Sweep,
    );
    let stop = AtomicBool::new(false);
    let mut saved = Vec::new();
    let mut obs = StopAfter {
        after: 99,
        stop: &stop,
        seen: vec![],
        phases: 0,
    };
    let e = driver::run(
        &be,
        &spec(&[8, 16, 32, 64]),
        &mut profile,
        None,
        &stop,
        &mut |p| {
            saved.push((p.results.len(), p.interrupted));
            Ok(())
        },
        &mut obs,
    )
    .unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("32×32×32 (point 3 of 4)"), "{msg}");
    assert!(msg.contains("out of memory (fake)"), "{msg}");
    assert_eq!(saved.last(), Some(&(2, Some(true))));
}
