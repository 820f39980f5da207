//! The flags of `gpubench plot`: the profile to draw and where the picture goes.

use std::path::PathBuf;

/// Flags of `gpubench plot`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpubench plot results/amd-epyc_fp32-fp64_n2048_20261124-004420.json -o run.svg
  gpubench sweep --n 1024:8192:1024 -o sweep.json && gpubench plot sweep.json   # TFLOPS against n")]
pub struct PlotArgs {
    /// A profile saved by `gpubench run` or `gpubench sweep`.
    pub profile: PathBuf,
    /// The SVG file to write [the profile's path with .svg].
    #[arg(long, short = 'o', value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}
