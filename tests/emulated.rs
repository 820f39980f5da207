//! The CUDA backend end to end, through the built binary, on the emulated GPU
//! (`tests/emulated-device`, see `common/emulated.rs`) with the real NVRTC: every dtype at the
//! configured rate and verified, small products measured as products (not launch overhead),
//! the algorithm search, sustained runs with telemetry and a thermal throttle, calibration, an
//! estimate from the emulated profile, and every fault (out of memory, no algorithm, device
//! lost, old driver, missing symbol, no NVML, a slower device of several).
//!
//! The emulator's own tests run first (its strict rules, through its C entry points).
//!
//! Every run: the emulator's leak report must be empty, errors are one line with the
//! documented exit code, and profiles land only in the test's temporary directory.

mod common;

use std::path::Path;

use common::emulated::Emu;
use common::{close, files_in, flat, read_json, FAST};

/// This binary speaks the CUDA 12 ABI (`--features cuda-12`): a few expectations differ.
const CUDA_12: bool = cfg!(feature = "cuda-12");

/// Rates (TFLOPS) the emulated GPU runs each dtype at, all different so that a mix-up shows.
const RATES: [(&str, f64); 6] = [
    ("fp64", 61.0),
    ("fp32", 53.0),
    ("tf32", 410.0),
    ("fp16", 830.0),
    ("bf16", 790.0),
    ("fp8", 1650.0),
];

fn rates_env() -> String {
    RATES
        .iter()
        .map(|(d, r)| format!("{d}={r}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn rate(dtype: &str) -> f64 {
    RATES.iter().find(|(d, _)| *d == dtype).unwrap().1
}

fn args<'a>(base: &[&'a str]) -> Vec<&'a str> {
    base.iter().copied().chain(FAST).collect()
}

/// Only the files the test made itself are in its directory (recursively; an empty
/// `results/` made before a failure is fine).
fn assert_only(dir: &Path, want: &[&str]) {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        for name in files_in(dir) {
            let p = dir.join(&name);
            let rel = format!("{prefix}{name}");
            if p.is_dir() {
                walk(&p, &format!("{rel}/"), out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut got = Vec::new();
    walk(dir, "", &mut got);
    got.sort();
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
}

/// Whether every row of the run table says its result verified.
fn verified(stdout: &str) -> bool {
    let rows: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("dtype "))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    !rows.is_empty() && rows.iter().all(|l| l.trim_end().ends_with(" yes"))
}

#[test]
fn the_emulators_own_rules_hold() {
    if let Err(out) = common::emulated::own_tests() {
        panic!("tests/emulated-device's tests failed:\n{out}");
    }
}

#[test]
fn every_dtype_runs_at_the_configured_rate_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let out = Emu::new().set("RATE_TFLOPS", rates_env()).run(
        dir.path(),
        &args(&[
            "run", "--device", "cuda:0", "--dtype", "all", "--n", "128", "-o", "p.json",
        ]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.device_opened);
    let p = read_json(&dir.path().join("p.json"));
    assert!(p["device"]["name"].as_str().unwrap().contains("Emulated"));
    assert_eq!(p["device"]["compute_capability"], "9.0");
    let results = p["results"].as_array().unwrap();
    let mut seen: Vec<&str> = results
        .iter()
        .map(|r| r["dtype"].as_str().unwrap())
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        ["bf16", "fp16", "fp32", "fp64", "fp8", "tf32"],
        "cc 9.0 runs all six"
    );
    for r in results {
        let d = r["dtype"].as_str().unwrap();
        let t = r["tflops"].as_f64().unwrap();
        assert!(
            close(t, rate(d), 0.02),
            "{d}: {t} TFLOPS, configured {}",
            rate(d)
        );
        assert_eq!(
            r["verification"]["passed"], true,
            "{d}: {}",
            r["verification"]
        );
        assert!(r["verification"]["checked"].as_u64().unwrap() >= 64, "{d}");
    }
    assert_only(dir.path(), &["p.json"]);
}

#[test]
fn small_products_are_timed_as_products_not_launches() {
    // 2·128³ FLOPs at 830 TFLOPS take 5 ns; a launch costs 5 µs. Event pairs around each
    // product on an idle stream would read two launches (10 µs, 0.4 TFLOPS).
    let dir = tempfile::tempdir().unwrap();
    let out = Emu::new()
        .set("RATE_TFLOPS", rates_env())
        .set("LAUNCH_US", 5)
        .run(
            dir.path(),
            &args(&[
                "run", "--device", "cuda:0", "--dtype", "fp16", "--n", "128", "-o", "p.json",
            ]),
        );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p = read_json(&dir.path().join("p.json"));
    let r = &p["results"][0];
    let median = r["stats_s"]["median"].as_f64().unwrap();
    let product = 2.0 * 128f64.powi(3) / (rate("fp16") * 1e12);
    assert!(
        close(median, product, 0.02),
        "median {median} s, one product {product} s"
    );
    assert!(close(r["tflops"].as_f64().unwrap(), rate("fp16"), 0.02));
}

#[test]
fn newest_nvrtc_with_a_cuda_13_0_driver_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = Emu::new().nvrtc(common::nvidia::nvrtc_series()[1]).run(
        dir.path(),
        &args(&[
            "run",
            "--device",
            "cuda:0",
            "--dtype",
            "bf16",
            "--n",
            "96",
            "--no-save",
        ]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(verified(&out.stdout), "{}", out.stdout);
}

#[test]
fn algorithm_search_never_picks_a_wrong_candidate() {
    // candidate #1 is the fastest but computes wrong products
    let dir = tempfile::tempdir().unwrap();
    let out = Emu::new().set("WRONG_CANDIDATE", 1).run(
        dir.path(),
        &args(&[
            "sweep",
            "--device",
            "cuda:0",
            "--dtype",
            "fp16",
            "--n",
            "128,192",
            "--algos",
            "4",
            "--settle-time",
            "0",
            "-o",
            "s.json",
        ]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p = read_json(&dir.path().join("s.json"));
    let results = p["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        let s = &r["algo_search"];
        assert_eq!(s["timed"], 4, "{s}");
        let cands = s["candidates"].as_array().unwrap();
        let wrong = cands.iter().find(|c| c["index"] == 1).unwrap();
        assert_eq!(wrong["valid"], false, "{wrong}");
        assert!(wrong["tflops"].as_f64().unwrap() > s["best_tflops"].as_f64().unwrap());
        assert_ne!(s["best_index"], 1);
        assert!(cands
            .iter()
            .filter(|c| c["index"] != 1)
            .all(|c| c["valid"] == true));
        assert_eq!(r["verification"]["passed"], true);
    }
    assert_only(dir.path(), &["s.json"]);
}

#[test]
fn sustained_run_shows_the_thermal_throttle() {
    let dir = tempfile::tempdir().unwrap();
    let out = Emu::new()
        .set("THROTTLE_AFTER_PRODUCTS", 50)
        .set("THROTTLE_CLOCK", 0.7)
        .run(
            dir.path(),
            &[
                "run",
                "--device",
                "cuda:0",
                "--dtype",
                "fp16",
                "--n",
                "256",
                "--duration",
                "1",
                "-o",
                "d.json",
            ],
        );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", out.stderr);
    assert!(
        warnings[0].contains("sw_thermal_slowdown"),
        "{}",
        warnings[0]
    );
    let p = read_json(&dir.path().join("d.json"));
    let r = &p["results"][0];
    let timeline = r["telemetry"]["timeline"].as_array().unwrap();
    let last = timeline.last().unwrap();
    assert!(
        close(last["tflops"].as_f64().unwrap(), 800.0 * 0.7, 0.03),
        "{last}"
    );
    assert!(
        close(
            last["sm_clock_mhz_mean"].as_f64().unwrap(),
            1980.0 * 0.7,
            0.01
        ),
        "{last}"
    );
    assert_eq!(last["throttle_reasons"][0], "sw_thermal_slowdown");
    let peak = &r["peak"];
    let derived = peak["derived_tflops"].as_f64().unwrap();
    let at_clock = peak["derived_at_measured_clock_tflops"].as_f64().unwrap();
    assert!(at_clock < derived, "{peak}");
    assert!(
        flat(&out.stdout).contains("derived peak at the measured SM clock"),
        "{}",
        out.stdout
    );
    assert!(r["telemetry"]["power_w_mean"].as_f64().unwrap() > 0.0);
}

#[test]
fn calibration_and_an_estimate_from_the_emulated_profile() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emu::new();
    // gpt3-125m at seq 32 on cuda:0, quickly, saved as `out`, with `extra` flags.
    let calibrate = |extra: &[&str], out: &str| {
        let mut a = vec![
            "calibrate",
            "--model",
            "gpt3-125m",
            "--seq",
            "32",
            "--device",
            "cuda:0",
            "--verify-points",
            "16",
            "--algos",
            "1",
            "-o",
            out,
        ];
        a.extend(extra);
        emu.run(dir.path(), &args(&a))
    };
    let out = calibrate(&[], "cal.json");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("predicted step time"), "{}", out.stdout);
    assert!(
        out.stdout.contains("copy bandwidth: 2000.0 GB/s"),
        "{}",
        out.stdout
    );
    let cal = read_json(&dir.path().join("cal.json"));
    assert!(cal["shapes"].as_array().unwrap().len() >= 10);

    // One of 2 tensor-parallel ranks: its own, narrower products, half the step's tokens per GPU.
    let out = calibrate(&["--tp", "2"], "cal-tp2.json");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let half = read_json(&dir.path().join("cal-tp2.json"));
    assert_eq!(half["step"]["tp"], 2);
    let b = &half["breakdown"];
    let tokens_per_gpu = b["tokens_per_sec"].as_f64().unwrap() * b["step_time_s"].as_f64().unwrap();
    assert!((tokens_per_gpu - 16.0).abs() < 1e-9, "{b}");
    // The QKV projection's forward: 32 tokens × (3·768 / 2) × 768.
    let shapes: Vec<&str> = half["gemms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["name"] == "qkv" && g["pass"] == "forward")
        .map(|g| g["shape"].as_object().unwrap())
        .map(|o| {
            if o["n"] == 1152 && o["k"] == 768 && o["m"] == 32 {
                "ok"
            } else {
                "other"
            }
        })
        .collect();
    assert_eq!(shapes, ["ok"], "{}", half["gemms"]);

    let out = emu.run(
        dir.path(),
        &args(&[
            "run", "--device", "cuda:0", "--dtype", "bf16", "--n", "256", "-o", "p.json",
        ]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let est = common::gpubench(dir.path())
        .args([
            "estimate",
            "--profile",
            "p.json",
            "--params",
            "7e9",
            "--tokens",
            "1.4e11",
        ])
        .args(["--gpus", "8"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&est.stdout);
    assert!(
        est.status.success(),
        "{}",
        String::from_utf8_lossy(&est.stderr)
    );
    assert!(
        text.contains("800.0 TFLOPS") && text.contains("p.json"),
        "{text}"
    );
    assert_only(dir.path(), &["cal.json", "cal-tp2.json", "p.json"]);
}

#[test]
fn out_of_memory_at_the_kth_allocation_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = Emu::new().set("OOM_AT", 3).run(
        dir.path(),
        &args(&["run", "--device", "cuda:0", "--dtype", "fp16", "--n", "128"]),
    );
    out.assert_one_error(
        1,
        &["out of GPU memory", "fp16 128×128×128", "smaller shape"],
    );
    assert_only(dir.path(), &[]);
}

#[test]
fn no_algorithm_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = Emu::new().set("NO_ALGO", 1).run(
        dir.path(),
        &args(&["run", "--device", "cuda:0", "--dtype", "fp16", "--n", "128"]),
    );
    out.assert_one_error(1, &["no algorithm", "fp16 128×128×128"]);
    assert_only(dir.path(), &[]);
}

#[test]
fn device_lost_mid_sweep_keeps_the_points_done() {
    let dir = tempfile::tempdir().unwrap();
    let out = Emu::new().set("LOST_AFTER", 40).run(
        dir.path(),
        &args(&[
            "sweep",
            "--device",
            "cuda:0",
            "--dtype",
            "fp16",
            "--n",
            "64:512:64",
            "--algos",
            "1",
            "--settle-time",
            "0",
            "-o",
            "s.json",
        ]),
    );
    out.assert_one_error(
        1,
        &["s.json", "points done are kept", "CUDA_ERROR_LAUNCH_FAILED"],
    );
    let p = read_json(&dir.path().join("s.json"));
    let done = p["results"].as_array().unwrap();
    assert!(!done.is_empty() && done.len() < 8, "{} points", done.len());
    assert!(done.iter().all(|r| r["verification"]["passed"] == true));
    assert_only(dir.path(), &["s.json"]);
}

#[test]
fn a_driver_older_than_the_bindings_is_one_line_with_the_rebuild_command() {
    // CUDA 13 bindings on a driver of CUDA 12.8; CUDA 12 bindings on one of CUDA 11.8
    let (version, says) = if CUDA_12 {
        (11080, "CUDA 11.8")
    } else {
        (12080, "CUDA 12.8")
    };
    let dir = tempfile::tempdir().unwrap();
    let out = Emu::new().set("DRIVER_CUDA", version).run(
        dir.path(),
        &args(&["run", "--device", "cuda:0", "--dtype", "fp16", "--n", "128"]),
    );
    out.assert_one_error(1, &[says, "cargo build --release", "--device cpu"]);
    assert!(!out.device_opened, "refused before cuInit");
    assert_only(dir.path(), &[]);
}

#[test]
fn compute_capability_7_0_needs_the_cuda_12_build() {
    let dir = tempfile::tempdir().unwrap();
    let out = Emu::new().set("CC", "7.0").run(
        dir.path(),
        &args(&[
            "run",
            "--device",
            "cuda:0",
            "--dtype",
            "fp16",
            "--n",
            "128",
            "--no-save",
        ]),
    );
    if CUDA_12 {
        // CUDA 12 still runs Volta
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(verified(&out.stdout), "{}", out.stdout);
        assert_only(dir.path(), &[]);
        return;
    }
    out.assert_one_error(1, &["7.0", "--features cuda-12", "--device cpu"]);
    assert_only(dir.path(), &[]);
}

#[test]
fn missing_driver_symbol_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = Emu::new().missing_symbol().run(
        dir.path(),
        &args(&["run", "--device", "cuda:0", "--dtype", "fp16", "--n", "128"]),
    );
    let symbol = if CUDA_12 {
        "cuEventElapsedTime"
    } else {
        "cuEventElapsedTime_v2"
    };
    out.assert_one_error(1, &[symbol, "update the driver"]);
    assert!(!out.device_opened, "refused before the first CUDA call");
    assert_only(dir.path(), &[]);
}

#[test]
fn missing_cublaslt_names_the_wheels() {
    let dir = tempfile::tempdir().unwrap();
    let out = Emu::new().without_cublaslt().run(
        dir.path(),
        &args(&["run", "--device", "cuda:0", "--dtype", "fp16", "--n", "128"]),
    );
    let wants: &[&str] = if CUDA_12 {
        &[
            "pip install nvidia-cublas-cu12 nvidia-cuda-nvrtc-cu12",
            "nvidia/cublas/lib",
        ]
    } else {
        &[
            "pip install nvidia-cublas nvidia-cuda-nvrtc",
            "nvidia/cu13/lib",
        ]
    };
    out.assert_one_error(1, wants);
    assert_only(dir.path(), &[]);
}

#[test]
fn without_nvml_one_notice_and_the_run_works() {
    let dir = tempfile::tempdir().unwrap();
    let out = Emu::new().without_nvml().run(
        dir.path(),
        &args(&[
            "run",
            "--device",
            "cuda:0",
            "--dtype",
            "fp16",
            "--n",
            "128",
            "--no-save",
        ]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let notices: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("notice:"))
        .collect();
    assert_eq!(notices.len(), 1, "{}", out.stderr);
    assert!(notices[0].contains("NVML"), "{}", notices[0]);
    assert!(verified(&out.stdout), "{}", out.stdout);
    assert_only(dir.path(), &[]);
}

#[test]
fn the_slower_of_several_devices_reports_its_rate() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emu::new()
        .set("RATE_TFLOPS", rates_env())
        .set("DEVICES", 3)
        .set("SLOW_DEVICE", 2)
        .set("SLOW_FACTOR", 0.5);
    for (dev, factor) in [("cuda:2", 0.5), ("cuda:1", 1.0)] {
        let out = emu.run(
            dir.path(),
            &args(&[
                "run", "--device", dev, "--dtype", "fp16", "--n", "128", "-o", "p.json", "--force",
            ]),
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        let p = read_json(&dir.path().join("p.json"));
        let t = p["results"][0]["tflops"].as_f64().unwrap();
        assert!(close(t, rate("fp16") * factor, 0.02), "{dev}: {t}");
        assert_eq!(p["device"]["ordinal"], dev[5..].parse::<u32>().unwrap());
    }
    let out = emu.run(
        dir.path(),
        &args(&["run", "--device", "cuda:3", "--dtype", "fp16", "--n", "128"]),
    );
    out.assert_one_error(2, &["cuda:3", "3 GPUs"]);
}

#[test]
fn fp8_shapes_follow_cublaslt_rules() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emu::new();
    let run = |m: &str, n: &str, k: &str, extra: &[&str]| {
        let mut a = vec![
            "run", "--device", "cuda:0", "--dtype", "fp8", "--m", m, "--n", n, "--k", k,
        ];
        a.extend_from_slice(extra);
        emu.run(dir.path(), &args(&a))
    };
    run("64", "52", "64", &[]).assert_one_error(2, &["n must be a multiple of 8"]);
    run("64", "64", "129", &[]).assert_one_error(2, &["k must be a multiple of 16"]);
    // m is free
    let out = run("37", "56", "144", &["-o", "f8.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        flat(&out.stdout).contains("fp8 fast accumulation off"),
        "{}",
        out.stdout
    );
    let p = read_json(&dir.path().join("f8.json"));
    let r = &p["results"][0];
    assert_eq!(r["fp8_fast_accum"], false);
    assert!(r["timing"].as_str().unwrap().contains("CUDA events"), "{r}");
    assert_eq!(r["verification"]["passed"], true);
    assert_only(dir.path(), &["f8.json"]);
}

#[test]
fn a_mig_instance_is_recorded_by_its_mig_uuid() {
    let dir = tempfile::tempdir().unwrap();
    let out = Emu::new().set("MIG", 1).run(
        dir.path(),
        &args(&[
            "run", "--device", "cuda:0", "--dtype", "fp16", "--n", "64", "-o", "p.json",
        ]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p = read_json(&dir.path().join("p.json"));
    let uuid = p["device"]["uuid"].as_str().unwrap();
    assert!(uuid.starts_with("MIG-"), "{uuid}");
    assert_eq!(
        p["device"]["driver_version"], "580.00.emulated",
        "NVML found the device"
    );
}
