//! What the integration tests that run the built `gpubench` binary share, written once:
//! the command (in a temporary directory or not), short timing flags, the files a run left
//! behind, JSON in and out, and the one-line error every bad input gets. Beside them: profile
//! fixtures built as JSON (`profiles`) and from gpubench's own types (`planning`), the real
//! NVIDIA libraries (`nvidia`) and the emulated GPU (`emulated`).
//!
//! Use with `mod common;` in a test file; each test binary uses only part of it.

#![allow(dead_code)]

pub mod emulated;
pub mod nvidia;
pub mod planning;
pub mod profiles;

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

/// The built `gpubench` binary, run in the test's own working directory.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gpubench"))
}

/// The built `gpubench` binary, run in `dir` (where `results/` lands).
pub fn gpubench(dir: &Path) -> Command {
    let mut c = bin();
    c.current_dir(dir);
    c
}

/// The built `gpubench` binary with `args`, as a plain process for tests that spawn, watch or
/// kill it themselves.
pub fn std_bin(args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_gpubench"));
    c.args(args);
    c
}

/// Short timing with `iters` timed iterations, so a CPU run takes well under a second.
pub const fn fast(iters: &'static str) -> [&'static str; 8] {
    [
        "--warmup-iters",
        "1",
        "--warmup-time",
        "0",
        "--iters",
        iters,
        "--min-time",
        "0",
    ]
}

/// Short timing with three timed iterations.
pub const FAST: [&str; 8] = fast("3");

/// Short timing for a sweep: two timed iterations a point and no pause between points.
pub const SWEEP_FAST: [&str; 10] = join(fast("2"), ["--settle-time", "0"]);

/// A CPU fp32 run of 32×32×32 with two timed iterations: well under a second.
pub const QUICK_RUN: [&str; 15] = join(
    ["run", "--device", "cpu", "--dtype", "fp32", "--n", "32"],
    fast("2"),
);

/// `a` followed by `b` (`C` must be their total length), for flag lists built from others.
pub const fn join<const A: usize, const B: usize, const C: usize>(
    a: [&'static str; A],
    b: [&'static str; B],
) -> [&'static str; C] {
    assert!(A + B == C, "the joined length must be the sum of both");
    let mut out = [""; C];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    while i < C {
        out[i] = b[i - A];
        i += 1;
    }
    out
}

/// A LLaMA-style config with grouped-query attention: h 64, 4 heads of 16, 2 KV heads,
/// SwiGLU MLP of 96, vocabulary 100, 2 layers.
pub const TINY_LLAMA: &str = r#"{"model_type":"llama","hidden_size":64,"intermediate_size":96,
 "num_attention_heads":4,"num_key_value_heads":2,"num_hidden_layers":2,"vocab_size":100,
 "max_position_embeddings":64,"tie_word_embeddings":false,"_name_or_path":"tiny-llama"}"#;

/// Writes [`TINY_LLAMA`] to `dir/config.json` and returns its path as an argument.
pub fn tiny_config(dir: &Path) -> String {
    let p = dir.join("config.json");
    std::fs::write(&p, TINY_LLAMA).unwrap();
    p.display().to_string()
}

/// The names in `dir`, sorted (empty when it does not exist).
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The `.json` files in `dir`, sorted.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

/// Number of results in a profile being written, 0 while it is absent or mid-rename.
pub fn results_in(p: &Path) -> usize {
    std::fs::read_to_string(p)
        .ok()
        .and_then(|t| gpubench::profile::Profile::from_json(&t, "partial").ok())
        .map_or(0, |p| p.results.len())
}

/// Spawns a CPU sweep into `out` of 100 points of at least 30 ms each (seconds of work), its
/// output piped when `piped`, discarded otherwise.
pub fn spawn_slow_sweep(out: &Path, piped: bool) -> Child {
    let io = || if piped { Stdio::piped() } else { Stdio::null() };
    std_bin(&[
        "sweep",
        "--device",
        "cpu",
        "--n",
        "8:800:8",
        "--min-time",
        "0.03",
    ])
    .args(["--warmup-time", "0", "--settle-time", "0", "-o"])
    .arg(out)
    .stdout(io())
    .stderr(io())
    .spawn()
    .unwrap()
}

/// Waits until the profile being written at `out` holds `n` results, failing after `limit`.
pub fn wait_for_results(out: &Path, n: usize, limit: Duration) {
    let t0 = Instant::now();
    while results_in(out) < n {
        assert!(t0.elapsed() < limit, "no points saved");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The JSON in the file at `path`.
pub fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Writes `v` to `path`, pretty-printed.
pub fn write_json(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

/// The number under `key` of the object `v`.
pub fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

/// `a` within `rel` of `b`.
pub fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs()
}

/// The text with every run of white space (line wraps included) folded to one space.
pub fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs `cmd`, expects success, returns its standard output and its standard error with
/// every run of white space folded ([`flat`]: warnings are wrapped to the terminal).
pub fn outputs(cmd: &mut Command) -> (String, String) {
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    (String::from_utf8(out.stdout).unwrap(), flat(&err))
}

/// Runs `cmd`, expects success, returns its standard output.
pub fn stdout(cmd: &mut Command) -> String {
    String::from_utf8(cmd.assert().success().get_output().stdout.clone()).unwrap()
}

/// Runs the binary with `args` and `--json`, expects success, returns the parsed object.
pub fn json(args: &[&str]) -> Value {
    let out = bin().args(args).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs the binary with `args`, expects success, returns (stdout, stderr).
pub fn text(args: &[&str]) -> (String, String) {
    let out = bin().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Runs `cmd` and asserts the failure every bad input gets: exit `code`, nothing on standard
/// output, and exactly one line on standard error, starting `Error: `, that contains every one
/// of `needles`, with no panic, backtrace or internal error. Returns that line.
pub fn one_line_error(cmd: &mut Command, code: i32, needles: &[&str]) -> String {
    let out = cmd.output().unwrap();
    assert_one_line(&out, code, needles, &format!("{cmd:?}"))
}

/// Runs the binary with `args` and asserts a usage error (exit 2) as [`one_line_error`] does.
pub fn usage_error(args: &[&str], needles: &[&str]) {
    let out = bin().args(args).output().unwrap();
    assert_one_line(&out, 2, needles, &format!("{args:?}"));
}

/// The checks of [`one_line_error`] on what a run of `what` gave.
fn assert_one_line(out: &Output, code: i32, needles: &[&str], what: &str) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{what}: {err}");
    assert!(out.stdout.is_empty(), "{what}: stdout not empty");
    assert_eq!(err.trim_end().lines().count(), 1, "{what}: one line: {err}");
    assert!(err.starts_with("Error: "), "{what}: {err}");
    for n in needles {
        assert!(err.contains(n), "{what}: expected {n:?} in {err}");
    }
    for bad in ["panicked", "backtrace", "internal error"] {
        assert!(!err.contains(bad), "{what}: {err}");
    }
    err
}
