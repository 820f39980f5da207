//! Sustained runs (`gpubench run --duration S`): keep multiplying for S seconds and group
//! the products into windows of throughput over time, with the SM clock, power and
//! temperature of each window, and the first seconds against the last (printed by
//! [`crate::output::sustained`]).
//!
//! A cold GPU runs faster for its first seconds; under a power or thermal limit the clock then
//! falls and throughput with it (`docs/measuring.md` §4.1). So a sustained run deliberately skips
//! the time-based warm-up: only a few products run first (library handles and heuristics),
//! and the first window shows the burst figure the last window can be compared with.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{point, Samples};
use crate::backend::{Backend, GemmRequest};
use crate::profile::{GemmResult, TimingSettings, WarmupRecord};
use crate::telemetry::{self, Sampler, Telemetry, TimelinePoint};

/// The longest `--duration` accepted (a day).
pub const MAX_DURATION_S: f64 = 86_400.0;

/// One `run` call of the loop: when it ended (seconds since timing began) and the device
/// time of each of its products.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub end_s: f64,
    pub times: Vec<f64>,
}

/// The window length for a duration: about 30 windows, at least 0.25 s and at most 60 s.
pub fn window_len(duration_s: f64) -> f64 {
    (duration_s / 30.0).clamp(0.25, 60.0)
}

/// The span compared at the start and the end: a sixth of the run, at least one window,
/// at most 10 s.
pub fn drift_span(duration_s: f64, window_s: f64) -> f64 {
    (duration_s / 6.0).min(10.0).max(window_s)
}

/// Checks a `--duration` value (seconds): positive, finite, at most a day.
pub fn check_duration(s: f64) -> anyhow::Result<f64> {
    if !s.is_finite() || s <= 0.0 || s > MAX_DURATION_S {
        return Err(crate::error::usage(format!(
            "--duration {s}: give a number of seconds above 0 and at most {MAX_DURATION_S:.0}, e.g. --duration 60"
        )));
    }
    Ok(s)
}

/// Groups batches into windows of `window_s` (a batch counts in the window where it ended;
/// one that ended after `duration_s` counts in the last window) and gives each its TFLOPS
/// and, through `telemetry(from_s, to_s)`, its clock and power.
pub fn windows(
    batches: &[Batch],
    flops: f64,
    window_s: f64,
    duration_s: f64,
    telemetry: &dyn Fn(f64, f64) -> telemetry::Aggregate,
) -> Vec<TimelinePoint> {
    let last = ((duration_s / window_s).ceil() as usize).max(1) - 1;
    let mut out: Vec<TimelinePoint> = Vec::new();
    let mut acc: Option<(usize, usize, f64)> = None; // (window, products, seconds)
    let flush = |acc: Option<(usize, usize, f64)>, out: &mut Vec<TimelinePoint>| {
        if let Some((w, n, secs)) = acc {
            if n > 0 && secs > 0.0 {
                let (a, b) = (w as f64 * window_s, (w + 1) as f64 * window_s);
                let t = telemetry(a, b);
                out.push(TimelinePoint {
                    t_start_s: a,
                    t_end_s: b,
                    products: n,
                    tflops: flops * n as f64 / secs / 1e12,
                    sm_clock_mhz_mean: t.sm_mean,
                    mem_clock_mhz_mean: t.mem_mean,
                    power_w_mean: t.power_mean,
                    temperature_c_max: t.temp_max,
                    throttle_reasons: t.reasons,
                });
            }
        }
    };
    for b in batches {
        let w = ((b.end_s / window_s).floor().max(0.0) as usize).min(last);
        match acc {
            Some((cur, n, s)) if cur == w => {
                acc = Some((cur, n + b.times.len(), s + b.times.iter().sum::<f64>()))
            }
            _ => {
                flush(acc, &mut out);
                acc = Some((w, b.times.len(), b.times.iter().sum()));
            }
        }
    }
    flush(acc, &mut out);
    out
}

/// The first `span_s` seconds against the last.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    pub span_s: f64,
    pub first_tflops: f64,
    pub last_tflops: f64,
    pub first_sm_clock_mhz: Option<f64>,
    pub last_sm_clock_mhz: Option<f64>,
    pub first_power_w: Option<f64>,
    pub last_power_w: Option<f64>,
}

impl Drift {
    /// last / first − 1.
    pub fn change(&self) -> f64 {
        self.last_tflops / self.first_tflops - 1.0
    }
}

fn combine(ws: &[&TimelinePoint]) -> (f64, Option<f64>, Option<f64>) {
    // Throughput over the span: products / summed time, so windows weigh by their work.
    let products: f64 = ws.iter().map(|w| w.products as f64).sum();
    let time: f64 = ws.iter().map(|w| w.products as f64 / w.tflops).sum();
    let mean = |f: fn(&TimelinePoint) -> Option<f64>| {
        let v: Vec<f64> = ws.iter().filter_map(|w| f(w)).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    (
        products / time,
        mean(|w| w.sm_clock_mhz_mean),
        mean(|w| w.power_w_mean),
    )
}

/// Compares the windows inside the first `span_s` with those inside the last; `None` with
/// fewer than two windows.
pub fn drift(timeline: &[TimelinePoint], span_s: f64) -> Option<Drift> {
    if timeline.len() < 2 {
        return None;
    }
    let start = timeline.first()?.t_start_s;
    let end = timeline.last()?.t_end_s;
    let eps = 1e-9;
    let mut first: Vec<&TimelinePoint> = timeline
        .iter()
        .filter(|w| w.t_end_s <= start + span_s + eps)
        .collect();
    let mut last: Vec<&TimelinePoint> = timeline
        .iter()
        .filter(|w| w.t_start_s >= end - span_s - eps)
        .collect();
    if first.is_empty() {
        first.push(&timeline[0]);
    }
    if last.is_empty() {
        last.push(&timeline[timeline.len() - 1]);
    }
    let (ft, fc, fp) = combine(&first);
    let (lt, lc, lp) = combine(&last);
    Some(Drift {
        span_s,
        first_tflops: ft,
        last_tflops: lt,
        first_sm_clock_mhz: fc,
        last_sm_clock_mhz: lc,
        first_power_w: fp,
        last_power_w: lp,
    })
}

/// Runs products back to back for `duration_s` (or until `stop` is set), then verifies and
/// returns the result with the timeline in its telemetry, and whether it was stopped early.
/// `progress(elapsed_s, last_window)` is called after every batch.
pub fn run(
    backend: &dyn Backend,
    req: &GemmRequest,
    settings: &TimingSettings,
    duration_s: f64,
    sampler: Option<&Sampler>,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(f64, Option<&TimelinePoint>),
) -> anyhow::Result<(GemmResult, bool)> {
    Warm::up(backend, req, settings, duration_s)?.run(duration_s, sampler, stop, progress)
}

/// A product prepared and warmed up, ready for the timed loop; so that several GPUs can warm
/// up first and then start their loops together.
pub struct Warm<'a> {
    backend: &'a dyn Backend,
    req: &'a GemmRequest,
    settings: &'a TimingSettings,
    gemm: Box<dyn crate::backend::PreparedGemm + 'a>,
    warmup: WarmupRecord,
    window_s: f64,
    batch: usize,
}

impl<'a> Warm<'a> {
    /// Prepares the product and runs a few of them (library handles, heuristics and lazy
    /// loading, not clocks); the window length and batch size for `duration_s` follow from
    /// their time.
    pub fn up(
        backend: &'a dyn Backend,
        req: &'a GemmRequest,
        settings: &'a TimingSettings,
        duration_s: f64,
    ) -> anyhow::Result<Warm<'a>> {
        let mut gemm = backend.prepare(req)?;
        let warm_start = Instant::now();
        let warm = gemm.run(settings.warmup_iters.clamp(1, 100))?;
        let per = warm.iter().sum::<f64>() / warm.len().max(1) as f64;
        let warmup = WarmupRecord {
            iterations: warm.len(),
            seconds: warm_start.elapsed().as_secs_f64(),
        };
        let window_s = window_len(duration_s).max(4.0 * per);
        let batch = ((window_s / 5.0).min(0.1) / per.max(1e-9)).clamp(1.0, 256.0) as usize;
        Ok(Warm {
            backend,
            req,
            settings,
            gemm,
            warmup,
            window_s,
            batch,
        })
    }

    /// The timed loop: products back to back for `duration_s` (or until `stop` is set), then
    /// verification; the result carries the timeline in its telemetry.
    pub fn run(
        self,
        duration_s: f64,
        sampler: Option<&Sampler>,
        stop: &AtomicBool,
        progress: &mut dyn FnMut(f64, Option<&TimelinePoint>),
    ) -> anyhow::Result<(GemmResult, bool)> {
        let Warm {
            backend,
            req,
            settings,
            mut gemm,
            warmup,
            window_s,
            batch,
        } = self;
        let start = Instant::now();
        let mut batches: Vec<Batch> = Vec::new();
        let mut stopped = false;
        let at = |s: f64| start + Duration::from_secs_f64(s.max(0.0));
        let agg = |a: f64, b: f64| {
            sampler
                .map(|sm| telemetry::aggregate(&sm.window(at(a), at(b))))
                .unwrap_or_default()
        };
        loop {
            if start.elapsed().as_secs_f64() >= duration_s {
                break;
            }
            if stop.load(Ordering::SeqCst) {
                stopped = true;
                break;
            }
            let times = gemm.run(batch)?;
            let end_s = start.elapsed().as_secs_f64();
            batches.push(Batch { end_s, times });
            // The last complete window, for the progress line.
            let w = (end_s / window_s).floor();
            let prev: Vec<Batch> = batches
                .iter()
                .filter(|b| (b.end_s / window_s).floor() == w - 1.0)
                .cloned()
                .collect();
            let last = windows(&prev, req.shape.flops(), window_s, f64::INFINITY, &agg);
            progress(end_s, last.first());
        }
        let end = Instant::now();
        anyhow::ensure!(
            !batches.is_empty(),
            "stopped before the first product was timed"
        );
        let samples_s: Vec<f64> = batches
            .iter()
            .flat_map(|b| b.times.iter().copied())
            .collect();
        let s = Samples { warmup, samples_s };
        let mut r = point::finish(backend, req, settings, gemm.as_mut(), s)?;
        let timeline = windows(&batches, req.shape.flops(), window_s, duration_s, &agg);
        let mut t = match sampler {
            Some(sm) => telemetry::summarize(&sm.window(start, end), r.stats_s.median, r.tflops),
            None => Telemetry {
                source: "none".into(),
                ..Default::default()
            },
        };
        t.timeline = Some(timeline);
        telemetry::set_peak_at_measured_clock(&mut r, &t, backend.info());
        r.telemetry = Some(t);
        Ok((r, stopped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: f64, _: f64) -> telemetry::Aggregate {
        telemetry::Aggregate::default()
    }

    #[test]
    fn batches_fall_into_windows() {
        // 1e12 flops per product; 0.5 s products first, then 1 s products.
        let batches = vec![
            Batch {
                end_s: 0.5,
                times: vec![0.25, 0.25],
            },
            Batch {
                end_s: 0.9,
                times: vec![0.4],
            },
            Batch {
                end_s: 1.5,
                times: vec![1.0],
            },
            Batch {
                end_s: 3.2,
                times: vec![1.0, 1.0],
            },
        ];
        let w = windows(&batches, 1e12, 1.0, 10.0, &none);
        assert_eq!(w.len(), 3);
        assert_eq!((w[0].t_start_s, w[0].t_end_s, w[0].products), (0.0, 1.0, 3));
        assert!((w[0].tflops - 3.0 / 0.9).abs() < 1e-12);
        assert_eq!((w[1].t_start_s, w[1].products), (1.0, 1));
        assert!((w[1].tflops - 1.0).abs() < 1e-12);
        assert_eq!(w[2].t_start_s, 3.0); // window 2 had no batch end: skipped
                                         // A batch that ends after the duration counts in the last window.
        let w = windows(&batches, 1e12, 1.0, 3.0, &none);
        assert_eq!(w.len(), 3);
        assert_eq!((w[2].t_start_s, w[2].products), (2.0, 2));
    }

    #[test]
    fn first_seconds_against_last() {
        let mk = |i: usize, tf: f64, clock: f64| TimelinePoint {
            t_start_s: i as f64,
            t_end_s: i as f64 + 1.0,
            products: 100,
            tflops: tf,
            sm_clock_mhz_mean: Some(clock),
            mem_clock_mhz_mean: None,
            power_w_mean: Some(700.0),
            temperature_c_max: None,
            throttle_reasons: vec![],
        };
        let tl: Vec<TimelinePoint> = (0..12)
            .map(|i| {
                if i < 2 {
                    mk(i, 800.0, 1980.0)
                } else {
                    mk(i, 700.0, 1755.0)
                }
            })
            .collect();
        let d = drift(&tl, drift_span(12.0, 1.0)).unwrap();
        assert_eq!(d.span_s, 2.0);
        assert!((d.first_tflops - 800.0).abs() < 1e-9);
        assert!((d.last_tflops - 700.0).abs() < 1e-9);
        assert!((d.change() + 0.125).abs() < 1e-12);
        assert_eq!(d.first_sm_clock_mhz, Some(1980.0));
        assert_eq!(d.last_sm_clock_mhz, Some(1755.0));
        assert!(drift(&tl[..1], 1.0).is_none());
    }

    #[test]
    fn durations_and_windows() {
        assert_eq!(window_len(60.0), 2.0);
        assert_eq!(window_len(1.0), 0.25);
        assert_eq!(drift_span(60.0, 2.0), 10.0);
        assert!(check_duration(60.0).is_ok());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e9] {
            assert!(crate::error::is_usage(&check_duration(bad).unwrap_err()));
        }
    }
}
