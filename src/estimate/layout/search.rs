//! Every layout a cluster could run a model with, evaluated and ranked, so `gpubench plan`
//! can say which one trains fastest and why.
//!
//! Candidates: `t` a divisor of the heads and at most a node's GPUs, `p` a divisor of the
//! layers, `t·p` dividing the GPUs; micro-batches of 1, 2, 4 or 8 that divide each data-parallel
//! rank's share of the batch; no, selective or full recomputation; ZeRO 0 and 1 always, 2 and
//! 3 only without pipeline parallelism (DeepSpeed runs neither with its pipeline engine, and
//! Megatron-LM's distributed optimizer is stage 1); sequence parallelism whenever `t > 1` (it
//! moves the same bytes as the all-reduces it replaces and only saves memory); the interleaved
//! schedule with 2 chunks where the layers and micro-batches allow it.

use serde_json::{json, Value};

use crate::error::usage;
use crate::estimate::compute::Recompute;
use crate::model::ModelConfig;

use super::training::layout_json;
use super::{evaluate, Evaluation, Hardware, Layout};

/// What `plan` holds fixed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fixed {
    pub gpus: u64,
    pub global_batch: u64,
    pub seq: u64,
    pub dp_overlap: bool,
    /// Parameters per gradient bucket (`None`: the default, [`super::default_dp_bucket`]).
    pub dp_bucket: Option<f64>,
}

fn divisors(n: u64) -> Vec<u64> {
    (1..=n).filter(|d| n.is_multiple_of(*d)).collect()
}

/// Every valid candidate layout.
pub fn candidates(m: &ModelConfig, hw: &Hardware, f: &Fixed) -> Vec<Layout> {
    let mut out = Vec::new();
    let node = hw.gpus_per_node.max(1);
    for tp in divisors(m.heads).into_iter().filter(|t| *t <= node) {
        for pp in divisors(m.layers) {
            if !f.gpus.is_multiple_of(tp * pp) {
                continue;
            }
            let dp = f.gpus / (tp * pp);
            for mb in [1, 2, 4, 8] {
                if !f.global_batch.is_multiple_of(mb * dp) {
                    continue;
                }
                let micro_batches = f.global_batch / (mb * dp);
                for recompute in [Recompute::None, Recompute::Selective, Recompute::Full] {
                    // ZeRO over one data-parallel rank shards nothing: only stage 0.
                    let zeros: &[u8] = match (dp, pp) {
                        (1, _) => &[0],
                        (_, 1) => &[0, 1, 2, 3],
                        _ => &[0, 1],
                    };
                    for &zero in zeros {
                        let mut vs = vec![1];
                        if pp > 1
                            && m.layers.is_multiple_of(pp * 2)
                            && micro_batches.is_multiple_of(pp)
                        {
                            vs.push(2);
                        }
                        for v in vs {
                            let lay = Layout {
                                tp,
                                pp,
                                dp,
                                micro_batch: mb,
                                global_batch: f.global_batch,
                                seq: f.seq,
                                sequence_parallel: tp > 1,
                                virtual_stages: v,
                                zero,
                                recompute,
                                dp_overlap: f.dp_overlap,
                                dp_bucket: f.dp_bucket,
                            };
                            if lay.validate(m).is_ok() {
                                out.push(lay);
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// Evaluates every candidate; returns those that fit, fastest first, and how many were tried.
pub fn rank(m: &ModelConfig, hw: &Hardware, f: &Fixed) -> (Vec<Evaluation>, usize) {
    let all = candidates(m, hw, f);
    let tried = all.len();
    let mut fit: Vec<Evaluation> = all
        .iter()
        .map(|l| evaluate(m, l, hw))
        .filter(|e| e.fits)
        .collect();
    fit.sort_by(|a, b| {
        a.step_time_s
            .total_cmp(&b.step_time_s)
            .then(a.memory.total_bytes.total_cmp(&b.memory.total_bytes))
    });
    (fit, tried)
}

/// Why the fastest layout wins: against the first one that is slower by more than 0.05 %
/// (layouts within that tie, and the least memory is listed first), the terms of the step
/// where it saves the most.
pub fn why_fastest(ranked: &[Evaluation]) -> Option<String> {
    let best = ranked.first()?;
    let ties = ranked
        .iter()
        .skip(1)
        .take_while(|e| e.step_time_s <= best.step_time_s * 1.0005)
        .count();
    let next = ranked.get(1 + ties)?;
    let mut out = compare(best, next);
    if ties > 0 {
        out += &format!(
            "; {ties} other layout{} tie within 0.05 % and use as much memory or more",
            if ties == 1 { "" } else { "s" }
        );
    }
    Some(out)
}

/// The terms of the step where `best` saves the most against `next`.
fn compare(best: &Evaluation, next: &Evaluation) -> String {
    let (a, b) = (&best.breakdown, &next.breakdown);
    let mut diffs = [
        ("compute", b.compute - a.compute),
        ("tensor-parallel communication", b.tp_comm - a.tp_comm),
        ("pipeline bubble", b.pp_bubble - a.pp_bubble),
        ("stage-to-stage transfers", b.pp_p2p - a.pp_p2p),
        (
            "exposed data-parallel communication",
            b.dp_comm_exposed - a.dp_comm_exposed,
        ),
        ("optimizer step", b.optimizer - a.optimizer),
    ];
    diffs.sort_by(|x, y| y.1.total_cmp(&x.1));
    let gain = next.step_time_s - best.step_time_s;
    let saves: Vec<String> = diffs
        .iter()
        .filter(|d| d.1 > 1e-4 * next.step_time_s)
        .take(2)
        .map(|(what, s)| format!("{s:.3} s less {what}"))
        .collect();
    let costs: Vec<String> = diffs
        .iter()
        .rev()
        .filter(|d| d.1 < -1e-4 * next.step_time_s)
        .take(1)
        .map(|(what, s)| format!("{:.3} s more {what}", -s))
        .collect();
    let mut out = format!(
        "{:.3} s per step faster than the runner-up ({:.1} %)",
        gain,
        100.0 * gain / next.step_time_s
    );
    if !saves.is_empty() {
        out += &format!(": {}", saves.join(", "));
    }
    if !costs.is_empty() {
        out += &format!(", for {}", costs.join(", "));
    }
    out
}

/// A plan: the layouts of a model on a cluster that fit, fastest first, and why the first
/// wins.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub model: String,
    pub gpu: String,
    pub fixed: Fixed,
    pub hardware: Hardware,
    /// Candidates evaluated.
    pub tried: usize,
    /// Every layout that fits, fastest first; never empty.
    pub ranked: Vec<Evaluation>,
    /// How many of them to show.
    pub top: usize,
    pub why_fastest: Option<String>,
}

impl Plan {
    /// Ranks every layout of `m` on `hw`; a usage error when no layout splits the GPUs and
    /// the batch, or none fits.
    pub fn search(
        m: &ModelConfig,
        gpu: &str,
        hw: Hardware,
        fixed: Fixed,
        top: usize,
    ) -> anyhow::Result<Plan> {
        let (ranked, tried) = rank(m, &hw, &fixed);
        if tried == 0 {
            return Err(usage(format!(
                "no layout of {} splits {} GPUs and a batch of {}: use a GPU count and --global-batch with more common factors (powers of two)",
                m.name, fixed.gpus, fixed.global_batch
            )));
        }
        if ranked.is_empty() {
            return Err(usage(format!(
                "none of the {tried} layouts of {} on {} GPUs fits in {:.0} GB per GPU: add GPUs or use a shorter --seq",
                m.name,
                fixed.gpus,
                hw.memory_bytes / 1e9
            )));
        }
        Ok(Plan {
            model: m.name.clone(),
            gpu: gpu.to_string(),
            fixed,
            hardware: hw,
            tried,
            why_fastest: why_fastest(&ranked),
            ranked,
            top,
        })
    }

    /// The layouts to show: the first `top`.
    pub fn shown(&self) -> &[Evaluation] {
        &self.ranked[..self.top.min(self.ranked.len())]
    }

    /// The JSON object `gpubench plan --json` prints.
    pub fn json(&self) -> Value {
        let layouts: Vec<_> = self
            .shown()
            .iter()
            .map(|e| {
                let b = &e.breakdown;
                json!({
                    "layout": layout_json(&e.layout, e.micro_batches),
                    "step_time_s": e.step_time_s,
                    "step_breakdown_s": {
                        "compute": b.compute, "tp_comm": b.tp_comm, "pp_bubble": b.pp_bubble,
                        "pp_p2p": b.pp_p2p, "dp_comm_exposed": b.dp_comm_exposed,
                        "dp_comm_total": b.dp_comm_total,
                        "optimizer": b.optimizer,
                    },
                    "mfu": e.mfu,
                    "hfu": e.hfu,
                    "tokens_per_sec_per_gpu": e.tokens_per_sec_per_gpu,
                    "memory_per_gpu_gb": e.memory.total_bytes / 1e9,
                    "fits": e.fits,
                })
            })
            .collect();
        json!({
            "model": self.model,
            "gpu": self.gpu,
            "gpus": self.fixed.gpus,
            "global_batch": self.fixed.global_batch,
            "seq": self.fixed.seq,
            "compute_note": self.hardware.compute_note,
            "layouts_tried": self.tried,
            "layouts_fit": self.ranked.len(),
            "layouts": layouts,
            "why_fastest": self.why_fastest,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::estimate::layout::compute::tests::gpt;
    use crate::estimate::layout::tests::dgx_a100;

    #[test]
    fn candidates_respect_the_rules() {
        let m = gpt(24, 2304, 24, 51_200);
        let hw = dgx_a100();
        let f = Fixed {
            gpus: 32,
            global_batch: 512,
            seq: 2048,
            dp_overlap: true,
            dp_bucket: None,
        };
        let c = candidates(&m, &hw, &f);
        assert!(!c.is_empty());
        for l in &c {
            assert!(m.heads.is_multiple_of(l.tp) && l.tp <= 8);
            assert!(m.layers.is_multiple_of(l.pp));
            assert_eq!(l.gpus(), 32);
            assert_eq!(l.global_batch % (l.micro_batch * l.dp), 0);
            assert!(l.pp == 1 || l.zero <= 1);
            assert!(l.dp > 1 || l.zero == 0);
            assert_eq!(l.sequence_parallel, l.tp > 1);
        }
        // tp 16 exceeds a node; 5 divides neither heads nor layers.
        assert!(c.iter().all(|l| l.tp != 16 && l.tp != 5));
    }

    #[test]
    fn ranking_is_fastest_first_and_only_fits() {
        // GPT-3 175B on 64 A100s: needs model parallelism to fit in 80 GB.
        let m = gpt(96, 12_288, 96, 51_200);
        let hw = dgx_a100();
        let f = Fixed {
            gpus: 64,
            global_batch: 64,
            seq: 2048,
            dp_overlap: true,
            dp_bucket: None,
        };
        let (fit, tried) = rank(&m, &hw, &f);
        assert!(tried > fit.len() && !fit.is_empty());
        assert!(fit.windows(2).all(|w| w[0].step_time_s <= w[1].step_time_s));
        // 175B × 16 bytes does not fit unsharded: every fit splits the model or uses ZeRO-3.
        assert!(fit
            .iter()
            .all(|e| e.fits && (e.layout.tp * e.layout.pp > 1 || e.layout.zero == 3)));
        let why = why_fastest(&fit).unwrap();
        assert!(why.contains("faster than the runner-up"), "{why}");
        assert!(!why.starts_with("0.000 s"), "{why}");
        assert!(why_fastest(&fit[..1]).is_none());
    }

    /// GPT-3 175B on 64 A100s with a batch of 64, the five fastest layouts shown.
    pub(crate) fn gpt3_on_64() -> Plan {
        let m = gpt(96, 12_288, 96, 51_200);
        let f = Fixed {
            gpus: 64,
            global_batch: 64,
            seq: 2048,
            dp_overlap: true,
            dp_bucket: None,
        };
        Plan::search(&m, "a100", dgx_a100(), f, 5).unwrap()
    }

    #[test]
    fn a_plan_shows_the_top_layouts_and_says_why_the_first_wins() {
        let p = gpt3_on_64();
        assert_eq!(p.shown().len(), 5);
        assert!(p.ranked.len() > 5 && p.tried > p.ranked.len());
        assert_eq!(p.why_fastest, why_fastest(&p.ranked));
        let j = p.json();
        assert_eq!(j["layouts"].as_array().unwrap().len(), 5);
        assert_eq!(j["layouts_fit"], p.ranked.len());
        assert_eq!(j["layouts"][0]["step_time_s"], p.ranked[0].step_time_s);
        assert_eq!(j["layouts"][0]["layout"]["tp"], p.ranked[0].layout.tp);
        assert_eq!(j["gpus"], 64);
        // More to show than fit: all of them.
        let all = Plan { top: 10_000, ..p };
        assert_eq!(all.shown().len(), all.ranked.len());
    }

    #[test]
    fn a_plan_with_nothing_to_rank_is_a_usage_error() {
        let m = gpt(96, 12_288, 96, 51_200);
        let f = |gpus, global_batch| Fixed {
            gpus,
            global_batch,
            seq: 2048,
            dp_overlap: true,
            dp_bucket: None,
        };
        let e = Plan::search(&m, "a100", dgx_a100(), f(7, 1024), 10).unwrap_err();
        assert!(crate::error::is_usage(&e), "{e}");
        assert!(e.to_string().contains("splits 7 GPUs"), "{e}");
        let e = Plan::search(&m, "a100", dgx_a100(), f(8, 8), 10).unwrap_err();
        assert!(e.to_string().contains("fits in 80 GB per GPU"), "{e}");
    }
}
