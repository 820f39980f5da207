//! Bad input and damaged files through the built binary: every case is one line and a
//! documented exit code, never a panic, a hang, an abort or raw terminal controls; plus a
//! structural fuzz of every loader and of the commands that read what loads.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command as Std, Stdio};
use std::time::{Duration, Instant};

use common::{fast, gpubench, one_line_error, read_json, std_bin, QUICK_RUN};
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// A LLaMA-style config like `common::TINY_LLAMA` but with an MLP of 128.
const TINY: &str = r#"{"model_type":"llama","hidden_size":64,"intermediate_size":128,
 "num_attention_heads":4,"num_key_value_heads":2,"num_hidden_layers":2,"vocab_size":100,
 "max_position_embeddings":64,"tie_word_embeddings":false,"_name_or_path":"tiny-llama"}"#;

#[test]
fn flags_name_themselves_and_what_they_expect() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let run = ["run", "--device", "cpu", "--no-save"];
    for (flag, v, want) in [
        ("--min-time", "-1", "from 0 to 3600 seconds"),
        ("--warmup-time", "1e300", "from 0 to 3600 seconds"),
        ("--seed", "-1", "whole number from 0"),
        ("--duration", "-3", "above 0"),
        ("--n", "-5", "positive whole number"),
    ] {
        one_line_error(gpubench(p).args(run).args([flag, v]), 2, &[flag, want]);
    }
    one_line_error(
        gpubench(p)
            .args(run)
            .args(["--iters", "50", "--max-iters", "5"]),
        2,
        &["--iters 50 is more than --max-iters 5"],
    );
    one_line_error(gpubench(p).arg("show"), 2, &["<FILE>"]);
    for (args, want) in [
        (
            vec![
                "estimate", "--params", "1e308", "--tokens", "1e12", "--gpus", "8",
            ],
            "--params",
        ),
        (
            vec![
                "estimate", "--params", "7e9", "--tokens", "1e12", "--days", "1e-300",
            ],
            "--days",
        ),
        (vec!["memory", "--params", "1e308"], "--params"),
        (
            vec!["memory", "--model", "gpt2", "--seq-len", "100000"],
            "1024 positions",
        ),
    ] {
        one_line_error(gpubench(p).args(&args), 2, &[want]);
    }
    let cfg = p.join("huge.json");
    std::fs::write(
        &cfg,
        TINY.replace("\"hidden_size\":64", "\"hidden_size\":1e300"),
    )
    .unwrap();
    one_line_error(
        gpubench(p).args(["memory", "--model-config"]).arg(&cfg),
        2,
        &["hidden_size", "up to 1000000000"],
    );
}

/// A CPU profile made by the binary in `dir`, returned with its path.
fn cpu_profile(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    gpubench(dir)
        .args(QUICK_RUN)
        .args(extra)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    out
}

#[test]
fn damaged_and_foreign_files_are_named() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let good = cpu_profile(p, "good.json", &[]);
    let text = std::fs::read_to_string(&good).unwrap();

    // A byte order mark is accepted.
    let bom = p.join("bom.json");
    std::fs::write(&bom, format!("\u{feff}{text}")).unwrap();
    gpubench(p).arg("show").arg(&bom).assert().success();

    // Zero dimensions, negative or absurd figures: one line naming the field.
    let mut v: Value = serde_json::from_str(&text).unwrap();
    for (field, value, want) in [
        ("n", Value::from(0), "results[0].n is 0"),
        ("tflops", Value::from(-5.0), "results[0].tflops"),
        ("tflops", Value::from(1e300), "results[0].tflops"),
        ("batch", Value::from(0), "results[0].batch is 0"),
    ] {
        let saved = v["results"][0][field].clone();
        v["results"][0][field] = value;
        let f = p.join(format!("bad-{field}.json"));
        std::fs::write(&f, v.to_string()).unwrap();
        for cmd in ["show", "plot"] {
            let mut c = gpubench(p);
            c.arg(cmd).arg(&f).timeout(Duration::from_secs(20));
            one_line_error(&mut c, 2, &[want, "bad-"]);
        }
        v["results"][0][field] = saved;
    }

    // Terminal escapes and bidi overrides from a file never reach the terminal.
    v["device"]["name"] = Value::from("GPU\u{1b}]0;owned\u{7}\u{1b}[2J\u{202e}x");
    let f = p.join("escapes.json");
    std::fs::write(&f, v.to_string()).unwrap();
    let out = gpubench(p).arg("show").arg(&f).assert().success();
    let shown = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{202e}'),
        "{shown}"
    );
    assert!(shown.contains("GPU\u{fffd}]0;owned"), "{shown}");

    // A calibration file where a profile is expected says what it is and who reads it.
    let cal = p.join("cal.json");
    std::fs::write(p.join("config.json"), TINY).unwrap();
    gpubench(p)
        .args(["calibrate", "--model-config", "config.json", "--seq", "16"])
        .args(["--micro-batch", "1", "--device", "cpu"])
        .args(fast("2"))
        .arg("--out")
        .arg(&cal)
        .assert()
        .success();
    one_line_error(
        gpubench(p).arg("show").arg(&cal),
        2,
        &["is a gpubench calibration", "estimate --calibration"],
    );
    one_line_error(
        gpubench(p)
            .args([
                "estimate", "--params", "7e9", "--tokens", "1e12", "--gpus", "8",
            ])
            .arg("--profile")
            .arg(&cal),
        2,
        &["is a gpubench calibration"],
    );
}

#[test]
fn exit_codes_have_one_meaning_each() {
    let d = tempfile::tempdir().unwrap();
    // No NVIDIA driver here: could not run (1), not a usage error, not "verification".
    let out = gpubench(d.path())
        .args(["run", "--device", "cuda", "--n", "64", "--no-save"])
        .output()
        .unwrap();
    if !out.status.success() {
        assert_eq!(out.status.code(), Some(1));
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for code in ["| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 70 |", "| 130 |"] {
        assert!(
            readme.contains(code),
            "README's exit code table lacks {code}"
        );
    }
}

/// Runs `bash -c script` in `dir` with `$GPUBENCH` naming the binary; returns its exit code
/// and stderr.
fn shell(dir: &Path, script: &str) -> (Option<i32>, String) {
    let mut c = Std::new("bash");
    c.arg("-c")
        .arg(script)
        .env("GPUBENCH", assert_cmd::cargo::cargo_bin("gpubench"));
    run_limited(c, dir)
}

#[cfg(unix)]
#[test]
fn a_closed_pipe_is_a_normal_end() {
    let d = tempfile::tempdir().unwrap();
    let good = cpu_profile(d.path(), "p.json", &[]);
    let big = d.path().join("big.json");
    // Many samples make the JSON far larger than a pipe buffer.
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&good).unwrap()).unwrap();
    let s = v["results"][0]["samples_s"][0].clone();
    let many: Vec<Value> = (0..20_000).map(|_| s.clone()).collect();
    v["results"][0]["samples_s"] = Value::from(many);
    v["results"][0]["stats_s"]["count"] = Value::from(20_000);
    for k in ["median", "mean", "min", "max"] {
        v["results"][0]["stats_s"][k] = s.clone();
    }
    v["results"][0]["stats_s"]["stddev"] = Value::from(0.0);
    let t = v["results"][0]["tflops"].clone();
    for k in ["tflops_min", "tflops_max"] {
        v["results"][0][k] = t.clone();
    }
    let tf = 2.0 * 32f64.powi(3) / s.as_f64().unwrap() / 1e12;
    for k in ["tflops", "tflops_min", "tflops_max"] {
        v["results"][0][k] = Value::from(tf);
    }
    std::fs::write(&big, v.to_string()).unwrap();
    for script in [
        "\"$GPUBENCH\" show --json big.json | head -2 >/dev/null; exit ${PIPESTATUS[0]}",
        "set -o pipefail 2>/dev/null; \"$GPUBENCH\" show --json big.json | head -c 10 >/dev/null",
        "set -o pipefail 2>/dev/null; \"$GPUBENCH\" estimate --params 7e9 --tokens 1e12 --gpus 8 --gpu h100-sxm 2>&1 | head -c 100 >/dev/null",
        "set -o pipefail 2>/dev/null; \"$GPUBENCH\" models 2>&1 | head -c 1 >/dev/null",
    ] {
        for _ in 0..5 {
            let (code, err) = shell(d.path(), script);
            assert!(code == Some(0) || code == Some(141), "{script}: {code:?} {err}");
            assert!(!err.contains("internal error") && !err.contains("panicked"), "{err}");
        }
    }
    // Exactly: the producer itself ends with 0 when its reader goes away.
    let exe = assert_cmd::cargo::cargo_bin("gpubench");
    let mut child = Std::new(exe)
        .args(["show", "--json"])
        .arg(&big)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Values a damaged or crafted file may hold where anything else was expected.
fn odd_value(rng: &mut rand::rngs::StdRng) -> Value {
    match rng.random_range(0..14) {
        0 => Value::from(0),
        1 => Value::from(-1),
        2 => Value::from(1e300),
        3 => Value::from(-1e-300),
        4 => Value::Null,
        5 => Value::from(""),
        6 => Value::from("\u{1b}[31mred\u{202e}"),
        7 => Value::Array(vec![]),
        8 => Value::Object(Default::default()),
        9 => Value::from(true),
        10 => Value::from(u64::MAX),
        11 => Value::from(0.5),
        12 => Value::from(7),
        _ => Value::from("x".repeat(300)),
    }
}

/// Every path (object keys and array indices) in a document, leaves and inner nodes.
fn paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(at.clone());
    match v {
        Value::Object(o) => {
            for (k, c) in o {
                at.push(k.clone());
                paths(c, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate().take(3) {
                at.push(i.to_string());
                paths(c, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// One structural mutation: replace a node, delete a key, or empty/duplicate an array.
fn mutate(base: &Value, rng: &mut rand::rngs::StdRng) -> Value {
    let mut v = base.clone();
    let mut all = Vec::new();
    paths(&v, &mut Vec::new(), &mut all);
    for _ in 0..rng.random_range(1..=3) {
        let path = &all[rng.random_range(0..all.len())];
        let kind = rng.random_range(0..4);
        let (parent, last) = path.split_at(path.len().saturating_sub(1));
        match (kind, last.first()) {
            (0, Some(k)) => {
                if let Some(Value::Object(o)) = node_opt(&mut v, parent) {
                    o.remove(k);
                }
            }
            (1, _) => {
                if let Some(Value::Array(a)) = node_opt(&mut v, path) {
                    if let Some(first) = a.first().cloned() {
                        a.push(first);
                    } else {
                        a.clear();
                    }
                }
            }
            _ => {
                if let Some(n) = node_opt(&mut v, path) {
                    *n = odd_value(rng);
                }
            }
        }
    }
    v
}

fn node_opt<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = v;
    for k in path {
        cur = match cur {
            Value::Object(o) => o.get_mut(k)?,
            Value::Array(a) => a.get_mut(k.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Runs `cmd` in `dir` with its stdout discarded, killing it (and failing the test) after
/// 30 s; returns its exit code (None when a signal ended it) and stderr.
fn run_limited(mut cmd: Std, dir: &Path) -> (Option<i32>, String) {
    let mut child = cmd
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (st.code(), err);
        }
        if t0.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("{cmd:?} hung (more than 30 s)");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn fuzzed_files_never_panic_hang_or_print_controls() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("config.json"), TINY).unwrap();
    let run = cpu_profile(p, "run.json", &[]);
    let sustained = cpu_profile(p, "sus.json", &["--duration", "0.3"]);
    let sweep = p.join("sweep.json");
    gpubench(p)
        .args([
            "sweep",
            "--device",
            "cpu",
            "--n",
            "16:48:16",
            "--settle-time",
            "0",
        ])
        .args(fast("2"))
        .arg("-o")
        .arg(&sweep)
        .assert()
        .success();
    let cal = p.join("cal.json");
    gpubench(p)
        .args(["calibrate", "--model-config", "config.json", "--seq", "16"])
        .args(["--micro-batch", "1", "--device", "cpu"])
        .args(fast("2"))
        .arg("--out")
        .arg(&cal)
        .assert()
        .success();
    let bases = [
        ("run", read_json(&run)),
        ("sustained", read_json(&sustained)),
        ("sweep", read_json(&sweep)),
        ("calibration", read_json(&cal)),
        ("config", serde_json::from_str(TINY).unwrap()),
    ];
    let cases: usize = std::env::var("GPUBENCH_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x6770_7562);
    let t0 = Instant::now();
    for case in 0..cases {
        for (kind, base) in &bases {
            let v = mutate(base, &mut rng);
            let f = p.join(format!("fuzz-{kind}.json"));
            std::fs::write(&f, v.to_string()).unwrap();
            let f = f.to_str().unwrap().to_string();
            let commands: Vec<Vec<&str>> = match *kind {
                "calibration" => vec![
                    vec![
                        "estimate",
                        "--model-config",
                        "config.json",
                        "--tokens",
                        "1e9",
                        "--gpus",
                        "1",
                        "--calibration",
                        &f,
                    ],
                    vec!["show", &f],
                ],
                "config" => vec![
                    vec!["memory", "--model-config", &f],
                    vec!["calibrate", "--model-config", &f, "--dry-run"],
                    vec![
                        "estimate",
                        "--model-config",
                        &f,
                        "--tokens",
                        "1e9",
                        "--gpus",
                        "8",
                        "--gpu",
                        "h100-sxm",
                    ],
                ],
                _ => vec![
                    vec!["show", &f],
                    vec!["plot", &f, "-o", "fuzz.svg", "--force"],
                    vec!["compare", &f, run.to_str().unwrap()],
                    vec![
                        "estimate",
                        "--params",
                        "7e9",
                        "--tokens",
                        "1e12",
                        "--gpus",
                        "8",
                        "--profile",
                        &f,
                        "--dtype",
                        "fp32",
                    ],
                ],
            };
            for args in commands {
                let (code, err) = run_limited(std_bin(&args), p);
                assert!(
                    matches!(code, Some(0..=2)),
                    "case {case} {kind}: gpubench {args:?} exited {code:?}: {err}\n{v}"
                );
                assert!(
                    !err.contains("internal error") && !err.contains('\u{1b}'),
                    "case {case} {kind}: {args:?}: {err}\n{v}"
                );
            }
        }
    }
    assert!(t0.elapsed() < Duration::from_secs(600));
}
