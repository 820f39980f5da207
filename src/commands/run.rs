//! `gpubench run`: measure GEMM throughput for one shape and one or more dtypes, print the
//! table (or the JSON profile) and save the profile.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::backend::{Backend, DeviceChoice, GemmRequest, GemmShape};
use crate::cli::flags::{self, TimingFlags};
use crate::commands::session::{exit_code, open_backend, MeasureSession, Saver};
use crate::dtype::DtypeSelection;
use crate::export::files::ExportTargets;
use crate::measure::{interrupt, point, sustained};
use crate::output::progress::{PointBar, SustainedBar};
use crate::output::table::Width;
use crate::profile::{GemmResult, TimingSettings};
use crate::telemetry::{self, Sampler};

/// Flags of `gpubench run`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpubench run                                 # bf16 8192³ on a GPU (fp32 1024³ on the CPU)
  gpubench run --dtype all --n 4096            # every dtype the device supports
  gpubench run --k 1024 --export-csv run.csv   # 8192×8192×1024 (m and k default to n), also as CSV
  gpubench run --duration 60                   # sustained: TFLOPS, SM clock and power for a minute
  gpubench run --wide                          # every column: peaks, verification details")]
pub struct RunArgs {
    /// Device: auto (a GPU when one loads, else the CPU), cpu, cuda, cuda:N, or all (every GPU
    /// of the node at once; exit code 4 when one is flagged).
    #[arg(long, default_value = "auto", value_parser = crate::cli::flags::device_flag)]
    pub device: DeviceChoice,
    /// dtypes, comma-separated, or all: fp16, bf16, tf32, fp32, fp64, fp8 [GPU bf16, CPU fp32].
    #[arg(long, value_name = "LIST", value_parser = crate::cli::flags::dtypes_flag)]
    pub dtype: Option<DtypeSelection>,
    /// Square size n (m = n = k) [GPU 8192, CPU 1024]; with --m/--k, the N dimension.
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = crate::cli::flags::dim_flag)]
    pub n: Option<u64>,
    /// Rows of A and C (non-square shapes; defaults to n).
    #[arg(long, value_name = "M", allow_hyphen_values = true, value_parser = crate::cli::flags::dim_flag)]
    pub m: Option<u64>,
    /// Inner dimension (non-square shapes; defaults to n).
    #[arg(long, value_name = "K", allow_hyphen_values = true, value_parser = crate::cli::flags::dim_flag)]
    pub k: Option<u64>,
    #[command(flatten)]
    pub timing: TimingFlags,
    /// Seed of the random inputs.
    #[arg(long, default_value_t = 0x6770_7562, value_parser = crate::cli::flags::seed_flag)]
    pub seed: u64,
    /// fp8: let cuBLASLt use fast accumulation (CUBLASLT_MATMUL_DESC_FAST_ACCUM), faster and
    /// less accurate; off by default (NVIDIA's accurate path). Recorded in the profile.
    #[arg(long)]
    pub fp8_fast_accum: bool,
    /// With --device all: a GPU below this fraction of the node median is flagged.
    #[arg(
        long,
        default_value_t = 0.9,
        value_name = "FRACTION",
        allow_hyphen_values = true
    )]
    pub threshold: f64,
    #[command(flatten)]
    pub save: crate::cli::flags::SaveFlags,
    /// Print the profile as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Print every column, however wide (the table fits 100 columns otherwise).
    #[arg(long)]
    pub wide: bool,
    /// Keep multiplying for this many seconds and report throughput, SM clock and power over
    /// time (a sustained run; Ctrl-C stops early and keeps what was done).
    #[arg(long, value_name = "SECONDS", value_parser = parse_duration)]
    pub duration: Option<f64>,
    /// Also write the results as CSV.
    #[arg(long, value_name = "PATH")]
    pub export_csv: Option<PathBuf>,
    /// Also write the results as a Markdown table.
    #[arg(long, value_name = "PATH")]
    pub export_markdown: Option<PathBuf>,
    /// One rank of a job (srun, mpirun, torchrun): each writes rank-NNNNN.json into
    /// --results-dir (docs/cluster.md).
    #[command(flatten, next_help_heading = "Cluster (one rank of a job)")]
    pub cluster: crate::cli::flags::ClusterFlags,
}

fn parse_duration(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds; give e.g. 60"))?;
    sustained::check_duration(v)
        .map_err(|e| e.to_string().replace(&format!("--duration {v}: "), ""))
}

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

    let (backend, dtypes) = open_backend(args.device, args.dtype.as_ref(), rank_run.as_ref())?;
    let ms = MeasureSession::new(backend, dtypes, |cpu| {
        args.timing.resolve_with(cpu, flags::TimingDefaults::RUN)
    });
    let (be, dtypes, settings) = (ms.backend(), &ms.dtypes, &ms.settings);
    let shape = shape_from_flags(args.m, args.n, args.k, ms.cpu());

    let mut requests = Vec::new();
    for (i, &dtype) in dtypes.iter().enumerate() {
        let sets = ms.check_fits(dtype, shape)?;
        requests.push(GemmRequest {
            dtype,
            shape,
            input_sets: sets,
            seed: args.seed.wrapping_add(i as u64 * 1000),
            fp8_fast_accum: args.fp8_fast_accum,
        });
    }

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
