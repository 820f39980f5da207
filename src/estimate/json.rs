//! An estimate as one JSON object (`gpubench estimate --json`), for scripts that plan many
//! runs. The keys are documented in `docs/estimating.md` ("JSON output"); the top-level
//! figures are those of the primary scenario, every scenario is listed under `scenarios`, and
//! `sources` says where each figure came from.

use serde_json::{json, Map, Value};

use super::compute;
use super::scenario::{Estimate, Outcome, Workload};
use super::{Source, Sourced};

impl Estimate {
    /// The JSON object of `--json`.
    pub fn json(&self) -> Value {
        let mut m = Map::new();
        let mut sources = Map::new();
        let mut put = |m: &mut Map<String, Value>, key: &str, s: Option<&Sourced>| {
            m.insert(key.into(), s.map(|s| json!(s.value)).unwrap_or(Value::Null));
            if let Some(s) = s {
                sources.insert(key.into(), json!(s.origin()));
            }
        };
        m.insert(
            "model".into(),
            match &self.model {
                Some((n, s)) => json!({"name": n, "source": s}),
                None => Value::Null,
            },
        );
        let w = self.work.as_ref();
        put(&mut m, "params", w.and_then(|w| w.params.as_ref()));
        put(&mut m, "tokens", w.and_then(|w| w.tokens.as_ref()));
        m.insert("tokens_per_param".into(), json!(self.tokens_per_param()));
        put(&mut m, "flops_model", w.map(|w| &w.flops));
        let total = w.map(Workload::hardware_flops);
        m.insert("flops_total".into(), json!(total));
        m.insert("pf_days".into(), json!(total.map(compute::pf_days)));
        put(
            &mut m,
            "attention_flops_per_token",
            w.and_then(|w| w.attention_per_token.as_ref()),
        );
        m.insert("recompute".into(), json!(w.map(|w| w.recompute.name())));
        m.insert("dtype".into(), json!(self.dtype.name()));
        put(&mut m, "spec_peak_tflops", self.ctx.spec_peak.as_ref());
        put(
            &mut m,
            "measured_peak_tflops",
            self.ctx.measured_peak.as_ref(),
        );
        put(&mut m, "power_w", self.ctx.power_w.as_ref());
        put(&mut m, "pue", Some(&self.ctx.pue));
        put(&mut m, "carbon_t_per_mwh", Some(&self.ctx.carbon_t_per_mwh));
        put(
            &mut m,
            "dataset_tokens",
            self.dataset_tokens
                .map(|d| Sourced::new(d, Source::Given))
                .as_ref(),
        );
        let scenarios: Vec<Value> = self.outcomes.iter().map(outcome_json).collect();
        if let Some(Value::Object(p)) = scenarios.get(self.primary) {
            for (k, v) in p {
                m.insert(k.clone(), v.clone());
            }
            if let Some(o) = self.outcomes.get(self.primary) {
                for (k, s) in outcome_fields(o) {
                    if let Some(s) = s {
                        sources.insert(k.into(), json!(s.origin()));
                    }
                }
            }
        }
        if self.outcomes.len() == 2 {
            let (a, b) = (&self.outcomes[0], &self.outcomes[1]);
            let mut d = Map::new();
            let fa = outcome_fields(a);
            let fb = outcome_fields(b);
            for ((k, x), (_, y)) in fa.iter().zip(fb.iter()) {
                if let (Some(x), Some(y)) = (x, y) {
                    if x.value != 0.0 {
                        d.insert(format!("{k}_ratio"), json!(y.value / x.value));
                    }
                }
            }
            d.insert("of".into(), json!(format!("{} / {}", b.label, a.label)));
            m.insert("difference".into(), Value::Object(d));
        }
        m.insert("scenarios".into(), Value::Array(scenarios));
        m.insert("sources".into(), Value::Object(sources));
        m.insert(
            "warnings".into(),
            json!(self
                .warnings
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()),
        );
        m.insert("notes".into(), json!(self.notes));
        Value::Object(m)
    }
}

fn outcome_fields(o: &Outcome) -> Vec<(&'static str, Option<&Sourced>)> {
    vec![
        ("utilization", o.utilization.as_ref()),
        ("peak_tflops", o.peak_tflops.as_ref()),
        (
            "achieved_tflops_per_gpu",
            o.achieved_tflops_per_gpu.as_ref(),
        ),
        ("model_tflops_per_gpu", o.model_tflops_per_gpu.as_ref()),
        ("tokens_per_sec_per_gpu", o.tokens_per_sec_per_gpu.as_ref()),
        ("tokens_per_sec_total", o.tokens_per_sec_total.as_ref()),
        ("gpus", o.gpus.as_ref()),
        ("days", o.days.as_ref()),
        ("gpu_hours", o.gpu_hours.as_ref()),
        ("mfu", o.mfu.as_ref()),
        ("mfu_with_attention", o.mfu_with_attention.as_ref()),
        ("gemm_utilization", o.gemm_utilization.as_ref()),
        ("energy_mwh", o.energy_mwh.as_ref()),
        ("co2_tonnes", o.co2_tonnes.as_ref()),
        ("cost_rented_usd", o.cost_rented_usd.as_ref()),
    ]
}

fn outcome_json(o: &Outcome) -> Value {
    let mut m = Map::new();
    m.insert("scenario".into(), json!(o.label));
    m.insert("utilization_basis".into(), json!(o.basis));
    for (k, s) in outcome_fields(o) {
        m.insert(k.into(), s.map(|s| json!(s.value)).unwrap_or(Value::Null));
    }
    m.insert("gpus_exact".into(), json!(o.gpus_exact));
    let bought = o.cost_bought.map(|b| b.total());
    m.insert("cost_bought_usd".into(), json!(bought));
    m.insert(
        "cost_bought".into(),
        o.cost_bought
            .map(|b| serde_json::to_value(b).unwrap_or(Value::Null))
            .unwrap_or(Value::Null),
    );
    m.insert(
        "cost_usd".into(),
        json!(o.cost_rented_usd.as_ref().map(|c| c.value).or(bought)),
    );
    Value::Object(m)
}
