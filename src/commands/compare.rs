//! `gpubench compare A B`: two saved profiles side by side with ratios B / A, to see how two
//! GPUs, or one GPU on two days, differ.

use std::process::ExitCode;

use crate::cli::compare::CompareArgs;
use crate::profile::Profile;

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
