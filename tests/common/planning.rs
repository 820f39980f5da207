//! Test fixtures for the planning commands: profiles built from gpubench's own types and
//! written to a temporary folder (never into results/).
//!
//! The figures are chosen to exercise the rules, not copied from a real device: an H100
//! "sweep" whose fastest result failed verification (so the best *valid* one must be used),
//! with a measured mean power.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use gpubench::backend::{BackendKind, DeviceInfo, GemmApi};
use gpubench::dtype::DType;
use gpubench::measure::stats::Stats;
use gpubench::measure::verify::Verification;
use gpubench::peak::{PeakBasis, PeakInfo};
use gpubench::profile::{
    GemmResult, HostInfo, Profile, ProfileKind, Telemetry, TimingSettings, ToolInfo, WarmupRecord,
    SCHEMA_VERSION,
};

/// One result of `dtype` and shape m×n×k at `tflops`, passing verification or not, with
/// an optional mean power.
pub fn result(
    dtype: DType,
    (m, n, k): (u64, u64, u64),
    tflops: f64,
    valid: bool,
    power_w: Option<f64>,
    spec: Option<(&str, f64)>,
) -> GemmResult {
    let t = 2.0 * (m * n * k) as f64 / (tflops * 1e12);
    let samples = vec![t; 5];
    GemmResult {
        dtype,
        m,
        n,
        k,
        batch: 1,
        api: GemmApi {
            api: "fixture".into(),
            compute_type: "fixture".into(),
            accumulator: "fp32".into(),
            output_type: dtype.output_type().into(),
            algorithm: None,
            timing: None,
            fp8_fast_accum: None,
        },
        input_sets: 1,
        warmup: WarmupRecord {
            iterations: 1,
            seconds: t,
        },
        stats_s: Stats::of(&samples).unwrap(),
        samples_s: samples,
        tflops,
        tflops_max: tflops,
        tflops_min: tflops,
        peak: PeakInfo {
            derived_at_measured_clock_tflops: None,
            measured_sm_clock_mhz: None,
            spec_tflops: spec.map(|s| s.1),
            spec_gpu: spec.map(|s| s.0.to_string()),
            spec_source: spec.map(|_| "fixture".to_string()),
            derived_tflops: None,
            derived_basis: None,
            efficiency_basis: spec.map(|_| PeakBasis::Spec),
        },
        efficiency: spec.map(|s| tflops / s.1),
        verification: Verification {
            checked: 16,
            max_rel_error: if valid { 1e-4 } else { 0.5 },
            max_abs_error: if valid { 1e-4 } else { 0.5 },
            tolerance: dtype.tolerance(),
            passed: valid,
        },
        telemetry: power_w.map(|w| Telemetry {
            source: "nvml".into(),
            samples: 10,
            power_w_mean: Some(w),
            ..Telemetry::default()
        }),
        algo_search: None,
        gpu: None,
    }
}

/// A profile of `device_name` with `memory_bytes` and the given results.
pub fn profile(
    device_name: &str,
    spec_gpu: Option<&str>,
    memory_bytes: u64,
    results: Vec<GemmResult>,
) -> Profile {
    Profile {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo::current(),
        created_utc: "2025-01-01T00:00:00Z".into(),
        command: vec!["gpubench".into(), "fixture".into()],
        kind: ProfileKind::Sweep,
        host: HostInfo::default(),
        device: DeviceInfo {
            backend: BackendKind::Cuda,
            name: device_name.into(),
            memory_bytes: Some(memory_bytes),
            spec_gpu: spec_gpu.map(str::to_string),
            ..DeviceInfo::default()
        },
        settings: TimingSettings {
            warmup_iters: 1,
            warmup_secs: 0.0,
            min_iters: 5,
            min_secs: 0.0,
            max_iters: 5,
            cold: false,
            verify_points: 16,
        },
        results,
        interrupted: None,
        planned_results: None,
        cluster: None,
    }
}

/// The H100 sweep: bf16 at 760 (valid), 794.5 (valid, best valid, 640 W) and 900 TFLOPS
/// (failed verification), plus an fp32 result.
pub fn h100_sweep() -> Profile {
    let spec = Some(("h100-sxm", 989.4));
    profile(
        "NVIDIA H100 80GB HBM3",
        Some("h100-sxm"),
        85_520_809_984,
        vec![
            result(
                DType::Bf16,
                (8192, 8192, 8192),
                760.0,
                true,
                Some(655.0),
                spec,
            ),
            result(
                DType::Bf16,
                (2048, 2048, 13312),
                794.5,
                true,
                Some(640.0),
                spec,
            ),
            result(
                DType::Bf16,
                (4096, 4096, 4096),
                900.0,
                false,
                Some(650.0),
                spec,
            ),
            result(
                DType::Fp32,
                (8192, 8192, 8192),
                51.0,
                true,
                None,
                Some(("h100-sxm", 67.0)),
            ),
        ],
    )
}

/// Writes `p` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, p: &Profile) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, p.to_json()).unwrap();
    // The fixture must load through the same checks as a real profile.
    Profile::load(&path).unwrap();
    path
}

/// Llama-2-70B on 1,024 GPUs laid out tp 8 · pp 4 · dp 32 with sequence parallelism, ZeRO-1
/// and selective recomputation: the layout estimate the estimating docs walk through, before
/// the GPU or profile flags each test adds.
pub const LLAMA70_LAYOUT: [&str; 22] = [
    "estimate",
    "--model",
    "llama-2-70b",
    "--tokens",
    "2T",
    "--gpus",
    "1024",
    "--tp",
    "8",
    "--pp",
    "4",
    "--micro-batch",
    "1",
    "--global-batch",
    "1024",
    "--seq",
    "4096",
    "--sequence-parallel",
    "--zero",
    "1",
    "--recompute",
    "selective",
];
