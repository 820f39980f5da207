//! `gpubench run --device all`: every GPU of the node measured at once, so that a slow,
//! throttling or failing GPU stands out against its neighbours under the same load. One
//! thread per GPU with its own backend (context and stream); all start together once each has
//! prepared; one profile with a result per GPU and dtype (each naming its GPU), a node summary,
//! and exit code 4 when a GPU is flagged by the rules of `gpubench report`
//! ([`crate::cluster::outliers`]).
//!
//! With `--duration S` it is a burn-in: every GPU warms up, then all start the sustained loop
//! ([`crate::measure::sustained`]) together and run it for S seconds under the same load, each
//! with its own NVML telemetry; one progress line on standard error now and then for all.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::backend::GemmRequest;
use crate::cli::run::RunArgs;
use crate::cluster::outliers::{self, Point, Reason, Rules};
use crate::commands::session::{MeasureSession, Saver};
use crate::error::{usage, EXIT_FLAGGED, EXIT_INTERRUPTED};
use crate::export::files::ExportTargets;
use crate::measure::{interrupt, point, sustained};
use crate::output::node;
use crate::output::table::Width;
use crate::profile::{GemmResult, Profile, ProfileKind, ResultGpu};

/// What one GPU's thread brings back: its profile (device, settings) and its results.
struct GpuRun {
    profile: Profile,
    file_name: String,
    /// Ctrl-C stopped its sustained loop early.
    stopped: bool,
}

/// A start line for the GPUs' threads: [`wait`](Self::wait) returns once every thread still
/// taking part has arrived; a thread that fails or finishes [`leave`](Self::leave)s, so the
/// others never wait for it. Reusable: each round of arrivals opens the next.
pub struct StartLine {
    /// (threads taking part, arrived this round, round)
    state: Mutex<(usize, usize, u64)>,
    opened: Condvar,
}

impl StartLine {
    pub fn new(parties: usize) -> StartLine {
        StartLine {
            state: Mutex::new((parties, 0, 0)),
            opened: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, usize, u64)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens the round when everyone taking part has arrived.
    fn open_if_all(&self, s: &mut (usize, usize, u64)) {
        if s.1 > 0 && s.1 >= s.0 {
            s.1 = 0;
            s.2 += 1;
            self.opened.notify_all();
        }
    }

    /// Waits until every thread still taking part has arrived.
    pub fn wait(&self) {
        let mut s = self.lock();
        let round = s.2;
        s.1 += 1;
        self.open_if_all(&mut s);
        while s.2 == round {
            s = self.opened.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// This thread takes no further part; the others no longer wait for it.
    pub fn leave(&self) {
        let mut s = self.lock();
        s.0 = s.0.saturating_sub(1);
        self.open_if_all(&mut s);
    }
}

/// Leaves the start line when dropped (on every way out of a GPU's thread).
struct Seat<'a>(&'a StartLine);

impl Drop for Seat<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

/// Where one GPU's sustained loop is, for the progress line.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveGpu {
    /// dtype and shape.
    pub label: String,
    pub elapsed_s: f64,
    /// The last complete window's TFLOPS.
    pub tflops: Option<f64>,
}

/// Every GPU's [`LiveGpu`] (`None` before its loop starts).
type Live = Mutex<Vec<Option<LiveGpu>>>;

/// Checks `--threshold` (a fraction of the node median in (0, 1]).
pub fn check_threshold(t: f64) -> anyhow::Result<()> {
    if t.is_finite() && t > 0.0 && t <= 1.0 {
        Ok(())
    } else {
        Err(usage(format!(
            "--threshold {t}: give a fraction of the node median in (0, 1], e.g. 0.9"
        )))
    }
}

/// Runs `gpubench run --device all`.
pub fn execute(args: &RunArgs) -> anyhow::Result<ExitCode> {
    args.timing.check()?;
    check_threshold(args.threshold)?;
    // One process measures every GPU: ranks of a job would each measure them all.
    let vars = crate::cluster::launcher::process_vars();
    let options = args.cluster.options();
    if options.rendezvous.is_some()
        || crate::cluster::launcher::detect(&options.overrides, &vars)?.is_some()
    {
        return Err(usage(
            "--device all measures every GPU of the node in one process, not one rank of a job: give --device auto (each rank its GPU), or run it without a launcher",
        ));
    }
    let exports = ExportTargets::check(
        args.export_csv.clone(),
        args.export_markdown.clone(),
        args.save.force,
    )?;
    let target = args.save.target()?;
    let count = crate::backend::cuda::gpu_count()?;
    if count == 0 {
        anyhow::bail!("--device all: the driver sees no GPU; measure the CPU with --device cpu");
    }
    let line = StartLine::new(count as usize);
    let live: Live = Mutex::new(vec![None; count as usize]);
    let stop = match args.duration {
        Some(_) => interrupt::install("every GPU's sustained loop now"),
        None => &NEVER,
    };
    let done = AtomicBool::new(false);
    let runs: Vec<anyhow::Result<GpuRun>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..count)
            .map(|i| {
                let (line, live) = (&line, &live);
                s.spawn(move || measure_gpu(i, args, line, live, stop))
            })
            .collect();
        if let Some(d) = args.duration {
            let (live, done) = (&live, &done);
            s.spawn(move || progress_lines(live, done, d));
        }
        let runs = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("the measuring thread panicked")))
            })
            .collect();
        done.store(true, Ordering::SeqCst);
        runs
    });

    let mut profile: Option<(Profile, String)> = None;
    let mut failed = Vec::new();
    let mut stopped = false;
    for (i, run) in runs.into_iter().enumerate() {
        match run {
            Ok(r) => match &mut profile {
                None => {
                    stopped |= r.stopped;
                    profile = Some((r.profile, r.file_name))
                }
                Some((p, _)) => {
                    stopped |= r.stopped;
                    p.results.extend(r.profile.results)
                }
            },
            Err(e) => {
                eprintln!("cuda:{i}: {}", format!("{e:#}").replace('\n', " "));
                failed.push((i as u32, e));
            }
        }
    }
    let Some((mut profile, file_name)) = profile else {
        let (_, e) = failed.into_iter().next().expect("at least one GPU");
        return Err(e.context("--device all: no GPU measured"));
    };
    profile.planned_results = u32::try_from(profile.results.len() + failed.len()).ok();
    if stopped {
        profile.interrupted = Some(true);
    }
    let mut saver = Saver::new(target.as_ref(), format!("node-{file_name}"));
    saver.save(&profile)?;
    let exported = if exports.any() {
        exports.write(&profile)?
    } else {
        Vec::new()
    };

    let idle: Vec<u32> = failed.iter().map(|(i, _)| *i).collect();
    let flags = check(&profile.results, &idle, args.threshold);
    if args.json {
        println!("{}", profile.to_json());
    } else {
        print!(
            "{}",
            node::render(&profile.results, count, Width::from_wide(args.wide))
        );
        if args.duration.is_some() {
            print!("{}", node::render_sustained(&profile.results));
        }
        match saver.saved() {
            Some(p) => println!("Profile saved: {}", p.display()),
            None => println!("Profile not saved (--no-save)."),
        }
        for p in &exported {
            println!("Exported: {}", p.display());
        }
    }
    if stopped {
        eprintln!("Interrupted: every GPU's sustained loop was stopped; what was done is kept in the profile.");
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    if flags.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for f in &flags {
        eprintln!(
            "flagged: cuda:{} {}: {}",
            f.rank,
            f.what,
            describe(&f.reason)
        );
    }
    Ok(ExitCode::from(EXIT_FLAGGED))
}

/// A stop flag nothing sets (a timed point has no sustained loop to stop).
static NEVER: AtomicBool = AtomicBool::new(false);

/// One GPU's thread: opens it and builds the requests, waits for every other GPU at the start
/// line (a GPU that fails leaves it, so no thread waits forever), then measures. With
/// `--duration`, each dtype is warmed up first and the sustained loops start together.
fn measure_gpu(
    ordinal: u32,
    args: &RunArgs,
    line: &StartLine,
    live: &Live,
    stop: &AtomicBool,
) -> anyhow::Result<GpuRun> {
    let seat = Seat(line);
    let (ms, requests) = prepare(ordinal, args)?;
    let sampler = ms.sampler();
    let uuid = ms.backend().info().uuid.clone();
    let pci_bus_id = ms.backend().info().pci_bus_id.clone();
    let shapes: Vec<_> = requests.iter().map(|r| r.shape).take(1).collect();
    let kind = match args.duration {
        Some(_) => ProfileKind::Sustained,
        None => ProfileKind::Run,
    };
    let (mut profile, file_name) = ms.new_profile(kind, requests.len(), &shapes);
    let mut stopped = false;
    if args.duration.is_none() {
        seat.0.wait();
    }
    for req in &requests {
        let mut r = match args.duration {
            None => point::measure_point(
                ms.backend(),
                req,
                &ms.settings,
                1,
                sampler.as_ref(),
                &mut |_, _| {},
            )?,
            Some(d) => {
                let warm = sustained::Warm::up(ms.backend(), req, &ms.settings, d)?;
                seat.0.wait();
                let label = format!("{} {}", req.dtype, req.shape);
                let (r, s) = warm.run(d, sampler.as_ref(), stop, &mut |t, last| {
                    if let Ok(mut l) = live.lock() {
                        let prev = l[ordinal as usize].take();
                        let tflops = last
                            .map(|w| w.tflops)
                            .or(prev.filter(|p| p.label == label).and_then(|p| p.tflops));
                        l[ordinal as usize] = Some(LiveGpu {
                            label: label.clone(),
                            elapsed_s: t,
                            tflops,
                        });
                    }
                })?;
                stopped |= s;
                r
            }
        };
        r.gpu = Some(ResultGpu {
            ordinal,
            uuid: uuid.clone(),
            pci_bus_id: pci_bus_id.clone(),
        });
        profile.results.push(r);
        if stopped {
            break;
        }
    }
    Ok(GpuRun {
        profile,
        file_name,
        stopped,
    })
}

/// Prints where the GPUs' sustained loops are on standard error, one line for all of them:
/// every second on a terminal, about 30 times over the run otherwise (a log stays short).
fn progress_lines(live: &Live, done: &AtomicBool, duration_s: f64) {
    let every = if crate::output::progress::enabled() {
        1.0
    } else {
        sustained::window_len(duration_s).max(1.0)
    };
    let mut last = Instant::now();
    let mut said = String::new();
    while !done.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
        if last.elapsed().as_secs_f64() < every {
            continue;
        }
        last = Instant::now();
        let states = live.lock().map(|l| l.clone()).unwrap_or_default();
        // Nothing new (the loops have ended, or a GPU is between windows): say nothing.
        if let Some(text) = progress_line(&states, duration_s).filter(|t| *t != said) {
            eprintln!("{text}");
            said = text;
        }
    }
}

/// The progress line: the dtype and shape, seconds elapsed (the slowest GPU's), and each
/// GPU's last window in TFLOPS; `None` before any GPU started its loop.
pub fn progress_line(states: &[Option<LiveGpu>], duration_s: f64) -> Option<String> {
    let started: Vec<(usize, &LiveGpu)> = states
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
        .collect();
    let label = &started.first()?.1.label;
    let elapsed = started
        .iter()
        .map(|(_, s)| s.elapsed_s)
        .fold(f64::INFINITY, f64::min);
    let gpus: Vec<String> = started
        .iter()
        .map(|(i, s)| {
            format!(
                "cuda:{i} {}",
                s.tflops
                    .map(crate::output::format::tflops)
                    .unwrap_or_else(|| "–".into())
            )
        })
        .collect();
    Some(format!(
        "burn-in {label}: {elapsed:.0} of {duration_s} s; TFLOPS (measured, last window): {}",
        gpus.join(", ")
    ))
}

/// Opens GPU `ordinal` and the requests `run` would measure on it.
fn prepare(ordinal: u32, args: &RunArgs) -> anyhow::Result<(MeasureSession, Vec<GemmRequest>)> {
    crate::commands::run::session(crate::backend::DeviceChoice::Cuda(ordinal), args, None)
}

/// The flags of the node: the outlier rules of `gpubench report` over the GPUs' results, one
/// node (so the node median is the median), and a GPU that measured nothing as no work.
pub fn check(results: &[GemmResult], failed: &[u32], threshold: f64) -> Vec<outliers::Flag> {
    let points: Vec<Point> = results
        .iter()
        .map(|r| Point {
            rank: r.gpu.as_ref().map_or(0, |g| g.ordinal),
            host: String::new(),
            key: crate::cluster::merge::key(r),
            backend: crate::backend::BackendKind::Cuda,
            tflops: r.tflops,
            verified: r.valid(),
            efficiency: None,
            throttle: crate::cluster::merge::limiting_throttle(r),
        })
        .collect();
    check_points(&points, failed, threshold)
}

/// [`check`] over the points (GPU ordinal as the rank, one host).
fn check_points(points: &[Point], failed: &[u32], threshold: f64) -> Vec<outliers::Flag> {
    let idle: Vec<(u32, String)> = failed.iter().map(|i| (*i, String::new())).collect();
    let rules = Rules {
        threshold,
        min_efficiency: None,
    };
    // Every GPU is on this node: the node median is the median, its flag the same one.
    outliers::check(points, &idle, &rules)
        .into_iter()
        .filter(|f| !matches!(f.reason, Reason::BelowNodeMedian { .. }))
        .collect()
}

/// A flag's reason in the words of one node.
pub fn describe(r: &Reason) -> String {
    match r {
        Reason::BelowMedian { tflops, median } => format!(
            "{:.0} % of the node median ({} of {} TFLOPS)",
            tflops / median * 100.0,
            crate::output::format::tflops(*tflops),
            crate::output::format::tflops(*median)
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(gpu: u32, tflops: f64) -> Point {
        Point {
            rank: gpu,
            host: String::new(),
            key: "bf16 8192×8192×8192".into(),
            backend: crate::backend::BackendKind::Cuda,
            tflops,
            verified: true,
            efficiency: None,
            throttle: vec![],
        }
    }

    fn tags(flags: &[outliers::Flag]) -> Vec<(u32, &'static str)> {
        flags.iter().map(|f| (f.rank, f.reason.tag())).collect()
    }

    #[test]
    fn below_the_threshold_of_the_median_is_flagged_once() {
        let points = [pt(0, 800.0), pt(1, 800.0), pt(2, 700.0), pt(3, 790.0)];
        // median 795: 700 is 88 %, under 0.9 but over 0.85
        assert_eq!(
            tags(&check_points(&points, &[], 0.9)),
            [(2, "below_median")]
        );
        assert!(check_points(&points, &[], 0.85).is_empty());
    }

    #[test]
    fn throttle_failed_verification_no_work_and_a_failed_gpu_are_flagged() {
        let mut points = vec![pt(0, 800.0), pt(1, 800.0), pt(2, 800.0)];
        points[1].throttle = vec!["sw_thermal_slowdown".into()];
        points[2].verified = false;
        let flags = check_points(&points, &[3], 0.9);
        assert_eq!(
            tags(&flags),
            [(3, "no_work"), (1, "throttled"), (2, "failed_verification")]
        );
    }

    #[test]
    fn gpus_all_at_zero_are_not_equal_but_idle() {
        let points = [pt(0, 0.0), pt(1, 0.0)];
        assert_eq!(
            tags(&check_points(&points, &[], 0.9)),
            [(0, "no_work"), (1, "no_work")]
        );
    }

    #[test]
    fn the_start_line_opens_when_all_arrived_or_left() {
        use std::sync::atomic::AtomicUsize;
        let line = StartLine::new(3);
        let passed = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    line.wait();
                    passed.fetch_add(1, Ordering::SeqCst);
                    // the second round: the third thread has left by then
                    line.wait();
                    passed.fetch_add(1, Ordering::SeqCst);
                });
            }
            std::thread::sleep(Duration::from_millis(50));
            assert_eq!(passed.load(Ordering::SeqCst), 0, "two of three arrived");
            // The third fails before its start: the two waiting go on without it.
            drop(Seat(&line));
        });
        assert_eq!(passed.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn one_progress_line_for_every_gpu() {
        let label = "bf16 8192×8192×8192".to_string();
        let gpu = |elapsed_s, tflops| {
            Some(LiveGpu {
                label: label.clone(),
                elapsed_s,
                tflops,
            })
        };
        let states = vec![gpu(12.4, Some(801.0)), None, gpu(11.6, None)];
        assert_eq!(
            progress_line(&states, 60.0).unwrap(),
            "burn-in bf16 8192×8192×8192: 12 of 60 s; TFLOPS (measured, last window): cuda:0 801.0, cuda:2 –"
        );
        assert_eq!(progress_line(&[None, None], 60.0), None);
    }

    #[test]
    fn threshold_outside_zero_to_one_is_a_usage_error() {
        for t in [0.0, 1.5, f64::NAN, -0.1] {
            assert!(crate::error::is_usage(&check_threshold(t).unwrap_err()));
        }
        check_threshold(0.9).unwrap();
    }
}
