//! `gpubench calibrate`: list every GEMM of one training step of a model, measure each
//! distinct shape and the copy bandwidth on this device, and predict the step time, tokens
//! per second and MFU; save it as a calibration file for `gpubench estimate --calibration`.

use std::process::ExitCode;

use crate::backend::{self, Backend, DeviceChoice};
use crate::calibrate::file::CalibrationFile;
use crate::calibrate::shapes::{check_fits, ShapeOptions};
use crate::calibrate::step::StepSpec;
use crate::calibrate::{self, Options, StepPlan};
use crate::cli::calibrate::CalibrateArgs;
use crate::cli::flags::TimingFlags;
use crate::commands::session::{exit_code, MeasureSession};
use crate::dtype::DType;
use crate::error::usage;
use crate::measure::Phase;
use crate::model::{self, ModelConfig};
use crate::profile::TimingSettings;

/// Timing per shape: the user's flags, else calibrate's short defaults.
pub fn calibrate_settings(t: &TimingFlags, cpu: bool) -> TimingSettings {
    t.resolve_with(cpu, crate::cli::flags::TimingDefaults::CALIBRATE)
}

/// The model the flags name.
fn load_model(args: &CalibrateArgs) -> anyhow::Result<ModelConfig> {
    match (&args.model.name, &args.model.config) {
        (Some(name), _) => Ok(model::lookup(name)?.clone()),
        (None, Some(path)) => ModelConfig::from_hf_config(path),
        (None, None) => Err(usage(
            "give --model NAME (see 'gpubench models') or --model-config config.json",
        )),
    }
}

/// Runs `gpubench calibrate`.
pub fn execute(args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    // Everything the user typed is checked before any device is touched.
    let model = load_model(&args)?;
    let seq = args.seq.unwrap_or_else(|| model.context.min(2048));
    let spec = StepSpec {
        model,
        seq,
        micro_batch: args.micro_batch,
        recompute: args.recompute,
        fused: !args.unfused,
        tp: args.tp,
    };
    spec.validate()?;
    args.timing.check()?;
    let cpu_named = args.device == DeviceChoice::Cpu;

    if args.dry_run {
        let dtype = args
            .dtype
            .unwrap_or(if cpu_named { DType::Fp32 } else { DType::Bf16 });
        if cpu_named {
            backend::cpu::CpuBackend::new().check_dtype(dtype)?;
        }
        let plan = StepPlan::new(spec, dtype);
        if args.json {
            println!("{}", plan_json(&plan));
        } else {
            print!("{}", crate::output::calibrate::render_plan(&plan));
        }
        return Ok(ExitCode::SUCCESS);
    }

    let target = args.save.target()?;
    let (backend, notice) = backend::open(args.device)?;
    if let Some(n) = notice {
        eprintln!("{n}");
    }
    let cpu = backend.info().backend == crate::backend::BackendKind::Cpu;
    let dtype = args
        .dtype
        .unwrap_or(if cpu { DType::Fp32 } else { DType::Bf16 });
    let ms = MeasureSession::new(backend, vec![dtype], |cpu| {
        calibrate_settings(&args.timing, cpu)
    });
    let be = ms.backend();
    be.check_dtype(dtype)?;
    let plan = StepPlan::new(spec, dtype);
    check_fits(
        be,
        &plan.shapes,
        &ShapeOptions {
            dtype,
            settings: ms.settings.clone(),
            algos: args.algos as usize,
            seed: args.seed,
        },
    )?;
    let opts = Options {
        settings: ms.settings.clone(),
        algos: args.algos as usize,
        seed: args.seed,
        bandwidth_iters: if cpu { 5 } else { 20 },
    };

    let file = measure_with_bar(be, &plan, &opts)?;
    let saved = match &target {
        Some(t) => Some(t.save_bytes(&file.default_file_name(), file.to_json().as_bytes())?),
        None => None,
    };

    if args.json {
        println!("{}", file.to_json());
    } else {
        print!("{}", crate::output::calibrate::render_result(&file));
        match &saved {
            Some(p) => println!("Calibration saved: {}", p.display()),
            None => println!("Calibration not saved (--no-save)."),
        }
    }
    let invalid: Vec<String> = file
        .shapes
        .iter()
        .filter(|s| !s.valid)
        .map(|s| {
            format!(
                "{} (max error {:.2e} > tolerance {:.0e})",
                s.shape, s.max_rel_error, s.tolerance
            )
        })
        .collect();
    exit_code(
        false,
        String::new,
        (!invalid.is_empty()).then(|| {
            format!(
                "verification failed for {dtype} {}; the calibration is saved but estimate refuses it",
                invalid.join(", ")
            )
        }),
    )
}

/// Runs the calibration with a progress bar over the distinct shapes.
fn measure_with_bar(
    be: &dyn Backend,
    plan: &StepPlan,
    opts: &Options,
) -> anyhow::Result<CalibrationFile> {
    let total = plan.shapes.len() as u64;
    let bar = crate::output::progress::bar(total * 100, format!("{total} shapes"));
    let mut last = usize::MAX;
    let result = calibrate::run(be, plan, opts, &mut |i, n, shape, phase, frac| {
        if i != last || phase == Phase::Timing {
            bar.set_message(format!(
                "shape {}/{n} {} {}",
                i + 1,
                shape,
                if phase == Phase::Warmup {
                    "warm-up"
                } else {
                    "timing"
                }
            ));
            last = i;
        }
        bar.set_position(i as u64 * 100 + (frac * 100.0) as u64);
    });
    bar.finish_and_clear();
    result
}

/// `--dry-run --json`.
fn plan_json(plan: &StepPlan) -> String {
    let shapes: Vec<_> = plan
        .shapes
        .iter()
        .map(|(shape, calls)| serde_json::json!({"shape": shape, "calls_per_step": calls}))
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "model": plan.spec.model,
        "step": plan.step,
        "gemm_flops_per_step": plan.hardware_flops(),
        "model_flops_per_step": plan.model_flops,
        "gemms": plan.gemms,
        "distinct_shapes": shapes,
        "memory_passes": plan.passes,
        "memory_bytes_per_step": plan.memory_bytes(),
        "optimizer_bytes_per_step": plan.step.optimizer_bytes_per_param * plan.rank_params(),
    }))
    .expect("a plan serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_per_backend() {
        let t = TimingFlags::default();
        assert_eq!(calibrate_settings(&t, true).min_iters, 3);
        assert_eq!(calibrate_settings(&t, false).min_iters, 20);
        let t = TimingFlags {
            iters: Some(7),
            ..Default::default()
        };
        assert_eq!(calibrate_settings(&t, false).min_iters, 7);
    }
}
