//! One module per subcommand: the function that runs it, from the flags [`crate::cli`]
//! parsed.
//!
//! Commands turn flags into settings, call the library (measuring, estimating, exporting),
//! print, and return an exit code. They hold no formulas and no CUDA calls.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, Command};

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

/// Runs the parsed command (each command's `execute` in `src/commands/`).
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(a) => run::execute(a),
        Command::Show(a) => show::execute(a),
        Command::Sweep(a) => sweep::execute(a),
        Command::Plot(a) => plot::execute(a),
        Command::Compare(a) => compare::execute(a),
        Command::Estimate(a) => estimate::execute(a),
        Command::Memory(a) => memory::execute(a),
        Command::Scale(a) => scale::execute(a),
        Command::Gpus(a) => gpus::execute(a),
        Command::Models(a) => models::execute(a),
        Command::Calibrate(a) => calibrate::execute(a),
        Command::Plan(a) => plan::execute(a),
        Command::Comm(a) => comm::execute(a),
        Command::Report(a) => report::execute(a),
        Command::Completions(a) => completions::execute(a, Cli::command()),
        Command::Man(a) => completions::execute_man(a, Cli::command()),
    }
}

/// Warnings on standard error, one line each (`warning: ...`, fitted to the terminal's
/// width), printed after the report so that they are the last thing on the screen.
pub fn print_warnings(warnings: &[crate::estimate::warnings::Warning]) {
    for w in warnings {
        eprintln!(
            "{}",
            crate::output::format::fit_line(
                &format!("warning: {w}"),
                crate::output::table::DEFAULT_WIDTH
            )
        );
    }
}

/// Loads a profile a command reads, warning on standard error when it is not complete (a
/// run that was interrupted, or killed before it saved its last result).
pub fn load_profile(path: &std::path::Path) -> anyhow::Result<crate::profile::Profile> {
    let p = crate::profile::Profile::load(path)?;
    if let Some(why) = p.incomplete() {
        eprintln!("warning: {}: {why}", path.display());
    }
    Ok(p)
}
