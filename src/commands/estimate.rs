//! `gpubench estimate` (not yet written).

use std::process::ExitCode;

/// Flags of `gpubench estimate`.
#[derive(Debug, clap::Args)]
pub struct EstimateArgs {}

/// Runs `gpubench estimate`.
pub fn execute(_args: EstimateArgs) -> anyhow::Result<ExitCode> {
    Err(anyhow::anyhow!("gpubench estimate is not written yet"))
}
