//! `gpubench memory`: how much GPU memory training needs per GPU — weights, gradients,
//! optimizer states, fp32 master weights, activations and the CUDA context, with ZeRO
//! sharding — whether it fits one GPU, and the fewest GPUs on which it fits.
//!
//! Formulas and the report live in [`crate::estimate::memory`], the text view in
//! [`crate::output::memory`]; this file resolves flags.

use std::process::ExitCode;

use super::estimate::resolve_model;
use crate::cli::memory::MemoryArgs;
use crate::error::usage;
use crate::estimate::defaults::DEFAULT_CUDA_CONTEXT_GB;
use crate::estimate::memory::{self, MemoryInputs, MemoryReport};
use crate::estimate::{measured, Source, Sourced};
use crate::model::ModelConfig;
use crate::output::emit;
use crate::peak;

/// Runs `gpubench memory`.
pub fn execute(args: MemoryArgs) -> anyhow::Result<ExitCode> {
    let model = resolve_model(args.model.name.as_deref(), args.model.config.as_deref())?;
    let cuda_context = if args.cuda_context_gb == DEFAULT_CUDA_CONTEXT_GB {
        Sourced::noted(
            args.cuda_context_gb * 1e9,
            Source::Default,
            "docs/sources.md §4",
        )
    } else {
        Sourced::new(args.cuda_context_gb * 1e9, Source::Given)
    };
    let report = MemoryReport::of(MemoryInputs {
        params: params_of(&args, &model)?,
        precision: args.precision,
        optimizer: args.optimizer,
        zero: args.zero,
        gpus: args.gpus,
        activations: activations_of(&args, &model)?,
        cuda_context,
        device: device_memory(&args)?,
    });
    if args.json {
        emit(&(serde_json::to_string_pretty(&report.json())? + "\n"))?;
    } else {
        emit(&crate::output::memory::text(&report))?;
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
