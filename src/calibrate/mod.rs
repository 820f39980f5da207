//! `gpubench calibrate`: predict one training step of a model from its own GEMM shapes and
//! memory traffic, measured on this device.
//!
//! Planning from one square GEMM, or from a guessed MFU, misses by tens of percent: a step runs
//! many differently shaped products, batched attention products and memory-bound passes. This
//! module lists them ([`step`], [`membound`]), proves the list adds up to the 6·N·D (+ PaLM's
//! attention term) of the planning formulas ([`flops`]), measures each distinct shape and the
//! copy bandwidth on the device ([`shapes`]), turns that into a per-step breakdown and a
//! predicted step time ([`breakdown`]), and saves it as a calibration file ([`file`](mod@file)) that
//! `gpubench estimate --calibration` and `gpubench plan` read as the layout model's rates
//! ([`rates`]).
//!
//! Layering: calibrate sits above `estimate` (it uses the planning formulas: recomputation,
//! the optimizer's bytes per parameter, the default MFU, the layout model's rate formula) and
//! below `output`, which shows a breakdown (`output::step`); it never formats for the terminal
//! itself.

pub mod breakdown;
pub mod file;
pub mod flops;
pub mod membound;
pub mod rates;
pub mod shapes;
pub mod step;

use crate::backend::{Backend, GemmShape};
use crate::dtype::DType;
use crate::measure::Phase;
use crate::profile::{now_utc, HostInfo, TimingSettings, ToolInfo};
use breakdown::{Breakdown, SpecPeak};
use file::{CalibrationFile, StepInfo, CALIBRATION_SCHEMA_VERSION, KIND};
use membound::MemoryPass;
use shapes::{Bandwidth, MeasuredShape, ShapeOptions};
use step::{StepGemm, StepSpec};

/// One tensor-parallel rank: what a calibration saved before `tp` was recorded measured.
fn one_rank() -> u64 {
    1
}

/// What one step runs, before anything is measured (what `--dry-run` prints).
#[derive(Debug, Clone)]
pub struct StepPlan {
    pub spec: StepSpec,
    pub dtype: DType,
    pub gemms: Vec<StepGemm>,
    /// Distinct shapes and their calls per step.
    pub shapes: Vec<(GemmShape, u64)>,
    pub passes: Vec<MemoryPass>,
    pub step: StepInfo,
    /// 6·N·D + attention per step, one tensor-parallel rank's share (÷ `tp`).
    pub model_flops: f64,
}

impl StepPlan {
    /// Lists the step's work; the spec must be valid ([`StepSpec::validate`]).
    pub fn new(spec: StepSpec, dtype: DType) -> StepPlan {
        let gemms = spec.gemms();
        let shapes = shapes::distinct_shapes(&gemms);
        let passes = membound::memory_passes(&spec, dtype);
        let step = StepInfo {
            seq: spec.seq,
            micro_batch: spec.micro_batch,
            tp: spec.tp,
            recompute: spec.recompute.name().into(),
            fused: spec.fused,
            dtype,
            tokens_per_step: spec.tokens(),
            matmul_params: flops::matmul_params(&spec.model),
            params: spec.model.param_count(),
            attention_flops: flops::attention_flops(&spec),
            optimizer_bytes_per_param: crate::estimate::memory::optimizer_bytes_per_param(dtype),
        };
        StepPlan {
            model_flops: flops::model_flops(&spec) / spec.tp as f64,
            spec,
            dtype,
            gemms,
            shapes,
            passes,
            step,
        }
    }

    /// FLOPs the step's GEMMs execute (recomputation included).
    pub fn hardware_flops(&self) -> f64 {
        flops::summed(&self.gemms)
    }

    /// Parameters one tensor-parallel rank holds and its optimizer updates: its `1/tp` share.
    pub fn rank_params(&self) -> f64 {
        self.step.params / self.spec.tp as f64
    }

    /// Bytes the memory-bound passes move per step.
    pub fn memory_bytes(&self) -> f64 {
        self.passes.iter().map(MemoryPass::total_bytes).sum()
    }
}

/// How a calibration measures.
#[derive(Debug, Clone)]
pub struct Options {
    pub settings: TimingSettings,
    /// Candidate algorithms per shape (`--algos`).
    pub algos: usize,
    pub seed: u64,
    /// Copies timed for the bandwidth figures.
    pub bandwidth_iters: usize,
}

/// Progress of a calibration: shape index (of `total`), the shape, its phase and fraction.
pub type Progress<'a> = dyn FnMut(usize, usize, GemmShape, Phase, f64) + 'a;

/// Measures the plan on a backend and assembles the calibration file (not yet saved).
/// Shapes must fit ([`shapes::check_fits`]) and the dtype must run on the backend.
pub fn run(
    backend: &dyn Backend,
    plan: &StepPlan,
    opts: &Options,
    progress: &mut Progress<'_>,
) -> anyhow::Result<CalibrationFile> {
    let created_utc = now_utc();
    let shape_opts = ShapeOptions {
        dtype: plan.dtype,
        settings: opts.settings.clone(),
        algos: opts.algos,
        seed: opts.seed,
    };
    let total = plan.shapes.len();
    let mut measured: Vec<MeasuredShape> = Vec::with_capacity(total);
    for (i, (shape, calls)) in plan.shapes.iter().enumerate() {
        let mut p = |phase: Phase, frac: f64| progress(i, total, *shape, phase, frac);
        measured.push(shapes::measure_shape(
            backend,
            i,
            *shape,
            *calls,
            &shape_opts,
            &mut p,
        )?);
    }
    let bandwidth: Bandwidth = shapes::measure_bandwidth(backend, opts.bandwidth_iters)?;
    let peak = crate::measure::point::peaks_for(backend, plan.dtype);
    let spec_peak = match (peak.spec_tflops, peak.spec_gpu) {
        (Some(tflops), Some(gpu)) => Some(SpecPeak { tflops, gpu }),
        _ => None,
    };
    let breakdown: Breakdown = breakdown::compute(&breakdown::Inputs {
        gemms: &plan.gemms,
        shapes: &measured,
        passes: &plan.passes,
        bandwidth: &bandwidth,
        params: plan.rank_params(),
        optimizer_bytes_per_param: plan.step.optimizer_bytes_per_param,
        tokens_per_step: plan.step.tokens_per_step,
        tp: plan.spec.tp,
        model_flops: plan.model_flops,
        spec_peak,
    })?;
    Ok(CalibrationFile {
        schema_version: CALIBRATION_SCHEMA_VERSION,
        kind: KIND.into(),
        tool: ToolInfo::current(),
        created_utc,
        command: std::env::args().collect(),
        host: HostInfo::detect(),
        device: backend.info().clone(),
        settings: opts.settings.clone(),
        algos: opts.algos,
        model: plan.spec.model.clone(),
        step: plan.step.clone(),
        bandwidth,
        shapes: measured,
        gemms: plan.gemms.clone(),
        memory_passes: plan.passes.clone(),
        breakdown,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::backend::cpu::CpuBackend;
    use crate::estimate::compute::Recompute;

    /// A real calibration of the tiny test model on the CPU, with the shortest timing.
    pub fn tiny_calibration() -> CalibrationFile {
        let spec = step::tests::spec(step::tests::tiny_llama(), Recompute::Selective);
        spec.validate().unwrap();
        let plan = StepPlan::new(spec, DType::Fp32);
        let opts = Options {
            settings: TimingSettings {
                warmup_iters: 1,
                warmup_secs: 0.0,
                min_iters: 2,
                min_secs: 0.0,
                max_iters: 100_000,
                cold: false,
                verify_points: 16,
            },
            algos: 1,
            seed: 7,
            bandwidth_iters: 3,
        };
        let be = CpuBackend::new();
        shapes::check_fits(
            &be,
            &plan.shapes,
            &ShapeOptions {
                dtype: plan.dtype,
                settings: opts.settings.clone(),
                algos: 1,
                seed: 7,
            },
        )
        .unwrap();
        let mut seen = Vec::new();
        let f = run(&be, &plan, &opts, &mut |i, n, _, _, _| seen.push((i, n))).unwrap();
        assert_eq!(seen.last().unwrap().1, plan.shapes.len());
        f
    }

    #[test]
    fn cpu_calibration_is_consistent() {
        let f = tiny_calibration();
        assert!(f.all_valid());
        assert_eq!(f.shapes.len(), f.step_shapes());
        let b = &f.breakdown;
        assert!(b.step_time_s > 0.0 && b.gemm_s > 0.0 && b.memory_s > 0.0);
        assert_eq!(b.tokens_per_step, 64);
        // The CPU has no spec-sheet peak: no MFU rather than a made-up one.
        assert!(b.mfu.is_none() && b.spec_peak.is_none());
        // Selective recomputation: GEMMs execute more than the model FLOPs.
        assert!(b.hardware_flops > b.model_flops);
    }

    impl CalibrationFile {
        fn step_shapes(&self) -> usize {
            shapes::distinct_shapes(&self.gemms).len()
        }
    }
}
