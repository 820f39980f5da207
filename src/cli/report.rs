//! The flags of `gpubench report`: the rank files' folder and the thresholds that flag a GPU.

use std::path::PathBuf;

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
