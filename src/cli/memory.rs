//! The flags of `gpubench memory`: the model, precision, optimizer, ZeRO sharding, activations
//! and the device's memory.

use std::path::PathBuf;

use crate::cli::flags::{arg_mut, ModelFlags};
use crate::cli::values::{gpu_count, nonneg, num, whole, Quantity};
use crate::estimate::compute::Recompute;
use crate::estimate::defaults::DEFAULT_CUDA_CONTEXT_GB;
use crate::estimate::memory::{Optimizer, Precision};

/// Flags of `gpubench memory`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpubench memory --params 6B --precision fp32 --optimizer adamw      # the source's 97 GB
  gpubench memory --model llama-2-7b --gpus 8 --zero 3 --recompute selective --gpu h100-sxm
  gpubench memory --model llama-2-70b --gpus 64 --zero 3 --gpu h100-sxm --recompute full",
          mut_args(arg_mut("model", |a| a.help("A model preset ('gpubench models'): parameters and architecture (for activations)"))))]
pub struct MemoryArgs {
    #[command(flatten)]
    pub model: ModelFlags,
    /// Parameters (6B, 6e9); overrides the model's.
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = num("--params", Quantity::Params))]
    pub params: Option<f64>,
    /// Training precision: fp32, or bf16/fp16 mixed precision (fp32 master weights).
    #[arg(long, value_enum, default_value_t = Precision::Bf16)]
    pub precision: Precision,
    /// Optimizer (bytes of state per parameter: adamw/adam 8, sgd-momentum 4, adam-8bit 2, sgd 0).
    #[arg(long, value_enum, default_value_t = Optimizer::Adamw)]
    pub optimizer: Optimizer,
    /// CUDA context and library workspace per GPU, GB.
    #[arg(long, value_name = "GB", allow_hyphen_values = true, default_value_t = DEFAULT_CUDA_CONTEXT_GB, value_parser = nonneg("--cuda-context-gb"))]
    pub cuda_context_gb: f64,
    /// Data-parallel GPUs that ZeRO shards across.
    #[arg(long, value_name = "N", allow_hyphen_values = true, default_value = "1", value_parser = gpu_count("--gpus"))]
    pub gpus: u64,
    /// ZeRO stage: 0 none, 1 optimizer states, 2 + gradients, 3 + weights.
    #[arg(long, value_name = "STAGE", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub zero: u8,
    /// Activation recomputation (Korthikanti et al. 2022).
    #[arg(long, value_enum, default_value_t = Recompute::None)]
    pub recompute: Recompute,
    /// Sequence length for activations [the model's context].
    #[arg(long, value_name = "T", allow_hyphen_values = true, value_parser = num("--seq-len", Quantity::SeqLen))]
    pub seq_len: Option<f64>,
    /// Sequences per GPU per step, for activations [1].
    #[arg(long, value_name = "B", allow_hyphen_values = true, value_parser = num("--micro-batch", Quantity::MicroBatch))]
    pub micro_batch: Option<f64>,
    /// Layers (for activations without --model).
    #[arg(long, value_name = "L", allow_hyphen_values = true, value_parser = whole("--layers", Quantity::Layers))]
    pub layers: Option<u64>,
    /// Hidden size (for activations without --model).
    #[arg(long, value_name = "H", allow_hyphen_values = true, value_parser = whole("--hidden", Quantity::Hidden))]
    pub hidden: Option<u64>,
    /// Attention heads (for activations without --model).
    #[arg(long, value_name = "A", allow_hyphen_values = true, value_parser = whole("--heads", Quantity::Heads))]
    pub heads: Option<u64>,
    /// GPU from the table: its memory decides whether it fits.
    #[arg(long, value_name = "NAME")]
    pub gpu: Option<String>,
    /// A measured profile: its device's memory decides whether it fits.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Memory per GPU in GB, instead of --gpu or --profile.
    #[arg(long, value_name = "GB", allow_hyphen_values = true, value_parser = num("--device-memory-gb", Quantity::MemoryGb))]
    pub device_memory_gb: Option<f64>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}
