//! `gpubench models` (not yet written).

use std::process::ExitCode;

/// Flags of `gpubench models`.
#[derive(Debug, clap::Args)]
pub struct ModelsArgs {}

/// Runs `gpubench models`.
pub fn execute(_args: ModelsArgs) -> anyhow::Result<ExitCode> {
    Err(anyhow::anyhow!("gpubench models is not written yet"))
}
