//! `gpubench estimate` with a parallel layout and `gpubench plan` through the built binary:
//! the table, the JSON keys, and every bad layout as one line with exit code 2.

mod common;

use common::planning::LLAMA70_LAYOUT as LLAMA70;
use common::{bin, fast, json, one_line_error, outputs, planning, tiny_config};
use predicates::prelude::*;

#[test]
fn estimate_with_a_layout_prints_the_breakdown() {
    bin()
        .args(LLAMA70)
        .args(["--gpu", "h100-sxm"])
        .assert()
        .success()
        .stdout(predicate::str::contains("tp 8 · pp 4 · dp 32"))
        .stdout(predicate::str::contains("pipeline bubble"))
        .stdout(predicate::str::contains("tensor-parallel comm"))
        .stdout(predicate::str::contains("Memory per GPU"))
        .stdout(predicate::str::contains("GPU-hours"));
}

#[test]
fn estimate_json_has_the_layout_keys_and_they_agree() {
    let mut args = LLAMA70.to_vec();
    args.extend(["--gpu", "h100-sxm"]);
    let j = json(&args);
    for k in [
        "step_time_s",
        "mfu",
        "hfu",
        "tokens_per_sec_per_gpu",
        "days",
        "gpu_hours",
        "memory_per_gpu_gb",
    ] {
        assert!(j[k].as_f64().is_some_and(|v| v > 0.0), "{k}: {}", j[k]);
    }
    assert_eq!(j["fits"], true);
    let b = &j["step_breakdown_s"];
    let sum: f64 = [
        "compute",
        "tp_comm",
        "pp_bubble",
        "pp_p2p",
        "dp_comm_exposed",
        "optimizer",
    ]
    .iter()
    .map(|k| b[k].as_f64().unwrap())
    .sum();
    let step = j["step_time_s"].as_f64().unwrap();
    assert!((sum - step).abs() < 1e-9 * step, "{sum} vs {step}");
    assert!(b["dp_comm_total"].as_f64().unwrap() >= b["dp_comm_exposed"].as_f64().unwrap());
    assert_eq!(j["layout"]["dp"], 32);
    assert_eq!(j["layout"]["micro_batches"], 32);
    // Overlapped gradients go in Megatron-core's default buckets: max(40M, 1M × 32).
    assert_eq!(j["layout"]["dp_bucket_params"], 40e6);
    // tokens/s × step = tokens per step; days = 2T / tokens/s / 86,400.
    let tps = j["tokens_per_sec_per_gpu"].as_f64().unwrap() * 1024.0;
    assert!((tps * step - 1024.0 * 4096.0).abs() < 1e-6 * tps * step);
    let days = j["days"].as_f64().unwrap();
    assert!((days - 2e12 / tps / 86_400.0).abs() < 1e-9 * days);
    assert!(j["hfu"].as_f64().unwrap() > j["mfu"].as_f64().unwrap());
}

#[test]
fn dp_overlap_and_recomputation_move_the_figures() {
    let base = ["--gpu", "h100-sxm"];
    let mut a = LLAMA70.to_vec();
    a.extend(base);
    let overlapped = json(&a);
    a.push("--no-dp-overlap");
    let exposed = json(&a);
    let k = |j: &serde_json::Value, key: &str| j["step_breakdown_s"][key].as_f64().unwrap();
    // Overlapped, the gradients go in buckets, each paying a call's latency: a little more in
    // all, and most of it hidden.
    assert!(k(&overlapped, "dp_comm_total") > k(&exposed, "dp_comm_total"));
    assert!(k(&overlapped, "dp_comm_total") < 1.05 * k(&exposed, "dp_comm_total"));
    assert_eq!(k(&exposed, "dp_comm_exposed"), k(&exposed, "dp_comm_total"));
    assert!(k(&overlapped, "dp_comm_exposed") < k(&exposed, "dp_comm_exposed"));
    let mut full = LLAMA70.to_vec();
    let i = full.iter().position(|s| *s == "selective").unwrap();
    full[i] = "full";
    full.extend(base);
    let f = json(&full);
    assert!(f["memory_per_gpu_gb"].as_f64() < overlapped["memory_per_gpu_gb"].as_f64());
    assert!(f["step_time_s"].as_f64() > overlapped["step_time_s"].as_f64());
}

#[test]
fn plan_ranks_layouts_that_fit() {
    bin()
        .args([
            "plan",
            "--model",
            "llama-2-70b",
            "--gpus",
            "1024",
            "--global-batch",
            "1024",
            "--seq",
            "4096",
            "--gpu",
            "h100-sxm",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("layouts fit in 80 GB"))
        .stdout(predicate::str::contains("Fastest: tp"))
        .stdout(predicate::str::contains("Why:"))
        .stdout(predicate::str::contains(
            "Links: 360 GB/s busbw within a node (450 GB/s × 0.8",
        ));
    let j = json(&[
        "plan",
        "--model",
        "gpt3-175b",
        "--gpus",
        "64",
        "--global-batch",
        "64",
        "--gpu",
        "a100",
        "--top",
        "5",
    ]);
    let l = j["layouts"].as_array().unwrap();
    assert_eq!(l.len(), 5);
    let steps: Vec<f64> = l
        .iter()
        .map(|e| e["step_time_s"].as_f64().unwrap())
        .collect();
    assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{steps:?}");
    assert!(l
        .iter()
        .all(|e| e["fits"] == true && e["memory_per_gpu_gb"].as_f64().unwrap() <= 80.0));
    assert!(j["layouts_tried"].as_u64() > j["layouts_fit"].as_u64());
    assert!(j["why_fastest"].as_str().unwrap().contains("runner-up"));
}

/// Each bad layout: one line on standard error naming the problem, exit code 2, no output.
/// llama-2-70b planned on 64 GPUs, 64 sequences a step (add the GPU and links).
const PLAN_64: &[&str] = &[
    "plan",
    "--model",
    "llama-2-70b",
    "--gpus",
    "64",
    "--global-batch",
    "64",
];

#[test]
fn bad_layouts_are_one_line_errors() {
    let est = |extra: &[&'static str]| {
        let mut a = vec![
            "estimate",
            "--model",
            "llama-2-70b",
            "--gpus",
            "1024",
            "--global-batch",
            "1024",
            "--gpu",
            "h100-sxm",
        ];
        a.extend(extra);
        a
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            est(&["--tp", "3"]),
            "does not divide llama-2-70b's 64 attention heads",
        ),
        (
            est(&["--pp", "3"]),
            "does not divide llama-2-70b's 80 layers",
        ),
        (
            est(&["--tp", "8", "--pp", "5", "--dp", "3"]),
            "give one of --gpus and --dp",
        ),
        (
            est(&["--tp", "8", "--pp", "4", "--micro-batch", "64"]),
            "--global-batch 1024 is not a multiple",
        ),
        (
            est(&["--tp", "8", "--micro-batch", "3"]),
            "is not a multiple of --micro-batch 3",
        ),
        (est(&["--zero", "4"]), "is not a ZeRO stage"),
        (
            est(&["--virtual-stages", "2"]),
            "needs pipeline parallelism",
        ),
        (
            est(&["--tp", "8", "--pp", "4", "--virtual-stages", "3"]),
            "use one that divides the 20 layers of a stage: 2, 4, 5, 10, 20",
        ),
        (
            est(&[
                "--tp",
                "8",
                "--pp",
                "4",
                "--virtual-stages",
                "2",
                "--micro-batch",
                "16",
            ]),
            "make --global-batch a multiple of 2048, or leave --virtual-stages out",
        ),
        (est(&["--sequence-parallel"]), "give --tp 2 or more"),
        (
            est(&["--tp", "8", "--dp-bucket-size", "40M", "--no-dp-overlap"]),
            "leave out --no-dp-overlap",
        ),
        (
            est(&["--tp", "8", "--dp-bucket-size", "0"]),
            "--dp-bucket-size",
        ),
        (est(&["--tp", "8", "--mfu", "0.5"]), "--mfu does not apply"),
        (est(&["--tp", "abc"]), "invalid value 'abc'"),
        (
            vec![
                "estimate",
                "--model",
                "llama-2-70b",
                "--gpus",
                "1000",
                "--tp",
                "8",
                "--pp",
                "4",
                "--global-batch",
                "1024",
                "--gpu",
                "h100",
            ],
            "--gpus 1000 is not divisible by --tp 8 × --pp 4 = 32",
        ),
        (
            vec![
                "estimate",
                "--model",
                "llama-2-70b",
                "--tp",
                "8",
                "--global-batch",
                "8",
                "--gpu",
                "h100",
            ],
            "give --gpus N",
        ),
        (
            vec![
                "estimate",
                "--params",
                "7B",
                "--gpus",
                "8",
                "--tp",
                "8",
                "--global-batch",
                "8",
                "--gpu",
                "h100",
            ],
            "does not apply",
        ),
        (
            vec![
                "estimate",
                "--model",
                "llama-2-70b",
                "--gpus",
                "8",
                "--tp",
                "8",
                "--global-batch",
                "8",
                "--gpu",
                "a100-pcie",
            ],
            "give --gpus-per-node N",
        ),
        (
            vec![
                "plan",
                "--model",
                "llama-2-70b",
                "--gpus",
                "7",
                "--global-batch",
                "1024",
                "--gpu",
                "h100",
            ],
            "no layout of llama-2-70b splits 7 GPUs",
        ),
        (
            vec![
                "plan",
                "--model",
                "llama-2-70b",
                "--gpus",
                "8",
                "--global-batch",
                "8",
                "--seq",
                "4096",
                "--gpu",
                "h100",
            ],
            "fits in 80 GB per GPU",
        ),
        (PLAN_64.to_vec(), "give --gpu NAME"),
    ];
    for (args, want) in cases {
        one_line_error(bin().args(&args), 2, &[want]);
    }
}

#[test]
fn a_measured_profile_and_a_comm_profile_replace_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let prof = planning::write(dir.path(), "h100.json", &planning::h100_sweep());
    let mut spec = LLAMA70.to_vec();
    spec.extend(["--gpu", "h100-sxm"]);
    let base = json(&spec);
    // The profile's best valid bf16 result (794.5 TFLOPS) replaces peak × GEMM efficiency; its
    // device names the GPU row.
    let mut measured = LLAMA70.to_vec();
    let p = prof.display().to_string();
    measured.extend(["--profile", p.as_str()]);
    let m = json(&measured);
    assert_eq!(m["gpu"], "h100-sxm");
    assert!(m["hardware"]["compute_note"]
        .as_str()
        .unwrap()
        .contains("measured 794.5"));
    let c = |j: &serde_json::Value| j["step_breakdown_s"]["compute"].as_f64().unwrap();
    assert!(c(&m) > c(&base), "{} vs {}", c(&m), c(&base));

    // Half the NVLink all-gather and reduce-scatter bandwidth: more tensor-parallel time.
    let comm = dir.path().join("comm.json");
    std::fs::write(
        &comm,
        r#"{"kind":"comm","curves":{"intra-all-gather":[[1e6,90],[1e10,180]],
            "intra-reduce-scatter":[[1e6,90],[1e10,180]]}}"#,
    )
    .unwrap();
    let cp = comm.display().to_string();
    let mut with_comm = spec.clone();
    with_comm.extend(["--comm-profile", cp.as_str()]);
    let w = json(&with_comm);
    // A plan says which links it priced the layouts with.
    let plan = [
        PLAN_64,
        &["--gpu", "h100-sxm", "--comm-profile", cp.as_str()],
    ]
    .concat();
    let (out, _) = outputs(bin().args(plan));
    let out = common::flat(&out);
    assert!(
        out.contains("Links: 360 GB/s busbw within a node (450 GB/s × 0.8")
            && out.contains(&format!(
                "157.5 GB/s intra-node all-gather (measured, {cp}), 157.5 GB/s intra-node reduce-scatter (measured, {cp})"
            )),
        "{out}"
    );
    let tp = |j: &serde_json::Value| j["step_breakdown_s"]["tp_comm"].as_f64().unwrap();
    assert!(tp(&w) > 1.5 * tp(&base), "{} vs {}", tp(&w), tp(&base));
    assert_eq!(c(&w), c(&base));

    // A broken one is a one-line error naming the file.
    std::fs::write(&comm, r#"{"kind":"comm","curves":{"nvlink":[[1,1]]}}"#).unwrap();
    one_line_error(bin().args(&with_comm), 2, &["unknown scope 'nvlink'"]);
}

/// A 'gpubench calibrate' file as --profile: the model's own measured GEMM, attention and copy
/// rates become the layout's (here a CPU calibration of a tiny LLaMA-style model, one of 2
/// tensor-parallel ranks, with the GPU table's row for memory and links). A calibration of
/// another step shape is used with a warning naming the command that measures this one; one
/// of another model is refused.
#[test]
fn a_calibration_file_gives_the_rates() {
    let dir = tempfile::tempdir().unwrap();
    let cal = dir.path().join("cal.json");
    let (c, k) = (tiny_config(dir.path()), cal.display().to_string());
    bin()
        .current_dir(dir.path())
        .args(["calibrate", "--model-config", &c, "--seq", "32"])
        .args(["--micro-batch", "2", "--tp", "2"])
        .args(["--device", "cpu", "--out", &k])
        .args(fast("2"))
        .assert()
        .success();
    let estimate = |tp: &str| {
        let (out, err) = outputs(
            bin()
                .current_dir(dir.path())
                .args(["estimate", "--model-config", &c, "--gpus", "8", "--tp", tp])
                .args(["--micro-batch", "2", "--global-batch", "16", "--seq", "32"])
                .args(["--gpu", "h100-sxm", "--profile", &k, "--json"]),
        );
        (
            serde_json::from_str::<serde_json::Value>(&out).unwrap(),
            err,
        )
    };
    let (j, err) = estimate("2");
    let note = j["hardware"]["compute_note"].as_str().unwrap();
    assert!(
        note.contains("calibrated on") && note.contains("cal.json"),
        "{note}"
    );
    let (lin, att) = (
        j["hardware"]["compute_tflops"].as_f64().unwrap(),
        j["hardware"]["attention_tflops"].as_f64().unwrap(),
    );
    // A CPU's rates, far below the H100 row's peak.
    assert!(lin > 0.0 && lin < 50.0 && att > 0.0, "{lin} {att}");
    assert!(j["step_time_s"].as_f64().unwrap() > 0.0);
    // The step it measured is the layout's; the device is not the --gpu named.
    assert!(!err.contains("was calibrated at"), "{err}");
    assert!(
        err.contains("warning: --gpu h100-sxm is not the profile's device"),
        "{err}"
    );

    // Another tensor-parallel degree: used, with the command that measures its own shapes.
    let (_, err) = estimate("1");
    assert!(
        err.contains("was calibrated at tp 2, micro-batch 2, seq 32, this layout runs tp 1, micro-batch 2, seq 32"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "'gpubench calibrate --model-config {c} --micro-batch 2 --seq 32'"
        )),
        "{err}"
    );

    // A plan prices every layout at the calibration's rates, and says so.
    let (_, err) = outputs(
        bin()
            .current_dir(dir.path())
            .args([
                "plan",
                "--model-config",
                &c,
                "--gpus",
                "8",
                "--global-batch",
                "16",
            ])
            .args(["--seq", "32", "--gpu", "h100-sxm", "--profile", &k]),
    );
    assert!(
        err.contains("measured the shapes of one step (tp 2, micro-batch 2, seq 32) and its rates price every layout"),
        "{err}"
    );

    // Another model: refused.
    one_line_error(
        bin().current_dir(dir.path()).args([
            "estimate",
            "--model",
            "llama-2-7b",
            "--gpus",
            "8",
            "--global-batch",
            "8",
            "--gpu",
            "h100-sxm",
            "--profile",
            &k,
        ]),
        2,
        &["calibrated for tiny-llama", "not for llama-2-7b"],
    );
}

#[test]
fn zero3_shows_what_it_gathers_and_counts_it_in_the_total() {
    let args = [
        "estimate",
        "--model",
        "llama-2-7b",
        "--tokens",
        "1T",
        "--gpus",
        "64",
        "--tp",
        "1",
        "--pp",
        "1",
        "--micro-batch",
        "1",
        "--global-batch",
        "512",
        "--seq",
        "4096",
        "--zero",
        "3",
        "--recompute",
        "full",
        "--gpu",
        "h100-sxm",
    ];
    bin()
        .args(args)
        .assert()
        .success()
        .stdout(predicate::str::contains("ZeRO-3 gathered"));
    let j = json(&args);
    let m = &j["memory_breakdown_gb"];
    let gathered = m["zero3_gathered"].as_f64().unwrap();
    // A Llama-2-7B layer (202M parameters) × 6 bytes.
    assert!((gathered - 1.21).abs() < 0.02, "{gathered}");
    let sum: f64 = [
        "weights",
        "gradients",
        "optimizer",
        "activations",
        "zero3_gathered",
        "cuda_context",
    ]
    .iter()
    .map(|k| m[k].as_f64().unwrap())
    .sum();
    let total = j["memory_per_gpu_gb"].as_f64().unwrap();
    assert!((sum - total).abs() < 1e-9 * total, "{sum} vs {total}");
}
