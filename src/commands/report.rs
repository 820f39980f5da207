//! `gpubench report DIR`: merge the rank files a job wrote (one per GPU) into one report:
//! a table per node, the flagged GPUs, missing ranks and stragglers, and the bad hosts.
//! Exit code 4 when anything is flagged or missing, so a script can act on it.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::report::ReportArgs;
use crate::cluster::merge;
use crate::cluster::outliers::Rules;

/// Exit code when a GPU or rank is flagged.
pub const EXIT_FLAGGED: u8 = crate::error::EXIT_FLAGGED;

/// Runs `gpubench report`.
pub fn execute(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let out = match &args.out {
        Some(p) => Some(crate::profile::check_output_file("--out", p, args.force)?),
        None => None,
    };
    let loaded = merge::load_dir(&args.dir)?;
    let rules = Rules {
        threshold: args.threshold,
        min_efficiency: args.min_efficiency,
    };
    let report = merge::build(&args.dir, &loaded, rules, args.stale_after);
    let summary = report.to_json();
    if let Some(path) = &out {
        let merged = json!({
            "kind": "cluster_report",
            "tool": crate::profile::ToolInfo::current(),
            "created_utc": crate::profile::now_utc(),
            "summary": summary,
            "ranks": loaded.ranks.iter().map(|f| &f.profile).collect::<Vec<_>>(),
        });
        let text = serde_json::to_string_pretty(&merged)?;
        crate::profile::write_atomic(path, text.as_bytes(), args.force)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", crate::output::cluster::render(&report));
        if let Some(p) = &out {
            println!("Merged report saved: {}", p.display());
        }
    }
    if report.anything_flagged() {
        return Ok(ExitCode::from(EXIT_FLAGGED));
    }
    Ok(ExitCode::SUCCESS)
}
