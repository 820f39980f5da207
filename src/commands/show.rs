//! `gpubench show` (not yet written).

use std::process::ExitCode;

/// Flags of `gpubench show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {}

/// Runs `gpubench show`.
pub fn execute(_args: ShowArgs) -> anyhow::Result<ExitCode> {
    Err(anyhow::anyhow!("gpubench show is not written yet"))
}
