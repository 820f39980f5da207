//! The flags of `gpubench sweep`: device, dtypes, size ranges, timing, limits and where the
//! profile goes.

use std::path::PathBuf;

use crate::backend::DeviceChoice;
use crate::cli::flags::TimingFlags;
use crate::dtype::DtypeSelection;
use crate::sweep::grid::DEFAULT_MAX_POINTS;

/// Flags of `gpubench sweep`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Sizes: start:stop:step (stop included when a step lands on it), a list (1024,2048,4096) or
both (1024:4096:1024,8192). --n alone sweeps square sizes; with --m and --k, every m×n×k.

Sweep timing defaults (shorter than `run`'s, so hundreds of points fit in minutes): GPU
warm-up 3 products and 0.1 s, timing 10 products and 0.2 s; CPU 1 product and 0.02 s,
3 products and 0.05 s. The first point warms up for --settle-time so clocks settle first.

Examples:
  gpubench sweep --n 1024:8192:1024                     # square sizes 1024 to 8192
  gpubench sweep --dtype fp16,fp32 --n 4096,8192 --export-csv sweep.csv
  gpubench sweep --m 4096 --n 4096 --k 512:8192:512     # how the inner dimension matters")]
pub struct SweepArgs {
    /// Device: auto (a GPU when one loads, else the CPU), cpu, cuda, or cuda:N.
    #[arg(long, default_value = "auto", value_parser = crate::cli::flags::device_flag)]
    pub device: DeviceChoice,
    /// dtypes, comma-separated, or all [GPU bf16, CPU fp32].
    #[arg(long, value_name = "LIST", value_parser = crate::cli::flags::dtypes_flag)]
    pub dtype: Option<DtypeSelection>,
    /// Sizes n: range start:stop:step, list, or both. Alone: square shapes.
    #[arg(long, value_name = "SIZES", allow_hyphen_values = true)]
    pub n: Option<String>,
    /// Sizes m (rows of A and C), for non-square sweeps with --n and --k.
    #[arg(long, value_name = "SIZES", allow_hyphen_values = true)]
    pub m: Option<String>,
    /// Sizes k (inner dimension), for non-square sweeps with --m and --n.
    #[arg(long, value_name = "SIZES", allow_hyphen_values = true)]
    pub k: Option<String>,
    #[command(flatten)]
    pub timing: TimingFlags,
    /// The first point warms up at least this long, so clocks settle [GPU 2.0, CPU 0.2].
    #[arg(long, value_name = "SECONDS")]
    pub settle_time: Option<f64>,
    /// Candidate algorithms timed and verified per shape where the library offers several
    /// (cuBLASLt); the fastest verified one is kept.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub algos: u32,
    /// Refuse sweeps of more points than this (dtypes × shapes).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_POINTS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_points: u64,
    /// Rows of the fastest points printed at the end (0 = all).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    /// Seed of the random inputs (point i uses seed + i).
    #[arg(long, default_value_t = 0x6770_7562, value_parser = crate::cli::flags::seed_flag)]
    pub seed: u64,
    /// Save the profile here instead of results/<device>_sweep_<dtypes>_<N>shapes_<date>.json.
    #[arg(long, short = 'o', value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Folder for automatically named profiles.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results_dir: PathBuf,
    /// Replace --out and export files if they exist.
    #[arg(long)]
    pub force: bool,
    /// Also write the results as CSV.
    #[arg(long, value_name = "PATH")]
    pub export_csv: Option<PathBuf>,
    /// Also write the results as a Markdown table.
    #[arg(long, value_name = "PATH")]
    pub export_markdown: Option<PathBuf>,
    /// Print the profile as JSON on stdout instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Print every column of the fastest points, however wide (they fit 100 columns otherwise).
    #[arg(long)]
    pub wide: bool,
}
