//! `gpubench calibrate` through the built binary on the CPU backend, at tiny sizes: the dry
//! run's shapes, counts and FLOPs, a measured calibration end to end with its saved file and
//! `load_throughput`, and every bad-input case (one line, exit 2, no file left behind).

mod common;

use common::{fast, files_in, flat, gpubench, one_line_error, stdout, tiny_config};
use gpubench::calibrate::file::{load_throughput, CalibrationFile};
use predicates::prelude::*;

#[test]
fn dry_run_lists_hand_computed_shapes_and_flops() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny_config(tmp.path());
    let out = gpubench(tmp.path())
        .args(["calibrate", "--model-config", &cfg, "--seq", "32"])
        .args(["--micro-batch", "2", "--device", "cpu", "--dry-run"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    // t = 64 tokens; fused QKV out 64 + 2·32 = 128; 2 layers each.
    for want in [
        "qkv          fwd         X·Wᵀ",
        "64×128×64",
        "mlp_gate_up",
        "64×192×64",
        "lm_head",
        "64×100×64",
        "8×32×32×16",
        "dSᵀ·Q",
        "seq 32, micro-batch 2 = 64 tokens, fp32",
        "distinct shapes to measure: 14 (of 21 GEMMs)",
    ] {
        assert!(text.contains(want), "missing {want}:\n{text}");
    }
    // N = 2·(64·128 + 64·64 + 64·192 + 96·64) + 100·64 = 67,840; 6·N·D = 26,050,560;
    // attention 12·2·4·16·32·64 = 3,145,728; total 29,196,288.
    assert!(text.contains("GEMM FLOPs per step: 2.9196e7"), "{text}");
    assert!(text.contains("6·N·D = 2.6051e7"), "{text}");
    assert!(text.contains("12·L·H·Q·T·D = 3.1457e6"), "{text}");
    // Nothing measured, nothing saved.
    assert!(files_in(&tmp.path().join("results")).is_empty());
}

/// One of two tensor-parallel ranks: every width the layers split halves (the hand-computed
/// shapes of `dry_run_lists_hand_computed_shapes_and_flops`, split), measured and saved as
/// such, its tokens per second per GPU half the step's.
#[test]
fn one_tensor_parallel_rank() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny_config(tmp.path());
    let base = ["calibrate", "--model-config", &cfg, "--seq", "32"];
    let text = stdout(gpubench(tmp.path()).args(base).args([
        "--micro-batch",
        "2",
        "--tp",
        "2",
        "--device",
        "cpu",
        "--dry-run",
    ]));
    for want in [
        "tensor parallel: one of 2 ranks' share of every layer",
        // QKV out 2·16 + 2·16 = 64; MLP down in 48; LM head 50 of 100; 2 sequences × 2 heads.
        "64×64×64",
        "64×64×48",
        "64×50×64",
        "4×32×32×16",
        // Half of the whole step's 2.9196e7 FLOPs (every width divides by 2).
        "GEMM FLOPs per step on one of 2 ranks: 1.4598e7",
    ] {
        assert!(text.contains(want), "missing {want}:\n{text}");
    }
    assert!(!text.contains("64×128×64"), "{text}");

    let out = gpubench(tmp.path())
        .args(base)
        .args(["--micro-batch", "2", "--tp", "2", "--device", "cpu"])
        .args(fast("2"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = flat(&String::from_utf8(out).unwrap());
    assert!(
        text.contains("tokens per second per GPU")
            && text.contains("64 tokens per step ÷ 2 tensor-parallel ranks"),
        "{text}"
    );
    let files = files_in(&tmp.path().join("results"));
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].contains("_calibration_tiny-llama_s32_mb2_tp2_fp32_"),
        "{files:?}"
    );
    let path = tmp.path().join("results").join(&files[0]);
    let f = CalibrationFile::load(&path).unwrap();
    assert_eq!((f.step.tp, f.breakdown.tp), (2, 2));
    let t = load_throughput(&path, None).unwrap();
    assert!((t.tokens_per_sec_per_gpu * t.step_time_s - 32.0).abs() < 1e-6);
    assert!(
        t.description.contains("one of 2 tensor-parallel ranks"),
        "{}",
        t.description
    );
}

#[test]
fn dry_run_json_has_the_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let out = gpubench(tmp.path())
        .args(["calibrate", "--model", "llama-7b", "--seq", "2048"])
        .args(["--recompute", "full", "--dry-run", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let n = v["step"]["matmul_params"].as_f64().unwrap();
    assert_eq!(n, 6_738_415_616.0 - 131_072_000.0 - 266_240.0);
    let a = v["step"]["attention_flops"].as_f64().unwrap();
    let d = 2048.0;
    let head = 32000.0 * 4096.0;
    let want = 8.0 * n * d - 2.0 * head * d + 4.0 / 3.0 * a;
    let got = v["gemm_flops_per_step"].as_f64().unwrap();
    assert!((got - want).abs() < 1e-9 * want, "{got} vs {want}");
    assert_eq!(v["step"]["dtype"], "bf16");
    assert_eq!(v["step"]["optimizer_bytes_per_param"], 40.0);
}

#[test]
fn cpu_calibration_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny_config(tmp.path());
    let out = gpubench(tmp.path())
        .args(["calibrate", "--model-config", &cfg, "--seq", "32"])
        .args([
            "--micro-batch",
            "2",
            "--device",
            "cpu",
            "--recompute",
            "selective",
        ])
        .args(fast("2"))
        .assert()
        .success()
        .stdout(predicate::str::contains("predicted step time"))
        .stdout(predicate::str::contains(
            "attention scores and context (batched)",
        ))
        .stdout(predicate::str::contains("AdamW (28 B per parameter)"))
        .stdout(predicate::str::contains("copy bandwidth:"))
        .stdout(predicate::str::contains("MFU").and(predicate::str::contains("n/a")))
        .stdout(predicate::str::contains(
            "one algorithm per shape (the CPU backend offers no choice)",
        ))
        .stdout(predicate::str::contains("Calibration saved: results/"))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let files = files_in(&tmp.path().join("results"));
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].contains("_calibration_tiny-llama_s32_mb2_fp32_recompute-selective_"));
    assert!(text.contains(&files[0]));
    let path = tmp.path().join("results").join(&files[0]);
    let f = CalibrationFile::load(&path).unwrap();
    assert_eq!(f.shapes.len(), 14);
    assert!(f.all_valid());
    assert_eq!(f.step.tokens_per_step, 64);
    let t = load_throughput(&path, None).unwrap();
    assert!(t.tokens_per_sec_per_gpu > 0.0);
    assert!((t.tokens_per_sec_per_gpu * t.step_time_s - 64.0).abs() < 1e-6);
    assert!(t.description.contains("tiny-llama"));

    // --json prints the same kind of file; --out saves exactly there, refusing to overwrite.
    let out = gpubench(tmp.path())
        .args([
            "calibrate",
            "--model-config",
            &cfg,
            "--seq",
            "16",
            "--device",
            "cpu",
        ])
        .args(fast("2"))
        .args(["--json", "--out", "mine.json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let printed = CalibrationFile::from_json(&String::from_utf8(out).unwrap(), "stdout").unwrap();
    assert_eq!(printed.step.seq, 16);
    assert!(tmp.path().join("mine.json").exists());
    gpubench(tmp.path())
        .args([
            "calibrate",
            "--model-config",
            &cfg,
            "--seq",
            "16",
            "--device",
            "cpu",
        ])
        .args(["--out", "mine.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("file exists"));
}

#[test]
fn bad_input_is_one_line_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny_config(tmp.path());
    std::fs::write(
        tmp.path().join("bad.json"),
        r#"{"model_type":"llama","hidden_size":64}"#,
    )
    .unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--model", "llama-66b"], "did you mean llama-65b"),
        (vec!["--model-config", "bad.json"], "missing key"),
        (
            vec!["--model-config", "nope.json"],
            "cannot read model config",
        ),
        (vec!["--model", "gpt2", "--seq", "0"], "--seq"),
        (
            vec!["--model", "gpt2", "--micro-batch", "0"],
            "--micro-batch",
        ),
        (
            vec!["--model", "gpt2", "--seq", "4096"],
            "learned position table",
        ),
        (
            vec!["--model-config", &cfg, "--device", "cpu", "--dtype", "bf16"],
            "not supported on the CPU",
        ),
        (
            vec!["--model", "gpt2", "--recompute", "some"],
            "none, selective or full",
        ),
        (vec![], "give --model NAME"),
        (
            vec!["--model", "gpt2", "--tp", "5"],
            "--tp 5 does not divide gpt2's 12 attention heads",
        ),
        (vec!["--model", "gpt2", "--tp", "0"], "--tp"),
        (
            vec![
                "--model",
                "llama-3.1-405b",
                "--seq",
                "8192",
                "--micro-batch",
                "4096",
                "--device",
                "cpu",
            ],
            "lower --micro-batch or --seq",
        ),
    ];
    for (args, want) in cases {
        one_line_error(
            gpubench(tmp.path()).arg("calibrate").args(&args),
            2,
            &[want],
        );
    }
    assert!(files_in(&tmp.path().join("results")).is_empty());
}
