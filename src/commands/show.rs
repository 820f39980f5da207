//! `gpubench show FILE`: print a saved profile as the command that made it did (the run
//! table, or a sweep's summary), or as JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::output::format::{utc_stamp, wrap};
use crate::output::table::Width;
use crate::profile::Profile;

/// Flags of `gpubench show`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpubench show results/amd-epyc_fp32-fp64_n2048_20261124-004420.json
  gpubench show --wide results/amd-epyc_fp32-fp64_n2048_20261124-004420.json
  gpubench show --json results/amd-epyc_fp32-fp64_n2048_20261124-004420.json > copy.json")]
pub struct ShowArgs {
    /// A profile saved by `gpubench run` or `gpubench sweep`.
    pub file: PathBuf,
    /// Print the profile as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Print every column, however wide (tables fit 100 columns otherwise).
    #[arg(long)]
    pub wide: bool,
    /// Rows of the fastest points shown for a sweep (0 = all).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
}

/// Runs `gpubench show`.
pub fn execute(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let profile = Profile::load(&args.file)?;
    if args.json {
        println!("{}", profile.to_json());
    } else {
        let width = Width::from_wide(args.wide);
        let title = format!(
            "Profile {} (gpubench {}, {}, {})",
            args.file.display(),
            profile.tool.version,
            utc_stamp(&profile.created_utc),
            profile.kind
        );
        println!("{}", wrap(&title, width.columns(), "  "));
        if profile.kind == crate::profile::ProfileKind::Sweep {
            print!(
                "{}",
                crate::output::sweep::render(&profile, args.top, None, width)
            );
            if let Some(why) = profile.incomplete() {
                println!("Not complete ({why}): these are the points completed before the stop.");
            }
        } else {
            print!("{}", crate::output::results::render(&profile, width));
            for r in &profile.results {
                print!("{}", crate::output::sustained::render(r));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
