//! What a layout's step time adds up to over a training run (steps, days, GPU-hours, cost,
//! energy), and one layout estimate as the JSON object `gpubench estimate --json` prints, so
//! the step time always comes with its parts, its rates and where they came from (the text
//! view is `output::layout`).

use serde_json::{json, Value};

use super::comm::Scope;
use super::{Evaluation, Hardware, Layout};
use crate::estimate::{cost, energy};

/// The training run a step time turns into.
#[derive(Debug, Clone, PartialEq)]
pub struct Training {
    pub tokens: f64,
    pub steps: f64,
    pub days: f64,
    pub gpu_hours: f64,
    pub cost_usd: Option<f64>,
    pub energy_mwh: Option<f64>,
}

impl Training {
    /// `tokens` at the evaluated throughput; cost and energy when a price or a power is given.
    pub fn of(
        e: &Evaluation,
        tokens: f64,
        price_per_gpu_hour: Option<f64>,
        power_w: Option<f64>,
        pue: f64,
    ) -> Training {
        let steps = tokens / e.tokens_per_step;
        let seconds = steps * e.step_time_s;
        let gpu_hours = seconds / 3600.0 * e.layout.gpus() as f64;
        Training {
            tokens,
            steps,
            days: seconds / 86_400.0,
            gpu_hours,
            cost_usd: price_per_gpu_hour.map(|p| cost::rented(gpu_hours, p)),
            energy_mwh: power_w.map(|w| energy::energy_mwh(gpu_hours, w, pue)),
        }
    }
}

/// Everything one layout estimate shows.
#[derive(Debug, Clone, PartialEq)]
pub struct LayoutEstimate {
    pub model: String,
    pub gpu: String,
    pub hardware: Hardware,
    pub eval: Evaluation,
    pub training: Option<Training>,
    pub notes: Vec<String>,
}

impl LayoutEstimate {
    /// The JSON object.
    pub fn json(&self) -> Value {
        let e = &self.eval;
        let l = &e.layout;
        let hw = &self.hardware;
        let b = &e.breakdown;
        let m = &e.memory.breakdown;
        let tr = self.training.as_ref();
        json!({
            "model": self.model,
            "gpu": self.gpu,
            "layout": layout_json(l, e.micro_batches),
            "hardware": {
                "peak_tflops": hw.peak_tflops,
                "compute_tflops": hw.compute_tflops,
                "attention_tflops": hw.attention_tflops,
                "memory_gbps": hw.memory_gbps,
                "compute_note": hw.compute_note,
                "gpus_per_node": hw.gpus_per_node,
                "links_busbw_gbps_at_1gb": Scope::ALL
                    .iter()
                    .map(|sc| {
                        let l = hw.links.get(*sc);
                        (sc.name().to_string(), json!({"busbw_gbps": l.curve.busbw_gbps(1e9), "latency_s": l.latency_s, "note": l.note}))
                    })
                    .collect::<serde_json::Map<_, _>>(),
                "memory_gb": hw.memory_bytes / 1e9,
            },
            "step_time_s": e.step_time_s,
            "step_breakdown_s": {
                "compute": b.compute,
                "tp_comm": b.tp_comm,
                "pp_bubble": b.pp_bubble,
                "pp_p2p": b.pp_p2p,
                "dp_comm_exposed": b.dp_comm_exposed,
                "dp_comm_total": b.dp_comm_total,
                "optimizer": b.optimizer,
            },
            "tokens_per_step": e.tokens_per_step,
            "mfu": e.mfu,
            "hfu": e.hfu,
            "achieved_tflops_per_gpu": e.achieved_tflops,
            "tokens_per_sec_per_gpu": e.tokens_per_sec_per_gpu,
            "tokens_per_sec": e.tokens_per_sec_per_gpu * l.gpus() as f64,
            "memory_per_gpu_gb": e.memory.total_bytes / 1e9,
            "memory_breakdown_gb": {
                "weights": m.weights / 1e9,
                "gradients": m.gradients / 1e9,
                "optimizer": (m.optimizer + m.master) / 1e9,
                "activations": m.activations / 1e9,
                "zero3_gathered": e.memory.zero3_gathered_bytes / 1e9,
                "cuda_context": m.cuda_context / 1e9,
            },
            "fits": e.fits,
            "tokens": tr.map(|t| t.tokens),
            "days": tr.map(|t| t.days),
            "gpu_hours": tr.map(|t| t.gpu_hours),
            "cost_usd": tr.and_then(|t| t.cost_usd),
            "energy_mwh": tr.and_then(|t| t.energy_mwh),
            "notes": self.notes,
        })
    }
}

/// A layout's settings as JSON.
pub fn layout_json(l: &Layout, micro_batches: u64) -> Value {
    json!({
        "tp": l.tp, "pp": l.pp, "dp": l.dp, "gpus": l.gpus(),
        "micro_batch": l.micro_batch, "global_batch": l.global_batch,
        "micro_batches": micro_batches, "seq": l.seq,
        "sequence_parallel": l.sequence_parallel, "virtual_stages": l.virtual_stages,
        "zero": l.zero, "recompute": l.recompute.name(), "dp_overlap": l.dp_overlap,
        "dp_bucket_params": l.bucket_size(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::estimate::compute::Recompute;
    use crate::estimate::layout::compute::tests::gpt;
    use crate::estimate::layout::{evaluate, tests::dgx_a100};

    pub(crate) fn estimate() -> LayoutEstimate {
        let m = gpt(96, 12_288, 96, 51_200);
        let lay = Layout {
            tp: 8,
            pp: 8,
            dp: 1,
            micro_batch: 1,
            global_batch: 64,
            seq: 2048,
            sequence_parallel: true,
            virtual_stages: 1,
            zero: 1,
            recompute: Recompute::Selective,
            dp_overlap: true,
            dp_bucket: None,
        };
        let hw = dgx_a100();
        let e = evaluate(&m, &lay, &hw);
        let training = Some(Training::of(&e, 300e9, Some(2.0), Some(400.0), 1.1));
        LayoutEstimate {
            model: m.name.clone(),
            gpu: "a100".into(),
            hardware: hw,
            eval: e,
            training,
            notes: vec![],
        }
    }

    #[test]
    fn json_has_the_documented_keys() {
        let j = estimate().json();
        for k in [
            "step_time_s",
            "mfu",
            "hfu",
            "tokens_per_sec_per_gpu",
            "days",
            "gpu_hours",
            "memory_per_gpu_gb",
            "fits",
        ] {
            assert!(j.get(k).is_some_and(|v| !v.is_null()), "{k}");
        }
        for k in [
            "compute",
            "tp_comm",
            "pp_bubble",
            "pp_p2p",
            "dp_comm_exposed",
            "dp_comm_total",
        ] {
            assert!(j["step_breakdown_s"][k].is_number(), "{k}");
        }
    }

    #[test]
    fn training_follows_the_step() {
        let r = estimate();
        let t = r.training.as_ref().unwrap();
        let e = &r.eval;
        let days = 300e9 / e.tokens_per_step * e.step_time_s / 86_400.0;
        assert!((t.days - days).abs() < 1e-9 * days);
        assert!((t.gpu_hours - days * 24.0 * 64.0).abs() < 1e-6 * t.gpu_hours);
        assert!((t.cost_usd.unwrap() - 2.0 * t.gpu_hours).abs() < 1e-6);
    }
}
