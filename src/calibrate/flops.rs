//! The FLOPs identity, which proves the list of a step's GEMMs complete: they add up to
//! 6·N·D plus PaLM's attention term.
//!
//! With `D = micro_batch × seq` tokens, `A = 12·L·H·Q·T·D` (PaLM, appendix B: L layers, H
//! heads, Q head size, T sequence length) and `N` the **parameters that take part in matrix
//! products**, the summed FLOPs of [`StepSpec::gemms`] are exactly:
//!
//! | recompute | summed GEMM FLOPs |
//! |---|---|
//! | none | 6·N·D + A |
//! | selective | 6·N·D + 4/3·A (the attention products' forward runs again) |
//! | full | 8·N·D − 2·N_head·D + 4/3·A (every layer's forward again, not the LM head) |
//!
//! `N_head = V·h` is the LM head, so with full recomputation the sum is 8·N·D short by the
//! LM head's extra forward that Megatron-LM does not run (0.4 % for LLaMA-65B).
//!
//! How `N` relates to [`ModelConfig::param_count`]: every linear layer's weight matrix plus
//! the LM head's `V × h` matrix, which is the embedding table when the two are tied. So
//! `N = param_count − positions − norms − biases − (V·h unless tied)`: the input embedding
//! is a table lookup, learned positions an add, norms and biases elementwise; none is a
//! matrix product. (LLaMA-7B: 6,738,415,616 − 131,072,000 − 266,240 = 6,607,077,376.)
//!
//! Model FLOPs (the MFU numerator, PaLM's `6N + 12·L·H·Q·T` per token) are the no-recompute
//! sum; the hardware executes the recompute sum.

use super::step::{StepGemm, StepSpec};
use crate::estimate::compute::{attention_flops_per_token, Recompute};
use crate::model::ModelConfig;

/// Parameters that take part in no matrix product: position table, norms, biases, and the
/// input embedding unless it is tied to the LM head.
pub fn non_matmul_params(model: &ModelConfig) -> f64 {
    let b = model.param_breakdown();
    let h = model.hidden as f64;
    let l = model.layers as f64;
    let d = model.head_dim() as f64;
    let (q, kv, f) = (
        model.heads as f64 * d,
        model.kv_heads as f64 * d,
        model.ffn as f64,
    );
    let mats = if model.gated_mlp { 3.0 } else { 2.0 };
    let biases = if model.bias {
        l * ((q + 2.0 * kv + h) + ((mats - 1.0) * f + h))
    } else {
        0.0
    };
    let untied_embedding = if model.tie_word_embeddings {
        0.0
    } else {
        b.embedding
    };
    b.positions + b.norms + biases + untied_embedding
}

/// `N`: the parameters that take part in matrix products (see the module docs).
pub fn matmul_params(model: &ModelConfig) -> f64 {
    model.param_count() - non_matmul_params(model)
}

/// PaLM's attention term for one step: 12·L·H·Q·T per token × tokens.
pub fn attention_flops(spec: &StepSpec) -> f64 {
    let m = &spec.model;
    attention_flops_per_token(
        m.layers as f64,
        m.heads as f64,
        m.head_dim() as f64,
        spec.seq as f64,
    ) * spec.tokens() as f64
}

/// Model FLOPs of one step (PaLM's MFU numerator): 6·N·D + A.
pub fn model_flops(spec: &StepSpec) -> f64 {
    6.0 * matmul_params(&spec.model) * spec.tokens() as f64 + attention_flops(spec)
}

/// FLOPs the hardware executes in one step, by the formulas in the module docs.
pub fn hardware_flops(spec: &StepSpec) -> f64 {
    let n = matmul_params(&spec.model);
    let tokens = spec.tokens() as f64;
    let a = attention_flops(spec);
    let head = spec.model.vocab as f64 * spec.model.hidden as f64;
    match spec.recompute {
        Recompute::None => 6.0 * n * tokens + a,
        Recompute::Selective => 6.0 * n * tokens + 4.0 / 3.0 * a,
        Recompute::Full => 8.0 * n * tokens - 2.0 * head * tokens + 4.0 / 3.0 * a,
    }
}

/// Summed FLOPs of a GEMM list.
pub fn summed(gemms: &[StepGemm]) -> f64 {
    gemms.iter().map(StepGemm::flops).sum()
}

#[cfg(test)]
mod tests {
    use super::super::step::tests::{spec, tiny_llama};
    use super::*;
    use crate::model::{lookup, table};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs()
    }

    #[test]
    fn n_relates_to_param_count() {
        let l = lookup("llama-7b").unwrap();
        assert_eq!(
            matmul_params(l),
            6_738_415_616.0 - 131_072_000.0 - 266_240.0
        );
        // GPT-2: tied head, learned positions, biases.
        let g = lookup("gpt2").unwrap();
        let weights = 12.0 * (4.0 * 768.0 * 768.0 + 2.0 * 768.0 * 3072.0) + 50257.0 * 768.0;
        assert_eq!(matmul_params(g), weights);
        assert_eq!(
            124_439_808.0 - matmul_params(g),
            1024.0 * 768.0 + 25.0 * 1536.0 + 12.0 * (3.0 * 768.0 + 768.0 + 3072.0 + 768.0)
        );
        // The step's own count of weights agrees, fused or not, for every preset.
        for m in table() {
            let mut s = spec(m.clone(), Recompute::None);
            assert!(close(s.matmul_params(), matmul_params(m)), "{}", m.name);
            s.fused = false;
            assert!(close(s.matmul_params(), matmul_params(m)), "{}", m.name);
        }
    }

    #[test]
    fn identity_holds_for_every_preset_and_strategy() {
        for m in table() {
            for r in [Recompute::None, Recompute::Selective, Recompute::Full] {
                for (seq, mb) in [(2048, 1), (512, 3)] {
                    let s = super::super::step::StepSpec {
                        model: m.clone(),
                        seq: seq.min(m.context),
                        micro_batch: mb,
                        recompute: r,
                        fused: true,
                        tp: 1,
                    };
                    let sum = summed(&s.gemms());
                    assert!(
                        close(sum, hardware_flops(&s)),
                        "{} {r:?}: {sum} vs {}",
                        m.name,
                        hardware_flops(&s)
                    );
                }
            }
        }
    }

    #[test]
    fn tensor_parallel_ranks_share_the_step() {
        // t ranks together run the whole step's GEMM FLOPs, exactly where t divides every
        // width it splits, and a little more where a width is rounded up (K/V heads replicated,
        // vocabulary padded).
        for m in table() {
            for tp in [2, 4, 8] {
                if !m.heads.is_multiple_of(tp) {
                    continue;
                }
                for r in [Recompute::None, Recompute::Selective, Recompute::Full] {
                    let mut s = super::super::step::StepSpec {
                        model: m.clone(),
                        seq: 512,
                        micro_batch: 2,
                        recompute: r,
                        fused: true,
                        tp: 1,
                    };
                    let whole = summed(&s.gemms());
                    s.tp = tp;
                    s.validate().unwrap();
                    let ranks = tp as f64 * summed(&s.gemms());
                    let even = [m.kv_heads, m.ffn, m.vocab]
                        .iter()
                        .all(|w| w.is_multiple_of(tp));
                    if even {
                        assert!(
                            close(ranks, whole),
                            "{} tp {tp}: {ranks} vs {whole}",
                            m.name
                        );
                    } else {
                        assert!(ranks >= whole && ranks < 1.1 * whole, "{} tp {tp}", m.name);
                    }
                }
            }
        }
    }

    #[test]
    fn six_nd_and_eight_nd_by_hand() {
        let s = spec(tiny_llama(), Recompute::None);
        let n = matmul_params(&s.model);
        let d = 64.0;
        // 12·L·H·Q·T·D = 12·2·4·16·32·64
        let a = 12.0 * 2.0 * 4.0 * 16.0 * 32.0 * d;
        assert_eq!(attention_flops(&s), a);
        assert_eq!(summed(&s.gemms()), 6.0 * n * d + a);
        assert_eq!(model_flops(&s), 6.0 * n * d + a);
        let full = spec(tiny_llama(), Recompute::Full);
        let head = 100.0 * 64.0;
        assert!(close(
            summed(&full.gemms()),
            8.0 * n * d - 2.0 * head * d + 4.0 / 3.0 * a
        ));
        // For a large model full recomputation is 8ND to within the LM head's share.
        let big = super::super::step::StepSpec {
            model: lookup("llama-65b").unwrap().clone(),
            seq: 2048,
            micro_batch: 1,
            recompute: Recompute::Full,
            fused: true,
            tp: 1,
        };
        let n = matmul_params(&big.model);
        let gemm = summed(&big.gemms()) - 4.0 / 3.0 * attention_flops(&big);
        let rel = (gemm - 8.0 * n * 2048.0).abs() / (8.0 * n * 2048.0);
        assert!(rel < 0.005, "{rel}");
    }
}
