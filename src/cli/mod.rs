//! The command line, clap only: the top-level parser and its subcommands, each subcommand's
//! flags, the flag groups and value parsers they share ([`flags`], [`values`]), and every
//! parse error in gpubench's one-line, exit-code-2 form, in one place.
//!
//! Each subcommand's flags are a clap `Args` struct in `src/cli/<name>.rs`; the code that
//! runs it is `src/commands/<name>.rs`, reached through [`crate::commands::dispatch`]. This
//! module imports the library (for value parsers and value types) but never `commands`.
//!
//! The flags' doc comments are their `--help` text, written for a terminal: `[1]` there is a
//! default, `<host>` a placeholder, not rustdoc links or HTML.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

pub mod calibrate;
pub mod comm;
pub mod compare;
pub mod completions;
pub mod estimate;
pub mod flags;
pub mod gpus;
pub mod memory;
pub mod models;
pub mod plan;
pub mod plot;
pub mod report;
pub mod run;
pub mod scale;
pub mod show;
pub mod sweep;
pub mod values;

/// gpubench: measure the GEMM throughput a GPU really delivers, and plan LLM training with it.
#[derive(Debug, Parser)]
#[command(name = "gpubench", version, about, long_about = None, propagate_version = true,
          after_help = "Examples:
  gpubench run                              # measure the GPU (or the CPU when none loads)
  gpubench sweep --n 1024:8192:1024         # throughput against size
  gpubench estimate --model llama-7b --gpus 64 --gpu h100-sxm
  gpubench completions bash                 # shell completions; 'gpubench man' for a man page

Run 'gpubench COMMAND --help' for each command's flags and examples.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure GEMM throughput (TFLOPS) on a GPU or the CPU and save a profile.
    Run(run::RunArgs),
    /// Print a saved profile as the run did.
    Show(show::ShowArgs),
    /// Measure many shapes (ranges of n, or of m/n/k) and report the best.
    Sweep(sweep::SweepArgs),
    /// Draw a profile as SVG: TFLOPS against size, telemetry over time.
    Plot(plot::PlotArgs),
    /// Print two profiles side by side with ratios.
    Compare(compare::CompareArgs),
    /// Training time, GPU count, cost, energy and carbon for an LLM run.
    Estimate(estimate::EstimateArgs),
    /// Training memory: weights, gradients, optimizer states, activations, ZeRO sharding.
    Memory(memory::MemoryArgs),
    /// Chinchilla and Kaplan scaling: tokens for a model, compute-optimal N and D.
    Scale(scale::ScaleArgs),
    /// List the GPU presets (spec-sheet peaks, memory, TDP) with sources.
    Gpus(gpus::GpusArgs),
    /// List the model presets with sources.
    Models(models::ModelsArgs),
    /// Predict a model's training step from its own GEMM shapes measured on this device.
    Calibrate(calibrate::CalibrateArgs),
    /// Rank every parallel layout (TP, PP, DP, ZeRO, recomputation) of a model on a cluster.
    Plan(plan::PlanArgs),
    /// NCCL collectives between this machine's GPUs (busbw, nccl-tests style); saves a comm profile.
    Comm(comm::CommArgs),
    /// Merge the rank files of a cluster job; flag slow or failing GPUs, missing ranks (exit 4).
    Report(report::ReportArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff) on standard output.
    #[command(hide = true)]
    Man(completions::ManArgs),
}

/// Parses `std::env::args`. On a parse error prints one line naming the problem and the
/// fix and returns exit code 2; `--help` and `--version` print and return 0.
pub fn parse() -> Result<Cli, ExitCode> {
    parse_from(std::env::args_os())
}

/// [`parse`] over given arguments (for tests).
pub fn parse_from<I, T>(args: I) -> Result<Cli, ExitCode>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::FromArgMatches;
    let parsed = allow_negative_numbers(Cli::command())
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m));
    match parsed {
        Ok(cli) => Ok(cli),
        Err(e) => {
            use clap::error::ErrorKind;
            match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    Err(
                        if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                            ExitCode::from(crate::error::EXIT_USAGE)
                        } else {
                            ExitCode::SUCCESS
                        },
                    )
                }
                _ => {
                    eprintln!("{}", one_line_clap_error(&e));
                    Err(ExitCode::from(crate::error::EXIT_USAGE))
                }
            }
        }
    }
}

/// Lets every flag that takes a value receive a negative number (`--min-time -1`), so its own
/// parser says what it expects instead of clap reporting an unknown argument `-1`.
fn allow_negative_numbers(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|a| {
        if a.get_action().takes_values() && !a.is_positional() {
            a.allow_negative_numbers(true)
        } else {
            a
        }
    })
    .mut_subcommands(allow_negative_numbers)
}

/// clap renders errors over several lines ("error: ...", usage, "For more information");
/// gpubench prints one: the problem (with the missing arguments named), then where to look
/// for the fix.
fn one_line_clap_error(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let first = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments")
        .trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let mut line = format!("Error: {first}");
    if e.kind() == clap::error::ErrorKind::MissingRequiredArgument {
        if let Some(clap::error::ContextValue::Strings(names)) =
            e.get(clap::error::ContextKind::InvalidArg)
        {
            line = format!("{}: {}", line.trim_end_matches(':'), names.join(", "));
        }
    }
    if !line.contains("--help") {
        line.push_str(" (see 'gpubench --help')");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
