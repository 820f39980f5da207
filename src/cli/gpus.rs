//! The flags of `gpubench gpus`: one GPU preset or all of them.

/// Flags of `gpubench gpus`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpubench gpus                 # every preset, peaks in TFLOPS
  gpubench gpus --wide          # with the aliases
  gpubench gpus h100            # one GPU (key or alias) with its sources
  gpubench gpus --json > gpus.json")]
pub struct GpusArgs {
    /// Show one GPU (key or alias) with its source.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Print the table as JSON.
    #[arg(long)]
    pub json: bool,
    /// Print every column, however wide (the table fits 100 columns otherwise).
    #[arg(long)]
    pub wide: bool,
}
