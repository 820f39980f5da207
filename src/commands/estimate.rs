//! `gpubench estimate`: training time, GPU count, cost, energy and carbon of an LLM run,
//! from spec-sheet peaks and, with `--profile`, from a measured GEMM throughput side by side.
//!
//! This file turns flags into the inputs of [`crate::estimate::plan`] (which holds every
//! formula) and prints [`crate::estimate::report`]. Utilization flags are explicit about their
//! denominator: `--mfu` is relative to the spec-sheet peak (as papers report MFU),
//! `--gemm-utilization` to the measured GEMM throughput of a profile (what calibration needs).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::dtype::DType;
use crate::error::usage;
use crate::estimate::compute::{self, Recompute};
use crate::estimate::plan::{self, Basis, Context, Rate, Scale, Workload};
use crate::estimate::report::Report;
use crate::estimate::table::emit;
use crate::estimate::warnings::{self, Warning};
use crate::estimate::{cost, energy, input, measured, Source, Sourced};
use crate::model::ModelConfig;
use crate::peak::{self, GpuSpec};
use crate::profile::Profile;

/// Default MFU: LLaMA-65B's 380 tokens/s/GPU on A100 = 6 × 65.2e9 × 380 / 312e12 (REFERENCE §5).
pub const DEFAULT_MFU: f64 = 0.476;
/// Default utilization of measured GEMM throughput: the same run against the 271 TFLOPS
/// measured A100 bf16 maximum (REFERENCE §5).
pub const DEFAULT_GEMM_UTILIZATION: f64 = 0.55;

/// Flags of `gpubench estimate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gpubench estimate --model llama-65b --gpus 2048 --gpu a100-sxm-80gb --tokens-per-sec-per-gpu 380
  gpubench estimate --model llama-7b --gpus 64 --profile results/h100.json --price-per-gpu-hour 2.5
  gpubench estimate --params 100B --tokens 2T --days 10 --gpu h100-sxm
  gpubench estimate --gpu-hours 1e6 --gpu a100 --pue 1.1")]
pub struct EstimateArgs {
    /// A model preset (see 'gpubench models'): fills --params, --tokens and the architecture.
    #[arg(long, value_name = "NAME", conflicts_with = "model_config")]
    pub model: Option<String>,
    /// A Hugging Face config.json: the parameter count and architecture are computed from it.
    #[arg(long, value_name = "FILE")]
    pub model_config: Option<PathBuf>,
    /// Parameters N (65e9, 65B).
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = num("--params"))]
    pub params: Option<f64>,
    /// Training tokens D (1.4T).
    #[arg(long, value_name = "D", allow_hyphen_values = true, value_parser = num("--tokens"))]
    pub tokens: Option<f64>,
    /// Training compute C in model FLOPs (= 6ND), instead of --params or --tokens.
    #[arg(long, value_name = "C", allow_hyphen_values = true, value_parser = num("--flops"))]
    pub flops: Option<f64>,
    /// Activation recomputation: full runs the forward pass twice (8ND hardware FLOPs).
    #[arg(long, value_enum, default_value_t = Recompute::None)]
    pub recompute: Recompute,
    /// Sequence length T for PaLM's attention term [the model's context].
    #[arg(long, value_name = "T", allow_hyphen_values = true, value_parser = num("--seq-len"))]
    pub seq_len: Option<f64>,

    /// Number of GPUs.
    #[arg(long, value_name = "N", conflicts_with = "days", allow_hyphen_values = true, value_parser = gpus("--gpus"))]
    pub gpus: Option<f64>,
    /// A deadline in days: how many GPUs are needed.
    #[arg(long, value_name = "D", allow_hyphen_values = true, value_parser = num("--days"))]
    pub days: Option<f64>,

    /// GPU from the table ('gpubench gpus'): spec-sheet peak, memory and TDP.
    #[arg(long, value_name = "NAME")]
    pub gpu: Option<String>,
    /// Training dtype whose peak is used [bf16, else fp16].
    #[arg(long, value_name = "DTYPE")]
    pub dtype: Option<String>,
    /// A measured profile (gpubench run/sweep): its best valid result for the dtype is the
    /// measured peak of the calibrated estimate.
    #[arg(long, value_name = "FILE", conflicts_with = "measured_tflops")]
    pub profile: Option<PathBuf>,
    /// A spec-sheet peak per GPU in TFLOPS, instead of the --gpu table's.
    #[arg(long, value_name = "TFLOPS", allow_hyphen_values = true, value_parser = num("--peak-tflops"))]
    pub peak_tflops: Option<f64>,
    /// A measured GEMM throughput per GPU in TFLOPS from elsewhere, instead of --profile.
    #[arg(long, value_name = "TFLOPS", allow_hyphen_values = true, value_parser = num("--measured-tflops"))]
    pub measured_tflops: Option<f64>,

    /// Observed tokens per second per GPU (gives the MFU it implies).
    #[arg(long, value_name = "R", allow_hyphen_values = true, value_parser = num("--tokens-per-sec-per-gpu"),
          conflicts_with_all = ["achieved_tflops", "gpu_hours", "mfu", "gemm_utilization"])]
    pub tokens_per_sec_per_gpu: Option<f64>,
    /// Achieved hardware TFLOPS per GPU (counting recomputation, as Megatron-LM reports).
    #[arg(long, value_name = "TFLOPS", allow_hyphen_values = true, value_parser = num("--achieved-tflops"),
          conflicts_with_all = ["gpu_hours", "mfu", "gemm_utilization"])]
    pub achieved_tflops: Option<f64>,
    /// Total GPU-hours, to start from hours (energy, carbon, cost).
    #[arg(long, value_name = "H", allow_hyphen_values = true, value_parser = num("--gpu-hours"),
          conflicts_with_all = ["mfu", "gemm_utilization"])]
    pub gpu_hours: Option<f64>,
    /// Model FLOPs utilization relative to the SPEC-SHEET peak, 0–1 or % [0.476: LLaMA-65B on A100].
    #[arg(long, value_name = "U", allow_hyphen_values = true, value_parser = util("--mfu"))]
    pub mfu: Option<f64>,
    /// Model FLOPs relative to the MEASURED GEMM throughput (--profile or --measured-tflops),
    /// 0–1 or % [0.55: LLaMA-65B vs 271 TFLOPS measured on A100].
    #[arg(long, value_name = "G", allow_hyphen_values = true, value_parser = util("--gemm-utilization"))]
    pub gemm_utilization: Option<f64>,

    /// Unique tokens in the dataset (warns when training repeats it).
    #[arg(long, value_name = "D", allow_hyphen_values = true, value_parser = num("--dataset-tokens"))]
    pub dataset_tokens: Option<f64>,

    /// Power per GPU in watts [the profile's measured mean, else the table's TDP].
    #[arg(long, value_name = "W", allow_hyphen_values = true, value_parser = num("--power-watts"))]
    pub power_watts: Option<f64>,
    /// Data-centre power usage effectiveness [1.1, the LLaMA paper's].
    #[arg(long, value_name = "PUE", allow_hyphen_values = true, value_parser = num("--pue"))]
    pub pue: Option<f64>,
    /// Grid carbon intensity in tCO2eq per MWh [0.385, US average].
    #[arg(long, value_name = "T", allow_hyphen_values = true, value_parser = num("--carbon-intensity"))]
    pub carbon_intensity: Option<f64>,

    /// Renting: USD per GPU-hour.
    #[arg(long, value_name = "USD", allow_hyphen_values = true, value_parser = money("--price-per-gpu-hour"))]
    pub price_per_gpu_hour: Option<f64>,
    /// Buying: USD per GPU.
    #[arg(long, value_name = "USD", allow_hyphen_values = true, value_parser = money("--gpu-price"))]
    pub gpu_price: Option<f64>,
    /// Buying: other hardware as a fraction of the GPU cost [0.2].
    #[arg(long, value_name = "F", allow_hyphen_values = true, value_parser = nonneg("--other-hardware-fraction"))]
    pub other_hardware_fraction: Option<f64>,
    /// Buying: data centre as a fraction of the GPU cost [0.1].
    #[arg(long, value_name = "F", allow_hyphen_values = true, value_parser = nonneg("--datacenter-fraction"))]
    pub datacenter_fraction: Option<f64>,
    /// Buying: staff cost in USD [2,000,000].
    #[arg(long, value_name = "USD", allow_hyphen_values = true, value_parser = nonneg("--staff-cost"))]
    pub staff_cost: Option<f64>,

    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Adapts an `input` parser to clap (clap names the flag, so our "--flag: " prefix goes).
fn clap_parser<T: 'static>(
    flag: &'static str,
    f: fn(&str, &str) -> anyhow::Result<T>,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |s| {
        f(s, flag).map_err(|e| {
            let m = e.to_string();
            m.strip_prefix(&format!("{flag}: "))
                .unwrap_or(&m)
                .to_string()
        })
    }
}

pub(crate) fn num(flag: &'static str) -> impl Fn(&str) -> Result<f64, String> + Clone {
    clap_parser(flag, input::count)
}
pub(crate) fn util(flag: &'static str) -> impl Fn(&str) -> Result<f64, String> + Clone {
    clap_parser(flag, input::utilization)
}
pub(crate) fn money(flag: &'static str) -> impl Fn(&str) -> Result<f64, String> + Clone {
    clap_parser(flag, input::money)
}
pub(crate) fn nonneg(flag: &'static str) -> impl Fn(&str) -> Result<f64, String> + Clone {
    clap_parser(flag, input::non_negative)
}
pub(crate) fn gpus(flag: &'static str) -> impl Fn(&str) -> Result<f64, String> + Clone {
    clap_parser(flag, input::gpus)
}

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
    let report = build(&args)?;
    if args.json {
        emit(&(serde_json::to_string_pretty(&report.json())? + "\n"))?;
    } else {
        emit(&report.table())?;
    }
    // After the table, so that they are the last thing on the screen.
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Resolves every input and evaluates the scenarios (no printing).
pub fn build(args: &EstimateArgs) -> anyhow::Result<Report> {
    let model = resolve_model(args.model.as_deref(), args.model_config.as_deref())?;
    let mut warnings: Vec<Warning> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    // Work: N, D, C.
    let given = |v: Option<f64>| v.map(|v| Sourced::new(v, Source::Given));
    let mut params = given(args.params);
    let mut tokens = given(args.tokens);
    if let Some((m, src)) = &model {
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
    let attention = model.as_ref().map(|(m, src)| {
        let (seq, seq_src) = match args.seq_len {
            Some(t) => (t, "given".to_string()),
            None => (m.context as f64, src.name().to_string()),
        };
        let v = compute::attention_flops_per_token(
            m.layers as f64,
            m.heads as f64,
            m.head_dim() as f64,
            seq,
        );
        Sourced::noted(
            v,
            Source::Derived,
            format!(
                "12·L·H·Q·T, L {} H {} Q {} T {} ({seq_src})",
                m.layers,
                m.heads,
                m.head_dim(),
                seq
            ),
        )
    });
    let flops = given(args.flops);
    let work =
        if args.gpu_hours.is_some() && params.is_none() && tokens.is_none() && flops.is_none() {
            None // starting from hours: energy, carbon and cost need no workload
        } else {
            Some(Workload::resolve(
                params,
                tokens,
                flops,
                args.recompute,
                attention,
            )?)
        };

    // Peaks.
    let explicit_dtype = parse_dtype(args.dtype.as_deref())?;
    let gpu = args.gpu.as_deref().map(peak::lookup).transpose()?;
    let prof = match &args.profile {
        Some(p) => {
            let origin = p.display().to_string();
            let profile = Profile::load(p)?;
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
    let dtype = explicit_dtype
        .or(prof.as_ref().map(|(_, b, _)| b.dtype))
        .unwrap_or(DType::Bf16);
    let mut spec_peak = None;
    if let Some(p) = args.peak_tflops {
        spec_peak = Some(Sourced::noted(p, Source::Given, "--peak-tflops"));
    } else if let Some(g) = gpu {
        let (p, d) = gpu_peak(g, dtype, explicit_dtype.is_some() || prof.is_some())?;
        spec_peak = Some(Sourced::noted(p, Source::Spec, format!("{} {d}", g.key)));
    } else if let Some((_, b, _)) = &prof {
        if let (Some(p), Some(k)) = (b.spec_tflops, &b.spec_gpu) {
            spec_peak = Some(Sourced::noted(
                p,
                Source::Spec,
                format!("{k} {}, the profile's device", b.dtype),
            ));
        }
    }
    if let (Some(g), Some((_, b, _))) = (gpu, &prof) {
        if let Some(k) = &b.spec_gpu {
            if *k != g.key {
                warnings.push(Warning::GpuMismatch {
                    given: g.key.clone(),
                    profile: k.clone(),
                });
            }
        }
    }
    if spec_peak.is_none() && prof.is_some() {
        notes.push(
            "the profile's device is not in the GPU table: add --gpu NAME or --peak-tflops for a spec-sheet column and the MFU".into(),
        );
    }
    let measured_peak = match (&prof, args.measured_tflops) {
        (Some((_, b, origin)), _) => Some(Sourced::noted(
            b.tflops,
            Source::Measured,
            format!("{origin}: {}", b.describe()),
        )),
        (None, Some(m)) => Some(Sourced::noted(m, Source::Given, "--measured-tflops")),
        _ => None,
    };

    // Scenarios.
    let mut rates: Vec<(&str, Rate)> = Vec::new();
    if let Some(r) = args.tokens_per_sec_per_gpu {
        rates.push((
            "observed",
            Rate::TokensPerSec(Sourced::new(r, Source::Given)),
        ));
    } else if let Some(x) = args.achieved_tflops {
        rates.push((
            "given",
            Rate::HardwareTflops(Sourced::new(x, Source::Given)),
        ));
    } else if let Some(h) = args.gpu_hours {
        rates.push(("given", Rate::GpuHours(Sourced::new(h, Source::Given))));
    } else {
        if args.mfu.is_some() && spec_peak.is_none() {
            return Err(usage(
                "--mfu is relative to a spec-sheet peak: give --gpu NAME or --peak-tflops (for a measured throughput use --gemm-utilization)",
            ));
        }
        if args.gemm_utilization.is_some() && measured_peak.is_none() {
            return Err(usage(
                "--gemm-utilization is relative to a measured GEMM throughput: give --profile FILE or --measured-tflops (for the spec sheet use --mfu)",
            ));
        }
        if let Some(p) = &spec_peak {
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
        if let Some(m) = &measured_peak {
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
    }
    let scale = match (args.gpus, args.days) {
        (Some(n), _) => Scale::Gpus(Sourced::new(n, Source::Given)),
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

    // Power, energy, prices.
    let table_gpu = gpu.or_else(|| {
        prof.as_ref()
            .and_then(|(_, b, _)| b.spec_gpu.as_deref())
            .and_then(|k| peak::lookup(k).ok())
    });
    let power_w = if let Some(w) = args.power_watts {
        Some(Sourced::noted(w, Source::Given, "--power-watts"))
    } else if let Some((w, what)) = prof.as_ref().and_then(|(p, b, origin)| {
        measured::power_w(p, b.index).map(|(w, d)| (w, format!("{origin}, {d}")))
    }) {
        Some(Sourced::noted(w, Source::Measured, what))
    } else {
        table_gpu.map(|g| Sourced::noted(g.tdp_w, Source::Spec, format!("TDP of {}", g.key)))
    };
    let or_default = |v: Option<f64>, d: f64, note: &str| match v {
        Some(v) => Sourced::new(v, Source::Given),
        None => Sourced::noted(d, Source::Default, note),
    };
    let ctx = Context {
        spec_peak,
        measured_peak,
        power_w,
        pue: or_default(args.pue, energy::DEFAULT_PUE, "LLaMA paper"),
        carbon_t_per_mwh: or_default(
            args.carbon_intensity,
            energy::DEFAULT_CARBON_T_PER_MWH,
            "US average",
        ),
        price_per_gpu_hour: given(args.price_per_gpu_hour),
        gpu_price: given(args.gpu_price),
        other_hardware_fraction: or_default(
            args.other_hardware_fraction,
            cost::DEFAULT_OTHER_HARDWARE_FRACTION,
            "SOURCES.md §7",
        ),
        datacenter_fraction: or_default(
            args.datacenter_fraction,
            cost::DEFAULT_DATACENTER_FRACTION,
            "SOURCES.md §7",
        ),
        staff_usd: or_default(args.staff_cost, cost::DEFAULT_STAFF_USD, "SOURCES.md §7"),
    };

    let mut outcomes = Vec::new();
    for (label, rate) in &rates {
        outcomes.push(plan::evaluate(label, work.as_ref(), rate, &scale, &ctx)?);
    }

    // Warnings.
    for o in &outcomes {
        if let Some(m) = &o.mfu {
            warnings.extend(warnings::check_mfu(&o.label, m.value));
        }
        if let Some(g) = &o.gemm_utilization {
            if g.value > 1.0 + 1e-9 {
                warnings.push(Warning::AboveMeasured {
                    scenario: o.label.clone(),
                    ratio: g.value,
                });
            }
        }
    }
    let nt = work
        .as_ref()
        .and_then(|w| w.params.as_ref().zip(w.tokens.as_ref()));
    if let Some((n, t)) = nt {
        warnings.extend(warnings::check_tokens_per_param(n.value, t.value));
        if let Some(ds) = args.dataset_tokens {
            if ds < t.value {
                warnings.push(Warning::Epochs {
                    dataset: ds,
                    tokens: t.value,
                });
            }
        }
    } else if args.dataset_tokens.is_some() {
        return Err(usage(
            "--dataset-tokens is compared with the training tokens: give --tokens, --params with --flops, or --model",
        ));
    }
    if ctx.power_w.is_none() && !outcomes.is_empty() {
        notes.push("energy and carbon need a power: add --power-watts W or --gpu NAME".into());
    }
    let primary = outcomes
        .iter()
        .position(|o| o.label == "calibrated")
        .unwrap_or(0);
    Ok(Report {
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
