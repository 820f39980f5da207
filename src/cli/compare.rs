//! The flags of `gpubench compare`: the two profiles to set side by side.

use std::path::PathBuf;

/// Flags of `gpubench compare`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpubench run --device cpu -o cpu.json && gpubench run -o gpu.json
  gpubench compare cpu.json gpu.json        # B / A for every dtype and shape both measured")]
pub struct CompareArgs {
    /// The first profile (A).
    pub a: PathBuf,
    /// The second profile (B); ratios are B / A.
    pub b: PathBuf,
}
