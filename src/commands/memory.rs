//! `gpubench memory`: how much GPU memory training needs per GPU — weights, gradients,
//! optimizer states, fp32 master weights, activations and the CUDA context, with ZeRO
//! sharding — whether it fits one GPU, and the fewest GPUs on which it fits.
//!
//! Formulas live in [`crate::estimate::memory`]; this file resolves flags and prints.

use std::process::ExitCode;

use serde_json::{json, Map, Value};

use super::estimate::resolve_model;
use crate::cli::memory::MemoryArgs;
use crate::error::usage;
use crate::estimate::defaults::DEFAULT_CUDA_CONTEXT_GB;
use crate::estimate::memory::{self, BytesPerParam, MemoryBreakdown, Precision};
use crate::estimate::{measured, Source, Sourced};
use crate::model::ModelConfig;
use crate::output::emit;
use crate::output::format::thousands;
use crate::output::sections::{Section, Sections};
use crate::peak;
use crate::units::fmt_count;

fn gb(bytes: f64) -> String {
    format!("{} GB", thousands(bytes / 1e9, 1))
}

/// Everything `gpubench memory` works out, before it is printed.
struct Figures {
    params: Sourced,
    bpp: BytesPerParam,
    /// CUDA context per GPU, bytes.
    context: f64,
    activations: Option<Sourced>,
    /// Activation bytes (0 when unknown).
    act: f64,
    /// Per GPU at `--gpus` and `--zero`.
    b: MemoryBreakdown,
    device: Option<Sourced>,
    /// The fewest GPUs at each ZeRO stage (empty without a device).
    min: Vec<(u8, Option<u64>)>,
}

/// Runs `gpubench memory`.
pub fn execute(args: MemoryArgs) -> anyhow::Result<ExitCode> {
    let model = resolve_model(args.model.name.as_deref(), args.model.config.as_deref())?;
    let params = params_of(&args, &model)?;
    let bpp = BytesPerParam::of(args.precision, args.optimizer);
    let context = args.cuda_context_gb * 1e9;
    let activations = activations_of(&args, &model)?;
    let act = activations.as_ref().map_or(0.0, |a| a.value);
    let b = memory::per_gpu(params.value, bpp, args.zero, args.gpus as f64, act, context);
    let device = device_memory(&args)?;
    let min: Vec<(u8, Option<u64>)> = match &device {
        Some(d) => (0..=3u8)
            .map(|s| {
                (
                    s,
                    memory::min_gpus(params.value, bpp, s, act, context, d.value),
                )
            })
            .collect(),
        None => Vec::new(),
    };

    let f = Figures {
        params,
        bpp,
        context,
        activations,
        act,
        b,
        device,
        min,
    };
    if args.json {
        emit(&render_json(&args, &f)?)?;
    } else {
        emit(&render_text(&args, &f))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// How large the model is: `--params`, or the model's own count.
fn params_of(args: &MemoryArgs, model: &Option<(ModelConfig, Source)>) -> anyhow::Result<Sourced> {
    Ok(match (args.params, &model) {
        (Some(p), _) => Sourced::new(p, Source::Given),
        (None, Some((m, src))) => Sourced::noted(m.params, *src, m.name.clone()),
        (None, None) => {
            return Err(usage(
                "say how large the model is: --params N, --model NAME or --model-config FILE",
            ))
        }
    })
}

/// Activation memory (Korthikanti et al.), when the architecture is known from the model or
/// the flags; a usage error when activation flags are given without it.
fn activations_of(
    args: &MemoryArgs,
    model: &Option<(ModelConfig, Source)>,
) -> anyhow::Result<Option<Sourced>> {
    let arch_src = |given: Option<f64>, from_model: Option<u64>| match (given, from_model) {
        (Some(v), _) => Some((v, Source::Given)),
        (None, Some(v)) => model.as_ref().map(|(_, s)| (v as f64, *s)),
        _ => None,
    };
    let m = model.as_ref().map(|(m, _)| m);
    if let (Some(m), Some(s)) = (m, args.seq_len) {
        m.check_seq(s, "--seq-len")?;
    }
    let layers = arch_src(args.layers.map(|v| v as f64), m.map(|m| m.layers));
    let hidden = arch_src(args.hidden.map(|v| v as f64), m.map(|m| m.hidden));
    let heads = arch_src(args.heads.map(|v| v as f64), m.map(|m| m.heads));
    let seq = arch_src(args.seq_len, m.map(|m| m.context));
    let batch = args.micro_batch.map(|b| (b, Source::Given));
    Ok(match (layers, hidden, heads, seq) {
        (Some(l), Some(h), Some(a), Some(s)) => {
            let (b, bsrc) = batch.unwrap_or((1.0, Source::Default));
            let per = memory::activation_bytes_per_layer(
                s.0,
                b,
                h.0,
                a.0,
                args.recompute,
                args.precision.activation_bytes(),
            );
            Some(Sourced::noted(
                per * l.0,
                Source::Derived,
                format!(
                    "Korthikanti: L {} × s {} b {} ({bsrc}) h {} a {}, recompute {}",
                    l.0,
                    s.0,
                    b,
                    h.0,
                    a.0,
                    args.recompute.name()
                ),
            ))
        }
        _ => {
            if args.micro_batch.is_some() || args.seq_len.is_some() {
                return Err(usage(
                    "activations need layers, hidden size and heads: give --model NAME, --model-config FILE, or --layers, --hidden and --heads with --seq-len",
                ));
            }
            None
        }
    })
}

/// Memory per GPU: `--device-memory-gb`, the profile's device, or the GPU table's.
fn device_memory(args: &MemoryArgs) -> anyhow::Result<Option<Sourced>> {
    Ok(if let Some(g) = args.device_memory_gb {
        Some(Sourced::noted(g * 1e9, Source::Given, "--device-memory-gb"))
    } else if let Some(p) = &args.profile {
        let prof = super::load_profile(p)?;
        let bytes = measured::device_memory_bytes(&prof).ok_or_else(|| {
            usage(format!(
                "{}: the profile does not record the device's memory; use --gpu or --device-memory-gb",
                p.display()
            ))
        })?;
        Some(Sourced::noted(
            bytes,
            Source::Measured,
            format!("{}, {}", p.display(), prof.device.name),
        ))
    } else if let Some(name) = &args.gpu {
        let g = peak::lookup(name)?;
        Some(Sourced::noted(
            g.memory_gb * 1e9,
            Source::Spec,
            g.key.clone(),
        ))
    } else {
        None
    })
}

/// `--json`: the figures and where each came from.
fn render_json(args: &MemoryArgs, f: &Figures) -> anyhow::Result<String> {
    let mut o = Map::new();
    o.insert("params".into(), json!(f.params.value));
    o.insert("precision".into(), json!(args.precision.name()));
    o.insert("optimizer".into(), json!(args.optimizer.name()));
    o.insert("bytes_per_param".into(), json!(f.bpp));
    o.insert("zero_stage".into(), json!(args.zero));
    o.insert("gpus".into(), json!(args.gpus as f64));
    o.insert("weights_gb".into(), json!(f.b.weights / 1e9));
    o.insert("gradients_gb".into(), json!(f.b.gradients / 1e9));
    o.insert("master_weights_gb".into(), json!(f.b.master / 1e9));
    o.insert("optimizer_gb".into(), json!(f.b.optimizer / 1e9));
    o.insert(
        "activations_gb".into(),
        json!(f.activations.as_ref().map(|a| a.value / 1e9)),
    );
    o.insert("cuda_context_gb".into(), json!(f.b.cuda_context / 1e9));
    o.insert("memory_total_gb".into(), json!(f.b.total() / 1e9));
    o.insert(
        "device_memory_gb".into(),
        json!(f.device.as_ref().map(|d| d.value / 1e9)),
    );
    o.insert(
        "fits".into(),
        json!(f.device.as_ref().map(|d| f.b.total() <= d.value)),
    );
    let one = memory::per_gpu(f.params.value, f.bpp, args.zero, 1.0, f.act, f.context);
    o.insert(
        "fits_one_gpu".into(),
        json!(f.device.as_ref().map(|d| one.total() <= d.value)),
    );
    let mut mg = Map::new();
    for (s, n) in &f.min {
        mg.insert(format!("zero{s}"), json!(n));
    }
    o.insert(
        "min_gpus".into(),
        if f.min.is_empty() {
            Value::Null
        } else {
            Value::Object(mg)
        },
    );
    let mut src = Map::new();
    src.insert("params".into(), json!(f.params.origin()));
    if let Some(a) = &f.activations {
        src.insert("activations_gb".into(), json!(a.origin()));
    }
    if let Some(d) = &f.device {
        src.insert("device_memory_gb".into(), json!(d.origin()));
    }
    src.insert(
        "cuda_context_gb".into(),
        json!(if args.cuda_context_gb == DEFAULT_CUDA_CONTEXT_GB {
            "default, docs/sources.md §4"
        } else {
            "given"
        }),
    );
    o.insert("sources".into(), Value::Object(src));
    Ok(serde_json::to_string_pretty(&Value::Object(o))? + "\n")
}

/// The breakdown table, then whether it fits and the fewest GPUs.
fn render_text(args: &MemoryArgs, f: &Figures) -> String {
    let title = format!(
        "Memory per GPU: {} parameters, {}{}, {}, ZeRO-{} across {} GPU{}",
        fmt_count(f.params.value),
        args.precision.name(),
        if args.precision == Precision::Fp32 {
            ""
        } else {
            " mixed precision"
        },
        args.optimizer.name(),
        args.zero,
        thousands(args.gpus as f64, 0),
        if args.gpus == 1 { "" } else { "s" }
    );
    let mut s = Section::new(title);
    let sharded = |on: bool| if on { ", sharded" } else { "" };
    s.row([
        "parameters".to_string(),
        format!("{} params", fmt_count(f.params.value)),
        f.params.origin(),
    ]);
    let per = |bytes: f64, what: &str, on: bool| {
        format!("derived, {bytes} bytes/param{what}{}", sharded(on))
    };
    s.row([
        "weights".into(),
        gb(f.b.weights),
        per(f.bpp.weights, "", args.zero >= 3),
    ]);
    s.row([
        "gradients".into(),
        gb(f.b.gradients),
        per(f.bpp.gradients, "", args.zero >= 2),
    ]);
    if f.bpp.master > 0.0 {
        s.row([
            "fp32 master weights".into(),
            gb(f.b.master),
            per(f.bpp.master, "", args.zero >= 1),
        ]);
    }
    s.row([
        "optimizer states".into(),
        gb(f.b.optimizer),
        per(
            f.bpp.optimizer,
            &format!(" ({})", args.optimizer.name()),
            args.zero >= 1,
        ),
    ]);
    match &f.activations {
        Some(a) => s.row(["activations".into(), gb(a.value), a.origin()]),
        None => s.row([
            "activations",
            "not included",
            "give --model (or --layers, --hidden, --heads, --seq-len) to add them",
        ]),
    }
    s.row([
        "CUDA context".into(),
        gb(f.b.cuda_context),
        if args.cuda_context_gb == DEFAULT_CUDA_CONTEXT_GB {
            "default, docs/sources.md §4".into()
        } else {
            "given".to_string()
        },
    ]);
    s.row([
        "total per GPU".into(),
        gb(f.b.total()),
        format!("derived, {:.1} GiB", f.b.total() / 1024f64.powi(3)),
    ]);
    let mut sections = vec![s];
    if let Some(d) = &f.device {
        let mut fit = Section::new("Fit");
        fit.row(["memory per GPU".into(), gb(d.value), d.origin()]);
        let one = memory::per_gpu(f.params.value, f.bpp, args.zero, 1.0, f.act, f.context);
        fit.row([
            "fits one GPU".into(),
            yes_no(one.total() <= d.value),
            format!("{} needed on one GPU", gb(one.total())),
        ]);
        if args.gpus > 1 {
            fit.row([
                format!("fits on {} GPUs", thousands(args.gpus as f64, 0)),
                yes_no(f.b.total() <= d.value),
                format!("{} per GPU with ZeRO-{}", gb(f.b.total()), args.zero),
            ]);
        }
        for (stage, n) in &f.min {
            let (v, why) = match n {
                Some(n) => {
                    let at =
                        memory::per_gpu(f.params.value, f.bpp, *stage, *n as f64, f.act, f.context);
                    (
                        format!(
                            "{} GPU{}",
                            thousands(*n as f64, 0),
                            if *n == 1 { "" } else { "s" }
                        ),
                        format!("{} per GPU", gb(at.total())),
                    )
                }
                None => {
                    let fixed = memory::per_gpu(
                        f.params.value,
                        f.bpp,
                        *stage,
                        f64::INFINITY,
                        f.act,
                        f.context,
                    );
                    (
                        "never".to_string(),
                        format!(
                            "what it does not shard is {} per GPU: shard more, recompute activations, or add tensor/pipeline parallelism",
                            gb(fixed.total())
                        ),
                    )
                }
            };
            fit.row([format!("fewest GPUs, ZeRO-{stage}"), v, why]);
        }
        sections.push(fit);
    }
    let mut out = Sections { sections }.render();
    if f.device.is_none() {
        out.push_str(
            "\nnote: add --gpu NAME, --profile FILE or --device-memory-gb to see whether it fits\n",
        );
    }
    out
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}
