//! `gpubench run`: measure GEMM throughput for one shape and one or more dtypes, print the
//! table (or the JSON profile) and save the profile.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::backend::{Backend, DeviceChoice, GemmRequest, GemmShape};
use crate::cli::flags::{self};
use crate::cli::run::RunArgs;
use crate::commands::session::{exit_code, open_backend, MeasureSession, Saver};
use crate::export::files::ExportTargets;
use crate::measure::{interrupt, point, sustained};
use crate::output::progress::{PointBar, SustainedBar};
use crate::output::table::Width;
use crate::profile::{GemmResult, TimingSettings};
use crate::telemetry::{self, Sampler};

/// The shape the flags ask for, as the help says: n defaults per backend, m and k default
/// to n (so `--k 64` alone is n×n×64, not 64³).
pub fn shape_from_flags(m: Option<u64>, n: Option<u64>, k: Option<u64>, cpu: bool) -> GemmShape {
    let n = n.unwrap_or(if cpu { 1024 } else { 8192 });
    GemmShape {
        m: m.unwrap_or(n),
        n,
        k: k.unwrap_or(n),
        batch: 1,
    }
}

/// Opens `device` with `run`'s timing defaults and the products `run` measures there: one
/// per dtype, each checked to fit, each with its own seed.
pub fn session(
    device: crate::backend::DeviceChoice,
    args: &RunArgs,
    rank_run: Option<&crate::cluster::RankRun>,
) -> anyhow::Result<(MeasureSession, Vec<GemmRequest>)> {
    let (backend, dtypes) = open_backend(device, args.dtype.as_ref(), rank_run)?;
    let ms = MeasureSession::new(backend, dtypes, |cpu| {
        args.timing.resolve_with(cpu, flags::TimingDefaults::RUN)
    });
    let shape = shape_from_flags(args.m, args.n, args.k, ms.cpu());
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

/// Runs `gpubench run`.
pub fn execute(args: RunArgs) -> anyhow::Result<ExitCode> {
    if args.device == DeviceChoice::All {
        return crate::commands::node_all::execute(&args);
    }
    // Everything the user typed is checked before any device is touched.
    args.timing.check()?;
    let exports = ExportTargets::check(
        args.export_csv.clone(),
        args.export_markdown.clone(),
        args.save.force,
    )?;
    // Under a launcher (or with --rank), this process is one rank and saves its own file.
    let vars = crate::cluster::launcher::process_vars();
    let mut rank_run = crate::cluster::RankRun::prepare(
        &args.cluster.options(),
        &vars,
        args.save.request(),
        args.device,
    )?;
    let target = match rank_run {
        Some(_) => None,
        None => args.save.target()?,
    };

    let (ms, requests) = session(args.device, &args, rank_run.as_ref())?;
    let (be, settings) = (ms.backend(), &ms.settings);
    let shape = shape_from_flags(args.m, args.n, args.k, ms.cpu());

    let kind = if args.duration.is_some() {
        crate::profile::ProfileKind::Sustained
    } else {
        crate::profile::ProfileKind::Run
    };
    let (mut profile, file_name) = ms.new_profile(kind, requests.len(), &[shape]);
    let mut saver = Saver::new(target.as_ref(), file_name);
    let mut saved: Option<PathBuf> = None;
    if let Some(rr) = &mut rank_run {
        eprintln!("{}", rr.describe());
        // Saved before the rendezvous and the first product, so a rank that hangs or
        // stops there is named by the report, not missing.
        profile.cluster = Some(rr.info.clone());
        saved = Some(rr.saver.save(&mut profile)?);
        rr.meet()?;
        profile.cluster = Some(rr.info.clone());
    }
    let sampler = ms.sampler();
    for req in &requests {
        let (result, stopped) = measure_one(be, req, settings, args.duration, sampler.as_ref())?;
        profile.results.push(result);
        if stopped {
            profile.interrupted = Some(true);
        }
        // Save after every dtype so a later failure loses nothing.
        if let Some(rr) = &mut rank_run {
            saved = Some(rr.saver.save(&mut profile)?);
        } else {
            saver.save(&profile)?;
            saved = saver.saved().map(Path::to_path_buf);
        }
        if stopped {
            break;
        }
    }
    let exported = if exports.any() {
        exports.write(&profile)?
    } else {
        Vec::new()
    };

    if args.json {
        println!("{}", profile.to_json());
        // The table carries the warnings; with JSON on stdout they go to standard error.
        for w in crate::output::results::noise_warnings(&profile) {
            eprintln!("warning: {w}");
        }
    } else {
        print!(
            "{}",
            crate::output::results::render(&profile, Width::from_wide(args.wide))
        );
        for r in &profile.results {
            print!("{}", crate::output::sustained::render(r));
        }
        print!(
            "{}",
            crate::output::calibrated::render(&profile, saved.as_deref())
        );
        match &saved {
            Some(p) => println!("Profile saved: {}", p.display()),
            None => println!("Profile not saved (--no-save)."),
        }
        for p in &exported {
            println!("Exported: {}", p.display());
        }
    }
    let invalid: Vec<String> = profile
        .results
        .iter()
        .filter(|r| !r.valid())
        .map(|r| {
            format!(
                "{} {} (max error {:.2e} > tolerance {:.0e})",
                r.dtype,
                r.shape(),
                r.verification.max_rel_error,
                r.verification.tolerance
            )
        })
        .collect();
    exit_code(
        profile.interrupted == Some(true),
        || "Interrupted: the products done so far are kept in the profile.".into(),
        (!invalid.is_empty()).then(|| {
            format!(
                "verification failed for {}; the result is marked invalid in the profile",
                invalid.join(", ")
            )
        }),
    )
}

/// Measures one request with a progress bar: a timed point with telemetry, or with
/// `duration_s` a sustained run (Ctrl-C stops it early and keeps what was done). Prints a
/// warning when the clock fell or a throttle reason was active. Returns the result and
/// whether Ctrl-C stopped it.
fn measure_one(
    backend: &dyn Backend,
    req: &GemmRequest,
    settings: &TimingSettings,
    duration_s: Option<f64>,
    sampler: Option<&Sampler>,
) -> anyhow::Result<(GemmResult, bool)> {
    let label = format!("{} {}", req.dtype, req.shape);
    let outcome = match duration_s {
        Some(d) => {
            let stop = interrupt::install("now");
            let bar = SustainedBar::new(&label, d);
            let r = sustained::run(backend, req, settings, d, sampler, stop, &mut |t, last| {
                bar.update(t, last)
            });
            bar.finish();
            r?
        }
        None => {
            let mut bar = PointBar::new(&label);
            let r = point::measure_point(backend, req, settings, 1, sampler, &mut |phase, frac| {
                bar.update(phase, frac)
            });
            bar.finish();
            (r?, false)
        }
    };
    if let Some(w) = telemetry::of_result(&outcome.0)
        .filter(|t| t.source == "nvml")
        .as_ref()
        .and_then(telemetry::warning)
    {
        eprintln!("warning: {label}: {w}");
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_default_per_backend_and_fill_from_n() {
        assert_eq!(
            shape_from_flags(None, None, None, true),
            GemmShape::square(1024)
        );
        assert_eq!(
            shape_from_flags(None, None, None, false),
            GemmShape::square(8192)
        );
        let s = shape_from_flags(Some(128), Some(256), None, true);
        assert_eq!((s.m, s.n, s.k), (128, 256, 256));
        // m and k default to n, and n to the backend's size, whatever else is given.
        let s = shape_from_flags(None, None, Some(64), true);
        assert_eq!((s.m, s.n, s.k), (1024, 1024, 64));
        let s = shape_from_flags(Some(32), None, None, false);
        assert_eq!((s.m, s.n, s.k), (32, 8192, 8192));
    }
}
