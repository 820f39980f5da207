//! `gpubench plot` (not yet written).

use std::process::ExitCode;

/// Flags of `gpubench plot`.
#[derive(Debug, clap::Args)]
pub struct PlotArgs {}

/// Runs `gpubench plot`.
pub fn execute(_args: PlotArgs) -> anyhow::Result<ExitCode> {
    Err(anyhow::anyhow!("gpubench plot is not written yet"))
}
