//! The flags of `gpubench run`: device, dtypes, shape, timing, saving, a sustained run and a
//! rank of a job.

use std::path::PathBuf;

use crate::backend::DeviceChoice;
use crate::cli::flags::TimingFlags;
use crate::dtype::DtypeSelection;
use crate::measure::sustained;

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
