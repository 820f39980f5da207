//! The flags of `gpubench models`: one model preset, a config file, or every preset.

use std::path::PathBuf;

/// Flags of `gpubench models`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpubench models                # every preset
  gpubench models --wide         # with every column (context, MLP kind)
  gpubench models llama-2-7b     # its parameters part by part, with the source
  gpubench models --json > models.json")]
pub struct ModelsArgs {
    /// Show one preset (name or alias) part by part.
    #[arg(value_name = "NAME", conflicts_with = "model_config")]
    pub name: Option<String>,
    /// Show the parameter count of a Hugging Face config.json part by part.
    #[arg(long, value_name = "FILE")]
    pub model_config: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Print every column, however wide (the table fits 100 columns otherwise).
    #[arg(long)]
    pub wide: bool,
}
