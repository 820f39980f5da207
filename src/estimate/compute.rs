//! Training compute, the work every plan starts from: C = 6·N·D, PF-days, recomputation and
//! PaLM's attention term.
//!
//! Sources (`docs/sources.md` §1 and §12): a forward pass costs 2 FLOPs per parameter
//! per token and the backward pass 4, so C ≈ 6ND. Full activation recomputation runs the
//! forward pass twice: 8ND (Narayanan et al. 2021). PaLM (Chowdhery et al. 2022, app. B)
//! adds the attention score and value products, 12·L·H·Q·T FLOPs per token (L layers,
//! H heads, Q head size, T sequence length), which 6N leaves out.

use serde::Serialize;

/// One PetaFLOP/s-day in FLOPs: 1e15 × 86,400.
pub const PF_DAY_FLOPS: f64 = 1e15 * 86_400.0;

/// Chinchilla's rule of thumb: training tokens per parameter.
pub const CHINCHILLA_TOKENS_PER_PARAM: f64 = 20.0;

/// Activation recomputation (checkpointing) strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Recompute {
    /// Keep every activation.
    #[default]
    None,
    /// Recompute only the attention scores (Korthikanti et al. 2022): negligible FLOPs.
    Selective,
    /// Recompute each layer's forward pass in the backward pass: 8ND.
    Full,
}

impl Recompute {
    /// FLOPs per parameter per token that the hardware executes: 6, or 8 with full
    /// recomputation (selective recomputation adds a few percent, ignored as in the paper).
    pub fn flops_per_param_token(self) -> f64 {
        match self {
            Recompute::None | Recompute::Selective => 6.0,
            Recompute::Full => 8.0,
        }
    }

    /// Hardware FLOPs per model FLOP (8/6 with full recomputation).
    pub fn hardware_factor(self) -> f64 {
        self.flops_per_param_token() / 6.0
    }

    /// Name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Recompute::None => "none",
            Recompute::Selective => "selective",
            Recompute::Full => "full",
        }
    }
}

/// Model FLOPs of training: 6·N·D.
pub fn training_flops(params: f64, tokens: f64) -> f64 {
    6.0 * params * tokens
}

/// FLOPs in PetaFLOP/s-days.
pub fn pf_days(flops: f64) -> f64 {
    flops / PF_DAY_FLOPS
}

/// PaLM's attention FLOPs per token (forward and backward): 12·L·H·Q·T.
pub fn attention_flops_per_token(layers: f64, heads: f64, head_dim: f64, seq: f64) -> f64 {
    12.0 * layers * heads * head_dim * seq
}

/// Tokens when the compute and the parameter count are known: D = C / 6N.
pub fn tokens_from_flops(flops: f64, params: f64) -> f64 {
    flops / (6.0 * params)
}

/// Parameters when the compute and the tokens are known: N = C / 6D.
pub fn params_from_flops(flops: f64, tokens: f64) -> f64 {
    flops / (6.0 * tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    #[test]
    fn six_nd() {
        assert_eq!(training_flops(65e9, 1.4e12), 5.46e23);
        // GPT-3: 175B × 300B tokens ≈ 3.14e23 FLOPs ≈ 3,640 PF-days (docs/sources.md §1).
        let c = training_flops(175e9, 300e9);
        assert!(close(c, 3.14e23, 0.005), "{c}");
        assert!(close(pf_days(3.14e23), 3634.0, 0.001));
        assert!(close(pf_days(c), 3640.0, 0.005));
    }

    #[test]
    fn recompute_factors() {
        assert_eq!(Recompute::None.flops_per_param_token(), 6.0);
        assert_eq!(Recompute::Selective.hardware_factor(), 1.0);
        assert_eq!(Recompute::Full.flops_per_param_token(), 8.0);
        assert!(close(Recompute::Full.hardware_factor(), 4.0 / 3.0, 1e-12));
    }

    #[test]
    fn palm_attention_term() {
        // LLaMA-65B: 80 layers, 64 heads of 128, 2,048 tokens.
        let a = attention_flops_per_token(80.0, 64.0, 128.0, 2048.0);
        assert_eq!(a, 12.0 * 80.0 * 64.0 * 128.0 * 2048.0);
        assert!(close(a / (6.0 * 65.2e9), 0.0412, 0.01));
    }

    #[test]
    fn inverse_relations() {
        let c = training_flops(7e9, 140e9);
        assert!(close(tokens_from_flops(c, 7e9), 140e9, 1e-12));
        assert!(close(params_from_flops(c, 140e9), 7e9, 1e-12));
        // A 100B model scaled from GPT-3: 100/175 × 3.14e23 ≈ 1.8e23 (docs/sources.md §1).
        assert!(close(100.0 / 175.0 * 3.14e23, 1.8e23, 0.01));
    }
}
