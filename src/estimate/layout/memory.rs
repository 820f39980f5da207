//! Memory of the busiest GPU of a layout, so `plan` keeps only layouts that fit: the first
//! pipeline stage's share of weights, gradients and optimizer states (sharded by tensor and
//! pipeline parallelism, and by ZeRO over the data-parallel group) and its in-flight
//! activations.
//!
//! Activations per layer and micro-batch, 16-bit, from Korthikanti et al. 2022 Table 2
//! (`s` sequence, `b` micro-batch, `h` hidden, `a` heads, `t` tensor-parallel ranks;
//! docs/sources.md §13):
//! - no recomputation, tensor parallel: `s·b·h·(10 + 24/t + 5·a·s/(h·t))`;
//! - with sequence parallelism: `s·b·h/t · (34 + 5·a·s/h)`;
//! - selective recomputation drops the `5·a·s/h` term;
//! - full recomputation keeps only each layer's input, `2·s·b·h` (`/t` with sequence
//!   parallelism).
//!
//! The constants 34 and 5 are a GPT layer's (4h MLP, dropout masks); other MLP widths are an
//! approximation.
//!
//! ZeRO-3 keeps only a shard of the weights at rest, but a layer's weights must be whole while
//! it computes: the engine gathers each unit (a layer, or the embedding) before use and frees
//! it after, gathering the next one while the current one runs, and a unit's full gradient
//! exists until it is reduce-scattered. So the busiest moment holds two units' 16-bit weights
//! and one unit's 16-bit gradients, of the largest unit on the GPU (Rajbhandari et al. 2020
//! §5; Zhao et al. 2023, PyTorch FSDP, on prefetching; docs/sources.md §13).

use serde::Serialize;

use crate::estimate::compute::Recompute;
use crate::estimate::memory::{self as mem, BytesPerParam, MemoryBreakdown};

/// Activation bytes of one layer for one micro-batch on one tensor-parallel rank.
pub fn activation_bytes_per_layer(
    seq: f64,
    micro_batch: f64,
    hidden: f64,
    heads: f64,
    tp: f64,
    sequence_parallel: bool,
    recompute: Recompute,
) -> f64 {
    let sbh = seq * micro_batch * hidden;
    let attn = 5.0 * heads * seq / hidden;
    match (recompute, sequence_parallel) {
        (Recompute::Full, true) => 2.0 * sbh / tp,
        (Recompute::Full, false) => 2.0 * sbh,
        (Recompute::Selective, true) => sbh * 34.0 / tp,
        (Recompute::Selective, false) => sbh * (10.0 + 24.0 / tp),
        (Recompute::None, true) => sbh / tp * (34.0 + attn),
        (Recompute::None, false) => sbh * (10.0 + 24.0 / tp + attn / tp),
    }
}

/// Units whose weights are whole at once under ZeRO-3: the one computing and the one being
/// gathered for next.
pub const ZERO3_LIVE_UNITS: f64 = 2.0;

/// Bytes ZeRO-3 holds gathered at its busiest moment, for a largest unit of `unit_params`
/// parameters on this GPU (already divided by tensor parallelism): the 16-bit weights of
/// [`ZERO3_LIVE_UNITS`] units and the 16-bit gradients of one. Nothing for stages 0 to 2,
/// which keep the whole weights anyway.
pub fn zero3_gathered_bytes(zero: u8, unit_params: f64) -> f64 {
    if zero < 3 {
        return 0.0;
    }
    let bpp = BytesPerParam::of(mem::Precision::Bf16, mem::Optimizer::Adamw);
    unit_params * (ZERO3_LIVE_UNITS * bpp.weights + bpp.gradients)
}

/// One GPU's memory: `params_per_gpu` parameters of its stage and rank (already divided by
/// tensor and pipeline parallelism), ZeRO `zero` over `dp` ranks, its activations, and under
/// ZeRO-3 the gathered working set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GpuMemory {
    pub breakdown: MemoryBreakdown,
    /// ZeRO-3's gathered weights and gradients ([`zero3_gathered_bytes`]); 0 otherwise.
    pub zero3_gathered_bytes: f64,
    pub total_bytes: f64,
}

/// The busiest GPU's memory (mixed precision with Adam: 2 + 2 + 4 + 8 bytes per parameter);
/// `unit_params` is the largest unit ZeRO-3 gathers (see [`zero3_gathered_bytes`]).
pub fn per_gpu(
    params_per_gpu: f64,
    zero: u8,
    dp: u64,
    activations: f64,
    cuda_context: f64,
    unit_params: f64,
) -> GpuMemory {
    let bpp = BytesPerParam::of(mem::Precision::Bf16, mem::Optimizer::Adamw);
    let breakdown = mem::per_gpu(
        params_per_gpu,
        bpp,
        zero,
        dp as f64,
        activations,
        cuda_context,
    );
    let gathered = zero3_gathered_bytes(zero, unit_params);
    GpuMemory {
        breakdown,
        zero3_gathered_bytes: gathered,
        total_bytes: breakdown.total() + gathered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Korthikanti et al. Table 2 rows for the 175B configuration (s 2048, b 1, h 12,288,
    /// a 96, t 8): bytes per layer.
    #[test]
    fn korthikanti_table2_rows() {
        let (s, b, h, a, t) = (2048.0, 1.0, 12_288.0, 96.0, 8.0);
        let sbh = s * b * h;
        let no_tp = activation_bytes_per_layer(s, b, h, a, 1.0, false, Recompute::None);
        assert_eq!(no_tp, sbh * (34.0 + 5.0 * a * s / h));
        let tp = activation_bytes_per_layer(s, b, h, a, t, false, Recompute::None);
        assert_eq!(tp, sbh * (10.0 + 24.0 / t + 5.0 * a * s / (h * t)));
        let tp_sp = activation_bytes_per_layer(s, b, h, a, t, true, Recompute::None);
        assert_eq!(tp_sp, sbh * (34.0 / t + 5.0 * a * s / (h * t)));
        let sel = activation_bytes_per_layer(s, b, h, a, t, true, Recompute::Selective);
        assert_eq!(sel, sbh * 34.0 / t);
        let full = activation_bytes_per_layer(s, b, h, a, t, false, Recompute::Full);
        assert_eq!(full, 2.0 * sbh);
        // Sequence parallelism with selective recomputation: 5× less than tensor parallelism
        // alone at this size (the paper's headline, §1): here 5.0×.
        let ratio = tp / sel;
        assert!(ratio > 4.5 && ratio < 5.5, "{ratio}");
        // Per layer, 175B with TP+SP+selective: 34·2048·12288/8 bytes ≈ 107 MB.
        assert!((sel / 1e6 - 106.95).abs() < 0.1, "{}", sel / 1e6);
    }

    #[test]
    fn zero_shards_over_data_parallel() {
        let p = 1e9;
        let z0 = per_gpu(p, 0, 8, 0.0, 0.0, 0.0).total_bytes;
        assert_eq!(z0, 16e9);
        let z1 = per_gpu(p, 1, 8, 0.0, 0.0, 0.0).total_bytes;
        assert_eq!(z1, 4e9 + 12e9 / 8.0);
        let z3 = per_gpu(p, 3, 8, 0.0, 0.0, 0.0).total_bytes;
        assert_eq!(z3, 2e9);
    }

    /// ZeRO-3 holds two gathered units' weights and one unit's gradients, 16-bit: 6 bytes
    /// per parameter of the largest unit; the lower stages hold nothing extra, and a unit
    /// larger than the shard still counts in full.
    #[test]
    fn zero3_adds_the_gathered_working_set() {
        let unit = 1e8;
        assert_eq!(zero3_gathered_bytes(3, unit), 6e8);
        for z in 0..3 {
            assert_eq!(zero3_gathered_bytes(z, unit), 0.0);
            assert_eq!(per_gpu(1e9, z, 8, 0.0, 0.0, unit).zero3_gathered_bytes, 0.0);
        }
        let m = per_gpu(1e9, 3, 64, 1e9, 1.3e9, unit);
        assert_eq!(m.zero3_gathered_bytes, 6e8);
        assert_eq!(m.total_bytes, 16e9 / 64.0 + 1e9 + 1.3e9 + 6e8);
        // More data-parallel ranks shrink the shard, never the working set.
        let wide = per_gpu(1e9, 3, 1024, 0.0, 0.0, unit);
        assert!(wide.total_bytes > 6e8 && wide.total_bytes < 6e8 + 16e9 / 1000.0);
    }
}
