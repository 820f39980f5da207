//! `gpubench show FILE`: read a saved profile again, printed as the run did (or as JSON).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::profile::Profile;

/// Flags of `gpubench show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// A profile saved by `gpubench run` or `gpubench sweep`.
    pub file: PathBuf,
    /// Print the profile as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `gpubench show`.
pub fn execute(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let profile = Profile::load(&args.file)?;
    if args.json {
        println!("{}", profile.to_json());
    } else {
        println!(
            "Profile {} (gpubench {}, {} UTC, {})",
            args.file.display(),
            profile.tool.version,
            profile.created_utc,
            profile.kind
        );
        print!("{}", crate::export::table::render(&profile));
        for r in &profile.results {
            print!("{}", crate::sustained::render(r));
        }
    }
    Ok(ExitCode::SUCCESS)
}
