//! Data and scaling laws, to size a model and its data for a compute budget: the Chinchilla
//! rule, data size on disk, and compute-optimal sizes under Chinchilla and Kaplan.
//!
//! Sources (`docs/sources.md` §5): N_opt ∝ C^a, D_opt ∝ C^b with a + b = 1 because C = 6ND.
//! Chinchilla (Hoffmann et al. 2022): a = b = 0.5 and about 20 tokens per parameter, so
//! N = √(C / 120) and D = 20·N. Kaplan et al. 2020: a = 0.73, b = 0.27, with the constant
//! of their Table 5: N_opt = 1.3e9 · C^0.73 (C in PF-days; N counts non-embedding
//! parameters), and D = C / 6N here so that the pair spends exactly C.

use serde::Serialize;

use super::compute::{CHINCHILLA_TOKENS_PER_PARAM, PF_DAY_FLOPS};

/// A compute-optimal scaling law.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Law {
    pub name: &'static str,
    /// Exponent of the model size: N_opt ∝ C^a.
    pub a: f64,
    /// Exponent of the data: D_opt ∝ C^b.
    pub b: f64,
    pub source: &'static str,
}

/// Hoffmann et al. 2022 (also PaLM): scale model and data equally.
pub const CHINCHILLA: Law = Law {
    name: "chinchilla",
    a: 0.5,
    b: 0.5,
    source: "Hoffmann et al. 2022: a = b = 0.5, D = 20 N",
};

/// Kaplan et al. 2020: grow the model faster than the data.
pub const KAPLAN: Law = Law {
    name: "kaplan",
    a: 0.73,
    b: 0.27,
    source: "Kaplan et al. 2020, Table 5: N = 1.3e9 (C/PF-day)^0.73, D = C/6N",
};

/// Kaplan's Table 5 constant: parameters at one PF-day.
pub const KAPLAN_N_AT_ONE_PF_DAY: f64 = 1.3e9;

impl Law {
    /// How model and data grow for `k`× more compute: (k^a, k^b).
    pub fn growth(&self, k: f64) -> (f64, f64) {
        (k.powf(self.a), k.powf(self.b))
    }

    /// Compute-optimal (parameters, tokens) for a budget of `flops`.
    pub fn optimal(&self, flops: f64) -> (f64, f64) {
        if self.name == KAPLAN.name {
            let n = KAPLAN_N_AT_ONE_PF_DAY * (flops / PF_DAY_FLOPS).powf(self.a);
            (n, flops / (6.0 * n))
        } else {
            let n = (flops / (6.0 * CHINCHILLA_TOKENS_PER_PARAM)).sqrt();
            (n, CHINCHILLA_TOKENS_PER_PARAM * n)
        }
    }
}

impl Law {
    /// The compute for which `params` is the law's optimal model size, and its tokens:
    /// the inverse of [`Law::optimal`].
    pub fn for_params(&self, params: f64) -> (f64, f64) {
        let c = if self.name == KAPLAN.name {
            PF_DAY_FLOPS * (params / KAPLAN_N_AT_ONE_PF_DAY).powf(1.0 / self.a)
        } else {
            6.0 * params * CHINCHILLA_TOKENS_PER_PARAM * params
        };
        (c, c / (6.0 * params))
    }
}

/// Training tokens for a model under the Chinchilla rule (20 per parameter).
pub fn chinchilla_tokens(params: f64) -> f64 {
    CHINCHILLA_TOKENS_PER_PARAM * params
}

/// Bytes of tokenized data: tokens × bytes per token (4 for int32 token ids).
pub fn data_bytes(tokens: f64, bytes_per_token: f64) -> f64 {
    tokens * bytes_per_token
}

/// Epochs over a dataset of `dataset_tokens` when training on `tokens`.
pub fn epochs(tokens: f64, dataset_tokens: f64) -> f64 {
    tokens / dataset_tokens
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    #[test]
    fn seven_b_needs_140b_tokens_560_gb() {
        assert_eq!(chinchilla_tokens(7e9), 140e9);
        assert_eq!(data_bytes(140e9, 4.0), 560e9);
    }

    #[test]
    fn ten_x_growth() {
        let (n, d) = CHINCHILLA.growth(10.0);
        assert!(close(n, 3.162, 0.001) && close(d, 3.162, 0.001));
        let (n, d) = KAPLAN.growth(10.0);
        assert!(close(n, 5.370, 0.001), "{n}");
        assert!(close(d, 1.862, 0.001), "{d}");
    }

    #[test]
    fn chinchilla_budget_gives_chinchilla() {
        // Chinchilla's budget 5.76e23 FLOPs → about 70B parameters and 1.4T tokens.
        let (n, d) = CHINCHILLA.optimal(5.76e23);
        assert!(close(n, 69.3e9, 0.01), "{n}");
        assert!(close(d, 1.386e12, 0.01), "{d}");
    }

    #[test]
    fn kaplan_constant() {
        let (n, d) = KAPLAN.optimal(PF_DAY_FLOPS);
        assert_eq!(n, 1.3e9);
        assert!(close(6.0 * n * d, PF_DAY_FLOPS, 1e-12));
    }

    #[test]
    fn for_params_inverts_optimal() {
        for law in [CHINCHILLA, KAPLAN] {
            let (c, d) = law.for_params(7e9);
            let (n2, d2) = law.optimal(c);
            assert!(close(n2, 7e9, 1e-9) && close(d2, d, 1e-9), "{}", law.name);
        }
        assert!(close(CHINCHILLA.for_params(7e9).1, 140e9, 1e-12));
    }

    #[test]
    fn epochs_ratio() {
        assert_eq!(epochs(1.4e12, 0.7e12), 2.0);
    }

    proptest! {
        #[test]
        fn optimal_pairs_spend_the_budget(c in 1e18f64..1e27) {
            for law in [CHINCHILLA, KAPLAN] {
                let (n, d) = law.optimal(c);
                prop_assert!(close(6.0 * n * d, c, 1e-9));
                // k× compute grows N and D by the law's factors.
                let (n2, d2) = law.optimal(10.0 * c);
                let (gn, gd) = law.growth(10.0);
                prop_assert!(close(n2 / n, gn, 1e-9));
                prop_assert!(close(d2 / d, gd, 1e-9));
            }
        }
    }
}
