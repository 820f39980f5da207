//! `gpubench compare` (not yet written).

use std::process::ExitCode;

/// Flags of `gpubench compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {}

/// Runs `gpubench compare`.
pub fn execute(_args: CompareArgs) -> anyhow::Result<ExitCode> {
    Err(anyhow::anyhow!("gpubench compare is not written yet"))
}
