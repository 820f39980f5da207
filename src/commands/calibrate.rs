//! `gpubench calibrate` (not yet written).

use std::process::ExitCode;

/// Flags of `gpubench calibrate`.
#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {}

/// Runs `gpubench calibrate`.
pub fn execute(_args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    Err(anyhow::anyhow!("gpubench calibrate is not written yet"))
}
