//! Data and scaling laws, to size a model and its data for a compute budget: the Chinchilla
//! rule, data size on disk, and compute-optimal sizes under Chinchilla and Kaplan.
//!
//! Sources (`docs/sources.md` §5): N_opt ∝ C^a, D_opt ∝ C^b with a + b = 1 because C = 6ND.
//! Chinchilla (Hoffmann et al. 2022): a = b = 0.5 and about 20 tokens per parameter, so
//! N = √(C / 120) and D = 20·N. Kaplan et al. 2020: a = 0.73, b = 0.27, with the constant
//! of their Table 5: N_opt = 1.3e9 · C^0.73 (C in PF-days; N counts non-embedding
//! parameters), and D = C / 6N here so that the pair spends exactly C.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::compute::{self, CHINCHILLA_TOKENS_PER_PARAM, PF_DAY_FLOPS};
use super::Sourced;

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

/// The laws `gpubench scale` compares, in the order it shows them.
pub const LAWS: [Law; 2] = [CHINCHILLA, KAPLAN];

/// What fixes the laws' choice: a model's size or a compute budget.
#[derive(Debug, Clone, PartialEq)]
pub enum Given {
    /// Parameters: the data each law pairs with them.
    Params(Sourced),
    /// FLOPs: the compute-optimal size under each law.
    Compute(f64),
}

/// One law's model size, data and compute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LawPoint {
    pub law: Law,
    pub params: f64,
    pub tokens: f64,
    pub flops: f64,
}

impl LawPoint {
    /// The law's point for what is given.
    pub fn of(law: Law, given: &Given) -> LawPoint {
        let (params, tokens, flops) = match given {
            Given::Params(n) => {
                let (c, d) = law.for_params(n.value);
                (n.value, d, c)
            }
            Given::Compute(c) => {
                let (n, d) = law.optimal(*c);
                (n, d, *c)
            }
        };
        LawPoint {
            law,
            params,
            tokens,
            flops,
        }
    }

    /// The point as JSON, with how model and data grow for `k`× more compute.
    pub fn json(&self, k: f64) -> Value {
        let law = &self.law;
        let (n, d, c) = (self.params, self.tokens, self.flops);
        let (gn, gd) = law.growth(k);
        json!({
            "params": n, "tokens": d, "flops": c, "tokens_per_param": d / n,
            "a": law.a, "b": law.b,
            "growth_params": gn, "growth_tokens": gd,
            "source": law.source,
        })
    }
}

/// A given model's data under the Chinchilla rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleData {
    /// 20 tokens per parameter.
    pub tokens: f64,
    /// 6ND for those tokens.
    pub flops: f64,
}

/// Everything `gpubench scale` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleReport {
    pub given: Given,
    pub bytes_per_token: Sourced,
    /// Compute growth factor k.
    pub growth: Sourced,
    /// Tokens the model preset was trained on, when known.
    pub trained_tokens: Option<f64>,
    /// One point per law of [`LAWS`], in order.
    pub points: Vec<LawPoint>,
    /// The Chinchilla rule's data, for a given model.
    pub rule: Option<RuleData>,
}

impl ScaleReport {
    /// Each law's point for `given`, and the rule's data for a given model.
    pub fn of(
        given: Given,
        bytes_per_token: Sourced,
        growth: Sourced,
        trained_tokens: Option<f64>,
    ) -> ScaleReport {
        let points = LAWS.iter().map(|law| LawPoint::of(*law, &given)).collect();
        let rule = match &given {
            Given::Params(n) => {
                let tokens = chinchilla_tokens(n.value);
                Some(RuleData {
                    tokens,
                    flops: compute::training_flops(n.value, tokens),
                })
            }
            Given::Compute(_) => None,
        };
        ScaleReport {
            given,
            bytes_per_token,
            growth,
            trained_tokens,
            points,
            rule,
        }
    }

    /// Bytes on disk of `tokens` at the report's bytes per token.
    pub fn data_bytes(&self, tokens: f64) -> f64 {
        data_bytes(tokens, self.bytes_per_token.value)
    }

    /// The JSON object `gpubench scale --json` prints: the Chinchilla point at the top level,
    /// each law under its name.
    pub fn json(&self) -> Value {
        let mut o = Map::new();
        let first = &self.points[0];
        let (n, d, c) = (first.params, first.tokens, first.flops);
        o.insert("params".into(), json!(n));
        o.insert("tokens".into(), json!(d));
        o.insert("flops".into(), json!(c));
        o.insert("pf_days".into(), json!(compute::pf_days(c)));
        o.insert("bytes_per_token".into(), json!(self.bytes_per_token.value));
        o.insert("data_bytes".into(), json!(self.data_bytes(d)));
        o.insert("data_gb".into(), json!(self.data_bytes(d) / 1e9));
        o.insert("growth_factor".into(), json!(self.growth.value));
        for p in &self.points {
            o.insert(p.law.name.into(), p.json(self.growth.value));
        }
        if let Some(t) = self.trained_tokens {
            o.insert("model_training_tokens".into(), json!(t));
        }
        o.insert(
            "given".into(),
            json!(match self.given {
                Given::Params(_) => "params",
                Given::Compute(_) => "compute",
            }),
        );
        Value::Object(o)
    }
}

#[cfg(test)]
pub(crate) mod tests {
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

    /// `gpubench scale --params 7B` (given) with the default 4 bytes per token and 10× growth.
    pub(crate) fn seven_b() -> ScaleReport {
        use crate::estimate::Source;
        ScaleReport::of(
            Given::Params(Sourced::new(7e9, Source::Given)),
            Sourced::noted(4.0, Source::Default, "int32 token ids"),
            Sourced::new(10.0, Source::Default),
            None,
        )
    }

    #[test]
    fn a_model_gets_the_rule_data_and_each_law_point() {
        let r = seven_b();
        let rule = r.rule.unwrap();
        assert_eq!(rule.tokens, 140e9);
        assert_eq!(rule.flops, 6.0 * 7e9 * 140e9);
        assert_eq!(r.points.len(), 2);
        assert_eq!(r.points[0].law, CHINCHILLA);
        assert_eq!(r.points[1].law, KAPLAN);
        assert!(r.points.iter().all(|p| p.params == 7e9));
        let j = r.json();
        assert_eq!(j["given"], "params");
        assert_eq!(j["data_gb"], 560.0);
        assert!(close(
            j["kaplan"]["growth_params"].as_f64().unwrap(),
            5.370,
            0.001
        ));
        assert!(j.get("model_training_tokens").is_none());
    }

    #[test]
    fn a_budget_gets_each_law_optimum_and_no_rule_data() {
        let r = ScaleReport::of(
            Given::Compute(5.76e23),
            seven_b().bytes_per_token,
            seven_b().growth,
            Some(1.4e12),
        );
        assert!(r.rule.is_none());
        for p in &r.points {
            assert_eq!(p.flops, 5.76e23);
            assert_eq!((p.params, p.tokens), p.law.optimal(5.76e23));
        }
        let j = r.json();
        assert_eq!(j["given"], "compute");
        assert_eq!(j["model_training_tokens"], 1.4e12);
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
