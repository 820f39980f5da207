//! `gpubench compare A B`: two saved profiles side by side with ratios B / A, to see how two
//! GPUs, or one GPU on two days, differ.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::profile::Profile;

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

/// Runs `gpubench compare`.
pub fn execute(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let a = Profile::load(&args.a)?;
    let b = Profile::load(&args.b)?;
    print!(
        "{}",
        crate::export::compare::render(
            &a,
            &args.a.display().to_string(),
            &b,
            &args.b.display().to_string()
        )
    );
    Ok(ExitCode::SUCCESS)
}
