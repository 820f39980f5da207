//! A layout estimate as the text table and the JSON object `gpubench estimate` prints, so the
//! step time always comes with its parts, its rates and where they came from.

use serde_json::{json, Value};

use super::comm::Scope;
use super::{Evaluation, Hardware, Layout};
use crate::estimate::table::{pct, thousands, Section, Table};
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

/// Everything one layout estimate prints.
#[derive(Debug, Clone, PartialEq)]
pub struct LayoutReport {
    pub model: String,
    pub gpu: String,
    pub hardware: Hardware,
    pub eval: Evaluation,
    pub training: Option<Training>,
    pub notes: Vec<String>,
}

/// One line naming a layout: `tp 8 · pp 4 · dp 32, micro-batch 1, ...`.
pub fn describe(l: &Layout) -> String {
    let mut s = format!(
        "tp {} · pp {} · dp {}, micro-batch {}",
        l.tp, l.pp, l.dp, l.micro_batch
    );
    if l.virtual_stages > 1 {
        s += &format!(", {} chunks per GPU (interleaved)", l.virtual_stages);
    }
    if l.sequence_parallel {
        s += ", sequence parallel";
    }
    s += &format!(", ZeRO-{}, recompute {}", l.zero, l.recompute.name());
    s
}

fn secs(v: f64) -> String {
    if v >= 100.0 {
        format!("{} s", thousands(v, 1))
    } else if v >= 0.1 {
        format!("{v:.3} s")
    } else {
        format!("{:.2} ms", v * 1e3)
    }
}

fn gb(bytes: f64) -> String {
    format!("{:.1} GB", bytes / 1e9)
}

/// The step's parts with their share.
pub fn breakdown_section(e: &Evaluation) -> Section {
    let b = &e.breakdown;
    let share = |v: f64| pct(v / e.step_time_s);
    let mut s = Section::new(format!("Step: {}", secs(e.step_time_s)));
    s.row(["compute".to_string(), secs(b.compute), share(b.compute)]);
    s.row([
        "tensor-parallel comm".into(),
        secs(b.tp_comm),
        share(b.tp_comm),
    ]);
    s.row([
        "pipeline bubble".into(),
        secs(b.pp_bubble),
        share(b.pp_bubble),
    ]);
    s.row(["stage transfers".into(), secs(b.pp_p2p), share(b.pp_p2p)]);
    let how = if e.layout.dp == 1 {
        "one data-parallel replica: nothing to reduce".to_string()
    } else if e.layout.dp_overlap {
        format!(
            "exposed of {} (overlapped with backward)",
            secs(b.dp_comm_total)
        )
    } else {
        "not overlapped".into()
    };
    s.row([
        "data-parallel comm".into(),
        secs(b.dp_comm_exposed),
        share(b.dp_comm_exposed),
        how,
    ]);
    s.row([
        "optimizer step".into(),
        secs(b.optimizer),
        share(b.optimizer),
    ]);
    s
}

impl LayoutReport {
    /// The text table.
    pub fn table(&self) -> String {
        let e = &self.eval;
        let l = &e.layout;
        let hw = &self.hardware;
        let mut t = Table::default();
        let (intra, inter) = (
            hw.links.get(Scope::IntraAllReduce),
            hw.links.get(Scope::InterNode),
        );
        let mut head = format!(
            "{} on {} × {}: {}\n",
            self.model,
            l.gpus(),
            self.gpu,
            describe(l)
        );
        head += &format!(
            "  batch: {} sequences of {} = {} tokens, {} micro-batches per pipeline\n",
            l.global_batch,
            l.seq,
            thousands(e.tokens_per_step, 0),
            e.micro_batches
        );
        head += &format!(
            "  compute: {:.1} TFLOPS linear layers, {:.1} attention core, {:.0} GB/s memory-bound\n    ({})\n",
            hw.compute_tflops, hw.attention_tflops, hw.memory_gbps, hw.compute_note
        );
        head += &format!(
            "  links: {:.0} GB/s busbw within a node ({}),\n    {:.1} GB/s per GPU between nodes ({})\n\n",
            intra.curve.busbw_gbps(1e9),
            intra.note,
            inter.curve.busbw_gbps(1e9),
            inter.note
        );
        t.sections.push(breakdown_section(e));

        let mut th = Section::new("Throughput");
        th.row([
            "tokens/s per GPU".to_string(),
            thousands(e.tokens_per_sec_per_gpu, 0),
        ]);
        th.row([
            "tokens/s".to_string(),
            thousands(e.tokens_per_sec_per_gpu * l.gpus() as f64, 0),
        ]);
        th.row([
            "MFU".to_string(),
            pct(e.mfu),
            format!(
                "model FLOPs with attention / spec peak {:.1} TFLOPS",
                hw.peak_tflops
            ),
        ]);
        th.row([
            "HFU".to_string(),
            pct(e.hfu),
            format!(
                "{:.1} TFLOPS per GPU executed, recomputation included",
                e.achieved_tflops
            ),
        ]);
        t.sections.push(th);

        let m = &e.memory.breakdown;
        let mut mem = Section::new(format!(
            "Memory per GPU (first stage): {} of {}, {}",
            gb(e.memory.total_bytes),
            gb(hw.memory_bytes),
            if e.fits { "fits" } else { "does NOT fit" }
        ));
        mem.row(["weights".to_string(), gb(m.weights)]);
        mem.row(["gradients".to_string(), gb(m.gradients)]);
        mem.row(["optimizer + master".to_string(), gb(m.optimizer + m.master)]);
        mem.row(["activations".to_string(), gb(m.activations)]);
        if e.memory.zero3_gathered_bytes > 0.0 {
            mem.row([
                "ZeRO-3 gathered".to_string(),
                gb(e.memory.zero3_gathered_bytes),
                "2 units' weights + 1 unit's gradients, whole".to_string(),
            ]);
        }
        mem.row(["CUDA context".to_string(), gb(m.cuda_context)]);
        t.sections.push(mem);

        if let Some(tr) = &self.training {
            let mut s = Section::new(format!("Training: {:.3e} tokens", tr.tokens));
            s.row(["steps".to_string(), thousands(tr.steps, 0)]);
            s.row(["days".to_string(), format!("{:.1}", tr.days)]);
            s.row(["GPU-hours".to_string(), thousands(tr.gpu_hours, 0)]);
            if let Some(c) = tr.cost_usd {
                s.row(["cost".to_string(), format!("${}", thousands(c, 0))]);
            }
            if let Some(mwh) = tr.energy_mwh {
                s.row(["energy".to_string(), format!("{} MWh", thousands(mwh, 1))]);
            }
            t.sections.push(s);
        }
        let mut out = head + &t.render();
        for n in &self.notes {
            out += &format!("note: {n}\n");
        }
        out
    }

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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::compute::Recompute;
    use crate::estimate::layout::compute::tests::gpt;
    use crate::estimate::layout::{evaluate, tests::dgx_a100};

    fn report() -> LayoutReport {
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
        };
        let hw = dgx_a100();
        let e = evaluate(&m, &lay, &hw);
        let training = Some(Training::of(&e, 300e9, Some(2.0), Some(400.0), 1.1));
        LayoutReport {
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
        let j = report().json();
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
        let r = report();
        let t = r.training.as_ref().unwrap();
        let e = &r.eval;
        let days = 300e9 / e.tokens_per_step * e.step_time_s / 86_400.0;
        assert!((t.days - days).abs() < 1e-9 * days);
        assert!((t.gpu_hours - days * 24.0 * 64.0).abs() < 1e-6 * t.gpu_hours);
        assert!((t.cost_usd.unwrap() - 2.0 * t.gpu_hours).abs() < 1e-6);
        let text = r.table();
        assert!(
            text.contains("pipeline bubble") && text.contains("Memory per GPU"),
            "{text}"
        );
    }
}
