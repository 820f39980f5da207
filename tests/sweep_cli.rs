//! `gpubench sweep` through the binary on the CPU: range errors, an end-to-end sweep with
//! exports, a non-square grid, and Ctrl-C keeping the points done.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{bin, one_line_error, spawn_slow_sweep, wait_for_results, SWEEP_FAST};
use gpubench::profile::Profile;
use predicates::prelude::*;

#[test]
fn range_errors_are_one_line_usage_errors() {
    let cases: [(&[&str], &str); 10] = [
        (&["--n", "1024:0:0"], "step 0"),
        (&["--n", "5:1:1"], "stop 1 is below start 5"),
        (&["--n", "64:128:0"], "step 0"),
        (&["--n", "0:64:8"], "start 0"),
        (&["--n", "1:2147483647:1"], "more than the limit"),
        (
            &["--m", "1:300:1", "--n", "1:300:1", "--k", "8"],
            "300 × 300 × 1 points",
        ),
        (
            &[
                "--m",
                "2147483647",
                "--n",
                "2147483647",
                "--k",
                "2147483647",
            ],
            "overflow",
        ),
        (&["--m", "64", "--n", "64"], "--k is missing"),
        (&[], "give --n"),
        (&["--n", "64", "--dtype", "fp7"], "unknown dtype"),
    ];
    for (args, needle) in cases {
        one_line_error(
            bin().args(["sweep", "--device", "cpu"]).args(args),
            2,
            &[needle],
        );
    }
}

#[test]
fn cpu_sweep_end_to_end_with_exports() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.json");
    let csv = dir.path().join("s.csv");
    let md = dir.path().join("s.md");
    bin()
        .args([
            "sweep", "--device", "cpu", "--dtype", "fp32", "--n", "16:48:16",
        ])
        .args(SWEEP_FAST)
        .arg("-o")
        .arg(&out)
        .arg("--export-csv")
        .arg(&csv)
        .arg("--export-markdown")
        .arg(&md)
        .assert()
        .success()
        .stdout(predicate::str::contains("fp32: best "))
        .stdout(predicate::str::contains("geometric mean"))
        .stdout(predicate::str::contains("3 of 3 points measured"))
        .stdout(predicate::str::contains("Profile saved:"));
    let p = Profile::load(&out).unwrap();
    assert_eq!(p.kind, gpubench::profile::ProfileKind::Sweep);
    assert_eq!(p.interrupted, None);
    let ns: Vec<u64> = p.results.iter().map(|r| r.n).collect();
    assert_eq!(ns, vec![16, 32, 48]);
    assert!(p.results.iter().all(|r| r.valid() && r.tflops > 0.0));
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 4);
    assert!(std::fs::read_to_string(&md)
        .unwrap()
        .contains("| fp32 | 48×48×48 |"));
    // Nothing else was written, and a second run refuses to overwrite.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    bin()
        .args(["sweep", "--device", "cpu", "--n", "16"])
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("file exists"));
}

#[test]
fn non_square_grid_and_json_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.json");
    let assert = bin()
        .args([
            "sweep", "--device", "cpu", "--m", "16,32", "--n", "24", "--k", "8:16:8",
        ])
        .args(SWEEP_FAST)
        .arg("-o")
        .arg(&out)
        .arg("--json")
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let printed = Profile::from_json(&stdout, "stdout").unwrap();
    let saved = Profile::load(&out).unwrap();
    assert_eq!(printed, saved);
    let shapes: Vec<(u64, u64, u64)> = saved.results.iter().map(|r| (r.m, r.n, r.k)).collect();
    assert_eq!(
        shapes,
        vec![(16, 24, 8), (16, 24, 16), (32, 24, 8), (32, 24, 16)]
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_keeps_the_points_done() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("i.json");
    // 100 points of at least 30 ms each: seconds of work, stopped after two points.
    let child = spawn_slow_sweep(&out, true);
    wait_for_results(&out, 2, Duration::from_secs(20));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Interrupted after"), "{stderr}");
    assert!(stdout.contains("fp32: best "), "{stdout}");
    let p = Profile::load(&out).unwrap();
    assert_eq!(p.interrupted, Some(true));
    assert!(
        p.results.len() >= 2 && p.results.len() < 100,
        "{}",
        p.results.len()
    );
    assert!(p.results.iter().all(|r| r.valid()));
}

#[test]
fn sustained_run_reports_throughput_over_time() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sus.json");
    let csv = dir.path().join("sus.csv");
    bin()
        .args(["run", "--device", "cpu", "--dtype", "fp32", "--n", "64"])
        .args(["--duration", "1", "-o"])
        .arg(&out)
        .arg("--export-csv")
        .arg(&csv)
        .assert()
        .success()
        .stdout(predicate::str::contains("throughput over time"))
        .stdout(predicate::str::contains("First 0.25 s: "))
        .stdout(predicate::str::contains("No clock or power telemetry"));
    let p = Profile::load(&out).unwrap();
    assert_eq!(p.kind, gpubench::profile::ProfileKind::Sustained);
    let t = gpubench::telemetry::of_result(&p.results[0]).unwrap();
    let tl = t.timeline.unwrap();
    assert_eq!(tl.len(), 4, "{tl:?}");
    assert!(tl.iter().all(|w| w.products > 0 && w.tflops > 0.0));
    assert_eq!(tl[3].t_end_s, 1.0);
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 2);
}

#[cfg(unix)]
#[test]
fn ctrl_c_ends_a_sustained_run_early_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sus.json");
    let exe = assert_cmd::cargo::cargo_bin("gpubench");
    let child = std::process::Command::new(exe)
        .args(["run", "--device", "cpu", "--dtype", "fp32", "--n", "64"])
        .args(["--duration", "30", "-o"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let t0 = Instant::now();
    let output = child.wait_with_output().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    let p = Profile::load(&out).unwrap();
    assert_eq!(p.interrupted, Some(true));
    let tl = gpubench::telemetry::of_result(&p.results[0])
        .unwrap()
        .timeline
        .unwrap();
    let end = tl.last().unwrap().t_end_s;
    assert!(end < 10.0 && end > 0.5, "{end}");
}

#[test]
#[ignore = "needs a GPU"]
fn gpu_sweep_searches_algorithms_and_records_telemetry() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gpu.json");
    bin()
        .args([
            "sweep",
            "--device",
            "cuda",
            "--dtype",
            "bf16",
            "--n",
            "1024:4096:1024",
        ])
        .args(["--algos", "4", "-o"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("bf16: best "));
    let p = Profile::load(&out).unwrap();
    assert_eq!(p.results.len(), 4);
    for r in &p.results {
        assert!(r.valid(), "{} failed verification", r.shape());
        let s = gpubench::measure::point::algo_search_of(r).expect("cuBLASLt offers candidates");
        assert!(s.timed > 1, "{}: {} timed", r.shape(), s.timed);
        assert!(s.best_tflops >= s.default_tflops.unwrap(), "{}", r.shape());
        assert_eq!(r.tflops, s.best_tflops);
        let t = gpubench::telemetry::of_result(r).expect("NVML telemetry on a GPU");
        assert!(t.samples > 0 && t.power_w_mean.unwrap() > 0.0);
        assert!(t.sm_clock_mhz_min.unwrap() > 0.0);
        assert!(t.tflops_per_watt.unwrap() > 0.0 && t.energy_per_product_j.unwrap() > 0.0);
    }
}

#[test]
#[ignore = "needs a GPU"]
fn gpu_sustained_run_has_clock_and_power_per_window() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gpu-sus.json");
    bin()
        .args(["run", "--device", "cuda", "--dtype", "bf16", "--n", "4096"])
        .args(["--duration", "5", "-o"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Clock, power and temperature: NVML",
        ));
    let p = Profile::load(&out).unwrap();
    let tl = gpubench::telemetry::of_result(&p.results[0])
        .unwrap()
        .timeline
        .unwrap();
    assert!(tl.len() >= 10, "{}", tl.len());
    assert!(tl
        .iter()
        .all(|w| w.sm_clock_mhz_mean.is_some() && w.power_w_mean.is_some()));
}
