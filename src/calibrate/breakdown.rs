//! The per-step breakdown: where one training step's time goes (GEMMs by kind, attention,
//! memory-bound passes, optimizer), the predicted step time, tokens per second, the model
//! TFLOPS achieved and MFU (shown by `output::step`).
//!
//! GEMM time = Σ over the step's GEMMs of calls × the measured median of their shape.
//! Memory-bound time = Σ over passes of calls × max(bytes / copy bandwidth, small-copy
//! time). Optimizer time = parameters × bytes per parameter / copy bandwidth. The parts run
//! one after another on one GPU, so the step time is their sum.

use serde::{Deserialize, Serialize};

use super::membound::MemoryPass;
use super::shapes::{Bandwidth, MeasuredShape};
use super::step::{GemmKind, Pass, StepGemm};
use crate::estimate::defaults::DEFAULT_MFU;

/// One row of the breakdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// `gemm`, `memory` or `optimizer`.
    pub group: String,
    pub label: String,
    /// Seconds per step.
    pub seconds: f64,
    /// FLOPs per step (GEMMs) or bytes per step (memory-bound work, optimizer).
    pub flops: Option<f64>,
    pub bytes: Option<f64>,
    /// Calls (kernels) per step.
    pub calls: u64,
}

/// The spec-sheet peak MFU is relative to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecPeak {
    pub tflops: f64,
    /// GPU table row.
    pub gpu: String,
}

/// Where one step's time goes, and what it adds up to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    pub parts: Vec<Part>,
    /// Seconds per step by pass (forward, backward input/weight, recompute) for GEMMs.
    pub gemm_seconds_by_pass: Vec<(Pass, f64)>,
    pub gemm_s: f64,
    pub memory_s: f64,
    pub optimizer_s: f64,
    /// Predicted step time: the sum of the parts.
    pub step_time_s: f64,
    /// Tokens of one step (its micro-batch × sequence), which all `tp` ranks work on.
    pub tokens_per_step: u64,
    /// Tensor-parallel ranks sharing the step (1: one device runs it all).
    #[serde(default = "super::one_rank")]
    pub tp: u64,
    /// Tokens per second per GPU: tokens per step ÷ step time ÷ `tp`.
    pub tokens_per_sec: f64,
    /// 6·N·D + attention term, per step.
    pub model_flops: f64,
    /// What the GEMMs execute, recomputation included.
    pub hardware_flops: f64,
    /// Model FLOPs / step time.
    pub model_tflops: f64,
    /// Hardware FLOPs / step time.
    pub hardware_tflops: f64,
    /// Model TFLOPS / spec-sheet peak, when the device is in the GPU table.
    pub mfu: Option<f64>,
    pub spec_peak: Option<SpecPeak>,
    /// The step time a default MFU guess predicts (needs the spec peak).
    pub default_mfu_step_s: Option<f64>,
}

/// Everything the breakdown is computed from.
pub struct Inputs<'a> {
    pub gemms: &'a [StepGemm],
    pub shapes: &'a [MeasuredShape],
    pub passes: &'a [MemoryPass],
    pub bandwidth: &'a Bandwidth,
    /// Parameters the optimizer updates (all of them, or one tensor-parallel rank's share).
    pub params: f64,
    pub optimizer_bytes_per_param: f64,
    pub tokens_per_step: u64,
    /// Tensor-parallel ranks sharing the step.
    pub tp: u64,
    pub model_flops: f64,
    pub spec_peak: Option<SpecPeak>,
}

/// Computes the breakdown. Fails when a GEMM's shape was not measured.
pub fn compute(inp: &Inputs<'_>) -> anyhow::Result<Breakdown> {
    let time_of = |g: &StepGemm| -> anyhow::Result<f64> {
        let m = inp
            .shapes
            .iter()
            .find(|m| m.shape == g.shape)
            .ok_or_else(|| anyhow::anyhow!("shape {} was not measured", g.shape))?;
        Ok(m.median_s * g.count as f64)
    };
    let mut parts = Vec::new();
    let mut by_pass: Vec<(Pass, f64)> = Vec::new();
    for kind in GemmKind::ALL {
        let mut p = Part {
            group: "gemm".into(),
            label: kind.label().into(),
            seconds: 0.0,
            flops: Some(0.0),
            bytes: None,
            calls: 0,
        };
        for g in inp.gemms.iter().filter(|g| g.kind == kind) {
            let t = time_of(g)?;
            p.seconds += t;
            *p.flops.as_mut().expect("set") += g.flops();
            p.calls += g.count;
            match by_pass.iter_mut().find(|(x, _)| *x == g.pass) {
                Some((_, s)) => *s += t,
                None => by_pass.push((g.pass, t)),
            }
        }
        if p.calls > 0 {
            parts.push(p);
        }
    }
    by_pass.sort_by_key(|(p, _)| *p);
    let gemm_s: f64 = parts.iter().map(|p| p.seconds).sum();
    let hardware_flops: f64 = inp.gemms.iter().map(StepGemm::flops).sum();

    // Memory-bound passes, grouped by kind in order of first appearance.
    let mut mem: Vec<Part> = Vec::new();
    for pass in inp.passes {
        let label = memory_label(pass);
        let t = inp.bandwidth.pass_seconds(pass.bytes) * pass.count as f64;
        let p = match mem.iter_mut().find(|p| p.label == label) {
            Some(p) => p,
            None => {
                mem.push(Part {
                    group: "memory".into(),
                    label: label.into(),
                    seconds: 0.0,
                    flops: None,
                    bytes: Some(0.0),
                    calls: 0,
                });
                mem.last_mut().expect("pushed")
            }
        };
        p.seconds += t;
        *p.bytes.as_mut().expect("set") += pass.total_bytes();
        p.calls += pass.count;
    }
    let memory_s: f64 = mem.iter().map(|p| p.seconds).sum();
    parts.extend(mem);

    let opt_bytes = inp.params * inp.optimizer_bytes_per_param;
    let optimizer_s = opt_bytes / inp.bandwidth.bytes_per_s;
    parts.push(Part {
        group: "optimizer".into(),
        label: format!(
            "AdamW ({:.0} B per parameter)",
            inp.optimizer_bytes_per_param
        ),
        seconds: optimizer_s,
        flops: None,
        bytes: Some(opt_bytes),
        calls: 1,
    });

    let step_time_s = gemm_s + memory_s + optimizer_s;
    if !(step_time_s.is_finite() && step_time_s > 0.0) {
        anyhow::bail!("the measured times add up to no usable step time ({step_time_s} s)");
    }
    let model_tflops = inp.model_flops / step_time_s / 1e12;
    let mfu = inp.spec_peak.as_ref().map(|p| model_tflops / p.tflops);
    Ok(Breakdown {
        parts,
        gemm_seconds_by_pass: by_pass,
        gemm_s,
        memory_s,
        optimizer_s,
        step_time_s,
        tokens_per_step: inp.tokens_per_step,
        tp: inp.tp,
        tokens_per_sec: inp.tokens_per_step as f64 / step_time_s / inp.tp as f64,
        model_flops: inp.model_flops,
        hardware_flops,
        model_tflops,
        hardware_tflops: hardware_flops / step_time_s / 1e12,
        default_mfu_step_s: inp
            .spec_peak
            .as_ref()
            .map(|p| inp.model_flops / (DEFAULT_MFU * p.tflops * 1e12)),
        mfu,
        spec_peak: inp.spec_peak.clone(),
    })
}

/// The breakdown row a memory-bound pass belongs to.
fn memory_label(p: &MemoryPass) -> &'static str {
    use super::membound::PassKind::*;
    match p.kind {
        Norm => "norms",
        Rotary => "rotary embedding",
        Layout => "attention layout copies",
        Softmax => "attention softmax and mask",
        Activation => "MLP activation",
        Residual => "residual adds",
        Embedding => "embeddings",
        Loss => "loss (cross-entropy)",
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::membound::memory_passes;
    use super::super::shapes::distinct_shapes;
    use super::super::step::tests::{spec, tiny_llama};
    use super::*;
    use crate::dtype::DType;
    use crate::estimate::compute::Recompute;
    use crate::measure::stats::Stats;

    /// Fake measurements: every shape runs at exactly 1 TFLOPS.
    fn at_one_tflops(gemms: &[StepGemm]) -> Vec<MeasuredShape> {
        distinct_shapes(gemms)
            .into_iter()
            .map(|(shape, calls)| {
                let t = shape.flops() / 1e12;
                MeasuredShape {
                    shape,
                    dtype: DType::Bf16,
                    calls_per_step: calls,
                    median_s: t,
                    tflops: 1.0,
                    stats_s: Stats::of(&[t]).unwrap(),
                    valid: true,
                    max_rel_error: 0.0,
                    tolerance: 1e-2,
                    api: "test".into(),
                    algorithm: None,
                    algorithms_timed: 1,
                    default_tflops: None,
                }
            })
            .collect()
    }

    /// The tiny model's step with every shape at 1 TFLOPS and copies at 1 GB/s.
    pub(crate) struct Fixture {
        pub gemms: Vec<StepGemm>,
        pub shapes: Vec<MeasuredShape>,
        pub passes: Vec<MemoryPass>,
        pub bw: Bandwidth,
        pub flops: f64,
        pub tokens: u64,
    }

    pub(crate) fn fixture() -> Fixture {
        let sp = spec(tiny_llama(), Recompute::None);
        let gemms = sp.gemms();
        Fixture {
            shapes: at_one_tflops(&gemms),
            gemms,
            passes: memory_passes(&sp, DType::Bf16),
            bw: Bandwidth {
                bytes_per_s: 1e9,
                copy_bytes: 1 << 20,
                small_copy_s: 0.0,
                small_bytes: 1,
                iters: 1,
                method: "test".into(),
            },
            flops: super::super::flops::model_flops(&sp),
            tokens: sp.tokens(),
        }
    }

    impl Fixture {
        /// 1,000 parameters at 40 bytes each, against a 2 TFLOPS spec peak.
        pub(crate) fn inputs(&self) -> Inputs<'_> {
            Inputs {
                gemms: &self.gemms,
                shapes: &self.shapes,
                passes: &self.passes,
                bandwidth: &self.bw,
                params: 1000.0,
                optimizer_bytes_per_param: 40.0,
                tokens_per_step: self.tokens,
                tp: 1,
                model_flops: self.flops,
                spec_peak: Some(SpecPeak {
                    tflops: 2.0,
                    gpu: "test".into(),
                }),
            }
        }
    }

    #[test]
    fn parts_add_up() {
        let fx = fixture();
        let (gemms, shapes, passes, bw, flops) =
            (&fx.gemms, &fx.shapes, &fx.passes, &fx.bw, fx.flops);
        let b = compute(&fx.inputs()).unwrap();
        // At 1 TFLOPS the GEMM time is the FLOPs / 1e12.
        assert!((b.gemm_s - flops / 1e12).abs() < 1e-15);
        let bytes: f64 = passes.iter().map(MemoryPass::total_bytes).sum();
        assert!((b.memory_s - bytes / 1e9).abs() < 1e-12);
        assert_eq!(b.optimizer_s, 40_000.0 / 1e9);
        assert!((b.step_time_s - (b.gemm_s + b.memory_s + b.optimizer_s)).abs() < 1e-15);
        let parts: f64 = b.parts.iter().map(|p| p.seconds).sum();
        assert!((parts - b.step_time_s).abs() < 1e-12);
        assert_eq!(b.tokens_per_sec, 64.0 / b.step_time_s);
        assert!((b.mfu.unwrap() - b.model_tflops / 2.0).abs() < 1e-12);
        assert!(b.model_tflops < 1.0);
        assert!((b.default_mfu_step_s.unwrap() - flops / (0.476 * 2e12)).abs() < 1e-15);
        // A shape left unmeasured is an error, not a zero.
        assert!(compute(&Inputs {
            shapes: &shapes[1..],
            ..Inputs {
                gemms,
                shapes,
                passes,
                bandwidth: bw,
                params: 1.0,
                optimizer_bytes_per_param: 40.0,
                tokens_per_step: 64,
                tp: 1,
                model_flops: flops,
                spec_peak: None,
            }
        })
        .is_err());
        // Shared by 4 tensor-parallel ranks, each GPU gets a quarter of the step's tokens.
        let four = compute(&Inputs {
            tp: 4,
            ..fx.inputs()
        })
        .unwrap();
        assert_eq!(four.step_time_s, b.step_time_s);
        assert_eq!(four.tokens_per_sec, b.tokens_per_sec / 4.0);
    }
}
