//! The memory-bound work of one training step, which GEMM timings alone would miss:
//! normalisations, activations, softmax, the residual adds, layout copies, the loss, and the
//! optimizer, each charged its bytes.
//!
//! These passes do few FLOPs per byte, so their time is bytes moved / memory bandwidth (the
//! device's measured copy bandwidth), not FLOPs. Each pass is one kernel that reads its
//! inputs and writes its outputs once: what a fused or compiled implementation moves, and
//! the layout `benches/train_step.py` follows (eager PyTorch kernels that are not fused,
//! such as RoPE written as `rotate_half`, move more). Dropout is left out (none in LLaMA or
//! at pre-training scale); bias adds are left out (fused into the GEMM epilogue).
//!
//! Elements are activations of the training dtype (bf16: 2 bytes). With `t` tokens, `h`
//! hidden, `q`/`kv` query/key widths, `f` MLP size, `V` vocabulary and `b·a·s²` attention
//! scores, per layer (elements read + written):
//!
//! | pass | forward | backward |
//! |---|---|---|
//! | 2 norms | th + th each | 2th + th each |
//! | rotary embedding (no learned positions) | t(q+kv) ×2 | same |
//! | head layout copies in / out | t(q+2kv) ×2, tq ×2 | same |
//! | K/V head expansion (grouped-query) | 2t·kv + 2tq | 2tq + 2t·kv |
//! | scale and causal mask | bas² ×2 | bas² ×2 |
//! | softmax | bas² ×2 | 2bas² + bas² |
//! | activation: SwiGLU / GELU | 2tf + tf / tf + tf | 3tf + 2tf / 2tf + tf |
//! | 2 residual adds / gradient merges | 2th + th each | 2th + th each |
//!
//! Once per step: embedding lookup (th + th; backward zero-fills the V×h gradient and adds
//! 2th + th into it), learned positions (2th + th; backward th + sh), final norm, and the
//! cross-entropy over the logits (tV + tV; backward 2tV + tV). Recomputation repeats the
//! forward passes of what it recomputes (selective: mask and softmax).
//!
//! The optimizer: AdamW with fp32 master weights reads the master weight, its gradient and
//! the two moments and writes the weight and the moments (7 × 4 bytes per parameter); when
//! the model trains in bf16/fp16 it also casts each gradient to fp32 (2 + 4) and each new
//! weight back (4 + 2): 40 bytes per parameter, over every parameter
//! ([`crate::estimate::memory::optimizer_bytes_per_param`], shared with the layout model).

use serde::{Deserialize, Serialize};

use super::step::{Dims, Pass, StepSpec};
use crate::dtype::DType;
use crate::estimate::compute::Recompute;

/// What a memory-bound pass does (the breakdown groups by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PassKind {
    Norm,
    Rotary,
    Layout,
    Softmax,
    Activation,
    Residual,
    Embedding,
    Loss,
}

/// One memory-bound kernel of the step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryPass {
    pub name: String,
    pub kind: PassKind,
    pub pass: Pass,
    /// Bytes read and written by one call.
    pub bytes: f64,
    /// Calls per step.
    pub count: u64,
}

impl MemoryPass {
    /// Bytes of all its calls in one step.
    pub fn total_bytes(&self) -> f64 {
        self.bytes * self.count as f64
    }
}

/// Bytes per element of activations for a training dtype (fp8 GEMMs keep bf16 activations).
pub fn activation_bytes(dtype: DType) -> f64 {
    dtype.output_bytes() as f64
}

/// A pass as (name, kind, elements read, elements written).
type Elems = (&'static str, PassKind, f64, f64);

/// Forward passes of one transformer layer, and those selective recomputation repeats.
fn layer_forward(spec: &StepSpec, d: &Dims) -> Vec<(Elems, bool)> {
    let (t, h, q, kv, f) = (d.t as f64, d.h as f64, d.q as f64, d.kv as f64, d.f as f64);
    let scores = (d.b * d.heads) as f64 * d.s as f64 * d.s as f64;
    let mut v = vec![(("attention norm", PassKind::Norm, t * h, t * h), false)];
    if !spec.model.learned_positions {
        v.push((
            (
                "rotary embedding",
                PassKind::Rotary,
                t * (q + kv),
                t * (q + kv),
            ),
            false,
        ));
    }
    let qkv = t * (q + 2.0 * kv);
    v.push((
        ("head layout in (q, k, v)", PassKind::Layout, qkv, qkv),
        false,
    ));
    if d.kv < d.q {
        v.push((
            (
                "k/v head expansion",
                PassKind::Layout,
                2.0 * t * kv,
                2.0 * t * q,
            ),
            false,
        ));
    }
    v.push((
        ("scale and causal mask", PassKind::Softmax, scores, scores),
        true,
    ));
    v.push((("softmax", PassKind::Softmax, scores, scores), true));
    v.push((("head layout out", PassKind::Layout, t * q, t * q), false));
    v.push((
        (
            "residual add (attention)",
            PassKind::Residual,
            2.0 * t * h,
            t * h,
        ),
        false,
    ));
    v.push((("MLP norm", PassKind::Norm, t * h, t * h), false));
    let act = if spec.model.gated_mlp {
        (
            "activation (SwiGLU)",
            PassKind::Activation,
            2.0 * t * f,
            t * f,
        )
    } else {
        ("activation (GELU)", PassKind::Activation, t * f, t * f)
    };
    v.push((act, false));
    v.push((
        ("residual add (MLP)", PassKind::Residual, 2.0 * t * h, t * h),
        false,
    ));
    v
}

/// Backward passes of one transformer layer.
fn layer_backward(spec: &StepSpec, d: &Dims) -> Vec<Elems> {
    let (t, h, q, kv, f) = (d.t as f64, d.h as f64, d.q as f64, d.kv as f64, d.f as f64);
    let scores = (d.b * d.heads) as f64 * d.s as f64 * d.s as f64;
    let mut v = vec![
        (
            "residual gradient merge",
            PassKind::Residual,
            2.0 * t * h,
            t * h,
        ),
        (
            "residual gradient merge",
            PassKind::Residual,
            2.0 * t * h,
            t * h,
        ),
        ("norm backward", PassKind::Norm, 2.0 * t * h, t * h),
        ("norm backward", PassKind::Norm, 2.0 * t * h, t * h),
    ];
    v.push(if spec.model.gated_mlp {
        (
            "activation backward (SwiGLU)",
            PassKind::Activation,
            3.0 * t * f,
            2.0 * t * f,
        )
    } else {
        (
            "activation backward (GELU)",
            PassKind::Activation,
            2.0 * t * f,
            t * f,
        )
    });
    v.push(("head layout out backward", PassKind::Layout, t * q, t * q));
    v.push(("softmax backward", PassKind::Softmax, 2.0 * scores, scores));
    v.push(("scale and mask backward", PassKind::Softmax, scores, scores));
    if d.kv < d.q {
        v.push((
            "k/v head expansion backward",
            PassKind::Layout,
            2.0 * t * q,
            2.0 * t * kv,
        ));
    }
    let qkv = t * (q + 2.0 * kv);
    v.push(("head layout in backward", PassKind::Layout, qkv, qkv));
    if !spec.model.learned_positions {
        v.push((
            "rotary embedding backward",
            PassKind::Rotary,
            t * (q + kv),
            t * (q + kv),
        ));
    }
    v
}

/// Every memory-bound pass of one training step, for activations of `dtype`.
pub fn memory_passes(spec: &StepSpec, dtype: DType) -> Vec<MemoryPass> {
    let d = spec.dims();
    let e = activation_bytes(dtype);
    let (t, h, s, vocab) = (d.t as f64, d.h as f64, d.s as f64, d.vocab as f64);
    let mut out = Vec::new();
    let mut push = |(name, kind, r, w): Elems, pass, count| {
        out.push(MemoryPass {
            name: name.into(),
            kind,
            pass,
            bytes: (r + w) * e,
            count,
        })
    };
    let l = d.layers;
    // Model-level forward.
    push(
        ("embedding lookup", PassKind::Embedding, t * h, t * h),
        Pass::Forward,
        1,
    );
    if spec.model.learned_positions {
        push(
            (
                "position embedding add",
                PassKind::Embedding,
                2.0 * t * h,
                t * h,
            ),
            Pass::Forward,
            1,
        );
    }
    for (p, selective) in layer_forward(spec, &d) {
        push(p, Pass::Forward, l);
        let again = match spec.recompute {
            Recompute::None => false,
            Recompute::Selective => selective,
            Recompute::Full => true,
        };
        if again {
            push(p, Pass::Recompute, l);
        }
    }
    push(
        ("final norm", PassKind::Norm, t * h, t * h),
        Pass::Forward,
        1,
    );
    push(
        (
            "cross-entropy (log-softmax)",
            PassKind::Loss,
            t * vocab,
            t * vocab,
        ),
        Pass::Forward,
        1,
    );
    // Backward.
    push(
        (
            "cross-entropy backward",
            PassKind::Loss,
            2.0 * t * vocab,
            t * vocab,
        ),
        Pass::Backward,
        1,
    );
    push(
        ("final norm backward", PassKind::Norm, 2.0 * t * h, t * h),
        Pass::Backward,
        1,
    );
    for p in layer_backward(spec, &d) {
        push(p, Pass::Backward, l);
    }
    push(
        (
            "embedding gradient",
            PassKind::Embedding,
            2.0 * t * h,
            vocab * h + t * h,
        ),
        Pass::Backward,
        1,
    );
    if spec.model.learned_positions {
        push(
            (
                "position embedding gradient",
                PassKind::Embedding,
                t * h,
                s * h,
            ),
            Pass::Backward,
            1,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::step::tests::{spec, tiny_llama};
    use super::*;

    #[test]
    fn tiny_llama_passes_by_hand() {
        // t = 64, h = 64, q = 64, kv = 32, f = 96, scores 2·4·32·32 = 8192, bf16.
        let p = memory_passes(&spec(tiny_llama(), Recompute::None), DType::Bf16);
        let get = |name: &str, pass: Pass| {
            p.iter()
                .filter(|x| x.name == name && x.pass == pass)
                .map(MemoryPass::total_bytes)
                .sum::<f64>()
        };
        assert_eq!(get("softmax", Pass::Forward), 2.0 * 8192.0 * 2.0 * 2.0);
        assert_eq!(
            get("softmax backward", Pass::Backward),
            3.0 * 8192.0 * 2.0 * 2.0
        );
        assert_eq!(
            get("activation (SwiGLU)", Pass::Forward),
            3.0 * 64.0 * 96.0 * 2.0 * 2.0
        );
        assert_eq!(
            get("k/v head expansion", Pass::Forward),
            (64.0 * 64.0 + 64.0 * 128.0) * 2.0 * 2.0
        );
        assert_eq!(
            get("cross-entropy (log-softmax)", Pass::Forward),
            2.0 * 64.0 * 100.0 * 2.0
        );
        assert_eq!(
            get("norm backward", Pass::Backward),
            2.0 * 2.0 * 3.0 * 64.0 * 64.0 * 2.0
        );
        assert!(!p.iter().any(|x| x.pass == Pass::Recompute));
        // Without grouped-query attention there is no expansion; GPT-2 style has no RoPE.
        let mut m = tiny_llama();
        m.kv_heads = 4;
        m.learned_positions = true;
        m.gated_mlp = false;
        let p = memory_passes(&spec(m, Recompute::None), DType::Fp32);
        assert!(!p
            .iter()
            .any(|x| x.kind == PassKind::Rotary || x.name.contains("expansion")));
        assert!(p.iter().any(|x| x.name == "activation (GELU)"));
        assert!(p.iter().any(|x| x.name == "position embedding add"));
    }

    #[test]
    fn recomputation_repeats_forward_passes() {
        let count = |r| {
            memory_passes(&spec(tiny_llama(), r), DType::Bf16)
                .iter()
                .filter(|x| x.pass == Pass::Recompute)
                .map(|x| x.name.clone())
                .collect::<Vec<_>>()
        };
        assert!(count(Recompute::None).is_empty());
        assert_eq!(
            count(Recompute::Selective),
            ["scale and causal mask", "softmax"]
        );
        let full = count(Recompute::Full);
        let fwd = memory_passes(&spec(tiny_llama(), Recompute::None), DType::Bf16)
            .iter()
            .filter(|x| x.pass == Pass::Forward && x.count == 2)
            .count();
        assert_eq!(full.len(), fwd);
    }
}
