//! `gpubench gpus` (not yet written).

use std::process::ExitCode;

/// Flags of `gpubench gpus`.
#[derive(Debug, clap::Args)]
pub struct GpusArgs {}

/// Runs `gpubench gpus`.
pub fn execute(_args: GpusArgs) -> anyhow::Result<ExitCode> {
    Err(anyhow::anyhow!("gpubench gpus is not written yet"))
}
