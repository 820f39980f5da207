//! `gpubench run`: measure GEMM throughput for one shape and one or more dtypes, print the
//! table (or the JSON profile) and save the profile.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::backend::{DeviceChoice, GemmRequest, GemmShape};
use crate::dtype::DType;
use crate::error::InvalidResult;
use crate::export::files::ExportTargets;
use crate::session::{self, TimingFlags};

/// Flags of `gpubench run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Device: auto (a GPU when one loads, else the CPU), cpu, cuda, or cuda:N.
    #[arg(long, default_value = "auto", value_parser = crate::session::device_flag)]
    pub device: DeviceChoice,
    /// dtypes, comma-separated, or all: fp16, bf16, tf32, fp32, fp64, fp8 [GPU bf16, CPU fp32].
    #[arg(long, value_name = "LIST")]
    pub dtype: Option<String>,
    /// Square size n (m = n = k) [GPU 8192, CPU 1024]; with --m/--k, the N dimension.
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = crate::session::dim_flag("--n"))]
    pub n: Option<u64>,
    /// Rows of A and C (non-square shapes; defaults to n).
    #[arg(long, value_name = "M", allow_hyphen_values = true, value_parser = crate::session::dim_flag("--m"))]
    pub m: Option<u64>,
    /// Inner dimension (non-square shapes; defaults to n).
    #[arg(long, value_name = "K", allow_hyphen_values = true, value_parser = crate::session::dim_flag("--k"))]
    pub k: Option<u64>,
    #[command(flatten)]
    pub timing: TimingFlags,
    /// Seed of the random inputs.
    #[arg(long, default_value_t = 0x6770_7562)]
    pub seed: u64,
    /// fp8: let cuBLASLt use fast accumulation (CUBLASLT_MATMUL_DESC_FAST_ACCUM), faster and
    /// less accurate; off by default (NVIDIA's accurate path). Recorded in the profile.
    #[arg(long)]
    pub fp8_fast_accum: bool,
    #[command(flatten)]
    pub save: crate::session::SaveFlags,
    /// Print the profile as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
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
}

fn parse_duration(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds; give e.g. 60"))?;
    crate::sustained::check_duration(v)
        .map_err(|e| e.to_string().replace(&format!("--duration {v}: "), ""))
}

/// The shape the flags ask for, with per-backend defaults.
pub fn shape_from_flags(m: Option<u64>, n: Option<u64>, k: Option<u64>, cpu: bool) -> GemmShape {
    let default = if cpu { 1024 } else { 8192 };
    let base = n.or(m).or(k).unwrap_or(default);
    GemmShape {
        m: m.unwrap_or(base),
        n: n.unwrap_or(base),
        k: k.unwrap_or(base),
        batch: 1,
    }
}

/// Runs `gpubench run`.
pub fn execute(args: RunArgs) -> anyhow::Result<ExitCode> {
    // Everything the user typed is checked before any device is touched.
    if let Some(s) = &args.dtype {
        DType::parse_list(s)?; // a typo fails before any device is opened
    }
    let target = args.save.target()?;
    let exports = ExportTargets::check(
        args.export_csv.clone(),
        args.export_markdown.clone(),
        args.save.force,
    )?;

    let (backend, dtypes) = session::open_backend(args.device, args.dtype.as_deref())?;
    let be = backend.as_ref();
    let cpu = be.info().backend == "cpu";
    let shape = shape_from_flags(args.m, args.n, args.k, cpu);
    let settings = args.timing.resolve(&be.info().backend);

    let mut requests = Vec::new();
    for (i, &dtype) in dtypes.iter().enumerate() {
        be.check_dtype(dtype)?;
        let sets = session::input_sets(be, dtype, shape, settings.cold);
        session::check_memory(be, dtype, shape, sets)?;
        requests.push(GemmRequest {
            dtype,
            shape,
            input_sets: sets,
            seed: args.seed.wrapping_add(i as u64 * 1000),
            fp8_fast_accum: args.fp8_fast_accum,
        });
    }

    let kind = if args.duration.is_some() {
        "sustained"
    } else {
        "run"
    };
    let mut profile = session::new_profile(be, settings.clone(), kind);
    let file_name = crate::profile::default_file_name(
        &be.info().slug(),
        kind,
        &dtypes,
        &[shape],
        &profile.created_utc,
    );
    let mut saved: Option<PathBuf> = None;
    let sampler = crate::telemetry::nvml::for_device(be.info());
    for req in &requests {
        let (result, stopped) =
            crate::sustained::measure_for_run(be, req, &settings, args.duration, sampler.as_ref())?;
        profile.results.push(result);
        if stopped {
            profile.interrupted = Some(true);
        }
        // Save after every dtype so a later failure loses nothing.
        if let Some(t) = &target {
            saved = Some(t.save_named(&profile, &file_name, saved.as_deref())?);
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
    } else {
        print!("{}", crate::export::table::render(&profile));
        for r in &profile.results {
            print!("{}", crate::sustained::render(r));
        }
        print!(
            "{}",
            crate::export::calibrated::render(&profile, saved.as_deref())
        );
        match &saved {
            Some(p) => println!("Profile saved: {}", p.display()),
            None => println!("Profile not saved (--no-save)."),
        }
        for p in &exported {
            println!("Exported: {}", p.display());
        }
    }
    if profile.interrupted == Some(true) {
        eprintln!("Interrupted: the products done so far are kept in the profile.");
        return Ok(ExitCode::from(crate::sweep::interrupt::EXIT_INTERRUPTED));
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
    if !invalid.is_empty() {
        return Err(InvalidResult(format!(
            "verification failed for {}; the result is marked invalid in the profile",
            invalid.join(", ")
        ))
        .into());
    }
    Ok(ExitCode::SUCCESS)
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
    }
}
