//! Pipeline-parallel overheads, so a layout with stages pays for its idle time and for the
//! activations it hands from stage to stage.
//!
//! With `p` stages, `m` micro-batches per step and `v` model chunks per GPU (the interleaved
//! schedule), the 1F1B schedule idles for a bubble of `(p−1)/(v·m)` of the ideal time
//! (Narayanan et al. 2021, §2.2; docs/sources.md §13). Each micro-batch crosses every stage
//! boundary twice (activations forward, their gradients backward); on the critical path a
//! stage waits for `2·(v·m + p − 1)` such transfers of `b·s·h` elements (divided by `t` with
//! Megatron-LM's scatter/gather across the tensor-parallel ranks, §4.1).

/// The bubble as a fraction of the ideal (bubble-free) time: `(p−1)/(v·m)`.
pub fn bubble_fraction(stages: u64, virtual_stages: u64, micro_batches: u64) -> f64 {
    if stages <= 1 {
        return 0.0;
    }
    (stages - 1) as f64 / (virtual_stages.max(1) * micro_batches.max(1)) as f64
}

/// Transfers on a stage's critical path per step: `2·(v·m + p − 1)`, none without stages.
pub fn p2p_transfers(stages: u64, virtual_stages: u64, micro_batches: u64) -> f64 {
    if stages <= 1 {
        return 0.0;
    }
    2.0 * (virtual_stages.max(1) * micro_batches + stages - 1) as f64
}

/// Bytes one GPU sends per transfer: `b·s·h·bytes / t` (scatter/gather across the
/// tensor-parallel ranks, then an all-gather within the node, which is small and ignored).
pub fn p2p_bytes(micro_batch: f64, seq: f64, hidden: f64, elem_bytes: f64, tp: f64) -> f64 {
    micro_batch * seq * hidden * elem_bytes / tp
}

/// Micro-batches of activations the first stage holds at once under 1F1B: `p` (at most
/// `m`), times `1 + (p−1)/(p·v)` with the interleaved schedule (Korthikanti et al. 2022, §4.2.3),
/// expressed as a multiplier of one stage's layers: the first stage stores
/// `L/p · p · (1 + (p−1)/(p·v))` layers' worth of one micro-batch's activations.
pub fn in_flight_layers(layers: f64, stages: u64, virtual_stages: u64, micro_batches: u64) -> f64 {
    let p = stages.max(1) as f64;
    let v = virtual_stages.max(1) as f64;
    let held = p.min(micro_batches.max(1) as f64);
    let interleave = if virtual_stages > 1 {
        1.0 + (p - 1.0) / (p * v)
    } else {
        1.0
    };
    layers / p * held * interleave
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bubble_shrinks_with_micro_batches_and_chunks() {
        assert_eq!(bubble_fraction(1, 1, 8), 0.0);
        // 1T of Megatron-LM Table 1: p 64, m 512 → 63/512.
        assert!((bubble_fraction(64, 1, 512) - 63.0 / 512.0).abs() < 1e-15);
        assert!((bubble_fraction(8, 2, 16) - 7.0 / 32.0).abs() < 1e-15);
    }

    #[test]
    fn transfers_and_bytes() {
        assert_eq!(p2p_transfers(1, 1, 8), 0.0);
        assert_eq!(p2p_transfers(4, 1, 8), 22.0);
        assert_eq!(p2p_transfers(4, 2, 8), 38.0);
        assert_eq!(
            p2p_bytes(1.0, 2048.0, 20_480.0, 2.0, 8.0),
            2048.0 * 20_480.0 * 2.0 / 8.0
        );
    }

    #[test]
    fn first_stage_holds_every_layer_once() {
        // 1F1B: p micro-batches of L/p layers = L layers (Korthikanti et al. §4.2.3).
        assert_eq!(in_flight_layers(96.0, 8, 1, 64), 96.0);
        // Fewer micro-batches than stages: only m in flight.
        assert_eq!(in_flight_layers(96.0, 8, 1, 2), 24.0);
        // Interleaved: L·(1 + (p−1)/(p·v)).
        let l = in_flight_layers(96.0, 8, 2, 64);
        assert!((l - 96.0 * (1.0 + 7.0 / 16.0)).abs() < 1e-12);
        assert_eq!(in_flight_layers(24.0, 1, 1, 4), 24.0);
    }
}
