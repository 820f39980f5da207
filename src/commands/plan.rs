//! `gpubench plan`: every parallel layout of a model on a cluster, the ones that fit, ranked
//! by step time; and `gpubench estimate` with a layout (`--tp`, `--pp`, ...), which evaluates
//! one. Both turn flags into [`crate::estimate::layout`]'s inputs here; the formulas live there.

use std::path::Path;
use std::process::ExitCode;

use serde_json::json;

use super::estimate::{parse_dtype, resolve_model};
use crate::calibrate::file::{CalibrationFile, KIND as CALIBRATION_KIND};
use crate::cli::estimate::EstimateArgs;
use crate::cli::plan::{LinkFlags, PlanArgs};
use crate::dtype::DType;
use crate::error::usage;
use crate::estimate::layout::comm::{Links, DEFAULT_LINK_EFFICIENCY};
use crate::estimate::layout::training::{self, LayoutEstimate, Training};
use crate::estimate::layout::{self, comm_profile, rates, search, Hardware, Layout};
use crate::estimate::{energy, measured};
use crate::model::ModelConfig;
use crate::output::emit;
use crate::output::format::{pct, thousands};
use crate::output::sections::{Section, Sections};
use crate::peak::{self, GpuSpec};

/// A GPU's hardware for the layout model, and what it is called.
struct Resolved {
    hw: Hardware,
    gpu: String,
    tdp_w: f64,
}

/// The GPU row, the measured rates if a profile is given, and the links.
fn resolve_hardware(
    gpu: Option<&str>,
    dtype: Option<&str>,
    profile: Option<&Path>,
    peak_override: Option<f64>,
    links: &LinkFlags,
) -> anyhow::Result<Resolved> {
    let explicit = parse_dtype(dtype)?;
    let mut row: Option<&'static GpuSpec> = gpu.map(peak::lookup).transpose()?;
    enum Measured {
        Gemm(f64, String),
        Calibrated(Box<CalibrationFile>, String),
    }
    let measured = match profile {
        None => None,
        Some(p) => {
            let origin = p.display().to_string();
            let text = std::fs::read_to_string(p)
                .map_err(|e| usage(format!("{origin}: cannot read: {e}")))?;
            let kind = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("kind").and_then(|k| k.as_str().map(str::to_string)));
            if kind.as_deref() == Some(CALIBRATION_KIND) {
                let c = CalibrationFile::load(p)?;
                if row.is_none() {
                    row = peak::match_device_name(&c.device.name);
                }
                Some(Measured::Calibrated(Box::new(c), origin))
            } else {
                let prof = super::load_profile(p)?;
                let best = measured::best_result(&prof, explicit, &origin)?;
                if row.is_none() {
                    row = best.spec_gpu.as_deref().and_then(|k| peak::lookup(k).ok());
                }
                Some(Measured::Gemm(
                    best.tflops,
                    format!("{origin}: {}", best.describe()),
                ))
            }
        }
    };
    let Some(g) = row else {
        return Err(usage(
            "a layout needs the GPU's peak, memory and links: give --gpu NAME (see 'gpubench gpus')",
        ));
    };
    let dtype = explicit.unwrap_or(DType::Bf16);
    let peak = match peak_override {
        Some(p) => p,
        None => g
            .peak(dtype)
            .or_else(|| (explicit.is_none()).then(|| g.peak(DType::Fp16)).flatten())
            .ok_or_else(|| {
                usage(format!(
                    "--gpu {}: the table has no {dtype} peak for it; pass --dtype with one it has",
                    g.key
                ))
            })?,
    };
    let mem_bw = g.memory_bandwidth_gbps.ok_or_else(|| {
        usage(format!(
            "--gpu {}: the table has no memory bandwidth for it; choose a GPU from 'gpubench gpus'",
            g.key
        ))
    })?;
    let r = match &measured {
        None => rates::from_spec(peak, mem_bw),
        Some(Measured::Gemm(tflops, what)) => rates::from_measured(*tflops, mem_bw, what),
        Some(Measured::Calibrated(c, origin)) => crate::calibrate::rates::layout_rates(c, origin)
            .ok_or_else(|| {
            usage(format!(
                "{origin}: the calibration has no timed linear-layer product; calibrate again"
            ))
        })?,
    };
    let ic = g.interconnect.as_ref();
    let missing = |what: &str, flag: &str| {
        usage(format!(
            "--gpu {}: the table has no {what} for it; give {flag}",
            g.key
        ))
    };
    let gpn = links
        .gpus_per_node
        .or(ic.map(|i| i.gpus_per_node))
        .ok_or_else(|| missing("GPUs per node", "--gpus-per-node N"))?;
    let intra = links
        .intra_node_gbps
        .or(ic.map(|i| i.intra_node_gbps))
        .ok_or_else(|| missing("intra-node bandwidth", "--intra-node-gbps GB/s"))?;
    let net = links
        .network_gbps_per_node
        .or(ic.map(|i| i.network_gbps_per_node))
        .ok_or_else(|| missing("network bandwidth", "--network-gbps-per-node GB/s"))?;
    let eff = links.link_efficiency.unwrap_or(DEFAULT_LINK_EFFICIENCY);
    let src = |given: bool, table: Option<&str>| {
        if given {
            "given".to_string()
        } else {
            table.unwrap_or("table").to_string()
        }
    };
    let intra_note = format!(
        "{} GB/s × {eff}, {}",
        intra,
        src(
            links.intra_node_gbps.is_some(),
            ic.map(|i| i.intra_node_link.as_str())
        )
    );
    let inter_note = format!(
        "{} GB/s per node / {gpn} GPUs × {eff}, {}",
        net,
        src(
            links.network_gbps_per_node.is_some(),
            ic.map(|i| i.network.as_str())
        )
    );
    let mut link_set = Links::from_spec(intra, net / gpn as f64, eff, &intra_note, &inter_note);
    if let Some(p) = &links.comm_profile {
        let origin = p.display().to_string();
        let text =
            std::fs::read_to_string(p).map_err(|e| usage(format!("{origin}: cannot read: {e}")))?;
        comm_profile::apply(&text, &origin, &mut link_set)?;
    }
    Ok(Resolved {
        hw: Hardware {
            peak_tflops: peak,
            compute_tflops: r.compute_tflops,
            attention_tflops: r.attention_tflops,
            compute_note: r.note,
            memory_gbps: r.memory_gbps,
            gpus_per_node: gpn,
            links: link_set,
            memory_bytes: g.memory_gb * 1e9,
            cuda_context_bytes: crate::estimate::defaults::DEFAULT_CUDA_CONTEXT_GB * 1e9,
        },
        gpu: g.key.clone(),
        tdp_w: g.tdp_w,
    })
}

fn model_of(name: Option<&str>, config: Option<&Path>) -> anyhow::Result<ModelConfig> {
    match resolve_model(name, config)? {
        Some((m, _)) => Ok(m),
        None => Err(usage(
            "a layout needs the architecture: give --model NAME or --model-config FILE",
        )),
    }
}

fn seq_of(m: &ModelConfig, seq: Option<f64>, flag: &str) -> anyhow::Result<u64> {
    let s = seq.unwrap_or(m.context as f64);
    if s.fract() != 0.0 || s < 1.0 {
        return Err(usage(format!(
            "{flag} {s} must be a whole number of tokens"
        )));
    }
    m.check_seq(s, flag)?;
    Ok(s as u64)
}

/// `gpubench estimate` with layout flags: one layout evaluated.
pub fn estimate_layout(args: &EstimateArgs) -> anyhow::Result<ExitCode> {
    for (given, flag) in [
        (args.days.is_some(), "--days"),
        (args.flops.is_some(), "--flops"),
        (args.params.is_some(), "--params"),
        (args.mfu.is_some(), "--mfu"),
        (args.gemm_utilization.is_some(), "--gemm-utilization"),
        (
            args.tokens_per_sec_per_gpu.is_some(),
            "--tokens-per-sec-per-gpu",
        ),
        (args.achieved_tflops.is_some(), "--achieved-tflops"),
        (args.gpu_hours.is_some(), "--gpu-hours"),
        (args.measured_tflops.is_some(), "--measured-tflops"),
        (args.calibration.is_some(), "--calibration"),
        (args.gpu_price.is_some(), "--gpu-price"),
    ] {
        if given {
            return Err(usage(format!(
                "{flag} does not apply to a parallel layout, whose throughput comes from the layout (for a calibration file use --profile FILE)"
            )));
        }
    }
    let f = &args.layout;
    let m = model_of(args.model.name.as_deref(), args.model.config.as_deref())?;
    let seq = seq_of(&m, args.seq_len, "--seq")?;
    let (tp, pp) = (f.tp.unwrap_or(1), f.pp.unwrap_or(1));
    layout::check_split(&m, tp, pp)?;
    let dp = match (f.dp, args.gpus) {
        (Some(d), Some(g)) if tp * pp * d != g => {
            return Err(usage(format!(
                "--gpus {g} is not --tp {tp} × --pp {pp} × --dp {d} = {}; give one of --gpus and --dp",
                tp * pp * d
            )))
        }
        (Some(d), _) => d,
        (None, Some(g)) => layout::derive_dp(g, tp, pp)?,
        (None, None) => {
            return Err(usage(
                "a layout needs its size: give --gpus N (the data-parallel degree is derived) or --dp D",
            ))
        }
    };
    let Some(global_batch) = f.global_batch else {
        return Err(usage(
            "a layout needs --global-batch B (sequences per step)",
        ));
    };
    let lay = Layout {
        tp,
        pp,
        dp,
        micro_batch: f.micro_batch.unwrap_or(1),
        global_batch,
        seq,
        sequence_parallel: f.sequence_parallel,
        virtual_stages: f.virtual_stages.unwrap_or(1),
        zero: f.zero.unwrap_or(0),
        recompute: args.recompute,
        dp_overlap: !f.links.no_dp_overlap,
    };
    lay.validate(&m)?;
    let r = resolve_hardware(
        args.gpu.as_deref(),
        args.dtype.as_deref(),
        args.profile.as_deref(),
        args.peak_tflops,
        &f.links,
    )?;
    let e = layout::evaluate(&m, &lay, &r.hw);
    let tokens = args.tokens.or(m.training_tokens);
    let power = args.power_watts.unwrap_or(r.tdp_w);
    let pue = args.pue.unwrap_or(energy::DEFAULT_PUE);
    let training = tokens.map(|t| Training::of(&e, t, args.price_per_gpu_hour, Some(power), pue));
    let mut notes = Vec::new();
    if tokens.is_none() {
        notes.push("days, GPU-hours and cost need the training tokens: add --tokens D".into());
    }
    if !e.fits {
        notes.push(format!(
            "{:.1} GB per GPU does not fit in {:.0} GB: try --recompute selective or full, --sequence-parallel, --zero 1, more --pp, or 'gpubench plan'",
            e.memory.total_bytes / 1e9,
            r.hw.memory_bytes / 1e9
        ));
    }
    let rep = LayoutEstimate {
        model: m.name.clone(),
        gpu: r.gpu,
        hardware: r.hw,
        eval: e,
        training,
        notes,
    };
    if args.json {
        emit(&(serde_json::to_string_pretty(&rep.json())? + "\n"))?;
    } else {
        emit(&crate::output::layout::table(&rep))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `gpubench plan`.
pub fn execute(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let m = model_of(args.model.name.as_deref(), args.model.config.as_deref())?;
    let seq = seq_of(&m, args.seq.map(|s| s as f64), "--seq")?;
    if args.global_batch == 0 {
        return Err(usage(
            "--global-batch must be a positive whole number of sequences",
        ));
    }
    let r = resolve_hardware(
        args.gpu.as_deref(),
        args.dtype.as_deref(),
        args.profile.as_deref(),
        None,
        &args.links,
    )?;
    let fixed = search::Fixed {
        gpus: args.gpus,
        global_batch: args.global_batch,
        seq,
        dp_overlap: !args.links.no_dp_overlap,
    };
    let (ranked, tried) = search::rank(&m, &r.hw, &fixed);
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
            r.hw.memory_bytes / 1e9
        )));
    }
    let top: Vec<_> = ranked.iter().take(args.top as usize).collect();
    let why = search::why_fastest(&ranked);
    if args.json {
        let layouts: Vec<_> = top
            .iter()
            .map(|e| {
                let b = &e.breakdown;
                json!({
                    "layout": training::layout_json(&e.layout, e.micro_batches),
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
        let out = json!({
            "model": m.name,
            "gpu": r.gpu,
            "gpus": fixed.gpus,
            "global_batch": fixed.global_batch,
            "seq": seq,
            "compute_note": r.hw.compute_note,
            "layouts_tried": tried,
            "layouts_fit": ranked.len(),
            "layouts": layouts,
            "why_fastest": why,
        });
        emit(&(serde_json::to_string_pretty(&out)? + "\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Sections::default();
    let mut s = Section::new(format!(
        "{} on {} × {}, {} sequences of {} per step: {} of {tried} layouts fit in {:.0} GB",
        m.name,
        fixed.gpus,
        r.gpu,
        fixed.global_batch,
        seq,
        ranked.len(),
        r.hw.memory_bytes / 1e9
    ));
    s.header = [
        "#",
        "tp",
        "pp",
        "dp",
        "mb",
        "v",
        "SP",
        "ZeRO",
        "recompute",
        "step s",
        "compute",
        "tp comm",
        "bubble",
        "p2p",
        "dp exp",
        "tok/s/GPU",
        "MFU",
        "mem GB",
    ]
    .iter()
    .map(|c| c.to_string())
    .collect();
    for (i, e) in top.iter().enumerate() {
        let l = &e.layout;
        let b = &e.breakdown;
        s.row([
            (i + 1).to_string(),
            l.tp.to_string(),
            l.pp.to_string(),
            l.dp.to_string(),
            l.micro_batch.to_string(),
            l.virtual_stages.to_string(),
            if l.sequence_parallel { "yes" } else { "no" }.to_string(),
            l.zero.to_string(),
            l.recompute.name().to_string(),
            format!("{:.3}", e.step_time_s),
            format!("{:.3}", b.compute),
            format!("{:.3}", b.tp_comm),
            format!("{:.3}", b.pp_bubble),
            format!("{:.3}", b.pp_p2p),
            format!("{:.3}", b.dp_comm_exposed),
            thousands(e.tokens_per_sec_per_gpu, 0),
            pct(e.mfu),
            format!("{:.1}", e.memory.total_bytes / 1e9),
        ]);
    }
    t.sections.push(s);
    let mut text = t.render();
    text += &format!(
        "\nFastest: {}\n",
        crate::output::layout::describe(&ranked[0].layout)
    );
    if let Some(w) = &why {
        text += &format!("Why: {w}\n");
    }
    text += &format!("Rates: {}\n", r.hw.compute_note);
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}
