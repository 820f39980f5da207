//! `gpubench sweep` (not yet written).

use std::process::ExitCode;

/// Flags of `gpubench sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {}

/// Runs `gpubench sweep`.
pub fn execute(_args: SweepArgs) -> anyhow::Result<ExitCode> {
    Err(anyhow::anyhow!("gpubench sweep is not written yet"))
}
