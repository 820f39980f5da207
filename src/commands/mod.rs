//! One module per subcommand: its clap flags and the function that runs it.
//!
//! Commands turn flags into settings, call the library (measuring, estimating, exporting),
//! print, and return an exit code. They hold no formulas and no CUDA calls.

pub mod calibrate;
pub mod comm;
pub mod compare;
pub mod completions;
pub mod estimate;
pub mod gpus;
pub mod memory;
pub mod models;
pub mod node_all;
pub mod plan;
pub mod plot;
pub mod report;
pub mod run;
pub mod scale;
pub mod session;
pub mod show;
pub mod sweep;

/// Loads a profile a command reads, warning on standard error when it is not complete (a
/// run that was interrupted, or killed before it saved its last result).
pub fn load_profile(path: &std::path::Path) -> anyhow::Result<crate::profile::Profile> {
    let p = crate::profile::Profile::load(path)?;
    if let Some(why) = p.incomplete() {
        eprintln!("warning: {}: {why}", path.display());
    }
    Ok(p)
}
