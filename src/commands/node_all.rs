//! `gpubench run --device all`: every GPU of the node measured at once, so that a slow,
//! throttling or failing GPU stands out against its neighbours under the same load. One
//! thread per GPU with its own backend (context and stream); all start together once each has
//! prepared; one profile with a result per GPU and dtype (each naming its GPU), a node summary,
//! and exit code 4 when a GPU is flagged by the rules of `gpubench report`
//! ([`crate::cluster::outliers`]).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Barrier;

use crate::backend::GemmRequest;
use crate::cli::flags;
use crate::cli::run::RunArgs;
use crate::cluster::outliers::{self, Point, Reason, Rules};
use crate::commands::run::shape_from_flags;
use crate::commands::session::{open_backend, MeasureSession, Saver};
use crate::error::{usage, EXIT_FLAGGED};
use crate::export::files::ExportTargets;
use crate::measure::point;
use crate::profile::{GemmResult, Profile, ProfileKind, ResultGpu};

/// What one GPU's thread brings back: its profile (device, settings) and its results.
struct GpuRun {
    profile: Profile,
    file_name: String,
}

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
    if args.duration.is_some() {
        return Err(usage(
            "--duration with --device all: a sustained run measures one GPU; give --device cuda:N",
        ));
    }
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
    let barrier = Barrier::new(count as usize);
    let runs: Vec<anyhow::Result<GpuRun>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..count)
            .map(|i| {
                let barrier = &barrier;
                s.spawn(move || measure_gpu(i, args, barrier))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("the measuring thread panicked")))
            })
            .collect()
    });

    let mut profile: Option<(Profile, String)> = None;
    let mut failed = Vec::new();
    for (i, run) in runs.into_iter().enumerate() {
        match run {
            Ok(r) => match &mut profile {
                None => profile = Some((r.profile, r.file_name)),
                Some((p, _)) => p.results.extend(r.profile.results),
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
        print!("{}", render(&profile.results, count));
        match saver.saved() {
            Some(p) => println!("Profile saved: {}", p.display()),
            None => println!("Profile not saved (--no-save)."),
        }
        for p in &exported {
            println!("Exported: {}", p.display());
        }
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

/// One GPU's thread: opens it and builds the requests, waits for every other GPU at the
/// barrier (also when this one failed, so that no thread waits forever), then measures.
fn measure_gpu(ordinal: u32, args: &RunArgs, barrier: &Barrier) -> anyhow::Result<GpuRun> {
    let prepared = prepare(ordinal, args);
    barrier.wait();
    let (ms, requests) = prepared?;
    let sampler = ms.sampler();
    let uuid = ms.backend().info().uuid.clone();
    let shapes: Vec<_> = requests.iter().map(|r| r.shape).take(1).collect();
    let (mut profile, file_name) = ms.new_profile(ProfileKind::Run, requests.len(), &shapes);
    for req in &requests {
        let mut r = point::measure_point(
            ms.backend(),
            req,
            &ms.settings,
            1,
            sampler.as_ref(),
            &mut |_, _| {},
        )?;
        r.gpu = Some(ResultGpu {
            ordinal,
            uuid: uuid.clone(),
        });
        profile.results.push(r);
    }
    Ok(GpuRun { profile, file_name })
}

/// Opens GPU `ordinal` and the requests `run` would measure on it.
fn prepare(ordinal: u32, args: &RunArgs) -> anyhow::Result<(MeasureSession, Vec<GemmRequest>)> {
    let (backend, dtypes) = open_backend(
        crate::backend::DeviceChoice::Cuda(ordinal),
        args.dtype.as_ref(),
        None,
    )?;
    let ms = MeasureSession::new(backend, dtypes, |cpu| {
        args.timing.resolve_with(cpu, flags::TimingDefaults::RUN)
    });
    let shape = shape_from_flags(args.m, args.n, args.k, false);
    let mut requests = Vec::new();
    for (i, &dtype) in ms.dtypes.iter().enumerate() {
        let sets = ms.check_fits(dtype, shape)?;
        requests.push(GemmRequest {
            dtype,
            shape,
            input_sets: sets,
            seed: args.seed.wrapping_add(i as u64 * 1000),
            fp8_fast_accum: args.fp8_fast_accum,
        });
    }
    Ok((ms, requests))
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
fn describe(r: &Reason) -> String {
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

/// One line per GPU and result, then per dtype and shape the node summary: median, fastest
/// and slowest GPU, and the spread (fastest − slowest, as a share of the median).
pub fn render(results: &[GemmResult], gpus: u32) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let mut by_key: BTreeMap<String, Vec<(u32, f64)>> = BTreeMap::new();
    for r in results {
        let ordinal = r.gpu.as_ref().map_or(0, |g| g.ordinal);
        let key = crate::cluster::merge::key(r);
        let _ = writeln!(
            out,
            "cuda:{ordinal:<3} {:<42} {key:<24} {:>10} TFLOPS  {}",
            r.gpu
                .as_ref()
                .and_then(|g| g.uuid.as_deref())
                .unwrap_or("-"),
            crate::output::format::tflops(r.tflops),
            if r.valid() {
                "verified"
            } else {
                "FAILED verification"
            }
        );
        by_key.entry(key).or_default().push((ordinal, r.tflops));
    }
    for (key, v) in &by_key {
        let values: Vec<f64> = v.iter().map(|(_, t)| *t).collect();
        let median = outliers::median(&values).unwrap_or(0.0);
        let cmp = |a: &&(u32, f64), b: &&(u32, f64)| a.1.total_cmp(&b.1);
        let (Some(fast), Some(slow)) = (v.iter().max_by(cmp), v.iter().min_by(cmp)) else {
            continue;
        };
        let spread = if median > 0.0 {
            format!("{:.1} %", (fast.1 - slow.1) / median * 100.0)
        } else {
            "-".into()
        };
        let _ = writeln!(
            out,
            "Node, {gpus} GPUs, {key}: median {} TFLOPS, fastest cuda:{} {}, slowest cuda:{} {}, spread {spread}",
            crate::output::format::tflops(median),
            fast.0,
            crate::output::format::tflops(fast.1),
            slow.0,
            crate::output::format::tflops(slow.1),
        );
    }
    out
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
    fn threshold_outside_zero_to_one_is_a_usage_error() {
        for t in [0.0, 1.5, f64::NAN, -0.1] {
            assert!(crate::error::is_usage(&check_threshold(t).unwrap_err()));
        }
        check_threshold(0.9).unwrap();
    }
}
