//! `gpubench estimate` through the built binary: every worked example of docs/sources.md, the
//! spec-sheet vs calibrated comparison with a measured profile, the inverse questions,
//! warnings, and bad input (one line, exit 2).

mod common;

use common::num as f;
use common::planning::*;
use common::*;
use gpubench::dtype::DType;

#[test]
fn llama_65b_takes_20_8_days() {
    // 1.4e12 / (2048 × 380) s = 20.8 days; implied MFU 47.6 % of 312 TFLOPS (docs/sources.md §2).
    let args = [
        "estimate",
        "--params",
        "65.2e9",
        "--tokens",
        "1.4T",
        "--gpus",
        "2048",
        "--gpu",
        "a100-sxm-80gb",
        "--tokens-per-sec-per-gpu",
        "380",
    ];
    let v = json(&args);
    assert!(close(f(&v, "days"), 20.82, 0.001), "{}", v["days"]);
    assert!(close(f(&v, "mfu"), 0.4765, 0.001));
    assert_eq!(f(&v, "gpus"), 2048.0);
    assert_eq!(f(&v, "tokens_per_sec_total"), 2048.0 * 380.0);
    let (out, err) = text(&args);
    assert!(out.contains("20.82 days"), "{out}");
    assert!(out.contains("47.6 %"), "{out}");
    assert!(err.is_empty(), "no warning for a typical run: {err}");
    // The spelling of the example in docs/estimating.md (65e9 rather than 65.2e9).
    let v = json(&[
        "estimate",
        "--params",
        "65e9",
        "--tokens",
        "1.4T",
        "--gpus",
        "2048",
        "--gpu",
        "a100-sxm-80gb",
        "--tokens-per-sec-per-gpu",
        "380",
    ]);
    assert!(close(f(&v, "days"), 20.82, 0.001));
}

#[test]
fn gpt3_on_1000_a100_at_half_peak_takes_23_3_days() {
    let v = json(&[
        "estimate", "--flops", "3.14e23", "--gpus", "1000", "--gpu", "a100", "--mfu", "0.5",
    ]);
    assert!(close(f(&v, "days"), 23.296, 0.001), "{}", v["days"]);
    assert!(close(f(&v, "pf_days"), 3634.3, 0.001));
    // From the preset: 6 × 175e9 × 300e9 = 3.15e23, 23.4 days.
    let v = json(&[
        "estimate",
        "--model",
        "gpt3-175b",
        "--gpus",
        "1000",
        "--gpu",
        "a100",
        "--mfu",
        "50%",
    ]);
    assert!(close(f(&v, "flops_total"), 3.15e23, 1e-9));
    assert!(close(f(&v, "days"), 23.37, 0.001));
}

#[test]
fn gpus_for_100b_in_10_days_is_10684() {
    // 1.8e23 FLOPs at 19.5 TFLOPS (A100 fp32, 100 %) in 864,000 s (docs/sources.md §2).
    let v = json(&[
        "estimate",
        "--flops",
        "1.8e23",
        "--days",
        "10",
        "--achieved-tflops",
        "19.5",
    ]);
    assert_eq!(f(&v, "gpus"), 10_684.0);
    assert!(close(f(&v, "gpus_exact"), 10_683.76, 1e-5));
    assert!(f(&v, "days") <= 10.0);
    // Same through the GPU table's fp32 peak at 100 % MFU, which draws a warning.
    let out = bin()
        .args([
            "estimate", "--flops", "1.8e23", "--days", "10", "--gpu", "a100", "--dtype", "fp32",
            "--mfu", "1",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("warning: ") && err.contains("MFU 100.0 %"),
        "{err}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("10,684"), "{stdout}");
}

#[test]
fn buying_10830_gpus_costs_142_790_000() {
    let args = [
        "estimate",
        "--flops",
        "1.8e23",
        "--gpus",
        "10830",
        "--achieved-tflops",
        "19.5",
        "--gpu-price",
        "10000",
    ];
    let v = json(&args);
    assert_eq!(f(&v, "cost_bought_usd"), 142_790_000.0);
    assert_eq!(f(&v, "cost_usd"), 142_790_000.0);
    assert_eq!(f(&v["cost_bought"], "other_hardware_usd"), 21_660_000.0);
    let (out, _) = text(&args);
    assert!(out.contains("$142,790,000"), "{out}");
    assert!(out.contains("$21,660,000") && out.contains("$10,830,000"));
    // Every part is a flag.
    let v = json(&[
        "estimate",
        "--flops",
        "1.8e23",
        "--gpus",
        "10830",
        "--achieved-tflops",
        "19.5",
        "--gpu-price",
        "$10,000",
        "--other-hardware-fraction",
        "0",
        "--datacenter-fraction",
        "0",
        "--staff-cost",
        "0",
    ]);
    assert_eq!(f(&v, "cost_bought_usd"), 108_300_000.0);
}

#[test]
fn llama_energy_2638_mwh_is_1015_tco2() {
    // GPU-hours × 400 W × PUE 1.1 = 2,638 MWh → × 0.385 = 1,015.6 tCO2eq (docs/sources.md §6).
    let hours = (2638e6 / (400.0 * 1.1)).to_string();
    let args = [
        "estimate",
        "--gpu-hours",
        &hours,
        "--power-watts",
        "400",
        "--pue",
        "1.1",
    ];
    let v = json(&args);
    assert!(close(f(&v, "energy_mwh"), 2638.0, 1e-9));
    assert!(close(f(&v, "co2_tonnes"), 1015.63, 1e-5));
    assert_eq!(v["sources"]["power_w"], "given, --power-watts");
    let (out, _) = text(&args);
    assert!(
        out.contains("2,638.0 MWh") && out.contains("1,015.6 tCO2eq"),
        "{out}"
    );
    // Carbon intensity is a flag.
    let v = json(&[
        "estimate",
        "--gpu-hours",
        &hours,
        "--power-watts",
        "400",
        "--carbon-intensity",
        "0.1",
    ]);
    assert!(close(f(&v, "co2_tonnes"), 263.8, 1e-9));
}

#[test]
fn power_comes_from_flag_then_profile_then_tdp() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "h100.json", &h100_sweep());
    let p = p.to_str().unwrap();
    let base = ["estimate", "--model", "llama-7b", "--gpus", "64"];
    let tdp = json(&[&base[..], &["--gpu", "h100-sxm"]].concat());
    assert_eq!(f(&tdp, "power_w"), 700.0);
    assert!(tdp["sources"]["power_w"]
        .as_str()
        .unwrap()
        .starts_with("spec, TDP"));
    let measured = json(&[&base[..], &["--profile", p]].concat());
    assert_eq!(
        f(&measured, "power_w"),
        640.0,
        "the chosen result's mean power"
    );
    assert!(measured["sources"]["power_w"]
        .as_str()
        .unwrap()
        .starts_with("measured"));
    let given = json(&[&base[..], &["--profile", p, "--power-watts", "500"]].concat());
    assert_eq!(f(&given, "power_w"), 500.0);
    let e = f(&measured, "energy_mwh");
    assert!(close(
        e,
        f(&measured, "gpu_hours") * 640.0 * 1.1 / 1e6,
        1e-12
    ));
}

#[test]
fn profile_gives_spec_and_calibrated_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "h100.json", &h100_sweep());
    let args = [
        "estimate",
        "--model",
        "llama-7b",
        "--gpus",
        "64",
        "--profile",
        p.to_str().unwrap(),
        "--price-per-gpu-hour",
        "2.5",
    ];
    let v = json(&args);
    let sc = v["scenarios"].as_array().unwrap();
    assert_eq!(sc.len(), 2);
    assert_eq!(sc[0]["scenario"], "spec sheet");
    assert_eq!(sc[1]["scenario"], "calibrated");
    assert_eq!(
        v["scenario"], "calibrated",
        "top-level keys are the calibrated estimate"
    );
    // The best VALID bf16 result (794.5), not the faster one that failed verification.
    assert_eq!(f(&v, "measured_peak_tflops"), 794.5);
    assert!(v["sources"]["measured_peak_tflops"]
        .as_str()
        .unwrap()
        .contains("2048×2048×13312"));
    assert_eq!(f(&v, "spec_peak_tflops"), 989.4);
    assert_eq!(f(&sc[0], "utilization"), 0.476);
    assert_eq!(f(&sc[1], "utilization"), 0.55);
    // days ratio = (0.476 × 989.4) / (0.55 × 794.5)
    let want = 0.476 * 989.4 / (0.55 * 794.5);
    assert!(close(f(&sc[1], "days") / f(&sc[0], "days"), want, 1e-9));
    assert!(close(f(&v["difference"], "days_ratio"), want, 1e-9));
    assert!(close(f(&sc[1], "gemm_utilization"), 0.55, 1e-12));
    assert!(close(f(&sc[1], "mfu"), 0.55 * 794.5 / 989.4, 1e-12));
    let (out, _) = text(&args);
    assert!(out.contains("spec sheet") && out.contains("calibrated") && out.contains("difference"));
    assert!(out.contains("+7.8 %"), "{out}");
}

#[test]
fn both_utilizations_can_be_given_and_are_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "h100.json", &h100_sweep());
    let v = json(&[
        "estimate",
        "--model",
        "llama-7b",
        "--gpus",
        "64",
        "--profile",
        p.to_str().unwrap(),
        "--mfu",
        "0.40",
        "--gemm-utilization",
        "0.50",
    ]);
    let sc = v["scenarios"].as_array().unwrap();
    assert_eq!(sc[0]["utilization_basis"], "spec");
    assert_eq!(f(&sc[0], "model_tflops_per_gpu"), 0.40 * 989.4);
    assert_eq!(sc[1]["utilization_basis"], "measured");
    assert_eq!(f(&sc[1], "model_tflops_per_gpu"), 0.50 * 794.5);
    // Without the denominator each needs, each is refused.
    usage_error(
        &[
            "estimate",
            "--model",
            "llama-7b",
            "--gpus",
            "8",
            "--gpu",
            "h100",
            "--gemm-utilization",
            "0.5",
        ],
        &["--gemm-utilization", "measured", "--profile"],
    );
    usage_error(
        &[
            "estimate", "--model", "llama-7b", "--gpus", "8", "--mfu", "0.5",
        ],
        &["--mfu", "spec-sheet peak", "--gpu"],
    );
    // --measured-tflops stands in for a profile (docs/sources.md §11: 271.2 on A100).
    let v = json(&[
        "estimate",
        "--model",
        "llama-65b",
        "--gpus",
        "2048",
        "--gpu",
        "a100",
        "--measured-tflops",
        "271.2",
    ]);
    let sc = v["scenarios"].as_array().unwrap();
    assert!(close(
        f(&sc[1], "tokens_per_sec_per_gpu"),
        0.55 * 271.2e12 / (6.0 * 65.2e9),
        1e-12
    ));
}

#[test]
fn profile_dtype_rules() {
    let dir = tempfile::tempdir().unwrap();
    // fp16 only: used, with a note.
    let fp16 = profile(
        "NVIDIA A100-SXM4-80GB",
        Some("a100-sxm-80gb"),
        85_899_345_920,
        vec![result(
            DType::Fp16,
            (8192, 8192, 8192),
            250.0,
            true,
            None,
            Some(("a100-sxm-80gb", 312.0)),
        )],
    );
    let p = write(dir.path(), "fp16.json", &fp16);
    let v = json(&[
        "estimate",
        "--model",
        "llama-7b",
        "--gpus",
        "8",
        "--profile",
        p.to_str().unwrap(),
    ]);
    assert_eq!(v["dtype"], "fp16");
    assert_eq!(f(&v, "measured_peak_tflops"), 250.0);
    assert!(v["notes"][0].as_str().unwrap().contains("fp16"));
    // An explicit dtype the profile lacks.
    usage_error(
        &[
            "estimate",
            "--model",
            "llama-7b",
            "--gpus",
            "8",
            "--profile",
            p.to_str().unwrap(),
            "--dtype",
            "bf16",
        ],
        &["fp16.json", "no bf16 result", "fp16"],
    );
    // Neither bf16 nor fp16.
    let fp32 = profile(
        "cpu",
        None,
        1 << 34,
        vec![result(DType::Fp32, (512, 512, 512), 1.0, true, None, None)],
    );
    let p = write(dir.path(), "fp32.json", &fp32);
    usage_error(
        &[
            "estimate",
            "--model",
            "llama-7b",
            "--gpus",
            "8",
            "--profile",
            p.to_str().unwrap(),
        ],
        &["fp32.json", "no bf16 or fp16", "fp32"],
    );
    // --dtype fp32 works with it (no spec peak: calibrated column only).
    let v = json(&[
        "estimate",
        "--model",
        "llama-7b",
        "--gpus",
        "8",
        "--profile",
        p.to_str().unwrap(),
        "--dtype",
        "fp32",
    ]);
    assert_eq!(v["scenarios"].as_array().unwrap().len(), 1);
    // Every result invalid.
    let bad = profile(
        "x",
        None,
        1,
        vec![result(DType::Bf16, (64, 64, 64), 1.0, false, None, None)],
    );
    let p = write(dir.path(), "bad.json", &bad);
    usage_error(
        &[
            "estimate",
            "--model",
            "llama-7b",
            "--gpus",
            "8",
            "--profile",
            p.to_str().unwrap(),
        ],
        &["bad.json", "passed verification"],
    );
    // Not a profile at all.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{}").unwrap();
    usage_error(
        &[
            "estimate",
            "--model",
            "llama-7b",
            "--gpus",
            "8",
            "--profile",
            junk.to_str().unwrap(),
        ],
        &["junk.json"],
    );
}

#[test]
fn observed_rate_implies_mfu() {
    // No --gpus: the MFU and the GPU-hours need none.
    let v = json(&[
        "estimate",
        "--model",
        "llama-65b",
        "--gpu",
        "a100",
        "--tokens-per-sec-per-gpu",
        "380",
    ]);
    assert!(close(f(&v, "mfu"), 6.0 * 65.2e9 * 380.0 / 312e12, 1e-12));
    assert!(v["days"].is_null());
    assert!(close(f(&v, "gpu_hours"), 1.4e12 / 380.0 / 3600.0, 1e-12));
    // With a profile, the same rate against the measured throughput too; above 100 % warns.
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "h100.json", &h100_sweep());
    let out = bin()
        .args([
            "estimate",
            "--model",
            "llama-7b",
            "--gpus",
            "8",
            "--profile",
            p.to_str().unwrap(),
            "--tokens-per-sec-per-gpu",
            "25000",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("above 100 %"), "{err}");
}

#[test]
fn attention_term_and_recompute() {
    let v = json(&[
        "estimate",
        "--model",
        "llama-65b",
        "--gpus",
        "2048",
        "--gpu",
        "a100",
        "--tokens-per-sec-per-gpu",
        "380",
    ]);
    assert_eq!(
        f(&v, "attention_flops_per_token"),
        12.0 * 80.0 * 64.0 * 128.0 * 2048.0
    );
    assert!(f(&v, "mfu_with_attention") > f(&v, "mfu"));
    let v2 = json(&[
        "estimate",
        "--model",
        "llama-65b",
        "--gpus",
        "2048",
        "--gpu",
        "a100",
        "--tokens-per-sec-per-gpu",
        "380",
        "--seq-len",
        "4096",
    ]);
    assert_eq!(
        f(&v2, "attention_flops_per_token"),
        2.0 * f(&v, "attention_flops_per_token")
    );
    // Full recomputation: 8ND executed; at a given hardware rate the run takes 8/6 longer.
    let base = [
        "estimate",
        "--params",
        "175B",
        "--tokens",
        "300B",
        "--gpus",
        "1024",
        "--achieved-tflops",
        "150",
    ];
    let a = json(&base);
    let b = json(&[&base[..], &["--recompute", "full"]].concat());
    assert_eq!(f(&b, "flops_total"), 8.0 * 175e9 * 300e9);
    assert_eq!(f(&b, "flops_model"), 6.0 * 175e9 * 300e9);
    assert!(close(f(&b, "days") / f(&a, "days"), 4.0 / 3.0, 1e-12));
    // Megatron: time = 8TP / (nX)
    assert!(close(
        f(&b, "days") * 86400.0,
        8.0 * 300e9 * 175e9 / (1024.0 * 150e12),
        1e-12
    ));
}

#[test]
fn json_has_the_documented_keys() {
    let v = json(&[
        "estimate",
        "--model",
        "llama-65b",
        "--gpus",
        "2048",
        "--gpu",
        "a100",
        "--tokens-per-sec-per-gpu",
        "380",
        "--price-per-gpu-hour",
        "2",
    ]);
    for key in [
        "flops_total",
        "pf_days",
        "achieved_tflops_per_gpu",
        "tokens_per_sec_per_gpu",
        "days",
        "gpu_hours",
        "gpus",
        "mfu",
        "energy_mwh",
        "co2_tonnes",
        "cost_usd",
        "params",
        "tokens",
        "sources",
        "warnings",
        "scenarios",
    ] {
        assert!(
            v.get(key).is_some_and(|x| !x.is_null()),
            "{key} missing: {v}"
        );
    }
    assert!(close(f(&v, "cost_usd"), f(&v, "gpu_hours") * 2.0, 1e-12));
    assert_eq!(v["sources"]["params"], "preset, llama-65b");
}

#[test]
fn twice_the_gpus_half_the_days_through_the_binary() {
    for gpus in ["16", "333", "4096"] {
        let twice = (2 * gpus.parse::<u32>().unwrap()).to_string();
        let run = |n: &str| {
            json(&[
                "estimate", "--params", "13B", "--tokens", "260B", "--gpus", n, "--gpu", "h100",
            ])
        };
        let (a, b) = (run(gpus), run(&twice));
        assert!(close(f(&a, "days"), 2.0 * f(&b, "days"), 1e-12));
        // time × throughput = C
        let c = f(&a, "days") * 86400.0 * f(&a, "gpus") * f(&a, "achieved_tflops_per_gpu") * 1e12;
        assert!(close(c, f(&a, "flops_total"), 1e-12));
    }
}

#[test]
fn data_warnings() {
    let out = bin()
        .args([
            "estimate",
            "--model",
            "llama-65b",
            "--gpus",
            "2048",
            "--gpu",
            "a100",
            "--dataset-tokens",
            "500B",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // Long warnings wrap onto indented lines; the words are read with the breaks as spaces.
    let words = err.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("2.8 epochs") && words.contains("one epoch"),
        "{err}"
    );
    assert!(err.starts_with("warning: "), "{err}");
    assert!(
        err.lines()
            .all(|l| l.starts_with("warning: ") || l.starts_with("  ")),
        "{err}"
    );
    assert!(err.lines().all(|l| l.chars().count() <= 100), "{err}");
    let out = bin()
        .args([
            "estimate", "--model", "llama-7b", "--gpus", "64", "--gpu", "a100",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("149.3 tokens per parameter"), "{err}");
    assert!(err.lines().all(|l| l.chars().count() <= 100), "{err}");
}

#[test]
fn hugging_face_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.json");
    std::fs::write(
        &cfg,
        r#"{"model_type":"llama","hidden_size":4096,"intermediate_size":11008,
            "num_attention_heads":32,"num_hidden_layers":32,"vocab_size":32000,
            "max_position_embeddings":4096,"tie_word_embeddings":false}"#,
    )
    .unwrap();
    let v = json(&[
        "estimate",
        "--model-config",
        cfg.to_str().unwrap(),
        "--tokens",
        "2T",
        "--gpus",
        "64",
        "--gpu",
        "h100",
    ]);
    assert_eq!(f(&v, "params"), 6_738_415_616.0);
    assert_eq!(
        f(&v, "attention_flops_per_token"),
        12.0 * 32.0 * 32.0 * 128.0 * 4096.0
    );
    std::fs::write(&cfg, r#"{"model_type":"llama","hidden_size":4096}"#).unwrap();
    usage_error(
        &[
            "estimate",
            "--model-config",
            cfg.to_str().unwrap(),
            "--tokens",
            "2T",
            "--gpus",
            "8",
            "--gpu",
            "h100",
        ],
        &["config.json", "num_attention_heads"],
    );
}

#[test]
fn bad_input_is_one_line_exit_2() {
    let ok = [
        "estimate", "--params", "7B", "--tokens", "1T", "--gpu", "h100",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        ok.iter().copied().chain(extra.iter().copied()).collect()
    };
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["estimate", "--params", "0", "--tokens", "1T"],
            vec!["--params", "greater than zero"],
        ),
        (
            vec!["estimate", "--params", "-5", "--tokens", "1T"],
            vec!["--params"],
        ),
        (
            vec!["estimate", "--params", "NaN", "--tokens", "1T"],
            vec!["--params"],
        ),
        (
            vec!["estimate", "--params", "abc", "--tokens", "1T"],
            vec!["--params", "abc"],
        ),
        (
            vec!["estimate", "--params", "7B", "--tokens", "inf"],
            vec!["--tokens"],
        ),
        (
            with(&["--gpus", "8", "--mfu", "1.5"]),
            vec!["--mfu", "(0, 1]"],
        ),
        (with(&["--gpus", "8", "--mfu", "0"]), vec!["--mfu"]),
        (with(&["--gpus", "2.5"]), vec!["--gpus", "whole number"]),
        (with(&["--gpus", "0"]), vec!["--gpus", "greater than zero"]),
        (with(&["--gpus", "2e9"]), vec!["--gpus", "whole number"]),
        (
            with(&["--gpus", "8", "--days", "3"]),
            vec!["--gpus", "--days"],
        ),
        (
            with(&[
                "--gpus",
                "8",
                "--tokens-per-sec-per-gpu",
                "100",
                "--mfu",
                "0.4",
            ]),
            vec!["--mfu"],
        ),
        (with(&["--gpus", "8", "--pue", "0"]), vec!["--pue"]),
        (
            with(&["--gpus", "8", "--staff-cost", "-1"]),
            vec!["--staff-cost"],
        ),
        (with(&["--gpus", "8", "--dtype", "fp12"]), vec!["fp12"]),
        (
            vec![
                "estimate", "--params", "7B", "--tokens", "1T", "--gpus", "8", "--gpu", "h100-sx",
            ],
            vec!["h100-sx", "h100-sxm"],
        ),
        (
            vec![
                "estimate",
                "--model",
                "llama-66b",
                "--gpus",
                "8",
                "--gpu",
                "a100",
            ],
            vec!["llama-66b", "llama-65b"],
        ),
        (
            vec!["estimate", "--gpus", "8", "--gpu", "a100"],
            vec!["--params"],
        ),
        (
            vec![
                "estimate", "--params", "7B", "--tokens", "1T", "--gpus", "8",
            ],
            vec!["throughput"],
        ),
        (
            vec![
                "estimate", "--params", "7B", "--tokens", "1T", "--flops", "1e20",
            ],
            vec!["--flops", "disagrees"],
        ),
        (
            vec![
                "estimate",
                "--params",
                "7B",
                "--tokens",
                "1T",
                "--seq-len",
                "4096",
                "--gpu",
                "a100",
            ],
            vec!["--seq-len"],
        ),
        (
            vec![
                "estimate",
                "--flops",
                "1e23",
                "--dataset-tokens",
                "1T",
                "--gpu",
                "a100",
                "--gpus",
                "8",
            ],
            vec!["--dataset-tokens"],
        ),
        (
            vec![
                "estimate",
                "--model",
                "llama-7b",
                "--gpus",
                "8",
                "--profile",
                "/no/such/profile.json",
            ],
            vec!["/no/such/profile.json"],
        ),
        (
            vec![
                "estimate",
                "--model",
                "llama-7b",
                "--model-config",
                "x.json",
            ],
            vec!["--model"],
        ),
    ];
    for (args, needles) in &cases {
        usage_error(args, needles);
    }
}
