//! `gpubench show FILE`: print a saved profile as the command that made it did (the run
//! table, or a sweep's summary), or as JSON.

use std::process::ExitCode;

use crate::cli::show::ShowArgs;
use crate::output::format::{utc_stamp, wrap};
use crate::output::table::Width;
use crate::profile::Profile;

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
