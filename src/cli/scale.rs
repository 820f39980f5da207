//! The flags of `gpubench scale`: a model size or a compute budget, and the data and growth
//! assumptions.

use std::path::PathBuf;

use crate::cli::values::{num, Quantity};

/// Flags of `gpubench scale`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpubench scale --params 7B                 # 140B tokens, 560 GB at 4 bytes/token
  gpubench scale --compute 5.76e23           # Chinchilla vs Kaplan compute-optimal N and D
  gpubench scale --compute 1e23 --growth 10  # 3.16x / 3.16x vs 5.37x / 1.86x")]
pub struct ScaleArgs {
    /// Parameters (7B): tokens under the Chinchilla rule.
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = num("--params", Quantity::Params),
          conflicts_with_all = ["model", "model_config"])]
    pub params: Option<f64>,
    /// A model preset: its parameters (and its actual training tokens for comparison).
    #[arg(long, value_name = "NAME", conflicts_with = "model_config")]
    pub model: Option<String>,
    /// A Hugging Face config.json: its computed parameter count.
    #[arg(long, value_name = "FILE")]
    pub model_config: Option<PathBuf>,
    /// A compute budget in FLOPs (5.76e23): compute-optimal N and D under each law.
    #[arg(long, value_name = "C", allow_hyphen_values = true, value_parser = num("--compute", Quantity::Flops))]
    pub compute: Option<f64>,
    /// Bytes per token of tokenized data [4: int32 ids].
    #[arg(long, value_name = "B", allow_hyphen_values = true, value_parser = num("--bytes-per-token", Quantity::BytesPerToken))]
    pub bytes_per_token: Option<f64>,
    /// Show how N and D grow for this many times more compute [10].
    #[arg(long, value_name = "K", allow_hyphen_values = true, value_parser = num("--growth", Quantity::Growth))]
    pub growth: Option<f64>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}
