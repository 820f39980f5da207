//! `gpubench memory` (not yet written).

use std::process::ExitCode;

/// Flags of `gpubench memory`.
#[derive(Debug, clap::Args)]
pub struct MemoryArgs {}

/// Runs `gpubench memory`.
pub fn execute(_args: MemoryArgs) -> anyhow::Result<ExitCode> {
    Err(anyhow::anyhow!("gpubench memory is not written yet"))
}
