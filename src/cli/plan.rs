//! The flags of `gpubench plan` and the parallel-layout flags `gpubench estimate` shares: the
//! model, the cluster, the layout and its links.

use std::path::PathBuf;

use crate::cli::flags::{arg_mut, ModelFlags};
use crate::cli::values::{gpu_count, positive, util};

/// Link figures that override the GPU table's server.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LinkFlags {
    /// GPUs per node [the GPU table's server, 8 for SXM parts].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub gpus_per_node: Option<u64>,
    /// Bandwidth within a node per GPU per direction, GB/s [the table's NVLink].
    #[arg(long, value_name = "GB/s", allow_hyphen_values = true, value_parser = positive("--intra-node-gbps"))]
    pub intra_node_gbps: Option<f64>,
    /// Network bandwidth per node per direction, GB/s [the table's InfiniBand ports].
    #[arg(long, value_name = "GB/s", allow_hyphen_values = true, value_parser = positive("--network-gbps-per-node"))]
    pub network_gbps_per_node: Option<f64>,
    /// NCCL bus bandwidth as a fraction of the link bandwidth, 0–1 or % [0.8].
    #[arg(long, value_name = "E", allow_hyphen_values = true, value_parser = util("--link-efficiency"))]
    pub link_efficiency: Option<f64>,
    /// Reduce gradients after the backward pass instead of overlapping with it (then in one
    /// bucket, as Megatron-LM does).
    #[arg(long)]
    pub no_dp_overlap: bool,
    /// Parameters per gradient bucket while overlapping, as Megatron-LM's --ddp-bucket-size
    /// [max(40M, 1M × data-parallel ranks)].
    #[arg(long, value_name = "PARAMS", value_parser = crate::cli::values::positive("--dp-bucket-size"))]
    pub dp_bucket_size: Option<f64>,
    /// Measured bus-bandwidth curves per scope, in place of the table's links ×
    /// --link-efficiency: a 'gpubench comm --save' file, or a 'gpubench comm --results-dir'
    /// folder (the median of its nodes). Repeat it to combine them (a node's and a job's
    /// across nodes); each scope from one of them.
    #[arg(long, value_name = "FILE|DIR", action = clap::ArgAction::Append)]
    pub comm_profile: Vec<PathBuf>,
}

impl LinkFlags {
    fn given(&self) -> bool {
        self.gpus_per_node.is_some()
            || self.intra_node_gbps.is_some()
            || self.network_gbps_per_node.is_some()
            || self.link_efficiency.is_some()
            || self.no_dp_overlap
            || self.dp_bucket_size.is_some()
            || !self.comm_profile.is_empty()
    }
}

/// The flags `gpubench estimate` takes for a parallel layout.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LayoutFlags {
    /// Tensor-parallel GPUs (divides the heads) [1].
    #[arg(long, value_name = "T")]
    pub tp: Option<u64>,
    /// Pipeline stages (divides the layers) [1].
    #[arg(long, value_name = "P")]
    pub pp: Option<u64>,
    /// Data-parallel replicas [--gpus / (tp × pp)].
    #[arg(long, value_name = "D")]
    pub dp: Option<u64>,
    /// Sequences per micro-batch [1].
    #[arg(long, value_name = "B")]
    pub micro_batch: Option<u64>,
    /// Sequences per step (all data-parallel replicas together).
    #[arg(long, value_name = "B")]
    pub global_batch: Option<u64>,
    /// Shard layer norms and dropout across the tensor-parallel GPUs (Korthikanti et al.).
    #[arg(long)]
    pub sequence_parallel: bool,
    /// Model chunks per GPU for the interleaved pipeline schedule [1].
    #[arg(long, value_name = "V")]
    pub virtual_stages: Option<u64>,
    /// ZeRO stage over the data-parallel GPUs: 0, 1, 2 or 3 [0].
    #[arg(long, value_name = "STAGE")]
    pub zero: Option<u8>,
    #[command(flatten)]
    pub links: LinkFlags,
}

impl LayoutFlags {
    /// Whether any layout flag was given (then `estimate` evaluates a layout).
    pub fn requested(&self) -> bool {
        self.tp.is_some()
            || self.pp.is_some()
            || self.dp.is_some()
            || self.micro_batch.is_some()
            || self.global_batch.is_some()
            || self.sequence_parallel
            || self.virtual_stages.is_some()
            || self.zero.is_some()
            || self.links.given()
    }
}

/// Flags of `gpubench plan`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpubench plan --model llama-2-70b --gpus 1024 --global-batch 1024 --seq 4096 --gpu h100-sxm
  gpubench plan --model gpt3-175b --gpus 64 --global-batch 64 --gpu a100 --top 5 --json",
          mut_args(arg_mut("model", |a| a.required_unless_present("model_config"))))]
pub struct PlanArgs {
    #[command(flatten)]
    pub model: ModelFlags,
    /// GPUs in the cluster.
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = gpu_count("--gpus"))]
    pub gpus: u64,
    /// Sequences per step.
    #[arg(long, value_name = "B")]
    pub global_batch: u64,
    /// Sequence length [the model's context].
    #[arg(long, value_name = "T", visible_alias = "seq-len")]
    pub seq: Option<u64>,
    /// GPU from the table ('gpubench gpus'): peak, memory, memory bandwidth and links.
    #[arg(long, value_name = "NAME")]
    pub gpu: Option<String>,
    /// Training dtype whose peak is used [bf16, else fp16].
    #[arg(long, value_name = "DTYPE")]
    pub dtype: Option<String>,
    /// A measured profile (its best GEMM throughput) or a 'gpubench calibrate' file (the
    /// model's own GEMM, attention and copy rates).
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Layouts to show [10].
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub top: u64,
    #[command(flatten)]
    pub links: LinkFlags,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Print every column of the ranked table, however wide (it fits 100 columns otherwise).
    #[arg(long)]
    pub wide: bool,
}
