//! `gpubench plot PROFILE -o out.svg`: draw a saved profile as SVG (TFLOPS against size with
//! the peak lines; throughput, clock and power over time for sustained runs).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::plot::PlotArgs;
use crate::error::usage;
use crate::export::{Exporter, SvgExporter};
use crate::profile::write_atomic;

/// Where the picture goes: `--out`, else the profile's path with `.svg`; only SVG.
pub fn output_path(profile: &Path, out: Option<&Path>, force: bool) -> anyhow::Result<PathBuf> {
    let path = match out {
        Some(p) => p.to_path_buf(),
        None => profile.with_extension("svg"),
    };
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase) {
        Some(e) if e == "svg" => {}
        Some(e) if e == "png" => {
            return Err(usage(format!(
                "{}: PNG is not built in (it would need system font libraries); write .svg and convert it, e.g. rsvg-convert -o out.png out.svg",
                path.display()
            )))
        }
        _ => {
            return Err(usage(format!(
                "{}: the picture is SVG; give a path ending in .svg",
                path.display()
            )))
        }
    }
    crate::profile::check_output_file("-o", &path, force)
}

/// Runs `gpubench plot`.
pub fn execute(args: PlotArgs) -> anyhow::Result<ExitCode> {
    let out = output_path(&args.profile, args.out.as_deref(), args.force)?;
    let profile = super::load_profile(&args.profile)?;
    if profile.results.is_empty() {
        return Err(usage(format!(
            "{}: the profile has no results to plot",
            args.profile.display()
        )));
    }
    let svg = SvgExporter.serialize(&profile)?;
    write_atomic(&out, &svg, args.force)?;
    println!(
        "Plot of {} result{} from {} written to {}",
        profile.results.len(),
        if profile.results.len() == 1 { "" } else { "s" },
        args.profile.display(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
