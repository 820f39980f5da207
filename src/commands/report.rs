//! `gpubench report DIR`: merge the rank files a job wrote (one per GPU) into one report:
//! a table per node, the flagged GPUs, missing ranks and stragglers, and the bad hosts.
//! Exit code 4 when anything is flagged or missing, so a script can act on it.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use crate::cluster::merge;
use crate::cluster::outliers::Rules;

/// Flags of `gpubench report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The folder the ranks wrote rank-NNNNN.json into (their --results-dir).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Flag a GPU below this fraction of the median TFLOPS of the same dtype and shape, over
    /// all ranks or over its node.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.9, value_parser = fraction)]
    pub threshold: f64,
    /// Flag a GPU below this efficiency against its spec-sheet peak (0.6 or 60%).
    #[arg(long, value_name = "FRACTION", value_parser = fraction)]
    pub min_efficiency: Option<f64>,
    /// A rank whose file was last saved this many seconds before the newest is a straggler.
    #[arg(long, value_name = "SECONDS", default_value_t = 900.0, value_parser = seconds)]
    pub stale_after: f64,
    /// Print the summary as JSON (bad_hosts, missing_ranks, flagged, stragglers, nodes).
    #[arg(long)]
    pub json: bool,
    /// Also write the merged report (the summary and every rank's profile) to this file.
    #[arg(long, short = 'o', value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Replace the --out file if it exists.
    #[arg(long, requires = "out")]
    pub force: bool,
}

fn fraction(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, scale) = match t.strip_suffix('%') {
        Some(p) => (p.trim(), 100.0),
        None => (t, 1.0),
    };
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() && v / scale > 0.0 && v / scale <= 1.0 => Ok(v / scale),
        _ => Err(format!(
            "'{s}': give a fraction above 0 and at most 1 (0.9) or a percentage (90%)"
        )),
    }
}

fn seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("'{s}': give a number of seconds, 0 or more")),
    }
}

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
        print!("{}", report.render());
        if let Some(p) = &out {
            println!("Merged report saved: {}", p.display());
        }
    }
    if report.anything_flagged() {
        return Ok(ExitCode::from(EXIT_FLAGGED));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_and_percentages() {
        assert_eq!(fraction("0.9"), Ok(0.9));
        assert_eq!(fraction("60%"), Ok(0.6));
        assert_eq!(fraction("1"), Ok(1.0));
        for bad in ["0", "1.5", "-0.1", "x", "150%", "NaN"] {
            assert!(fraction(bad).is_err(), "{bad}");
        }
    }
}
