//! FLOPs of one micro-batch on one GPU of a tensor-parallel group, so a layout's compute time
//! follows from the model's own matrices sharded the way Megatron-LM shards them.
//!
//! With `b` micro-batch, `s` sequence, `h` hidden, `a` heads of size `d`, `t` tensor-parallel
//! ranks (Narayanan et al. 2021, §3.3 and eq. 3; docs/sources.md §13):
//! - the QKV and first MLP products are column-parallel, the attention output and the MLP
//!   down projection row-parallel, the heads split across ranks: each rank runs `1/t` of
//!   every linear layer, `2·b·s·P/t` FLOPs forward for `P` matrix parameters per layer;
//! - attention scores and context, always counted (PaLM appendix B): `4·b·s²·a·d/t` forward;
//! - the LM head is vocabulary-parallel: `2·b·s·h·V/t` forward, never recomputed;
//! - backward is twice the forward. Selective recomputation repeats the attention core's
//!   forward, `4·b·s²·a·d/t` (Korthikanti et al. 2022, whose eq. 8 counts three times that);
//!   full recomputation repeats each layer's forward.
//!
//! For a GPT layer (`P = 12h²`) this is Megatron-LM's count: with full recomputation the
//! step's FLOPs are `96·B·s·L·h²·(1 + s/6h + V/16Lh)` (eq. 3), tested below.

use crate::estimate::compute::Recompute;
use crate::model::ModelConfig;

/// FLOPs of one micro-batch through one layer on one tensor-parallel rank.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerFlops {
    /// Forward of the linear layers (QKV, attention output, MLP).
    pub dense_fwd: f64,
    /// Forward of the attention scores and context.
    pub attention_fwd: f64,
}

impl LayerFlops {
    /// Forward of the whole layer.
    pub fn forward(&self) -> f64 {
        self.dense_fwd + self.attention_fwd
    }

    /// Forward, backward and no recomputation: what the model needs (MFU's numerator).
    pub fn model(&self) -> f64 {
        3.0 * self.forward()
    }

    /// Forward repeated in the backward pass by `recompute`.
    pub fn recomputed(&self, recompute: Recompute) -> f64 {
        match recompute {
            Recompute::None => 0.0,
            Recompute::Selective => self.attention_fwd,
            Recompute::Full => self.forward(),
        }
    }

    /// What the hardware executes (HFU's numerator).
    pub fn hardware(&self, recompute: Recompute) -> f64 {
        self.model() + self.recomputed(recompute)
    }

    /// The linear layers' share of [`LayerFlops::hardware`].
    pub fn hardware_dense(&self, recompute: Recompute) -> f64 {
        let again = if recompute == Recompute::Full {
            1.0
        } else {
            0.0
        };
        (3.0 + again) * self.dense_fwd
    }

    /// The attention core's share of [`LayerFlops::hardware`] (both recomputations repeat it).
    pub fn hardware_attention(&self, recompute: Recompute) -> f64 {
        let again = if recompute == Recompute::None {
            0.0
        } else {
            1.0
        };
        (3.0 + again) * self.attention_fwd
    }
}

/// Matrix parameters of one layer: QKV (`h·(a + 2k)·d`), attention output (`a·d·h`) and the
/// MLP (`2` or `3` matrices of `h·f`).
pub fn layer_matrix_params(m: &ModelConfig) -> f64 {
    let (h, d, f) = (m.hidden as f64, m.head_dim() as f64, m.ffn as f64);
    let (a, k) = (m.heads as f64, m.kv_heads as f64);
    let mats = if m.gated_mlp { 3.0 } else { 2.0 };
    h * (a + 2.0 * k) * d + a * d * h + mats * h * f
}

/// One layer's forward FLOPs for a micro-batch of `b` sequences of `s` on one of `t` ranks.
pub fn layer_flops(m: &ModelConfig, b: f64, s: f64, t: f64) -> LayerFlops {
    let ad = m.heads as f64 * m.head_dim() as f64;
    LayerFlops {
        dense_fwd: 2.0 * b * s * layer_matrix_params(m) / t,
        attention_fwd: 4.0 * b * s * s * ad / t,
    }
}

/// The LM head's FLOPs for a micro-batch (forward and backward) on one of `t` ranks:
/// `3 · 2·b·s·h·V / t`.
pub fn lm_head_flops(m: &ModelConfig, b: f64, s: f64, t: f64) -> f64 {
    3.0 * 2.0 * b * s * m.hidden as f64 * m.vocab as f64 / t
}

/// Bytes the memory-bound passes of one layer move for one micro-batch on one rank, forward
/// and backward, with recomputation's repeated forward: the per-layer rows of
/// [`crate::calibrate::membound`]'s table with Megatron-LM's fused scale-mask-softmax (2
/// elements forward, 3 backward per score), sharded the way tensor parallelism shards them.
///
/// Per token (`h` hidden, `f` MLP, `a·s` scores per token): the norms and residual adds
/// move `10h` forward and backward `22h` elements in all; they are replicated on
/// every tensor-parallel rank unless sequence parallelism splits them. The MLP activation
/// (`5f`, `2f` of it forward) and the softmax (`5·a·s`, `2·a·s` forward) are split by `t`.
/// Full recomputation repeats the forward (`10h`, `2f`, `2·a·s`); selective the softmax.
pub fn layer_memory_bytes(
    m: &ModelConfig,
    b: f64,
    s: f64,
    t: f64,
    sequence_parallel: bool,
    recompute: Recompute,
) -> f64 {
    let (h, f) = (m.hidden as f64, m.ffn as f64);
    let as_ = m.heads as f64 * s;
    let rep = if sequence_parallel { t } else { 1.0 };
    let (mut rep_el, mut split_el) = (22.0 * h, 5.0 * f + 5.0 * as_);
    match recompute {
        Recompute::None => {}
        Recompute::Selective => split_el += 2.0 * as_,
        Recompute::Full => {
            rep_el += 10.0 * h;
            split_el += 2.0 * f + 2.0 * as_;
        }
    }
    b * s * (rep_el / rep + split_el / t) * super::ELEM_BYTES
}

/// Bytes of the cross-entropy over the logits for a micro-batch on one of `t` ranks: `tV`
/// read and written forward, `2tV` read and `tV` written backward.
pub fn loss_memory_bytes(m: &ModelConfig, b: f64, s: f64, t: f64) -> f64 {
    5.0 * b * s * m.vocab as f64 / t * super::ELEM_BYTES
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A GPT model as Megatron-LM's papers configure them: 4h MLP, biases, learned positions,
    /// vocabulary 51,200.
    pub(crate) fn gpt(layers: u64, hidden: u64, heads: u64, vocab: u64) -> ModelConfig {
        ModelConfig {
            name: format!("gpt-h{hidden}-l{layers}"),
            aliases: vec![],
            params: 12.0 * layers as f64 * (hidden * hidden) as f64,
            layers,
            hidden,
            heads,
            kv_heads: heads,
            ffn: 4 * hidden,
            vocab,
            context: 2048,
            training_tokens: None,
            gated_mlp: false,
            tie_word_embeddings: true,
            bias: true,
            learned_positions: true,
            head_dim: None,
            source: "test".into(),
            param_note: None,
        }
    }

    #[test]
    fn megatron_eq3_with_full_recomputation() {
        // 1T configuration of Table 1: h 25,600, 128 layers, 160 heads, s 2048, V 51,200.
        let m = gpt(128, 25_600, 160, 51_200);
        let (b, s) = (1.0, 2048.0);
        let l = layer_flops(&m, b, s, 1.0);
        let ours = 128.0 * l.hardware(Recompute::Full) + lm_head_flops(&m, b, s, 1.0);
        let (h, lf, v) = (25_600.0_f64, 128.0, 51_200.0);
        let eq3 = 96.0 * b * s * lf * h * h * (1.0 + s / (6.0 * h) + v / (16.0 * lf * h));
        assert!((ours / eq3 - 1.0).abs() < 1e-12, "{ours} vs {eq3}");
    }

    #[test]
    fn attention_matches_palm_appendix_b() {
        // PaLM 540B: 118 layers, 48 heads of 256, T 2048. Per token, forward and backward,
        // the attention core is PaLM's 12·L·H·Q·T (Chowdhery et al. 2022, appendix B).
        let mut m = gpt(118, 18_432, 48, 256_000);
        m.head_dim = Some(256);
        let s = 2048.0;
        let per_token = 118.0 * 3.0 * layer_flops(&m, 1.0, s, 1.0).attention_fwd / s;
        let palm = crate::estimate::compute::attention_flops_per_token(118.0, 48.0, 256.0, s);
        assert_eq!(per_token, palm);
    }

    #[test]
    fn tensor_parallel_splits_every_product() {
        let m = gpt(24, 2304, 24, 51_200);
        let one = layer_flops(&m, 4.0, 2048.0, 1.0);
        let eight = layer_flops(&m, 4.0, 2048.0, 8.0);
        assert!((one.forward() / eight.forward() - 8.0).abs() < 1e-12);
        // 24·b·s·h² + 4·b·s²·h per layer forward (Megatron-LM §5.1).
        let (b, s, h) = (4.0, 2048.0, 2304.0_f64);
        let want = 24.0 * b * s * h * h + 4.0 * b * s * s * h;
        assert!((one.forward() / want - 1.0).abs() < 1e-12);
    }

    #[test]
    fn recomputation_adds_forward_work() {
        let m = gpt(24, 2304, 24, 51_200);
        let l = layer_flops(&m, 1.0, 2048.0, 1.0);
        assert_eq!(l.hardware(Recompute::None), l.model());
        assert!((l.hardware(Recompute::Full) / l.model() - 4.0 / 3.0).abs() < 1e-12);
        let sel = l.hardware(Recompute::Selective) / l.model();
        // Selective recomputation costs a few percent at s = 2048 (Korthikanti et al. §5).
        assert!(sel > 1.0 && sel < 1.05, "{sel}");
        for r in [Recompute::None, Recompute::Selective, Recompute::Full] {
            let parts = l.hardware_dense(r) + l.hardware_attention(r);
            assert!((parts / l.hardware(r) - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn memory_bound_bytes_shrink_with_tp_and_sp() {
        let m = gpt(24, 2304, 24, 51_200);
        let one = layer_memory_bytes(&m, 1.0, 2048.0, 1.0, false, Recompute::None);
        // 22h + 5f + 5as elements per token, 2 bytes.
        let want = 2048.0 * (22.0 * 2304.0 + 5.0 * 9216.0 + 5.0 * 24.0 * 2048.0) * 2.0;
        assert_eq!(one, want);
        let tp = layer_memory_bytes(&m, 1.0, 2048.0, 8.0, false, Recompute::None);
        let sp = layer_memory_bytes(&m, 1.0, 2048.0, 8.0, true, Recompute::None);
        assert!(sp < tp && tp < one);
        assert!((sp * 8.0 - one).abs() < 1e-6);
        let full = layer_memory_bytes(&m, 1.0, 2048.0, 1.0, false, Recompute::Full);
        assert!(full > one);
    }

    #[test]
    fn grouped_query_attention_shrinks_qkv() {
        let mut m = gpt(1, 8192, 64, 32_000);
        let mha = layer_matrix_params(&m);
        m.kv_heads = 8;
        let gqa = layer_matrix_params(&m);
        let d = 128.0;
        assert_eq!(mha - gqa, 8192.0 * (2.0 * 56.0) * d);
    }
}
