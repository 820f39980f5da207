//! The flags of `gpubench show`: the profile to print and how.

use std::path::PathBuf;

/// Flags of `gpubench show`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpubench show results/amd-epyc_fp32-fp64_n2048_20261124-004420.json
  gpubench show --wide results/amd-epyc_fp32-fp64_n2048_20261124-004420.json
  gpubench show --json results/amd-epyc_fp32-fp64_n2048_20261124-004420.json > copy.json")]
pub struct ShowArgs {
    /// A profile saved by `gpubench run` or `gpubench sweep`.
    pub file: PathBuf,
    /// Print the profile as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Print every column, however wide (tables fit 100 columns otherwise).
    #[arg(long)]
    pub wide: bool,
    /// Rows of the fastest points shown for a sweep (0 = all).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
}
