//! The flags of `gpubench estimate`: the workload, the throughput, the scale, energy and money
//! inputs, and an optional parallel layout.

use std::path::PathBuf;

use crate::cli::flags::{arg_mut, ModelFlags};
use crate::cli::values::{gpu_count, money, nonneg, num, positive, util, Quantity};
use crate::estimate::compute::Recompute;

/// Flags of `gpubench estimate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpubench estimate --model llama-65b --gpus 2048 --gpu a100-sxm-80gb --tokens-per-sec-per-gpu 380
  gpubench run -o gpu.json && gpubench estimate --model llama-7b --gpus 64 --profile gpu.json --price-per-gpu-hour 2.5
  gpubench estimate --params 100B --tokens 2T --days 10 --gpu h100-sxm
  gpubench estimate --gpu-hours 1e6 --gpu a100 --pue 1.1",
          mut_args(arg_mut("model", |a| a.help("A model preset (see 'gpubench models'): fills --params, --tokens and the architecture"))),
          mut_args(arg_mut("model_config", |a| a.help("A Hugging Face config.json: the parameter count and architecture are computed from it"))))]
pub struct EstimateArgs {
    #[command(flatten)]
    pub model: ModelFlags,
    /// Parameters N (65e9, 65B).
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = num("--params", Quantity::Params))]
    pub params: Option<f64>,
    /// Training tokens D (1.4T).
    #[arg(long, value_name = "D", allow_hyphen_values = true, value_parser = num("--tokens", Quantity::Tokens))]
    pub tokens: Option<f64>,
    /// Training compute C in model FLOPs (= 6ND), instead of --params or --tokens.
    #[arg(long, value_name = "C", allow_hyphen_values = true, value_parser = num("--flops", Quantity::Flops))]
    pub flops: Option<f64>,
    /// Activation recomputation: full runs the forward pass twice (8ND hardware FLOPs).
    #[arg(long, value_enum, default_value_t = Recompute::None)]
    pub recompute: Recompute,
    /// Sequence length T for PaLM's attention term [the model's context].
    #[arg(long, value_name = "T", visible_alias = "seq", allow_hyphen_values = true, value_parser = num("--seq-len", Quantity::SeqLen))]
    pub seq_len: Option<f64>,

    /// Number of GPUs.
    #[arg(long, value_name = "N", conflicts_with = "days", allow_hyphen_values = true, value_parser = gpu_count("--gpus"))]
    pub gpus: Option<u64>,
    /// A deadline in days: how many GPUs are needed.
    #[arg(long, value_name = "D", allow_hyphen_values = true, value_parser = num("--days", Quantity::Days))]
    pub days: Option<f64>,

    /// GPU from the table ('gpubench gpus'): spec-sheet peak, memory and TDP.
    #[arg(long, value_name = "NAME")]
    pub gpu: Option<String>,
    /// Training dtype whose peak is used [bf16, else fp16].
    #[arg(long, value_name = "DTYPE")]
    pub dtype: Option<String>,
    /// A measured profile (gpubench run/sweep): its best valid result for the dtype is the
    /// measured peak of the calibrated estimate. With a layout (--tp, ...) also a
    /// 'gpubench calibrate' file: the model's own measured rates.
    #[arg(long, value_name = "FILE", conflicts_with = "measured_tflops")]
    pub profile: Option<PathBuf>,
    /// A spec-sheet peak per GPU in TFLOPS, instead of the --gpu table's.
    #[arg(long, value_name = "TFLOPS", allow_hyphen_values = true, value_parser = num("--peak-tflops", Quantity::Tflops))]
    pub peak_tflops: Option<f64>,
    /// A measured GEMM throughput per GPU in TFLOPS from elsewhere, instead of --profile.
    #[arg(long, value_name = "TFLOPS", allow_hyphen_values = true, value_parser = num("--measured-tflops", Quantity::Tflops))]
    pub measured_tflops: Option<f64>,

    /// A 'gpubench calibrate' file: its predicted tokens/s for this model's own training step
    /// is the calibrated column (one GPU's compute and memory traffic, no communication).
    #[arg(long, value_name = "FILE",
          conflicts_with_all = ["profile", "measured_tflops", "gemm_utilization", "tokens_per_sec_per_gpu", "achieved_tflops", "gpu_hours"])]
    pub calibration: Option<PathBuf>,
    /// Observed tokens per second per GPU (gives the MFU it implies).
    #[arg(long, value_name = "R", allow_hyphen_values = true, value_parser = num("--tokens-per-sec-per-gpu", Quantity::TokensPerSec),
          conflicts_with_all = ["achieved_tflops", "gpu_hours", "mfu", "gemm_utilization"])]
    pub tokens_per_sec_per_gpu: Option<f64>,
    /// Achieved hardware TFLOPS per GPU (counting recomputation, as Megatron-LM reports).
    #[arg(long, value_name = "TFLOPS", allow_hyphen_values = true, value_parser = num("--achieved-tflops", Quantity::Tflops),
          conflicts_with_all = ["gpu_hours", "mfu", "gemm_utilization"])]
    pub achieved_tflops: Option<f64>,
    /// Total GPU-hours, to start from hours (energy, carbon, cost).
    #[arg(long, value_name = "H", allow_hyphen_values = true, value_parser = num("--gpu-hours", Quantity::GpuHours),
          conflicts_with_all = ["mfu", "gemm_utilization"])]
    pub gpu_hours: Option<f64>,
    /// Model FLOPs utilization relative to the SPEC-SHEET peak, 0–1 or % [0.476: LLaMA-65B on A100].
    #[arg(long, value_name = "U", allow_hyphen_values = true, value_parser = util("--mfu"))]
    pub mfu: Option<f64>,
    /// Model FLOPs relative to the MEASURED GEMM throughput (--profile or --measured-tflops),
    /// 0–1 or % [0.55: LLaMA-65B vs 271 TFLOPS measured on A100].
    #[arg(long, value_name = "G", allow_hyphen_values = true, value_parser = util("--gemm-utilization"))]
    pub gemm_utilization: Option<f64>,

    /// Unique tokens in the dataset (warns when training repeats it).
    #[arg(long, value_name = "D", allow_hyphen_values = true, value_parser = num("--dataset-tokens", Quantity::Tokens))]
    pub dataset_tokens: Option<f64>,

    /// Power per GPU in watts [the profile's measured mean, else the table's TDP].
    #[arg(long, value_name = "W", allow_hyphen_values = true, value_parser = num("--power-watts", Quantity::PowerWatts))]
    pub power_watts: Option<f64>,
    /// Data-centre power usage effectiveness [1.1, the LLaMA paper's].
    #[arg(long, value_name = "PUE", allow_hyphen_values = true, value_parser = positive("--pue"))]
    pub pue: Option<f64>,
    /// Grid carbon intensity in tCO2eq per MWh [0.385, US average].
    #[arg(long, value_name = "T", allow_hyphen_values = true, value_parser = positive("--carbon-intensity"))]
    pub carbon_intensity: Option<f64>,

    /// Renting: USD per GPU-hour.
    #[arg(long, value_name = "USD", allow_hyphen_values = true, value_parser = money("--price-per-gpu-hour"))]
    pub price_per_gpu_hour: Option<f64>,
    /// Buying: USD per GPU.
    #[arg(long, value_name = "USD", allow_hyphen_values = true, value_parser = money("--gpu-price"))]
    pub gpu_price: Option<f64>,
    /// Buying: other hardware as a fraction of the GPU cost [0.2].
    #[arg(long, value_name = "F", allow_hyphen_values = true, value_parser = nonneg("--other-hardware-fraction"))]
    pub other_hardware_fraction: Option<f64>,
    /// Buying: data centre as a fraction of the GPU cost [0.1].
    #[arg(long, value_name = "F", allow_hyphen_values = true, value_parser = nonneg("--datacenter-fraction"))]
    pub datacenter_fraction: Option<f64>,
    /// Buying: staff cost in USD [2,000,000].
    #[arg(long, value_name = "USD", allow_hyphen_values = true, value_parser = nonneg("--staff-cost"))]
    pub staff_cost: Option<f64>,

    /// A parallel layout (--tp, --pp, --dp, --global-batch, ...): its step time, see 'gpubench plan'.
    #[command(flatten)]
    pub layout: Box<super::plan::LayoutFlags>,

    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}
