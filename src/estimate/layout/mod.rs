//! Training time of a real parallel layout (tensor, pipeline and data parallelism, ZeRO,
//! sequence parallelism, recomputation), because a cluster's step time is its compute plus
//! the communication and idle time the layout adds, not its GEMM throughput alone.
//!
//! A step of `B` sequences on `t·p·d` GPUs runs `m = B/(b·d)` micro-batches of `b` through `p`
//! stages of `L/p` layers, each sharded over `t` ranks. One GPU's step time is
//! - compute: the stage's FLOPs per micro-batch ([`compute`]) at the compute rate, × `m`;
//! - tensor-parallel communication: 2 all-reduces forward and 2 backward per layer of
//!   `b·s·h` 16-bit elements (2 more with full recomputation), or the same bytes as
//!   all-gather + reduce-scatter with sequence parallelism ([`comm`]), × `m`;
//! - pipeline bubble `(p−1)/(v·m)` of the two above, and the activations sent between
//!   stages ([`pipeline`]);
//! - data-parallel gradient reduction (all-reduce, or reduce-scatter + all-gather with ZeRO;
//!   ZeRO-3 adds parameter all-gathers forward and backward per micro-batch), exposed in
//!   full or overlapped with the backward pass;
//! - the optimizer step over the parameters the GPU updates, at the memory bandwidth.
//!
//! The compute time is one efficiency model for every case: the linear layers' FLOPs at the
//! dense spec peak × [`GEMM_EFFICIENCY`] (what cuBLAS reaches on large GEMMs; with a measured
//! profile, its measured GEMM throughput instead) × [`LAYER_EFFICIENCY`], the attention core
//! at [`ATTENTION_EFFICIENCY`] of that rate, and the memory-bound passes (norms, softmax,
//! activation, residual, loss) at the datasheet memory bandwidth × [`MEMORY_EFFICIENCY`]. Sources and the published runs this is checked against:
//! docs/sources.md §13 and docs/estimating.md, "Parallel layouts".

use serde::Serialize;

use crate::dtype::DType;
use crate::error::usage;
use crate::estimate::compute::Recompute;
use crate::model::ModelConfig;

pub mod comm;
pub mod comm_profile;
pub mod compute;
pub mod hardware;
pub mod memory;
pub mod pipeline;
pub mod rates;
pub mod search;
pub mod training;

use comm::{Link, Links, Scope};

/// Fraction of the dense spec peak cuBLAS reaches on large bf16 GEMMs: 271 of 312 TFLOPS
/// measured on A100 SXM (docs/sources.md §12).
pub const GEMM_EFFICIENCY: f64 = 271.0 / 312.0;

/// What the terms modelled here (large GEMMs, the attention core, the memory-bound passes,
/// communication, the bubble and the optimizer step) leave out: kernel launch gaps, data
/// loading, imperfect overlap. One constant for every layout, chosen against Megatron-LM 2021
/// Table 1 and Korthikanti et al. 2022 Table 5 together (the value that keeps the most of
/// their 18 figures within ±10 %), then held fixed for MT-NLG and every other layout
/// (docs/estimating.md, "Parallel layouts").
pub const LAYER_EFFICIENCY: f64 = 0.745;

/// Fraction of the datasheet memory bandwidth a memory-bound kernel is taken to reach. An
/// assumption (docs/sources.md §13); a calibration file's measured copy bandwidth replaces it.
pub const MEMORY_EFFICIENCY: f64 = 0.85;

/// Rate of the attention core's batched GEMMs (`Q·Kᵀ`, `P·V`, inner dimension the head size)
/// relative to the large projections' GEMMs: batched products with an inner dimension of
/// 64–128, unfused as in the Megatron-LM runs checked here, are taken to reach half the
/// large GEMMs' throughput. An assumption, not a measurement: `gpubench calibrate` measures
/// these shapes on a device (docs/calibrating.md).
pub const ATTENTION_EFFICIENCY: f64 = 0.5;

/// Bytes of one activation or gradient element on the wire (bf16/fp16 training).
pub const ELEM_BYTES: f64 = 2.0;

/// How the model is split and batched.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Layout {
    pub tp: u64,
    pub pp: u64,
    pub dp: u64,
    /// Sequences per micro-batch.
    pub micro_batch: u64,
    /// Sequences per step.
    pub global_batch: u64,
    pub seq: u64,
    pub sequence_parallel: bool,
    /// Model chunks per GPU (interleaved schedule); 1 = plain 1F1B.
    pub virtual_stages: u64,
    pub zero: u8,
    pub recompute: Recompute,
    /// Gradient reduction overlapped with the backward pass.
    pub dp_overlap: bool,
    /// Parameters per gradient bucket (Megatron-LM's `--ddp-bucket-size`); `None`: its default
    /// ([`default_dp_bucket`]) when overlapped, one bucket when not.
    pub dp_bucket: Option<f64>,
}

/// Megatron-core's default gradient bucket when the reduction overlaps the backward pass:
/// `max(40M, 1M × d)` parameters, so that a larger data-parallel group, whose collectives
/// take longer to start, gets larger messages (docs/sources.md §13).
pub fn default_dp_bucket(dp: u64) -> f64 {
    (1e6 * dp as f64).max(40e6)
}

/// Time of a collective over `total` bytes sent as messages of at most `bucket` bytes, one
/// after another: each full bucket at `time(bucket)`, the rest at `time(rest)`. A curve that
/// is lower for small messages, and the latency every call pays, make small buckets cost.
pub fn bucketed(total: f64, bucket: f64, time: impl Fn(f64) -> f64) -> f64 {
    if total <= 0.0 {
        return 0.0;
    }
    if bucket.is_nan() || bucket <= 0.0 || bucket >= total {
        return time(total);
    }
    let full = (total / bucket).floor();
    let rest = total - full * bucket;
    full * time(bucket) + if rest > 0.0 { time(rest) } else { 0.0 }
}

impl Layout {
    /// Parameters per gradient bucket when the reduction overlaps the backward pass: the given
    /// size, else Megatron-core's default; `None` without overlap (one bucket).
    pub fn bucket_size(&self) -> Option<f64> {
        self.dp_overlap
            .then(|| self.dp_bucket.unwrap_or_else(|| default_dp_bucket(self.dp)))
    }

    /// Parameters per gradient bucket for `params` gradients: [`Self::bucket_size`], or all of
    /// them in one.
    pub fn dp_bucket_params(&self, params: f64) -> f64 {
        self.bucket_size().map_or(params, |b| b.min(params))
    }

    /// GPUs the layout uses: `t·p·d`.
    pub fn gpus(&self) -> u64 {
        self.tp * self.pp * self.dp
    }

    /// Micro-batches per step per pipeline: `B / (b·d)`.
    pub fn micro_batches(&self) -> u64 {
        self.global_batch / (self.micro_batch * self.dp).max(1)
    }

    /// Checks the layout against the model; each error names the problem and the fix.
    pub fn validate(&self, m: &ModelConfig) -> anyhow::Result<()> {
        for (flag, v) in [
            ("--tp", self.tp),
            ("--pp", self.pp),
            ("--dp", self.dp),
            ("--micro-batch", self.micro_batch),
            ("--global-batch", self.global_batch),
            ("--seq", self.seq),
            ("--virtual-stages", self.virtual_stages),
        ] {
            if v == 0 {
                return Err(usage(format!("{flag} must be a positive whole number")));
            }
        }
        check_split(m, self.tp, self.pp)?;
        if self.virtual_stages > 1 {
            if self.pp < 2 {
                return Err(usage(
                    "--virtual-stages needs pipeline parallelism: give --pp 2 or more",
                ));
            }
            if !m.layers.is_multiple_of(self.pp * self.virtual_stages) {
                let per_stage = m.layers / self.pp;
                let fits: Vec<String> = (2..=per_stage)
                    .filter(|v| per_stage.is_multiple_of(*v))
                    .map(|v| v.to_string())
                    .collect();
                let fix = if fits.is_empty() {
                    format!("each stage has {per_stage} layer(s): leave --virtual-stages out")
                } else {
                    format!(
                        "use one that divides the {per_stage} layers of a stage: {}",
                        fits.join(", ")
                    )
                };
                return Err(usage(format!(
                    "--pp {} × --virtual-stages {} does not divide {}'s {} layers; {fix}",
                    self.pp, self.virtual_stages, m.name, m.layers
                )));
            }
        }
        if self.dp_bucket.is_some_and(|b| b.is_nan() || b < 1.0) {
            return Err(usage(
                "--dp-bucket-size must be a positive number of parameters, such as 40M",
            ));
        }
        if self.dp_bucket.is_some() && !self.dp_overlap {
            return Err(usage(
                "--dp-bucket-size sizes the buckets of a reduction that overlaps the backward pass; leave out --no-dp-overlap (without overlap the gradients go in one bucket)",
            ));
        }
        if self.zero > 3 {
            return Err(usage(format!(
                "--zero {} is not a ZeRO stage; use 0, 1, 2 or 3",
                self.zero
            )));
        }
        if self.sequence_parallel && self.tp < 2 {
            return Err(usage(
                "--sequence-parallel shards activations across tensor-parallel ranks: give --tp 2 or more",
            ));
        }
        let per_step = self.micro_batch * self.dp;
        if !self.global_batch.is_multiple_of(per_step) {
            return Err(usage(format!(
                "--global-batch {} is not a multiple of --micro-batch {} × {} data-parallel ranks ({per_step}); use a multiple of {per_step}",
                self.global_batch, self.micro_batch, self.dp
            )));
        }
        if self.virtual_stages > 1 && !self.micro_batches().is_multiple_of(self.pp) {
            return Err(usage(format!(
                "the interleaved schedule needs the {} micro-batches per step to be a multiple of --pp {}; make --global-batch a multiple of {}, or leave --virtual-stages out",
                self.micro_batches(),
                self.pp,
                per_step * self.pp
            )));
        }
        Ok(())
    }
}

/// Checks that `tp` divides the heads and `pp` the layers; each error names the fix.
pub fn check_split(m: &ModelConfig, tp: u64, pp: u64) -> anyhow::Result<()> {
    for (flag, v) in [("--tp", tp), ("--pp", pp)] {
        if v == 0 {
            return Err(usage(format!("{flag} must be a positive whole number")));
        }
    }
    if !m.heads.is_multiple_of(tp) {
        return Err(usage(format!(
            "--tp {tp} does not divide {}'s {} attention heads; use a divisor of {}",
            m.name, m.heads, m.heads
        )));
    }
    if !m.layers.is_multiple_of(pp) {
        return Err(usage(format!(
            "--pp {pp} does not divide {}'s {} layers; use a divisor of {}",
            m.name, m.layers, m.layers
        )));
    }
    Ok(())
}

/// Data-parallel degree from a GPU count: `gpus / (t·p)`, refusing a count it does not divide.
pub fn derive_dp(gpus: u64, tp: u64, pp: u64) -> anyhow::Result<u64> {
    let tp_pp = tp * pp;
    if tp_pp == 0 || gpus == 0 || !gpus.is_multiple_of(tp_pp) {
        return Err(usage(format!(
            "--gpus {gpus} is not divisible by --tp {tp} × --pp {pp} = {tp_pp}; use a multiple of {tp_pp}"
        )));
    }
    Ok(gpus / tp_pp)
}

/// What the GPUs and their links deliver.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hardware {
    /// Dense spec peak per GPU, TFLOPS (MFU's and HFU's denominator).
    pub peak_tflops: f64,
    /// Rate the linear layers' FLOPs run at per GPU, TFLOPS.
    pub compute_tflops: f64,
    /// Rate the attention core's batched products run at per GPU, TFLOPS.
    pub attention_tflops: f64,
    /// How the compute rate was obtained.
    pub compute_note: String,
    /// Memory bandwidth the memory-bound passes run at per GPU, GB/s.
    pub memory_gbps: f64,
    pub gpus_per_node: u64,
    /// A bandwidth curve per scope: within a node (NVLink) and between nodes, per GPU (the
    /// node's network divided among its GPUs).
    pub links: Links,
    /// Memory per GPU, bytes.
    pub memory_bytes: f64,
    /// CUDA context and workspaces per GPU, bytes.
    pub cuda_context_bytes: f64,
}

/// One step's time by part, seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StepBreakdown {
    pub compute: f64,
    pub tp_comm: f64,
    pub pp_bubble: f64,
    pub pp_p2p: f64,
    pub dp_comm_exposed: f64,
    pub dp_comm_total: f64,
    /// The optimizer step: memory-bound, once per step.
    pub optimizer: f64,
}

/// A layout evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub layout: Layout,
    pub micro_batches: u64,
    pub step_time_s: f64,
    pub breakdown: StepBreakdown,
    /// Model FLOPs of one step (forward and backward, attention included).
    pub model_flops_per_step: f64,
    /// FLOPs the hardware executes in one step (recomputation included).
    pub hardware_flops_per_step: f64,
    pub tokens_per_step: f64,
    pub tokens_per_sec_per_gpu: f64,
    pub mfu: f64,
    pub hfu: f64,
    /// Hardware TFLOPS per GPU (what Megatron-LM reports).
    pub achieved_tflops: f64,
    pub memory: memory::GpuMemory,
    pub fits: bool,
}

/// Parameters on the busiest GPU: a stage's layers plus the embedding (first stage) or the LM
/// head (last stage), divided by `t`.
pub fn params_per_gpu(m: &ModelConfig, tp: u64, pp: u64) -> f64 {
    let b = m.param_breakdown();
    let stage = layer_params(&b, m.layers) * (m.layers / pp.max(1)) as f64;
    let (first, last) = if pp <= 1 {
        (stage + b.embedding + b.positions + b.lm_head, 0.0)
    } else {
        // An untied head sits on the last stage; a tied one is kept on both ends.
        let head = if m.tie_word_embeddings {
            b.embedding
        } else {
            b.lm_head
        };
        (stage + b.embedding + b.positions, stage + head)
    };
    first.max(last) / tp.max(1) as f64
}

/// Parameters of the largest unit ZeRO-3 gathers whole on one GPU: a layer, or the
/// embedding (the LM head where it is untied), divided by `t`.
pub fn largest_unit_params(m: &ModelConfig, tp: u64) -> f64 {
    let b = m.param_breakdown();
    layer_params(&b, m.layers).max(b.embedding).max(b.lm_head) / tp.max(1) as f64
}

/// Parameters of one transformer layer (the final norm shared out over the layers).
fn layer_params(b: &crate::model::ParamBreakdown, layers: u64) -> f64 {
    b.non_embedding() / layers as f64
}

/// How a group of `size` ranks with `stride` ranks between members (tensor parallel
/// fastest, then data parallel, then pipeline) reaches its members: `None` within one node,
/// else how many of the node's network shares the group uses (its members per node).
fn network_shares(hw: &Hardware, size: u64, stride: u64) -> Option<f64> {
    if size.saturating_mul(stride) <= hw.gpus_per_node {
        return None;
    }
    Some((hw.gpus_per_node / stride.max(1)).clamp(1, size) as f64)
}

/// The inter-node link with `shares` GPUs' worth of the network.
fn scaled(link: &Link, shares: f64) -> Link {
    let mut l = link.clone();
    for pt in &mut l.curve.points {
        pt.1 *= shares;
    }
    l
}

/// All-reduce (or, with `split`, reduce-scatter + all-gather) of `bytes` over a group.
fn group_reduce(hw: &Hardware, bytes: f64, size: u64, stride: u64, split: bool) -> f64 {
    match network_shares(hw, size, stride) {
        None if split => {
            comm::reduce_scatter_s(bytes, size, hw.links.get(Scope::IntraReduceScatter))
                + comm::all_gather_s(bytes, size, hw.links.get(Scope::IntraAllGather))
        }
        None => comm::all_reduce_s(bytes, size, hw.links.get(Scope::IntraAllReduce)),
        Some(k) => {
            let l = scaled(hw.links.get(Scope::InterNode), k);
            if split {
                comm::reduce_scatter_s(bytes, size, &l) + comm::all_gather_s(bytes, size, &l)
            } else {
                comm::all_reduce_s(bytes, size, &l)
            }
        }
    }
}

/// One all-gather (or reduce-scatter: the same bytes) of `bytes` over a group.
fn group_gather(hw: &Hardware, bytes: f64, size: u64, stride: u64) -> f64 {
    match network_shares(hw, size, stride) {
        None => comm::all_gather_s(bytes, size, hw.links.get(Scope::IntraAllGather)),
        Some(k) => comm::all_gather_s(bytes, size, &scaled(hw.links.get(Scope::InterNode), k)),
    }
}

/// Evaluates a validated layout.
pub fn evaluate(m: &ModelConfig, lay: &Layout, hw: &Hardware) -> Evaluation {
    let (t, p, d, v) = (lay.tp, lay.pp, lay.dp, lay.virtual_stages.max(1));
    let (b, s) = (lay.micro_batch as f64, lay.seq as f64);
    let mb = lay.micro_batches();
    let mbf = mb as f64;
    let rate = hw.compute_tflops * 1e12;
    let layers = m.layers as f64;
    let stage_layers = layers / p as f64;

    // Compute: the LM head is spread evenly over the stages (in practice the last is heavier).
    let lf = compute::layer_flops(m, b, s, t as f64);
    let lm = compute::lm_head_flops(m, b, s, t as f64);
    let stage_dense = stage_layers * lf.hardware_dense(lay.recompute) + lm / p as f64;
    let stage_attn = stage_layers * lf.hardware_attention(lay.recompute);
    let stage_hw = stage_dense + stage_attn;
    let stage_bytes = stage_layers
        * compute::layer_memory_bytes(m, b, s, t as f64, lay.sequence_parallel, lay.recompute)
        + compute::loss_memory_bytes(m, b, s, t as f64) / p as f64;
    let mem_bw = hw.memory_gbps * 1e9;
    let attn_rate = hw.attention_tflops * 1e12;
    let compute_s = mbf * (stage_dense / rate + stage_attn / attn_rate + stage_bytes / mem_bw);

    // Tensor parallelism: 4 collectives per layer and micro-batch, 6 with full recomputation.
    let tp_bytes = b * s * m.hidden as f64 * ELEM_BYTES;
    let per_collective = group_reduce(hw, tp_bytes, t, 1, lay.sequence_parallel);
    let collectives = if lay.recompute == Recompute::Full {
        6.0
    } else {
        4.0
    };
    let tp_s = mbf * stage_layers * collectives * per_collective;

    let bubble_s = pipeline::bubble_fraction(p, v, mb) * (compute_s + tp_s);
    let pp_scope = if t * d * p <= hw.gpus_per_node {
        Scope::IntraSendRecv
    } else {
        Scope::InterSendRecv
    };
    let p2p_bytes = pipeline::p2p_bytes(b, s, m.hidden as f64, ELEM_BYTES, t as f64);
    let p2p_s =
        pipeline::p2p_transfers(p, v, mb) * comm::send_recv_s(p2p_bytes, hw.links.get(pp_scope));

    // Data parallelism over d ranks, t apart.
    let params = params_per_gpu(m, t, p);
    let grad_bytes = params * ELEM_BYTES;
    // ZeRO-0: all-reduce; ZeRO-1/2: reduce-scatter the gradients, all-gather the updated
    // weights (the same bytes); ZeRO-3: reduce-scatter only, the weights are gathered again
    // forward and backward for every micro-batch (1.5× an all-reduce at one micro-batch,
    // Rajbhandari et al. 2020 §7).
    // The gradients go in buckets; ZeRO-3 gathers the weights a layer at a time.
    let bucket = lay.dp_bucket_params(params) * ELEM_BYTES;
    let grads_s = bucketed(grad_bytes, bucket, |x| match lay.zero {
        0 => group_reduce(hw, x, d, t, false),
        1 | 2 => group_reduce(hw, x, d, t, true),
        _ => group_gather(hw, x, d, t),
    });
    let gathers_s = if lay.zero == 3 {
        let unit = layer_params(&m.param_breakdown(), m.layers) / t as f64 * ELEM_BYTES;
        mbf * 2.0 * bucketed(grad_bytes, unit, |x| group_gather(hw, x, d, t))
    } else {
        0.0
    };
    let dp_total = grads_s + gathers_s;
    // The last micro-batch's backward hides the gradient reduction; ZeRO-3's gathers overlap
    // the whole step's compute.
    let fwd = stage_layers * lf.forward() + lm / 3.0 / p as f64;
    // Backward: two thirds of the products (plus any recomputation), three fifths of the
    // memory-bound bytes.
    let last_backward = (stage_hw - fwd) / rate + 0.6 * stage_bytes / mem_bw;
    let window = last_backward + if lay.zero == 3 { compute_s } else { 0.0 };
    let dp_exposed = if lay.dp_overlap {
        (dp_total - window).max(0.0)
    } else {
        dp_total
    };

    // AdamW with fp32 master weights moves 40 bytes per parameter it updates (the optimizer
    // row of docs/calibrating.md's memory-bound table); ZeRO-1 and up update 1/d of them.
    let updated = if lay.zero >= 1 {
        params / d as f64
    } else {
        params
    };
    let optimizer_s =
        updated * crate::estimate::memory::optimizer_bytes_per_param(DType::Bf16) / mem_bw;

    let step = compute_s + tp_s + bubble_s + p2p_s + dp_exposed + optimizer_s;

    let one = compute::layer_flops(m, 1.0, s, 1.0);
    let lm_one = compute::lm_head_flops(m, 1.0, s, 1.0);
    let gb = lay.global_batch as f64;
    let model_flops = gb * (layers * one.model() + lm_one);
    let hardware_flops = gb * (layers * one.hardware(lay.recompute) + lm_one);
    let gpus = lay.gpus() as f64;
    let tokens = gb * s;

    let in_flight = pipeline::in_flight_layers(layers, p, v, mb);
    let act = in_flight
        * memory::activation_bytes_per_layer(
            s,
            b,
            m.hidden as f64,
            m.heads as f64,
            t as f64,
            lay.sequence_parallel,
            lay.recompute,
        );
    let mem = memory::per_gpu(
        params,
        lay.zero,
        d,
        act,
        hw.cuda_context_bytes,
        largest_unit_params(m, t),
    );

    Evaluation {
        layout: *lay,
        micro_batches: mb,
        step_time_s: step,
        breakdown: StepBreakdown {
            compute: compute_s,
            tp_comm: tp_s,
            pp_bubble: bubble_s,
            pp_p2p: p2p_s,
            dp_comm_exposed: dp_exposed,
            dp_comm_total: dp_total,
            optimizer: optimizer_s,
        },
        model_flops_per_step: model_flops,
        hardware_flops_per_step: hardware_flops,
        tokens_per_step: tokens,
        tokens_per_sec_per_gpu: tokens / step / gpus,
        mfu: model_flops / (step * gpus * hw.peak_tflops * 1e12),
        hfu: hardware_flops / (step * gpus * hw.peak_tflops * 1e12),
        achieved_tflops: hardware_flops / (step * gpus) / 1e12,
        fits: mem.total_bytes <= hw.memory_bytes,
        memory: mem,
    }
}

#[cfg(test)]
pub(crate) mod tests;
