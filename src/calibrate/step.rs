//! Every GEMM of one training step of a dense decoder-only transformer, because a step is a
//! few dozen differently shaped products, not one square GEMM: derived from its
//! [`ModelConfig`], sequence length, micro-batch and recomputation strategy.
//!
//! A step's cost is not one square product: it is a few dozen differently shaped products,
//! each run forward, then twice backward, some of them batched. This file lists them, with
//! gpubench's shape convention (`C (m×n) = A (m×k) · B (k×n)`, `batch` independent products).
//!
//! With `t = micro_batch × seq` tokens, a linear layer `Y = X·Wᵀ` (`X` t×in, `W` out×in) runs:
//! - forward `X·Wᵀ`: m = t, n = out, k = in;
//! - input gradient `dX = dY·W`: m = t, n = in, k = out;
//! - weight gradient `dW = dYᵀ·X`: m = out, n = in, k = t.
//!
//! The layers: per transformer layer the fused QKV projection (in h, out `a·d + 2·kv·d`, so
//! grouped-query attention's fewer K/V heads shrink it), the attention output (a·d → h), the
//! MLP (gated: gate and up fused, h → 2f, then f → h; plain: h → f → h); once, the LM head
//! (h → V). With `fused = false` the QKV and gate/up products are listed separately, as
//! Hugging Face's modules run them (same FLOPs).
//!
//! Attention's two products are batched over `micro_batch × heads` (K and V heads are
//! shared across their query group, so the batch is the query heads): scores `Q·Kᵀ`
//! (m = n = seq, k = d) and context `P·V` (m = seq, n = d, k = seq); backward `dS·K`,
//! `dSᵀ·Q`, `dO·Vᵀ`, `Pᵀ·dO`. They are dense (a causal mask does not skip work in a batched
//! GEMM), as PaLM's attention term counts them.
//!
//! With `tp = t` tensor-parallel ranks the list is one rank's, sharded as Megatron-LM shards
//! the layers: QKV and the first MLP product column-parallel (their outputs `/t`), the
//! attention output and MLP down row-parallel (their inputs `/t`), the heads split (the
//! attention batch `/t`), the LM head vocabulary-parallel (`V/t`). A width that `t` does not
//! divide rounds up (K/V heads are then replicated, the vocabulary padded), and `t` must
//! divide the query heads.
//!
//! Recomputation adds forward products: `selective` (Korthikanti et al. 2022) recomputes the
//! attention core (`Q·Kᵀ`, softmax, `P·V`); `full` recomputes every transformer layer's
//! forward (not the LM head, which Megatron-LM does not checkpoint).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::backend::GemmShape;
use crate::error::usage;
use crate::estimate::compute::Recompute;
use crate::model::ModelConfig;

/// What one training step is: a model at a sequence length and micro-batch.
#[derive(Debug, Clone, PartialEq)]
pub struct StepSpec {
    pub model: ModelConfig,
    pub seq: u64,
    pub micro_batch: u64,
    pub recompute: Recompute,
    /// QKV as one product and gate/up as one (Megatron-LM, GPT-2); `false`: separate products
    /// (Hugging Face's Llama modules).
    pub fused: bool,
    /// Tensor-parallel ranks: the step is one rank's share (1: the whole model).
    pub tp: u64,
}

/// Which part of the model a GEMM belongs to (the breakdown's rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GemmKind {
    /// QKV and attention-output projections.
    AttentionProjections,
    /// The MLP's products.
    Mlp,
    /// The batched attention products (`Q·Kᵀ`, `P·V` and their gradients).
    AttentionCore,
    /// The vocabulary projection.
    LmHead,
}

impl GemmKind {
    /// Every kind, in report order.
    pub const ALL: [GemmKind; 4] = [
        GemmKind::AttentionProjections,
        GemmKind::Mlp,
        GemmKind::AttentionCore,
        GemmKind::LmHead,
    ];

    /// Label in tables.
    pub fn label(self) -> &'static str {
        match self {
            GemmKind::AttentionProjections => "attention projections (QKV, output)",
            GemmKind::Mlp => "MLP",
            GemmKind::AttentionCore => "attention scores and context (batched)",
            GemmKind::LmHead => "LM head",
        }
    }
}

/// Where in the step a GEMM (or a memory-bound pass) runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pass {
    Forward,
    /// Gradient of the left operand (`dX`; for attention `dQ` or `dP`).
    BackwardInput,
    /// Gradient of the right operand (`dW`; for attention `dK` or `dV`).
    BackwardWeight,
    /// Backward work that is not a GEMM (memory-bound passes).
    Backward,
    /// A forward repeated in the backward pass by activation recomputation.
    Recompute,
}

impl Pass {
    /// Short label.
    pub fn label(self) -> &'static str {
        match self {
            Pass::Forward => "fwd",
            Pass::BackwardInput => "bwd input",
            Pass::BackwardWeight => "bwd weight",
            Pass::Backward => "bwd",
            Pass::Recompute => "recompute",
        }
    }
}

impl fmt::Display for Pass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One GEMM of the step and how many times a step runs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepGemm {
    /// Layer name: `qkv`, `q`, `k`, `v`, `attn_out`, `mlp_gate_up`, `mlp_gate`, `mlp_up`,
    /// `mlp_down`, `scores`, `context`, `lm_head`.
    pub name: String,
    pub kind: GemmKind,
    pub pass: Pass,
    /// The product with its transposes, e.g. `dYᵀ·X`.
    pub product: String,
    pub shape: GemmShape,
    /// Calls per step.
    pub count: u64,
}

impl StepGemm {
    /// FLOPs of all its calls in one step.
    pub fn flops(&self) -> f64 {
        self.shape.flops() * self.count as f64
    }
}

/// Dimensions the lists are built from: one tensor-parallel rank's share of the widths that
/// tensor parallelism splits (query and K/V widths, heads, MLP, vocabulary), the rest whole.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dims {
    /// Tokens per micro-batch (`micro_batch × seq`).
    pub t: u64,
    pub s: u64,
    pub b: u64,
    pub h: u64,
    /// Query width `heads × head_dim`.
    pub q: u64,
    /// Key (= value) width `kv_heads × head_dim`.
    pub kv: u64,
    pub d: u64,
    pub heads: u64,
    pub f: u64,
    pub vocab: u64,
    pub layers: u64,
}

/// cuBLAS takes 32-bit sizes.
const MAX_DIM: u64 = i32::MAX as u64;

impl StepSpec {
    /// Checks the sizes (one-line usage errors): positive sequence and micro-batch, a
    /// sequence within a learned position table, dimensions within cuBLAS's 32-bit limit.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.seq == 0 {
            return Err(usage("--seq must be a positive whole number such as 2048"));
        }
        if self.micro_batch == 0 {
            return Err(usage(
                "--micro-batch must be a positive whole number such as 4",
            ));
        }
        self.model.validate(&self.model.name)?;
        self.model.check_seq(self.seq as f64, "--seq")?;
        crate::estimate::layout::check_split(&self.model, self.tp, 1)?;
        let d = self.dims();
        let t = self.micro_batch.checked_mul(self.seq);
        let batch = self.micro_batch.checked_mul(self.model.heads);
        for (what, v) in [("micro-batch × seq", t), ("micro-batch × heads", batch)] {
            if v.is_none_or(|v| v > MAX_DIM) {
                return Err(usage(format!(
                    "{what} is larger than cuBLAS's limit of {MAX_DIM}; choose a smaller --micro-batch or --seq"
                )));
            }
        }
        if [d.h, d.q, d.kv, d.f, d.vocab].iter().any(|&x| x > MAX_DIM) {
            return Err(usage(format!(
                "{}: a dimension is larger than cuBLAS's limit of {MAX_DIM}",
                self.model.name
            )));
        }
        Ok(())
    }

    /// The step's dimensions on one tensor-parallel rank (call [`validate`](Self::validate)
    /// first).
    pub fn dims(&self) -> Dims {
        let m = &self.model;
        let d = m.head_dim();
        let tp = self.tp.max(1);
        let heads = m.heads / tp;
        Dims {
            t: self.micro_batch.saturating_mul(self.seq),
            s: self.seq,
            b: self.micro_batch,
            h: m.hidden,
            q: heads * d,
            kv: m.kv_heads.div_ceil(tp) * d,
            d,
            heads,
            f: m.ffn.div_ceil(tp),
            vocab: m.vocab.div_ceil(tp),
            layers: m.layers,
        }
    }

    /// Tokens one step processes (`micro_batch × seq`; one GPU, no gradient accumulation).
    pub fn tokens(&self) -> u64 {
        self.dims().t
    }

    /// The linear layers of one transformer layer: (name, kind, in, out).
    fn layer_linears(&self) -> Vec<(&'static str, GemmKind, u64, u64)> {
        let d = self.dims();
        let ap = GemmKind::AttentionProjections;
        let mut v = if self.fused {
            vec![("qkv", ap, d.h, d.q + 2 * d.kv)]
        } else {
            vec![
                ("q", ap, d.h, d.q),
                ("k", ap, d.h, d.kv),
                ("v", ap, d.h, d.kv),
            ]
        };
        v.push(("attn_out", ap, d.q, d.h));
        let mlp = GemmKind::Mlp;
        match (self.model.gated_mlp, self.fused) {
            (true, true) => v.push(("mlp_gate_up", mlp, d.h, 2 * d.f)),
            (true, false) => {
                v.push(("mlp_gate", mlp, d.h, d.f));
                v.push(("mlp_up", mlp, d.h, d.f));
            }
            (false, _) => v.push(("mlp_up", mlp, d.h, d.f)),
        }
        v.push(("mlp_down", mlp, d.f, d.h));
        v
    }

    /// Weights that take part in matrix products on one rank: every linear layer's matrix and
    /// the LM head's `V × h` (the embedding table itself when tied). See `flops.rs` for how this
    /// relates to [`ModelConfig::param_count`].
    pub fn matmul_params(&self) -> f64 {
        let d = self.dims();
        let per_layer: f64 = self
            .layer_linears()
            .iter()
            .map(|(_, _, i, o)| *i as f64 * *o as f64)
            .sum();
        d.layers as f64 * per_layer + d.vocab as f64 * d.h as f64
    }

    /// Every GEMM of one training step, with its count per step.
    pub fn gemms(&self) -> Vec<StepGemm> {
        let d = self.dims();
        let full = self.recompute == Recompute::Full;
        let mut out = Vec::new();
        for (name, kind, i, o) in self.layer_linears() {
            linear(&mut out, name, kind, d.t, i, o, d.layers, full);
        }
        linear(
            &mut out,
            "lm_head",
            GemmKind::LmHead,
            d.t,
            d.h,
            d.vocab,
            1,
            false,
        );
        attention_core(&mut out, d, self.recompute != Recompute::None);
        out
    }
}

fn shape(m: u64, n: u64, k: u64, batch: u64) -> GemmShape {
    GemmShape { m, n, k, batch }
}

/// The three (or, recomputed, four) GEMMs of a linear layer `in → out` over `t` tokens.
#[allow(clippy::too_many_arguments)]
fn linear(
    out: &mut Vec<StepGemm>,
    name: &str,
    kind: GemmKind,
    t: u64,
    input: u64,
    output: u64,
    count: u64,
    recompute: bool,
) {
    let mut push = |pass, product: &str, s| {
        out.push(StepGemm {
            name: name.into(),
            kind,
            pass,
            product: product.into(),
            shape: s,
            count,
        })
    };
    push(Pass::Forward, "X·Wᵀ", shape(t, output, input, 1));
    if recompute {
        push(Pass::Recompute, "X·Wᵀ", shape(t, output, input, 1));
    }
    push(Pass::BackwardInput, "dY·W", shape(t, input, output, 1));
    push(Pass::BackwardWeight, "dYᵀ·X", shape(output, input, t, 1));
}

/// Scores `Q·Kᵀ` and context `P·V`, batched over micro-batch × query heads, per layer.
fn attention_core(out: &mut Vec<StepGemm>, d: Dims, recompute: bool) {
    let bh = d.b * d.heads;
    let (s, hd) = (d.s, d.d);
    let mut push = |name: &str, pass, product: &str, sh| {
        out.push(StepGemm {
            name: name.into(),
            kind: GemmKind::AttentionCore,
            pass,
            product: product.into(),
            shape: sh,
            count: d.layers,
        })
    };
    push("scores", Pass::Forward, "Q·Kᵀ", shape(s, s, hd, bh));
    push("context", Pass::Forward, "P·V", shape(s, hd, s, bh));
    if recompute {
        push("scores", Pass::Recompute, "Q·Kᵀ", shape(s, s, hd, bh));
        push("context", Pass::Recompute, "P·V", shape(s, hd, s, bh));
    }
    push("context", Pass::BackwardInput, "dO·Vᵀ", shape(s, s, hd, bh));
    push(
        "context",
        Pass::BackwardWeight,
        "Pᵀ·dO",
        shape(s, hd, s, bh),
    );
    push("scores", Pass::BackwardInput, "dS·K", shape(s, hd, s, bh));
    push("scores", Pass::BackwardWeight, "dSᵀ·Q", shape(s, hd, s, bh));
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small LLaMA-style config with grouped-query attention: h 64, 4 heads of 16, 2 KV
    /// heads, gated MLP of 96, vocabulary 100, 2 layers.
    pub fn tiny_llama() -> ModelConfig {
        ModelConfig {
            name: "tiny-llama".into(),
            aliases: vec![],
            params: 1.0,
            layers: 2,
            hidden: 64,
            heads: 4,
            kv_heads: 2,
            ffn: 96,
            vocab: 100,
            context: 64,
            training_tokens: None,
            gated_mlp: true,
            tie_word_embeddings: false,
            bias: false,
            learned_positions: false,
            head_dim: None,
            source: "test".into(),
            param_note: None,
        }
    }

    pub fn spec(model: ModelConfig, recompute: Recompute) -> StepSpec {
        StepSpec {
            model,
            seq: 32,
            micro_batch: 2,
            recompute,
            fused: true,
            tp: 1,
        }
    }

    fn find<'a>(g: &'a [StepGemm], name: &str, pass: Pass) -> &'a StepGemm {
        g.iter()
            .find(|x| x.name == name && x.pass == pass)
            .unwrap_or_else(|| panic!("{name} {pass}"))
    }

    #[test]
    fn tiny_llama_shapes_by_hand() {
        let s = spec(tiny_llama(), Recompute::None);
        s.validate().unwrap();
        let g = s.gemms();
        // 4 linears × 3 + lm head × 3 + attention 6
        assert_eq!(g.len(), 4 * 3 + 3 + 6);
        // t = 64 tokens; QKV out = 64 + 2·32 = 128.
        let qkv = find(&g, "qkv", Pass::Forward);
        assert_eq!((qkv.shape, qkv.count), (shape(64, 128, 64, 1), 2));
        assert_eq!(
            find(&g, "qkv", Pass::BackwardInput).shape,
            shape(64, 64, 128, 1)
        );
        assert_eq!(
            find(&g, "qkv", Pass::BackwardWeight).shape,
            shape(128, 64, 64, 1)
        );
        assert_eq!(
            find(&g, "mlp_gate_up", Pass::Forward).shape,
            shape(64, 192, 64, 1)
        );
        assert_eq!(
            find(&g, "mlp_down", Pass::BackwardWeight).shape,
            shape(64, 96, 64, 1)
        );
        let head = find(&g, "lm_head", Pass::Forward);
        assert_eq!((head.shape, head.count), (shape(64, 100, 64, 1), 1));
        // scores: batch 2·4 = 8 of 32×32×16
        assert_eq!(
            find(&g, "scores", Pass::Forward).shape,
            shape(32, 32, 16, 8)
        );
        assert_eq!(
            find(&g, "context", Pass::Forward).shape,
            shape(32, 16, 32, 8)
        );
        assert_eq!(
            find(&g, "context", Pass::BackwardInput).shape,
            shape(32, 32, 16, 8)
        );
        // FLOPs by hand: per layer linears 2·64·(64·128 + 64·64 + 64·192 + 96·64) fwd
        let lin_fwd = 2.0 * 64.0 * (64.0 * 128.0 + 64.0 * 64.0 + 64.0 * 192.0 + 96.0 * 64.0);
        let head_fwd = 2.0 * 64.0 * 64.0 * 100.0;
        let attn_fwd = 2.0 * 8.0 * (32.0 * 32.0 * 16.0) * 2.0;
        let total: f64 = g.iter().map(StepGemm::flops).sum();
        assert_eq!(total, 3.0 * (2.0 * (lin_fwd + attn_fwd) + head_fwd));
    }

    #[test]
    fn tensor_parallel_rank_shapes_by_hand() {
        // tiny-llama on 2 ranks: 2 of the 4 query heads, 1 of the 2 K/V heads, half the MLP
        // and vocabulary; h stays whole.
        let mut s = spec(tiny_llama(), Recompute::None);
        s.tp = 2;
        s.validate().unwrap();
        let g = s.gemms();
        for (name, pass, want) in [
            // QKV column-parallel: out 2·16 + 2·16 = 64 of 128.
            ("qkv", Pass::Forward, shape(64, 64, 64, 1)),
            // attention output row-parallel: in 32 of 64.
            ("attn_out", Pass::Forward, shape(64, 64, 32, 1)),
            ("mlp_gate_up", Pass::Forward, shape(64, 96, 64, 1)),
            ("mlp_down", Pass::BackwardWeight, shape(64, 48, 64, 1)),
            ("lm_head", Pass::Forward, shape(64, 50, 64, 1)),
            // attention: batch 2 sequences × 2 heads.
            ("scores", Pass::Forward, shape(32, 32, 16, 4)),
        ] {
            assert_eq!(find(&g, name, pass).shape, want, "{name} {pass}");
        }
        // 3 ranks do not divide 4 heads.
        s.tp = 3;
        let e = s.validate().unwrap_err();
        assert!(crate::error::is_usage(&e));
        assert!(e.to_string().contains("--tp 3 does not divide"), "{e}");
        s.tp = 0;
        assert!(s.validate().unwrap_err().to_string().contains("--tp"));
    }

    #[test]
    fn unfused_lists_more_products_with_the_same_flops() {
        let mut s = spec(tiny_llama(), Recompute::None);
        let fused: f64 = s.gemms().iter().map(StepGemm::flops).sum();
        s.fused = false;
        let g = s.gemms();
        assert_eq!(find(&g, "k", Pass::Forward).shape, shape(64, 32, 64, 1));
        assert_eq!(
            find(&g, "mlp_gate", Pass::Forward).shape,
            shape(64, 96, 64, 1)
        );
        let unfused: f64 = g.iter().map(StepGemm::flops).sum();
        assert_eq!(fused, unfused);
    }

    #[test]
    fn recomputation_adds_forwards() {
        let none = spec(tiny_llama(), Recompute::None).gemms();
        let sel = spec(tiny_llama(), Recompute::Selective).gemms();
        let full = spec(tiny_llama(), Recompute::Full).gemms();
        let rec = |g: &[StepGemm]| g.iter().filter(|x| x.pass == Pass::Recompute).count();
        assert_eq!((rec(&none), rec(&sel), rec(&full)), (0, 2, 2 + 4));
        // the LM head is never recomputed
        assert!(!full
            .iter()
            .any(|x| x.name == "lm_head" && x.pass == Pass::Recompute));
    }

    #[test]
    fn bad_sizes_are_usage_errors() {
        let mut s = spec(tiny_llama(), Recompute::None);
        s.seq = 0;
        assert!(s.validate().unwrap_err().to_string().contains("--seq"));
        s.seq = 8;
        s.micro_batch = 0;
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--micro-batch"));
        let mut g = spec(
            crate::model::lookup("gpt2").unwrap().clone(),
            Recompute::None,
        );
        g.seq = 2048;
        let e = g.validate().unwrap_err();
        assert!(crate::error::is_usage(&e));
        assert!(e.to_string().contains("1024 positions"), "{e}");
        let mut big = spec(tiny_llama(), Recompute::None);
        big.micro_batch = 1 << 30;
        assert!(big.validate().unwrap_err().to_string().contains("cuBLAS"));
    }
}
