//! The "calibrated estimate" block `gpubench run` prints under its table: what the measured
//! throughput means for a reference training run, beside what the spec sheet would say.
//! The full planner is `gpubench estimate --profile FILE`; this block shows the point of it
//! at a glance, with the same defaults and formulas.

use std::fmt::Write;
use std::path::Path;

use crate::estimate::compute::{training_flops, CHINCHILLA_TOKENS_PER_PARAM};
use crate::estimate::defaults::{DEFAULT_GEMM_UTILIZATION, DEFAULT_MFU};
use crate::estimate::measured::best_result;
use crate::estimate::time::seconds_for_flops;
use crate::output::format::days as days_text;
use crate::output::format::tflops as fmt_tflops;
use crate::profile::Profile;

/// The reference run: a 7B-parameter model on its Chinchilla-optimal 140B tokens, on one
/// 8-GPU node of the measured device.
pub const REFERENCE_PARAMS: f64 = 7e9;
pub const REFERENCE_GPUS: f64 = 8.0;

/// Renders the block, or an empty string when the profile has no valid result to plan with
/// or measured a CPU (nobody trains a 7B model on CPUs: the figure would inform nothing).
pub fn render(profile: &Profile, saved: Option<&Path>) -> String {
    if profile.device.backend == crate::backend::BackendKind::Cpu {
        return String::new();
    }
    // bf16 (else fp16) is what LLMs train in; otherwise the fastest valid result.
    let peak = best_result(profile, None, "profile").ok().or_else(|| {
        let mut valid: Vec<_> = profile.results.iter().filter(|r| r.valid()).collect();
        valid.sort_by(|a, b| b.tflops.total_cmp(&a.tflops));
        valid
            .first()
            .and_then(|r| best_result(profile, Some(r.dtype), "profile").ok())
    });
    let Some(peak) = peak else {
        return String::new();
    };
    let tokens = REFERENCE_PARAMS * CHINCHILLA_TOKENS_PER_PARAM;
    let flops = training_flops(REFERENCE_PARAMS, tokens);
    let days = |tflops: f64, util: f64| {
        seconds_for_flops(flops, REFERENCE_GPUS, tflops * 1e12 * util) / 86_400.0
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nCalibrated estimate: 7B parameters × 140B tokens (Chinchilla, 6ND = {flops:.2e} FLOPs) on {REFERENCE_GPUS} GPUs like this one, {}:",
        peak.dtype
    );
    let measured = days(peak.tflops, DEFAULT_GEMM_UTILIZATION);
    let _ = writeln!(
        out,
        "  from this measurement: {:.0} % (default) of {} TFLOPS measured ({}) → {}",
        DEFAULT_GEMM_UTILIZATION * 100.0,
        fmt_tflops(peak.tflops),
        peak.describe(),
        days_text(measured)
    );
    if let Some(spec) = peak.spec_tflops {
        let from_spec = days(spec, DEFAULT_MFU);
        let _ = writeln!(
            out,
            "  from the spec sheet:   {:.1} % MFU (default) of {} TFLOPS spec → {} ({:+.0} % from measuring)",
            DEFAULT_MFU * 100.0,
            fmt_tflops(spec),
            days_text(from_spec),
            (measured / from_spec - 1.0) * 100.0
        );
    }
    let file = saved
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "PROFILE".into());
    let _ = writeln!(
        out,
        "  plan your own run: gpubench estimate --profile {file} --params N --tokens D --gpus G"
    );
    out
}
