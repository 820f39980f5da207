//! `gpubench estimate`: training time, GPU count, cost, energy and carbon of an LLM run,
//! from spec-sheet peaks and, with `--profile`, from a measured GEMM throughput side by side.
//!
//! This file turns flags into the inputs of [`crate::estimate::scenario`] (which holds every
//! formula) and prints [`crate::output::estimate`]. Utilization flags are explicit about their
//! denominator: `--mfu` is relative to the spec-sheet peak (as papers report MFU),
//! `--gemm-utilization` to the measured GEMM throughput of a profile (what calibration needs).

use std::process::ExitCode;

use crate::calibrate::file::{load_throughput, CalibrationThroughput};
use crate::cli::estimate::EstimateArgs;
use crate::dtype::DType;
use crate::error::usage;
use crate::estimate::compute;
use crate::estimate::defaults::{DEFAULT_GEMM_UTILIZATION, DEFAULT_MFU};
use crate::estimate::scenario::{self, Basis, Context, Estimate, Rate, Scale, Workload};
use crate::estimate::warnings::{self, Warning};
use crate::estimate::{cost, energy, measured, Source, Sourced};
use crate::model::ModelConfig;
use crate::output::emit;
use crate::peak::{self, GpuSpec};
use crate::profile::Profile;

/// A model from `--model` or `--model-config`, with the source of its figures.
pub(crate) fn resolve_model(
    name: Option<&str>,
    config: Option<&std::path::Path>,
) -> anyhow::Result<Option<(ModelConfig, Source)>> {
    match (name, config) {
        (Some(n), _) => Ok(Some((crate::model::lookup(n)?.clone(), Source::Preset))),
        (None, Some(p)) => Ok(Some((ModelConfig::from_hf_config(p)?, Source::Config))),
        (None, None) => Ok(None),
    }
}

/// The note a model's figures carry: its preset or config name.
pub(crate) fn model_note(m: &ModelConfig) -> String {
    m.name.clone()
}

/// Parses `--dtype`.
pub(crate) fn parse_dtype(s: Option<&str>) -> anyhow::Result<Option<DType>> {
    s.map(|d| {
        d.parse::<DType>()
            .map_err(|e| usage(format!("--dtype: {e}")))
    })
    .transpose()
}

/// The spec-sheet peak of `gpu` for `dtype` (fp16 when bf16 is unpublished and the dtype was
/// not chosen explicitly).
fn gpu_peak(gpu: &GpuSpec, dtype: DType, explicit: bool) -> anyhow::Result<(f64, DType)> {
    if let Some(p) = gpu.peak(dtype) {
        return Ok((p, dtype));
    }
    if !explicit && dtype == DType::Bf16 {
        if let Some(p) = gpu.peak(DType::Fp16) {
            return Ok((p, DType::Fp16));
        }
    }
    Err(usage(format!(
        "--gpu {}: the table has no {dtype} peak for it; pass --dtype with one it has, or --peak-tflops",
        gpu.key
    )))
}

/// Runs `gpubench estimate`.
pub fn execute(args: EstimateArgs) -> anyhow::Result<ExitCode> {
    if args.layout.requested() {
        return super::plan::estimate_layout(&args);
    }
    let report = build(&args)?;
    if args.json {
        emit(&(serde_json::to_string_pretty(&report.json())? + "\n"))?;
    } else {
        emit(&crate::output::estimate::table(&report))?;
    }
    super::print_warnings(&report.warnings);
    Ok(ExitCode::SUCCESS)
}

/// Resolves every input and evaluates the scenarios (no printing).
pub fn build(args: &EstimateArgs) -> anyhow::Result<Estimate> {
    let model = resolve_model(args.model.name.as_deref(), args.model.config.as_deref())?;
    let mut warnings: Vec<Warning> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let work = resolve_work(args, model.as_ref())?;
    let peaks = resolve_peaks(args, &mut warnings, &mut notes)?;
    let calibration = match &args.calibration {
        Some(p) => Some(load_throughput(p, model.as_ref().map(|(m, _)| m))?),
        None => None,
    };
    let rates = resolve_rates(args, &peaks, calibration.as_ref())?;
    let scale = match (args.gpus, args.days) {
        (Some(n), _) => Scale::Gpus(n),
        (None, Some(d)) => Scale::DeadlineDays(Sourced::new(d, Source::Given)),
        _ => Scale::Unset,
    };
    if rates.is_empty() {
        if !matches!(scale, Scale::Unset) || args.price_per_gpu_hour.is_some() {
            return Err(usage(
                "no throughput to work with: give --gpu NAME, --profile FILE, --peak-tflops, --tokens-per-sec-per-gpu, --achieved-tflops or --gpu-hours",
            ));
        }
        notes.push(
            "time, GPUs, energy and cost need a throughput: add --gpu NAME (spec sheet), --profile FILE (measured) or --tokens-per-sec-per-gpu, and --gpus N or --days D".into(),
        );
    }
    let dtype = peaks.dtype;
    let ctx = resolve_context(args, peaks);
    let mut outcomes = Vec::new();
    for (label, rate) in &rates {
        outcomes.push(scenario::evaluate(
            label,
            work.as_ref(),
            rate,
            &scale,
            &ctx,
        )?);
    }
    check(args, work.as_ref(), &outcomes, &mut warnings)?;
    if ctx.power_w.is_none() && !outcomes.is_empty() {
        notes.push("energy and carbon need a power: add --power-watts W or --gpu NAME".into());
    }
    let primary = outcomes
        .iter()
        .position(|o| o.label == "calibrated")
        .unwrap_or(0);
    Ok(Estimate {
        model: model.map(|(m, s)| (m.name, s)),
        work,
        dtype,
        ctx,
        scale,
        outcomes,
        primary,
        dataset_tokens: args.dataset_tokens,
        warnings,
        notes,
    })
}

fn given(v: Option<f64>) -> Option<Sourced> {
    v.map(|v| Sourced::new(v, Source::Given))
}

/// N, D and C from the flags and the model; `None` when starting from `--gpu-hours` alone.
fn resolve_work(
    args: &EstimateArgs,
    model: Option<&(ModelConfig, Source)>,
) -> anyhow::Result<Option<Workload>> {
    let mut params = given(args.params);
    let mut tokens = given(args.tokens);
    if let Some((m, src)) = model {
        if params.is_none() {
            params = Some(Sourced::noted(m.params, *src, model_note(m)));
        }
        // Given compute wins over the preset's tokens (D is then C / 6N).
        if tokens.is_none() && args.flops.is_none() {
            if let Some(t) = m.training_tokens {
                tokens = Some(Sourced::noted(t, *src, model_note(m)));
            }
        }
    }
    if args.seq_len.is_some() && model.is_none() {
        return Err(usage(
            "--seq-len needs the architecture: give --model NAME or --model-config FILE",
        ));
    }
    let attention = model.map(|(m, src)| {
        let (seq, seq_src) = match args.seq_len {
            Some(t) => (t, "given".to_string()),
            None => (m.context as f64, src.name().to_string()),
        };
        let (l, h, q) = (m.layers, m.heads, m.head_dim());
        Sourced::noted(
            compute::attention_flops_per_token(l as f64, h as f64, q as f64, seq),
            Source::Derived,
            format!("12·L·H·Q·T, L {l} H {h} Q {q} T {seq} ({seq_src})"),
        )
    });
    let flops = given(args.flops);
    if args.gpu_hours.is_some() && params.is_none() && tokens.is_none() && flops.is_none() {
        return Ok(None); // starting from hours: energy, carbon and cost need no workload
    }
    Workload::resolve(params, tokens, flops, args.recompute, attention).map(Some)
}

/// The peaks an estimate divides by, and the profile they may come from.
struct ResolvedPeaks {
    dtype: DType,
    gpu: Option<&'static GpuSpec>,
    /// The loaded profile, its chosen result and its path.
    prof: Option<(Profile, measured::MeasuredPeak, String)>,
    spec: Option<Sourced>,
    measured: Option<Sourced>,
}

fn resolve_peaks(
    args: &EstimateArgs,
    warnings: &mut Vec<Warning>,
    notes: &mut Vec<String>,
) -> anyhow::Result<ResolvedPeaks> {
    let explicit_dtype = parse_dtype(args.dtype.as_deref())?;
    let gpu = args.gpu.as_deref().map(peak::lookup).transpose()?;
    let prof = match &args.profile {
        Some(p) => {
            let origin = p.display().to_string();
            let profile = super::load_profile(p)?;
            let best = measured::best_result(&profile, explicit_dtype, &origin)?;
            if best.fell_back {
                notes.push(format!(
                    "{origin} has no bf16 result: using its fp16 results"
                ));
            }
            Some((profile, best, origin))
        }
        None => None,
    };
    let best = prof.as_ref().map(|(_, b, _)| b);
    let dtype = explicit_dtype
        .or(best.map(|b| b.dtype))
        .unwrap_or(DType::Bf16);
    let spec = if let Some(p) = args.peak_tflops {
        Some(Sourced::noted(p, Source::Given, "--peak-tflops"))
    } else if let Some(g) = gpu {
        let (p, d) = gpu_peak(g, dtype, explicit_dtype.is_some() || prof.is_some())?;
        Some(Sourced::noted(p, Source::Spec, format!("{} {d}", g.key)))
    } else {
        best.and_then(|b| {
            let (p, k) = (b.spec_tflops?, b.spec_gpu.as_ref()?);
            Some(Sourced::noted(
                p,
                Source::Spec,
                format!("{k} {}, the profile's device", b.dtype),
            ))
        })
    };
    if let (Some(g), Some(k)) = (gpu, best.and_then(|b| b.spec_gpu.as_ref())) {
        if *k != g.key {
            warnings.push(Warning::GpuMismatch {
                given: g.key.clone(),
                profile: k.clone(),
                effect: "the spec-sheet column uses --gpu",
            });
        }
    }
    if spec.is_none() && prof.is_some() {
        notes.push(
            "the profile's device is not in the GPU table: add --gpu NAME or --peak-tflops for a spec-sheet column and the MFU".into(),
        );
    }
    let measured = match (&prof, args.measured_tflops) {
        (Some((_, b, origin)), _) => Some(Sourced::noted(
            b.tflops,
            Source::Measured,
            format!("{origin}: {}", b.describe()),
        )),
        (None, Some(m)) => Some(Sourced::noted(m, Source::Given, "--measured-tflops")),
        _ => None,
    };
    Ok(ResolvedPeaks {
        dtype,
        gpu,
        prof,
        spec,
        measured,
    })
}

/// The scenarios: one observed/given rate, or a spec-sheet and a calibrated utilization.
fn resolve_rates(
    args: &EstimateArgs,
    peaks: &ResolvedPeaks,
    calibration: Option<&CalibrationThroughput>,
) -> anyhow::Result<Vec<(&'static str, Rate)>> {
    if let Some(r) = args.tokens_per_sec_per_gpu {
        return Ok(vec![(
            "observed",
            Rate::TokensPerSec(Sourced::new(r, Source::Given)),
        )]);
    }
    if let Some(x) = args.achieved_tflops {
        return Ok(vec![(
            "given",
            Rate::HardwareTflops(Sourced::new(x, Source::Given)),
        )]);
    }
    if let Some(h) = args.gpu_hours {
        return Ok(vec![(
            "given",
            Rate::GpuHours(Sourced::new(h, Source::Given)),
        )]);
    }
    if args.mfu.is_some() && peaks.spec.is_none() {
        return Err(usage(
            "--mfu is relative to a spec-sheet peak: give --gpu NAME or --peak-tflops (for a measured throughput use --gemm-utilization)",
        ));
    }
    if args.gemm_utilization.is_some() && peaks.measured.is_none() {
        return Err(usage(
            "--gemm-utilization is relative to a measured GEMM throughput: give --profile FILE or --measured-tflops (for the spec sheet use --mfu)",
        ));
    }
    let mut rates = Vec::new();
    if let Some(p) = &peaks.spec {
        let u = match args.mfu {
            Some(u) => Sourced::noted(u, Source::Given, "--mfu"),
            None => Sourced::noted(DEFAULT_MFU, Source::Default, "LLaMA-65B on A100"),
        };
        rates.push((
            "spec sheet",
            Rate::Utilization {
                util: u,
                peak_tflops: p.clone(),
                basis: Basis::Spec,
            },
        ));
    }
    if let Some(c) = calibration {
        rates.push((
            "calibrated",
            Rate::TokensPerSec(Sourced::noted(
                c.tokens_per_sec_per_gpu,
                Source::Measured,
                c.description.clone(),
            )),
        ));
    }
    if let Some(m) = &peaks.measured {
        let g = match args.gemm_utilization {
            Some(g) => Sourced::noted(g, Source::Given, "--gemm-utilization"),
            None => Sourced::noted(
                DEFAULT_GEMM_UTILIZATION,
                Source::Default,
                "LLaMA-65B vs measured A100",
            ),
        };
        rates.push((
            "calibrated",
            Rate::Utilization {
                util: g,
                peak_tflops: m.clone(),
                basis: Basis::Measured,
            },
        ));
    }
    Ok(rates)
}

/// Peaks, power, PUE, carbon intensity and prices shared by the scenarios.
fn resolve_context(args: &EstimateArgs, peaks: ResolvedPeaks) -> Context {
    let table_gpu = peaks.gpu.or_else(|| {
        peaks
            .prof
            .as_ref()
            .and_then(|(_, b, _)| b.spec_gpu.as_deref())
            .and_then(|k| peak::lookup(k).ok())
    });
    let measured_power = peaks.prof.as_ref().and_then(|(p, b, origin)| {
        measured::power_w(p, b.index).map(|(w, d)| (w, format!("{origin}, {d}")))
    });
    let power_w = match (args.power_watts, measured_power) {
        (Some(w), _) => Some(Sourced::noted(w, Source::Given, "--power-watts")),
        (None, Some((w, what))) => Some(Sourced::noted(w, Source::Measured, what)),
        (None, None) => {
            table_gpu.map(|g| Sourced::noted(g.tdp_w, Source::Spec, format!("TDP of {}", g.key)))
        }
    };
    let or_default = |v: Option<f64>, flag: &str, d: f64, why: &str| match v {
        Some(v) => Sourced::noted(v, Source::Given, flag),
        None => Sourced::noted(d, Source::Default, why),
    };
    let s7 = "docs/sources.md §7";
    Context {
        spec_peak: peaks.spec,
        measured_peak: peaks.measured,
        power_w,
        pue: or_default(args.pue, "--pue", energy::DEFAULT_PUE, "LLaMA paper"),
        carbon_t_per_mwh: or_default(
            args.carbon_intensity,
            "--carbon-intensity",
            energy::DEFAULT_CARBON_T_PER_MWH,
            "US average",
        ),
        price_per_gpu_hour: given(args.price_per_gpu_hour),
        gpu_price: given(args.gpu_price),
        other_hardware_fraction: or_default(
            args.other_hardware_fraction,
            "--other-hardware-fraction",
            cost::DEFAULT_OTHER_HARDWARE_FRACTION,
            s7,
        ),
        datacenter_fraction: or_default(
            args.datacenter_fraction,
            "--datacenter-fraction",
            cost::DEFAULT_DATACENTER_FRACTION,
            s7,
        ),
        staff_usd: or_default(args.staff_cost, "--staff-cost", cost::DEFAULT_STAFF_USD, s7),
    }
}

/// Warnings about utilizations and data.
fn check(
    args: &EstimateArgs,
    work: Option<&Workload>,
    outcomes: &[scenario::Outcome],
    warnings: &mut Vec<Warning>,
) -> anyhow::Result<()> {
    for o in outcomes {
        if let Some(m) = &o.mfu {
            warnings.extend(warnings::check_mfu(&o.label, m.value));
        }
        if let Some(g) = o.gemm_utilization.as_ref().filter(|g| g.value > 1.0 + 1e-9) {
            warnings.push(Warning::AboveMeasured {
                scenario: o.label.clone(),
                ratio: g.value,
            });
        }
    }
    match work.and_then(|w| w.params.as_ref().zip(w.tokens.as_ref())) {
        Some((n, t)) => {
            warnings.extend(warnings::check_tokens_per_param(n.value, t.value));
            if let Some(ds) = args.dataset_tokens.filter(|ds| *ds < t.value) {
                warnings.push(Warning::Epochs {
                    dataset: ds,
                    tokens: t.value,
                });
            }
            Ok(())
        }
        None if args.dataset_tokens.is_some() => Err(usage(
            "--dataset-tokens is compared with the training tokens: give --tokens, --params with --flops, or --model",
        )),
        None => Ok(()),
    }
}
