//! One estimate, from resolved inputs to every output figure: the pure core of
//! `gpubench estimate`, free of flags and files so every formula is tested directly.
//!
//! A [`Workload`] says how much work (N, D, C); a [`Rate`] says how fast one GPU does it —
//! a token rate, a hardware FLOP/s figure, GPU-hours, or a utilization of a peak; a
//! [`Scale`] fixes the GPU count or a deadline. [`evaluate`] turns one rate into an
//! [`Outcome`]; the command evaluates a spec-sheet and a calibrated rate side by side and
//! gathers them in an [`Estimate`], which `output::estimate` shows as a table and
//! [`super::json`] as JSON.
//!
//! Convention: utilizations are of *model* FLOPs (6N per token, PaLM's MFU definition), so
//! they already account for any recomputation a run did; hardware FLOP/s (`--achieved-tflops`,
//! what Megatron-LM reports) count the recomputed forward pass too (8N per token with full
//! recomputation), and time = 8·N·D / (GPUs × X) as in Narayanan et al. 2021.

use serde::Serialize;

use super::compute::{self, Recompute};
use super::cost::{self, Bought};
use super::energy;
use super::time::{self, whole_gpus};
use super::warnings::Warning;
use super::{Source, Sourced, DAY_S};
use crate::dtype::DType;
use crate::error::usage;
use crate::units::{tflops, thousands};

/// How much work a run is.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub params: Option<Sourced>,
    pub tokens: Option<Sourced>,
    /// Model FLOPs C = 6ND, or given.
    pub flops: Sourced,
    pub recompute: Recompute,
    /// PaLM's attention FLOPs per token (12·L·H·Q·T), where the architecture is known.
    pub attention_per_token: Option<Sourced>,
}

impl Workload {
    /// Completes N, D and C from any two of them (or from C alone): C = 6ND.
    /// Giving all three is a usage error unless they agree.
    pub fn resolve(
        params: Option<Sourced>,
        tokens: Option<Sourced>,
        flops: Option<Sourced>,
        recompute: Recompute,
        attention_per_token: Option<Sourced>,
    ) -> anyhow::Result<Workload> {
        let d = |v| Sourced::noted(v, Source::Derived, "C = 6ND");
        let (params, tokens, flops) = match (params, tokens, flops) {
            (Some(n), Some(t), None) => {
                let c = Sourced::noted(
                    compute::training_flops(n.value, t.value),
                    Source::Derived,
                    "6ND",
                );
                (Some(n), Some(t), c)
            }
            (Some(n), None, Some(c)) => {
                let t = d(compute::tokens_from_flops(c.value, n.value));
                (Some(n), Some(t), c)
            }
            (None, Some(t), Some(c)) => {
                let n = d(compute::params_from_flops(c.value, t.value));
                (Some(n), Some(t), c)
            }
            (None, None, Some(c)) => (None, None, c),
            (Some(n), Some(t), Some(c)) => {
                let six = compute::training_flops(n.value, t.value);
                if (six - c.value).abs() > 1e-6 * c.value {
                    return Err(usage(format!(
                        "--flops {:.3e} disagrees with 6 × --params × --tokens = {six:.3e}; give two of --params, --tokens and --flops",
                        c.value
                    )));
                }
                (Some(n), Some(t), c)
            }
            _ => {
                return Err(usage(
                    "say how much work the run is: --params and --tokens, --model NAME, --model-config FILE, or --flops",
                ))
            }
        };
        Ok(Workload {
            params,
            tokens,
            flops,
            recompute,
            attention_per_token,
        })
    }

    /// Model FLOPs per token, 6N (from C/D when only those are known).
    pub fn flops_per_token(&self) -> Option<f64> {
        match (&self.params, &self.tokens) {
            (Some(n), _) => Some(6.0 * n.value),
            (None, Some(t)) => Some(self.flops.value / t.value),
            _ => None,
        }
    }

    /// FLOPs the hardware executes: C, or 8ND with full recomputation.
    pub fn hardware_flops(&self) -> f64 {
        self.flops.value * self.recompute.hardware_factor()
    }
}

/// What a utilization is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// The spec-sheet peak (`--mfu`).
    Spec,
    /// A measured GEMM throughput (`--gemm-utilization`).
    Measured,
}

/// How fast one GPU works.
#[derive(Debug, Clone, PartialEq)]
pub enum Rate {
    /// Observed tokens per second per GPU.
    TokensPerSec(Sourced),
    /// Hardware TFLOPS per GPU (counting recomputation).
    HardwareTflops(Sourced),
    /// A utilization of model FLOPs relative to a peak (TFLOPS).
    Utilization {
        util: Sourced,
        peak_tflops: Sourced,
        basis: Basis,
    },
    /// Total GPU-hours.
    GpuHours(Sourced),
}

/// The cluster size or the deadline.
#[derive(Debug, Clone, PartialEq)]
pub enum Scale {
    /// A given number of GPUs.
    Gpus(u64),
    DeadlineDays(Sourced),
    Unset,
}

/// Figures shared by every scenario: peaks for MFU, power, prices.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// Spec-sheet peak (TFLOPS) that MFU divides by.
    pub spec_peak: Option<Sourced>,
    /// Measured GEMM throughput (TFLOPS).
    pub measured_peak: Option<Sourced>,
    pub power_w: Option<Sourced>,
    pub pue: Sourced,
    pub carbon_t_per_mwh: Sourced,
    pub price_per_gpu_hour: Option<Sourced>,
    pub gpu_price: Option<Sourced>,
    pub other_hardware_fraction: Sourced,
    pub datacenter_fraction: Sourced,
    pub staff_usd: Sourced,
}

/// Every output of one scenario; `None` where the inputs do not determine it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    pub label: String,
    /// The utilization and peak applied (utilization rates only).
    pub utilization: Option<Sourced>,
    pub peak_tflops: Option<Sourced>,
    pub basis: Option<Basis>,
    /// Model TFLOPS per GPU (6N × tokens/s).
    pub model_tflops_per_gpu: Option<Sourced>,
    /// Hardware TFLOPS per GPU (with recomputation).
    pub achieved_tflops_per_gpu: Option<Sourced>,
    pub tokens_per_sec_per_gpu: Option<Sourced>,
    pub tokens_per_sec_total: Option<Sourced>,
    pub gpus: Option<Sourced>,
    /// GPUs before rounding up (deadline questions).
    pub gpus_exact: Option<f64>,
    pub days: Option<Sourced>,
    pub gpu_hours: Option<Sourced>,
    pub mfu: Option<Sourced>,
    pub mfu_with_attention: Option<Sourced>,
    pub gemm_utilization: Option<Sourced>,
    pub energy_mwh: Option<Sourced>,
    pub co2_tonnes: Option<Sourced>,
    pub cost_rented_usd: Option<Sourced>,
    pub cost_bought: Option<Bought>,
}

/// Everything `gpubench estimate` prints.
#[derive(Debug, Clone)]
pub struct Estimate {
    /// Preset or config name, and which.
    pub model: Option<(String, Source)>,
    /// How much work; `None` when starting from `--gpu-hours` alone.
    pub work: Option<Workload>,
    pub dtype: DType,
    pub ctx: Context,
    pub scale: Scale,
    pub outcomes: Vec<Outcome>,
    /// The scenario the top-level JSON keys describe (calibrated when there is one).
    pub primary: usize,
    pub dataset_tokens: Option<f64>,
    pub warnings: Vec<Warning>,
    /// Hints about what further flags would add.
    pub notes: Vec<String>,
}

impl Estimate {
    /// D / N, where both are known.
    pub fn tokens_per_param(&self) -> Option<f64> {
        let w = self.work.as_ref()?;
        match (&w.params, &w.tokens) {
            (Some(n), Some(t)) => Some(t.value / n.value),
            _ => None,
        }
    }
}

fn derived(v: f64, note: impl Into<String>) -> Sourced {
    Sourced::noted(v, Source::Derived, note)
}

/// A given GPU count as the figure the formulas multiply by.
fn given_gpus(n: u64) -> Sourced {
    Sourced::new(n as f64, Source::Given)
}

/// Evaluates one scenario.
pub fn evaluate(
    label: &str,
    work: Option<&Workload>,
    rate: &Rate,
    scale: &Scale,
    ctx: &Context,
) -> anyhow::Result<Outcome> {
    let hw = work.map_or(1.0, |w| w.recompute.hardware_factor());
    let c = work.map(|w| w.flops.value);
    let per_token = work.and_then(Workload::flops_per_token);
    let mut o = Outcome {
        label: label.to_string(),
        ..Outcome::default()
    };
    // Model FLOP/s per GPU.
    let model_flops: Option<f64> = match rate {
        Rate::TokensPerSec(r) => {
            let Some(pt) = per_token else {
                return Err(usage(
                    "--tokens-per-sec-per-gpu needs the model size: give --params, --tokens or --model",
                ));
            };
            o.tokens_per_sec_per_gpu = Some(r.clone());
            Some(time::flops_from_tokens_per_sec(r.value, pt))
        }
        Rate::HardwareTflops(x) => {
            o.achieved_tflops_per_gpu = Some(x.clone());
            Some(x.value * 1e12 / hw)
        }
        Rate::Utilization {
            util,
            peak_tflops,
            basis,
        } => {
            o.utilization = Some(util.clone());
            o.peak_tflops = Some(peak_tflops.clone());
            o.basis = Some(*basis);
            Some(util.value * peak_tflops.value * 1e12)
        }
        Rate::GpuHours(h) => {
            o.gpu_hours = Some(h.clone());
            c.map(|c| c / (h.value * 3600.0))
        }
    };
    let f = model_flops.filter(|f| f.is_finite() && *f > 0.0);
    if let Some(f) = f {
        let how = match rate {
            Rate::TokensPerSec(_) => "6N × tokens/s",
            Rate::HardwareTflops(_) => "hardware FLOP/s ÷ recompute factor",
            Rate::Utilization { .. } => "utilization × peak",
            Rate::GpuHours(_) => "C ÷ GPU-seconds",
        };
        o.model_tflops_per_gpu = Some(derived(f / 1e12, how));
        if o.achieved_tflops_per_gpu.is_none() {
            let how = match rate {
                Rate::TokensPerSec(_) => "6N × tokens/s",
                Rate::Utilization { .. } => "utilization × peak",
                _ => "C ÷ GPU-seconds",
            };
            let note = if hw > 1.0 {
                format!("{how}, × 8/6 for full recomputation")
            } else {
                how.to_string()
            };
            o.achieved_tflops_per_gpu = Some(derived(f * hw / 1e12, note));
        }
        if o.tokens_per_sec_per_gpu.is_none() {
            if let Some(pt) = per_token {
                o.tokens_per_sec_per_gpu = Some(derived(
                    time::tokens_per_sec_from_flops(f, pt),
                    "model FLOP/s ÷ 6N",
                ));
            }
        }
    }
    // GPUs, time, GPU-hours.
    match (rate, scale) {
        (Rate::GpuHours(h), Scale::Gpus(n)) => {
            let n = given_gpus(*n);
            o.days = Some(derived(h.value / n.value / 24.0, "GPU-hours ÷ GPUs"));
            o.gpus = Some(n);
        }
        (Rate::GpuHours(h), Scale::DeadlineDays(d)) => {
            let exact = h.value / (d.value * 24.0);
            let n = whole_gpus(exact);
            o.gpus_exact = Some(exact);
            o.gpus = Some(derived(n, "GPU-hours ÷ deadline, rounded up"));
            o.days = Some(derived(h.value / n / 24.0, "GPU-hours ÷ GPUs"));
        }
        (Rate::GpuHours(_), Scale::Unset) => {}
        (_, scale) => {
            let Some(c) = c else {
                return Err(usage(
                    "say how much work the run is: --params and --tokens, --model NAME, --model-config FILE, or --flops",
                ));
            };
            let Some(f) = f else {
                return Err(usage(
                    "the throughput works out to zero or less; check the inputs",
                ));
            };
            let n = match scale {
                Scale::Gpus(n) => given_gpus(*n),
                Scale::DeadlineDays(d) => {
                    let exact = time::gpus_for_deadline(c, f, d.value * DAY_S);
                    o.gpus_exact = Some(exact);
                    derived(
                        whole_gpus(exact),
                        format!(
                            "C ÷ (FLOP/s per GPU × deadline) = {}, rounded up",
                            thousands(exact, 1)
                        ),
                    )
                }
                Scale::Unset => {
                    // GPU-hours (and so energy and rented cost) do not depend on the count.
                    let hours = c / f / 3600.0;
                    o.gpu_hours = Some(derived(hours, "C ÷ FLOP/s per GPU"));
                    return Ok(finish(o, work, f, per_token, ctx));
                }
            };
            let secs = time::seconds_for_flops(c, n.value, f);
            o.days = Some(derived(secs / DAY_S, "C ÷ (GPUs × FLOP/s per GPU)"));
            o.gpu_hours = Some(derived(time::gpu_hours(n.value, secs), "GPUs × hours"));
            o.gpus = Some(n);
        }
    }
    Ok(finish(o, work, f.unwrap_or(f64::NAN), per_token, ctx))
}

/// Totals, utilizations, energy and cost once the rate, GPUs and hours are known.
fn finish(
    mut o: Outcome,
    work: Option<&Workload>,
    f: f64,
    per_token: Option<f64>,
    ctx: &Context,
) -> Outcome {
    let f = Some(f).filter(|f| f.is_finite() && *f > 0.0);
    if let (Some(t), Some(n)) = (&o.tokens_per_sec_per_gpu, &o.gpus) {
        o.tokens_per_sec_total = Some(derived(t.value * n.value, "per GPU × GPUs"));
    }
    // Utilizations.
    if let Some(f) = f {
        if let Some(p) = &ctx.spec_peak {
            o.mfu = Some(derived(
                f / (p.value * 1e12),
                format!("of {} TFLOPS", tflops(p.value)),
            ));
            let attention = work.and_then(|w| w.attention_per_token.as_ref());
            if let (Some(a), Some(pt)) = (attention, per_token) {
                let with = f * (1.0 + a.value / pt) / (p.value * 1e12);
                o.mfu_with_attention = Some(derived(with, "PaLM: (6N + 12LHQT) × tokens/s"));
            }
        }
        if let Some(m) = &ctx.measured_peak {
            o.gemm_utilization = Some(derived(
                f / (m.value * 1e12),
                format!("of {} TFLOPS", tflops(m.value)),
            ));
        }
    }
    // Energy, carbon, cost.
    if let Some(h) = &o.gpu_hours {
        if let Some(w) = &ctx.power_w {
            let mwh = energy::energy_mwh(h.value, w.value, ctx.pue.value);
            o.energy_mwh = Some(derived(mwh, "GPU-hours × W × PUE"));
            o.co2_tonnes = Some(derived(
                energy::co2_tonnes(mwh, ctx.carbon_t_per_mwh.value),
                "MWh × t/MWh",
            ));
        }
        if let Some(p) = &ctx.price_per_gpu_hour {
            o.cost_rented_usd = Some(derived(cost::rented(h.value, p.value), "GPU-hours × price"));
        }
    }
    if let (Some(n), Some(p)) = (&o.gpus, &ctx.gpu_price) {
        o.cost_bought = Some(Bought::of(
            n.value,
            p.value,
            ctx.other_hardware_fraction.value,
            ctx.datacenter_fraction.value,
            ctx.staff_usd.value,
        ));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn given(v: f64) -> Sourced {
        Sourced::new(v, Source::Given)
    }

    fn ctx() -> Context {
        Context {
            spec_peak: Some(Sourced::new(312.0, Source::Spec)),
            measured_peak: None,
            power_w: Some(Sourced::new(400.0, Source::Spec)),
            pue: Sourced::new(1.1, Source::Default),
            carbon_t_per_mwh: Sourced::new(0.385, Source::Default),
            price_per_gpu_hour: None,
            gpu_price: None,
            other_hardware_fraction: Sourced::new(0.2, Source::Default),
            datacenter_fraction: Sourced::new(0.1, Source::Default),
            staff_usd: Sourced::new(2e6, Source::Default),
        }
    }

    fn work(n: f64, d: f64) -> Workload {
        Workload::resolve(Some(given(n)), Some(given(d)), None, Recompute::None, None).unwrap()
    }

    #[test]
    fn llama_65b() {
        let w = work(65.2e9, 1.4e12);
        let o = evaluate(
            "x",
            Some(&w),
            &Rate::TokensPerSec(given(380.0)),
            &Scale::Gpus(2048),
            &ctx(),
        )
        .unwrap();
        assert!((o.days.unwrap().value - 20.82).abs() < 0.01);
        assert!((o.mfu.unwrap().value - 0.4765).abs() < 0.0005);
        assert!((o.achieved_tflops_per_gpu.unwrap().value - 148.66).abs() < 0.01);
        assert_eq!(o.tokens_per_sec_total.unwrap().value, 2048.0 * 380.0);
    }

    #[test]
    fn gpt3_at_half_of_peak() {
        let w = Workload::resolve(None, None, Some(given(3.14e23)), Recompute::None, None).unwrap();
        let rate = Rate::Utilization {
            util: given(0.5),
            peak_tflops: Sourced::new(312.0, Source::Spec),
            basis: Basis::Spec,
        };
        let o = evaluate("x", Some(&w), &rate, &Scale::Gpus(1000), &ctx()).unwrap();
        assert!((o.days.unwrap().value - 23.29).abs() < 0.01);
        assert!(o.tokens_per_sec_per_gpu.is_none());
    }

    #[test]
    fn deadline_and_purchase() {
        let w = Workload::resolve(None, None, Some(given(1.8e23)), Recompute::None, None).unwrap();
        let mut c = ctx();
        c.gpu_price = Some(given(10_000.0));
        let o = evaluate(
            "x",
            Some(&w),
            &Rate::HardwareTflops(given(19.5)),
            &Scale::DeadlineDays(given(10.0)),
            &c,
        )
        .unwrap();
        assert_eq!(o.gpus.unwrap().value, 10_684.0);
        assert!(o.days.unwrap().value <= 10.0);
        assert_eq!(o.cost_bought.unwrap().total(), 10_684.0 * 13_000.0 + 2e6);
    }

    #[test]
    fn full_recompute_is_8nd_for_hardware_flops() {
        let base = work(175e9, 300e9);
        let mut full = base.clone();
        full.recompute = Recompute::Full;
        assert_eq!(full.hardware_flops(), 8.0 * 175e9 * 300e9);
        let x = Rate::HardwareTflops(given(150.0));
        let n = Scale::Gpus(1024);
        let a = evaluate("a", Some(&base), &x, &n, &ctx()).unwrap();
        let b = evaluate("b", Some(&full), &x, &n, &ctx()).unwrap();
        // Megatron: time = 8TP / (nX).
        let want = 8.0 * 300e9 * 175e9 / (1024.0 * 150e12) / DAY_S;
        let bd = b.days.as_ref().unwrap().value;
        assert!((bd - want).abs() < 1e-9 * want);
        assert!((bd / a.days.unwrap().value - 4.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn gpu_hours_start() {
        let w = Workload::resolve(None, None, Some(given(1e23)), Recompute::None, None).unwrap();
        let o = evaluate(
            "x",
            Some(&w),
            &Rate::GpuHours(given(5_995_454.5)),
            &Scale::Unset,
            &ctx(),
        )
        .unwrap();
        assert!((o.energy_mwh.unwrap().value - 2638.0).abs() < 0.001);
        assert!((o.co2_tonnes.unwrap().value - 1015.63).abs() < 0.01);
        assert!(o.days.is_none());
        assert!(
            (o.model_tflops_per_gpu.unwrap().value - 1e23 / 5_995_454.5 / 3600.0 / 1e12).abs()
                < 1e-9
        );
        // Without a workload, hours still give energy; a GPU count gives days.
        let o = evaluate(
            "x",
            None,
            &Rate::GpuHours(given(48_000.0)),
            &Scale::Gpus(100),
            &ctx(),
        )
        .unwrap();
        assert_eq!(o.days.unwrap().value, 20.0);
        assert!(o.model_tflops_per_gpu.is_none() && o.mfu.is_none());
        assert!(o.energy_mwh.is_some());
        // Other rates need the work.
        let e = evaluate(
            "x",
            None,
            &Rate::HardwareTflops(given(100.0)),
            &Scale::Gpus(8),
            &ctx(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("how much work"));
    }

    #[test]
    fn workload_resolution() {
        let w = Workload::resolve(
            Some(given(7e9)),
            None,
            Some(given(6.0 * 7e9 * 140e9)),
            Recompute::None,
            None,
        )
        .unwrap();
        assert!((w.tokens.unwrap().value - 140e9).abs() < 1.0);
        assert!(Workload::resolve(Some(given(7e9)), None, None, Recompute::None, None).is_err());
        let e = Workload::resolve(
            Some(given(7e9)),
            Some(given(1e12)),
            Some(given(1e20)),
            Recompute::None,
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("disagrees"));
    }

    #[test]
    fn without_a_gpu_count_hours_still_follow() {
        let o = evaluate(
            "x",
            Some(&work(7e9, 1e12)),
            &Rate::TokensPerSec(given(1000.0)),
            &Scale::Unset,
            &ctx(),
        )
        .unwrap();
        assert!(o.days.is_none() && o.gpus.is_none());
        assert!((o.gpu_hours.unwrap().value - 1e12 / 1000.0 / 3600.0).abs() < 1e-6);
        assert!(o.energy_mwh.is_some());
    }

    proptest! {
        #[test]
        fn double_gpus_half_days(n in 1e8f64..1e12, d in 1e9f64..1e13, g in 1u64..10_000, u in 0.05f64..1.0) {
            let w = work(n, d);
            let rate = Rate::Utilization { util: given(u), peak_tflops: given(989.4), basis: Basis::Spec };
            let a = evaluate("a", Some(&w), &rate, &Scale::Gpus(g), &ctx()).unwrap();
            let b = evaluate("b", Some(&w), &rate, &Scale::Gpus(2 * g), &ctx()).unwrap();
            let (da, db) = (a.days.unwrap().value, b.days.unwrap().value);
            prop_assert!((da / db - 2.0).abs() < 1e-9);
            // time × throughput = C
            let tput = g as f64 * a.model_tflops_per_gpu.unwrap().value * 1e12;
            prop_assert!((da * DAY_S * tput / w.flops.value - 1.0).abs() < 1e-9);
            // GPU-hours do not depend on the GPU count.
            prop_assert!((a.gpu_hours.unwrap().value / b.gpu_hours.unwrap().value - 1.0).abs() < 1e-9);
        }
    }
}
