//! `gpubench memory`, `scale`, `gpus` and `models` through the built binary: the worked
//! examples of docs/sources.md (97 GB; 140B tokens and 560 GB; 10× growth 3.16/3.16 vs
//! 5.37/1.86), ZeRO sharding and fit, the presets, and bad input.

mod common;

use common::num as f;
use common::planning::*;
use common::*;

#[test]
fn six_b_fp32_adamw_needs_97_gb() {
    let args = [
        "memory",
        "--params",
        "6B",
        "--precision",
        "fp32",
        "--optimizer",
        "adamw",
    ];
    let v = json(&args);
    assert_eq!(f(&v, "weights_gb"), 24.0);
    assert_eq!(f(&v, "gradients_gb"), 24.0);
    assert_eq!(f(&v, "optimizer_gb"), 48.0);
    assert_eq!(f(&v, "cuda_context_gb"), 1.3);
    assert!(close(f(&v, "memory_total_gb"), 97.3, 1e-12));
    let (out, _) = text(&args);
    assert!(
        out.contains("97.3 GB") && out.contains("24.0 GB") && out.contains("48.0 GB"),
        "{out}"
    );
    // The context overhead is a flag.
    let v = json(&[&args[..], &["--cuda-context-gb", "0"]].concat());
    assert_eq!(f(&v, "memory_total_gb"), 96.0);
}

#[test]
fn precisions_and_optimizers() {
    let total = |p: &str, o: &str| {
        f(
            &json(&[
                "memory",
                "--params",
                "1B",
                "--precision",
                p,
                "--optimizer",
                o,
                "--cuda-context-gb",
                "0",
            ]),
            "memory_total_gb",
        )
    };
    assert_eq!(total("bf16", "adamw"), 16.0);
    assert_eq!(total("fp16", "adam"), 16.0);
    assert_eq!(total("fp32", "sgd"), 8.0);
    assert_eq!(total("fp32", "sgd-momentum"), 12.0);
    assert_eq!(total("bf16", "adam-8bit"), 10.0);
    let v = json(&["memory", "--params", "1B", "--precision", "bf16"]);
    assert_eq!(f(&v, "master_weights_gb"), 4.0);
}

#[test]
fn zero_sharding_fit_and_fewest_gpus() {
    // 7B mixed precision AdamW = 112 GB of state on an 80 GB GPU.
    let v = json(&["memory", "--params", "7B", "--gpu", "a100"]);
    assert_eq!(v["fits_one_gpu"], false);
    assert_eq!(f(&v, "device_memory_gb"), 80.0);
    assert!(v["min_gpus"]["zero0"].is_null());
    assert_eq!(f(&v["min_gpus"], "zero3"), 2.0);
    let v = json(&[
        "memory", "--params", "7B", "--gpu", "a100", "--zero", "3", "--gpus", "8",
    ]);
    assert!(close(f(&v, "memory_total_gb"), 112.0 / 8.0 + 1.3, 1e-12));
    assert_eq!(v["fits"], true);
    let v = json(&[
        "memory",
        "--params",
        "7B",
        "--zero",
        "1",
        "--gpus",
        "8",
        "--cuda-context-gb",
        "0",
    ]);
    assert!(close(
        f(&v, "memory_total_gb"),
        14.0 + 14.0 + 84.0 / 8.0,
        1e-12
    ));
    let (out, _) = text(&["memory", "--params", "7B", "--gpu", "a100"]);
    assert!(
        out.contains("fits one GPU") && out.contains("never") && out.contains("2 GPUs"),
        "{out}"
    );
}

#[test]
fn device_memory_from_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "h100.json", &h100_sweep());
    let v = json(&["memory", "--params", "3B", "--profile", p.to_str().unwrap()]);
    assert_eq!(f(&v, "device_memory_gb"), 85.520809984);
    assert!(v["sources"]["device_memory_gb"]
        .as_str()
        .unwrap()
        .starts_with("measured"));
    assert_eq!(v["fits_one_gpu"], true);
}

#[test]
fn activations_follow_korthikanti() {
    // GPT-3 175B: 96 layers, s 2048, b 1, h 12288, a 96: sbh(34 + 5as/h) per layer.
    let per = |r: &str| {
        let v = json(&[
            "memory",
            "--model",
            "gpt3-175b",
            "--recompute",
            r,
            "--micro-batch",
            "1",
        ]);
        f(&v, "activations_gb") * 1e9
    };
    let sbh = 2048.0 * 12288.0;
    assert!(close(
        per("none"),
        96.0 * sbh * (34.0 + 5.0 * 96.0 * 2048.0 / 12288.0),
        1e-12
    ));
    assert!(close(per("selective"), 96.0 * sbh * 34.0, 1e-12));
    assert!(close(per("full"), 96.0 * sbh * 2.0, 1e-12));
    // Without an architecture there are none, and the table says how to add them.
    let v = json(&["memory", "--params", "6B"]);
    assert!(v["activations_gb"].is_null());
    let v = json(&[
        "memory",
        "--params",
        "6B",
        "--layers",
        "28",
        "--hidden",
        "4096",
        "--heads",
        "32",
        "--seq-len",
        "2048",
        "--micro-batch",
        "4",
    ]);
    assert!(close(
        f(&v, "activations_gb") * 1e9,
        28.0 * 2048.0 * 4.0 * 4096.0 * (34.0 + 5.0 * 32.0 * 2048.0 / 4096.0),
        1e-12
    ));
}

#[test]
fn memory_bad_input() {
    usage_error(&["memory"], &["--params"]);
    usage_error(&["memory", "--params", "6B", "--zero", "4"], &["--zero"]);
    usage_error(
        &["memory", "--params", "6B", "--precision", "fp8"],
        &["fp8"],
    );
    usage_error(
        &["memory", "--params", "6B", "--optimizer", "lion"],
        &["lion"],
    );
    usage_error(&["memory", "--params", "0"], &["--params"]);
    usage_error(&["memory", "--params", "6B", "--gpus", "0"], &["--gpus"]);
    usage_error(
        &["memory", "--params", "6B", "--micro-batch", "2"],
        &["activations need"],
    );
    usage_error(&["memory", "--params", "6B", "--gpu", "a1000"], &["a1000"]);
    usage_error(
        &["memory", "--params", "6B", "--cuda-context-gb", "-1"],
        &["--cuda-context-gb"],
    );
}

#[test]
fn seven_b_needs_140b_tokens_and_560_gb() {
    let v = json(&["scale", "--params", "7B"]);
    assert_eq!(f(&v["chinchilla"], "tokens"), 140e9);
    assert_eq!(f(&v, "tokens"), 140e9);
    assert_eq!(f(&v, "data_gb"), 560.0);
    let (out, _) = text(&["scale", "--params", "7B"]);
    assert!(
        out.contains("140.00 B tokens") && out.contains("560 GB"),
        "{out}"
    );
    let v = json(&["scale", "--params", "7B", "--bytes-per-token", "2"]);
    assert_eq!(f(&v, "data_gb"), 280.0);
    // A preset shows what it was actually trained on.
    let v = json(&["scale", "--model", "llama-65b"]);
    assert_eq!(f(&v, "model_training_tokens"), 1.4e12);
}

#[test]
fn compute_optimal_sizes_side_by_side() {
    let v = json(&["scale", "--compute", "5.76e23"]);
    let c = &v["chinchilla"];
    assert!(close(f(c, "params"), 69.28e9, 0.001));
    assert!(close(f(c, "tokens"), 20.0 * f(c, "params"), 1e-12));
    let k = &v["kaplan"];
    for law in [c, k] {
        assert!(close(
            6.0 * f(law, "params") * f(law, "tokens"),
            5.76e23,
            1e-9
        ));
    }
    assert!(f(k, "params") > f(c, "params"), "Kaplan favours the model");
}

#[test]
fn ten_x_growth_factors() {
    let v = json(&["scale", "--compute", "1e23", "--growth", "10"]);
    assert!(close(f(&v["chinchilla"], "growth_params"), 3.162, 0.001));
    assert!(close(f(&v["chinchilla"], "growth_tokens"), 3.162, 0.001));
    assert!(close(f(&v["kaplan"], "growth_params"), 5.370, 0.001));
    assert!(close(f(&v["kaplan"], "growth_tokens"), 1.862, 0.001));
    let (out, _) = text(&["scale", "--compute", "1e23"]);
    for s in ["3.16", "5.37", "1.86", "10× more compute"] {
        assert!(out.contains(s), "{s} in {out}");
    }
    // And through the laws themselves: 10× the budget gives those factors.
    let a = json(&["scale", "--compute", "1e22"]);
    let b = json(&["scale", "--compute", "1e23"]);
    assert!(close(
        f(&b["kaplan"], "params") / f(&a["kaplan"], "params"),
        5.370,
        0.001
    ));
    assert!(close(
        f(&b["kaplan"], "tokens") / f(&a["kaplan"], "tokens"),
        1.862,
        0.001
    ));
}

#[test]
fn scale_bad_input() {
    usage_error(&["scale"], &["--params", "--compute"]);
    usage_error(
        &["scale", "--params", "7B", "--compute", "1e23"],
        &["--compute"],
    );
    usage_error(&["scale", "--compute", "-1"], &["--compute"]);
    usage_error(&["scale", "--model", "gpt-5"], &["gpt-5"]);
    usage_error(
        &["scale", "--params", "7B", "--bytes-per-token", "0"],
        &["--bytes-per-token"],
    );
}

#[test]
fn gpu_presets() {
    let (out, _) = text(&["gpus"]);
    for key in [
        "a100-sxm-80gb",
        "h100-sxm",
        "h200-sxm",
        "l40s",
        "b200",
        "989.4",
        "sources:",
    ] {
        assert!(out.contains(key), "{key} in {out}");
    }
    let out = bin().args(["gpus", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.as_array().unwrap().len() >= 11);
    let (one, _) = text(&["gpus", "a100"]);
    assert!(one.contains("a100-sxm-80gb") && !one.contains("h100-sxm"));
    usage_error(&["gpus", "h100-sx"], &["h100-sxm"]);
}

#[test]
fn model_presets() {
    let (out, _) = text(&["models"]);
    for key in [
        "llama-65b",
        "llama-2-70b",
        "llama-3-8b",
        "llama-3.1-405b",
        "gpt3-175b",
        "chinchilla-70b",
        "gpt2",
    ] {
        assert!(out.contains(key), "{key} in {out}");
    }
    let (one, _) = text(&["models", "llama-7b"]);
    assert!(
        one.contains("6,738,415,616") && one.contains("Touvron"),
        "{one}"
    );
    let v = json(&["models", "llama-2-70b"]);
    assert_eq!(f(&v, "param_count"), 68_976_648_192.0);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.json");
    std::fs::write(
        &cfg,
        r#"{"model_type":"gpt2","n_embd":768,"n_layer":12,"n_head":12,"n_positions":1024,"vocab_size":50257}"#,
    )
    .unwrap();
    let v = json(&["models", "--model-config", cfg.to_str().unwrap()]);
    assert_eq!(f(&v, "param_count"), 124_439_808.0);
    usage_error(&["models", "llama-66b"], &["llama-65b"]);
}
