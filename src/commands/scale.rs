//! `gpubench scale` (not yet written).

use std::process::ExitCode;

/// Flags of `gpubench scale`.
#[derive(Debug, clap::Args)]
pub struct ScaleArgs {}

/// Runs `gpubench scale`.
pub fn execute(_args: ScaleArgs) -> anyhow::Result<ExitCode> {
    Err(anyhow::anyhow!("gpubench scale is not written yet"))
}
