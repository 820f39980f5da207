//! `gpubench run` (not yet written).

use std::process::ExitCode;

/// Flags of `gpubench run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {}

/// Runs `gpubench run`.
pub fn execute(_args: RunArgs) -> anyhow::Result<ExitCode> {
    Err(anyhow::anyhow!("gpubench run is not written yet"))
}
