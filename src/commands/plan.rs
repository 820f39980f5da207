//! `gpubench plan`: every parallel layout of a model on a cluster, the ones that fit, ranked
//! by step time; and `gpubench estimate` with a layout (`--tp`, `--pp`, ...), which evaluates
//! one. Both turn flags into [`crate::estimate::layout`]'s inputs here (a GPU row and link
//! settings into [`Hardware`] through [`hardware`]); the formulas live there, the views in
//! [`crate::output::layout`] and [`crate::output::plan`].

use std::path::Path;
use std::process::ExitCode;

use super::estimate::{parse_dtype, resolve_model};
use crate::calibrate::file::{CalibrationFile, KIND as CALIBRATION_KIND};
use crate::cli::estimate::EstimateArgs;
use crate::cli::plan::{LinkFlags, PlanArgs};
use crate::dtype::DType;
use crate::error::usage;
use crate::estimate::layout::hardware::{self, LinkSettings};
use crate::estimate::layout::rates::{self, Rates};
use crate::estimate::layout::training::{LayoutEstimate, Training};
use crate::estimate::layout::{self, comm_profile, search, Hardware, Layout};
use crate::estimate::warnings::Warning;
use crate::estimate::{energy, measured};
use crate::model::ModelConfig;
use crate::output::emit;
use crate::peak::{self, GpuSpec};

/// A GPU's hardware for the layout model, and what it is called.
struct Resolved {
    hw: Hardware,
    gpu: String,
    tdp_w: f64,
    /// The calibration file the rates come from, when `--profile` gave one.
    calibration: Option<(Box<CalibrationFile>, String)>,
    /// What the user should hear about the inputs (printed on stderr).
    warnings: Vec<Warning>,
}

/// Compute rates measured on a device: a GEMM profile's best result, or a calibration file.
enum Measured {
    Gemm(f64, String),
    Calibrated(Box<CalibrationFile>, String),
}

/// The GPU row, the measured rates if a profile is given (a calibration must be of `model`),
/// and the links.
fn resolve_hardware(
    model: &ModelConfig,
    gpu: Option<&str>,
    dtype: Option<&str>,
    profile: Option<&Path>,
    peak_override: Option<f64>,
    links: &LinkFlags,
) -> anyhow::Result<Resolved> {
    let explicit = parse_dtype(dtype)?;
    let mut row: Option<&'static GpuSpec> = gpu.map(peak::lookup).transpose()?;
    let mut warnings = Vec::new();
    let measured = match profile {
        None => None,
        Some(p) => {
            let (m, device_row, device) = read_measured(p, explicit, model)?;
            if let Some(g) = row {
                if device_row.is_none_or(|d| d.key != g.key) {
                    warnings.push(Warning::GpuMismatch {
                        given: g.key.clone(),
                        profile: match device_row {
                            Some(d) => d.key.clone(),
                            None => format!("{device}, not in the GPU table"),
                        },
                        effect: "the layout runs at the profile's measured rates with --gpu's peak, memory and links",
                    });
                }
            }
            row = row.or(device_row);
            Some(m)
        }
    };
    let Some(g) = row else {
        return Err(usage(
            "a layout needs the GPU's peak, memory and links: give --gpu NAME (see 'gpubench gpus')",
        ));
    };
    let peak = hardware::peak_tflops(g, explicit, peak_override)?;
    let mem_bw = hardware::memory_bandwidth(g)?;
    let r = rates_of(measured.as_ref(), peak, mem_bw)?;
    let (gpn, mut link_set) = hardware::links(g, &link_settings(links))?;
    if !links.comm_profile.is_empty() {
        let sources = links
            .comm_profile
            .iter()
            .map(|p| read_comm_source(p))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if comm_profile::apply_all(&sources, &mut link_set)? == 0 {
            let names: Vec<&str> = sources.iter().map(|(n, _)| n.as_str()).collect();
            warnings.push(Warning::EmptyCommProfile {
                origin: names.join(", "),
            });
        }
    }
    Ok(Resolved {
        hw: hardware::of_gpu(g, peak, r, gpn, link_set),
        gpu: g.key.clone(),
        tdp_w: g.tdp_w,
        calibration: match measured {
            Some(Measured::Calibrated(c, origin)) => Some((c, origin)),
            _ => None,
        },
        warnings,
    })
}

/// One `--comm-profile`: a file, or a folder of nodes' `comm-<host>.json` files (`gpubench
/// comm --results-dir`, named as `gpubench report` finds them; a job's rank files beside them
/// are passed over). Returns its name and its files' names and texts.
fn read_comm_source(p: &Path) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let name = p.display().to_string();
    let read = |f: &Path| {
        std::fs::read_to_string(f).map_err(|e| usage(format!("{}: cannot read: {e}", f.display())))
    };
    if !p.is_dir() {
        return Ok((name.clone(), vec![(name, read(p)?)]));
    }
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(p)
        .map_err(|e| usage(format!("{name}: cannot read the folder: {e}")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|f| {
            f.file_name()
                .is_some_and(|n| crate::cluster::links::is_comm_file(&n.to_string_lossy()))
        })
        .collect();
    if paths.is_empty() {
        return Err(usage(format!(
            "{name}: the folder holds no communication profile; run 'gpubench comm --results-dir {name}' on each node, or name a file from 'gpubench comm --save'"
        )));
    }
    paths.sort();
    let files = paths
        .iter()
        .map(|f| Ok((f.display().to_string(), read(f)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((name, files))
}

/// A `--profile` file: a calibration file of `model` or a GEMM profile's best result (in
/// `dtype` when one is named), the GPU row its device names, and the device's name.
fn read_measured(
    p: &Path,
    dtype: Option<DType>,
    model: &ModelConfig,
) -> anyhow::Result<(Measured, Option<&'static GpuSpec>, String)> {
    let origin = p.display().to_string();
    let text =
        std::fs::read_to_string(p).map_err(|e| usage(format!("{origin}: cannot read: {e}")))?;
    let kind = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str().map(str::to_string)));
    if kind.as_deref() == Some(CALIBRATION_KIND) {
        let c = crate::calibrate::file::load_for(p, Some(model))?;
        let row = peak::match_device_name(&c.device.name);
        let device = c.device.name.clone();
        Ok((Measured::Calibrated(Box::new(c), origin), row, device))
    } else {
        let prof = super::load_profile(p)?;
        let best = measured::best_result(&prof, dtype, &origin)?;
        let row = best.spec_gpu.as_deref().and_then(|k| peak::lookup(k).ok());
        let what = format!("{origin}: {}", best.describe());
        let device = prof.device.name.clone();
        Ok((Measured::Gemm(best.tflops, what), row, device))
    }
}

/// The rates the layout's compute runs at: the spec sheet's, or the measured ones.
fn rates_of(measured: Option<&Measured>, peak: f64, mem_bw: f64) -> anyhow::Result<Rates> {
    Ok(match measured {
        None => rates::from_spec(peak, mem_bw),
        Some(Measured::Gemm(tflops, what)) => rates::from_measured(*tflops, mem_bw, what),
        Some(Measured::Calibrated(c, origin)) => crate::calibrate::rates::layout_rates(c, origin)
            .ok_or_else(|| {
            usage(format!(
                "{origin}: the calibration has no timed linear-layer product; calibrate again"
            ))
        })?,
    })
}

/// The link flags as the layout model's settings.
fn link_settings(f: &LinkFlags) -> LinkSettings {
    LinkSettings {
        gpus_per_node: f.gpus_per_node,
        intra_node_gbps: f.intra_node_gbps,
        network_gbps_per_node: f.network_gbps_per_node,
        link_efficiency: f.link_efficiency,
    }
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
        dp_bucket: f.links.dp_bucket_size,
    };
    lay.validate(&m)?;
    let mut r = resolve_hardware(
        &m,
        args.gpu.as_deref(),
        args.dtype.as_deref(),
        args.profile.as_deref(),
        args.peak_tflops,
        &f.links,
    )?;
    if let Some((c, origin)) = &r.calibration {
        let flag = model_flag(&m, args.model.config.as_deref());
        r.warnings.extend(crate::calibrate::rates::step_mismatch(
            c,
            origin,
            (lay.tp, lay.micro_batch, lay.seq),
            &flag,
        ));
    }
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
    super::print_warnings(&r.warnings);
    Ok(ExitCode::SUCCESS)
}

/// How the command line names the model: `--model NAME`, or `--model-config FILE`.
fn model_flag(m: &ModelConfig, config: Option<&Path>) -> String {
    match config {
        Some(p) => format!("--model-config {}", p.display()),
        None => format!("--model {}", m.name),
    }
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
    let mut r = resolve_hardware(
        &m,
        args.gpu.as_deref(),
        args.dtype.as_deref(),
        args.profile.as_deref(),
        None,
        &args.links,
    )?;
    if let Some((c, origin)) = &r.calibration {
        r.warnings
            .push(crate::calibrate::rates::plan_warning(c, origin));
    }
    let fixed = search::Fixed {
        gpus: args.gpus,
        global_batch: args.global_batch,
        seq,
        dp_overlap: !args.links.no_dp_overlap,
        dp_bucket: args.links.dp_bucket_size,
    };
    let plan = search::Plan::search(&m, &r.gpu, r.hw, fixed, args.top as usize)?;
    if args.json {
        emit(&(serde_json::to_string_pretty(&plan.json())? + "\n"))?;
    } else {
        emit(&crate::output::plan::text(
            &plan,
            crate::output::table::Width::from_wide(args.wide),
        ))?;
    }
    super::print_warnings(&r.warnings);
    Ok(ExitCode::SUCCESS)
}
