//! The flags of `gpubench calibrate`: the model, the step's shape and the timing per GEMM
//! shape.

use crate::backend::DeviceChoice;
use crate::cli::flags::{arg_mut, ModelFlags, TimingFlags};
use crate::dtype::DType;
use crate::estimate::compute::Recompute;

/// Flags of `gpubench calibrate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpubench calibrate --model llama-2-7b --dry-run      # the step's GEMMs, measuring nothing
  gpubench calibrate --model gpt2 --seq 256 -o gpt2-cal.json
  gpubench estimate --model gpt2 --tokens 3B --gpus 8 --calibration gpt2-cal.json
  gpubench calibrate --model llama-2-70b --tp 8 --seq 4096 -o cal.json   # one rank of a tp 8 layout
  gpubench estimate --model llama-2-70b --gpus 64 --tp 8 --global-batch 64 --profile cal.json",
          mut_args(arg_mut("model_config", |a| a.help("A Hugging Face config.json (LLaMA- or GPT-2-style keys)"))))]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub model: ModelFlags,
    /// Sequence length [2048, or the model's context when shorter].
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = crate::cli::flags::dim_flag)]
    pub seq: Option<u64>,
    /// Sequences per micro-batch on one GPU.
    #[arg(long, value_name = "N", default_value = "1", allow_hyphen_values = true,
          value_parser = crate::cli::flags::dim_flag)]
    pub micro_batch: u64,
    /// Tensor-parallel ranks: measure one rank's share of every layer, split as Megatron-LM
    /// splits them (for a layout with this --tp; communication is not timed).
    #[arg(long, value_name = "T", default_value = "1", allow_hyphen_values = true,
          value_parser = crate::cli::flags::dim_flag)]
    pub tp: u64,
    /// Training dtype of the GEMMs [GPU bf16; CPU fp32: the CPU runs fp32, fp16 and fp64].
    #[arg(long, value_name = "DTYPE")]
    pub dtype: Option<DType>,
    /// Activation recomputation: none, selective (attention core) or full (every layer).
    #[arg(long, value_name = "WHICH", default_value = "none", value_parser = parse_recompute)]
    pub recompute: Recompute,
    /// Separate Q/K/V and gate/up products (Hugging Face's modules) instead of fused ones.
    #[arg(long)]
    pub unfused: bool,
    /// Device: auto (a GPU when one loads, else the CPU), cpu, cuda, or cuda:N.
    #[arg(long, default_value = "auto", value_parser = crate::cli::flags::device_flag)]
    pub device: DeviceChoice,
    /// Timing per shape. calibrate's defaults are shorter than run's: warm-up 3 products and
    /// 0.2 s, timing 20 products and 0.3 s on a GPU (CPU: 1 / 0.02 s, 3 / 0.05 s).
    #[command(flatten)]
    pub timing: TimingFlags,
    /// Candidate cuBLASLt algorithms timed per shape; the fastest verified one is kept.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub algos: u32,
    /// Seed of the random inputs.
    #[arg(long, default_value_t = 0x6770_7562, value_parser = crate::cli::flags::seed_flag)]
    pub seed: u64,
    /// List the step's GEMMs, counts and FLOPs and the memory-bound bytes; measure nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the calibration (or, with --dry-run, the plan) as JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub save: crate::cli::flags::SaveFlags,
}

fn parse_recompute(s: &str) -> Result<Recompute, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "none" => Ok(Recompute::None),
        "selective" => Ok(Recompute::Selective),
        "full" => Ok(Recompute::Full),
        _ => Err(format!("'{s}': choose none, selective or full")),
    }
}
