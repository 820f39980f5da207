//! The flags of `gpubench scale`: a model size or a compute budget, and the data and growth
//! assumptions.

use crate::cli::flags::{arg_mut, ModelFlags};
use crate::cli::values::{num, Quantity};

/// Flags of `gpubench scale`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpubench scale --params 7B                 # 140B tokens, 560 GB at 4 bytes/token
  gpubench scale --compute 5.76e23           # Chinchilla vs Kaplan compute-optimal N and D
  gpubench scale --compute 1e23 --growth 10  # 3.16x / 3.16x vs 5.37x / 1.86x",
          mut_args(arg_mut("model", |a| a.help("A model preset: its parameters (and its actual training tokens for comparison)"))),
          mut_args(arg_mut("model_config", |a| a.help("A Hugging Face config.json: its computed parameter count"))))]
pub struct ScaleArgs {
    /// Parameters (7B): tokens under the Chinchilla rule.
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = num("--params", Quantity::Params),
          conflicts_with_all = ["model", "model_config"])]
    pub params: Option<f64>,
    #[command(flatten)]
    pub model: ModelFlags,
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
