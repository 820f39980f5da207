//! `gpubench run` and `gpubench show` through the built binary, on the CPU backend: an
//! end-to-end run with verification, the saved profile, and every bad-input case (one line,
//! exit 2 or 1, no file left behind).

mod common;

use common::{files_in, gpubench, one_line_error, FAST};
use predicates::prelude::*;

#[test]
fn cpu_run_end_to_end_saves_a_verified_profile() {
    let tmp = tempfile::tempdir().unwrap();
    let out = gpubench(tmp.path())
        .args([
            "run",
            "--device",
            "cpu",
            "--dtype",
            "fp32,fp64",
            "--n",
            "96",
        ])
        .args(FAST)
        .assert()
        .success()
        .stdout(predicate::str::contains("TFLOPS"))
        .stdout(predicate::str::contains("verified: err"))
        .stdout(predicate::str::contains("Profile saved: results/"))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    // A 7B training estimate on CPUs informs nothing: none is printed.
    assert!(!text.contains("Calibrated estimate"), "{text}");
    let files = files_in(&tmp.path().join("results"));
    assert_eq!(files.len(), 1, "{files:?}");
    let name = &files[0];
    assert!(name.contains("_fp32-fp64_n96_"), "{name}");
    assert!(text.contains(name.as_str()));

    let path = tmp.path().join("results").join(name);
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(p["schema_version"], 1);
    assert_eq!(p["device"]["backend"], "cpu");
    assert!(p["host"]["cpu_logical_cores"].as_u64().unwrap() >= 1);
    let results = p["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        assert_eq!(r["m"], 96);
        assert!(r["verification"]["passed"].as_bool().unwrap());
        assert!(r["verification"]["checked"].as_u64().unwrap() >= 200);
        assert!(r["samples_s"].as_array().unwrap().len() >= 3);
        let median = r["stats_s"]["median"].as_f64().unwrap();
        let tflops = r["tflops"].as_f64().unwrap();
        let want = 2.0 * 96f64.powi(3) / median / 1e12;
        assert!((tflops - want).abs() / want < 1e-9);
        assert!(
            r["compute_type"].is_string() && r["accumulator"].is_string() && r["api"].is_string()
        );
    }

    // show prints the same table from the file
    gpubench(tmp.path())
        .args(["show", path.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("fp64"))
        .stdout(predicate::str::contains("96×96×96"));
}

#[test]
fn non_square_shape_and_json_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = gpubench(tmp.path())
        .args([
            "run", "--device", "cpu", "--m", "40", "--n", "24", "--k", "72", "--json",
        ])
        .args(["--out", "p.json"])
        .args(FAST)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let p: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let r = &p["results"][0];
    assert_eq!(
        (r["m"].as_u64(), r["n"].as_u64(), r["k"].as_u64()),
        (Some(40), Some(24), Some(72))
    );
    let t = 2.0 * 40.0 * 24.0 * 72.0 / r["stats_s"]["median"].as_f64().unwrap() / 1e12;
    assert!((r["tflops"].as_f64().unwrap() - t).abs() / t < 1e-9);
    assert!(tmp.path().join("p.json").exists());
}

#[test]
fn bad_sizes_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    for (n, needle) in [
        ("0", "positive whole number"),
        ("-5", "positive whole number"),
        ("abc", "not a size"),
        ("1.5", "not a size"),
        ("99999999999", "limit"),
    ] {
        one_line_error(
            gpubench(tmp.path()).args(["run", "--device", "cpu", "--n", n]),
            2,
            &[needle],
        );
    }
    one_line_error(
        gpubench(tmp.path()).args(["run", "--device", "cpu", "--m", "0", "--n", "8"]),
        2,
        &["--m"],
    );
    assert!(files_in(tmp.path()).is_empty(), "no file left behind");
}

#[test]
fn unknown_or_unsupported_dtype_and_device() {
    let tmp = tempfile::tempdir().unwrap();
    one_line_error(
        gpubench(tmp.path()).args(["run", "--device", "cpu", "--dtype", "fp12"]),
        2,
        &["unknown dtype 'fp12'"],
    );
    one_line_error(
        gpubench(tmp.path()).args(["run", "--device", "cpu", "--dtype", "bf16", "--n", "8"]),
        2,
        &["not supported on the CPU"],
    );
    one_line_error(
        gpubench(tmp.path()).args(["run", "--device", "tpu"]),
        2,
        &["unknown device"],
    );
    assert!(files_in(tmp.path()).is_empty() || files_in(&tmp.path().join("results")).is_empty());
}

#[test]
fn size_too_large_for_memory_says_needed_and_free() {
    let tmp = tempfile::tempdir().unwrap();
    // 3 × 2_000_000² × 8 bytes = 96 TB: no machine has it free.
    one_line_error(
        gpubench(tmp.path()).args([
            "run", "--device", "cpu", "--dtype", "fp64", "--n", "2000000",
        ]),
        2,
        &["is free"],
    );
    assert!(files_in(&tmp.path().join("results")).is_empty());
}

#[test]
fn unwritable_or_existing_out() {
    let tmp = tempfile::tempdir().unwrap();
    one_line_error(
        gpubench(tmp.path()).args([
            "run",
            "--device",
            "cpu",
            "--n",
            "8",
            "--out",
            "/nonexistent-dir/x.json",
        ]),
        2,
        &["does not exist"],
    );
    std::fs::write(tmp.path().join("taken.json"), "keep me").unwrap();
    one_line_error(
        gpubench(tmp.path()).args(["run", "--device", "cpu", "--n", "8", "--out", "taken.json"]),
        2,
        &["--force"],
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("taken.json")).unwrap(),
        "keep me"
    );
    // --force replaces it with a real profile
    gpubench(tmp.path())
        .args([
            "run",
            "--device",
            "cpu",
            "--n",
            "8",
            "--out",
            "taken.json",
            "--force",
        ])
        .args(FAST)
        .assert()
        .success();
    assert!(std::fs::read_to_string(tmp.path().join("taken.json"))
        .unwrap()
        .contains("schema_version"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let ro = tmp.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        // root can write anywhere; only check where permissions bite
        if tempfile::tempfile_in(&ro).is_err() {
            one_line_error(
                gpubench(tmp.path()).args([
                    "run",
                    "--device",
                    "cpu",
                    "--n",
                    "8",
                    "--out",
                    "ro/x.json",
                ]),
                2,
                &["cannot write"],
            );
        }
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let leftovers: Vec<String> = files_in(tmp.path())
        .into_iter()
        .filter(|f| f.contains(".tmp") || f.starts_with(".gpubench"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn show_rejects_bad_files_naming_them() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("garbage.json"), "{not json").unwrap();
    one_line_error(
        gpubench(tmp.path()).args(["show", "garbage.json"]),
        2,
        &["garbage.json: not a gpubench profile"],
    );
    std::fs::write(tmp.path().join("future.json"), r#"{"schema_version": 99}"#).unwrap();
    one_line_error(
        gpubench(tmp.path()).args(["show", "future.json"]),
        2,
        &["schema version 99"],
    );
    std::fs::write(
        tmp.path().join("partial.json"),
        r#"{"schema_version": 1, "results": []}"#,
    )
    .unwrap();
    one_line_error(
        gpubench(tmp.path()).args(["show", "partial.json"]),
        2,
        &["partial.json: malformed profile"],
    );
    one_line_error(
        gpubench(tmp.path()).args(["show", "missing.json"]),
        2,
        &["missing.json"],
    );
}

#[test]
fn cuda_device_without_a_gpu_fails_cleanly_or_runs() {
    // Without an NVIDIA driver this must be one line suggesting --device cpu (exit 1);
    // on a GPU machine it measures.
    let tmp = tempfile::tempdir().unwrap();
    let out = gpubench(tmp.path())
        .args(["run", "--device", "cuda", "--n", "64", "--no-save"])
        .args(FAST)
        .output()
        .unwrap();
    if !out.status.success() {
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{err}"); // could not run
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("--device cpu"), "{err}");
    }
}

#[test]
fn auto_device_falls_back_to_cpu_with_a_notice_or_uses_the_gpu() {
    let tmp = tempfile::tempdir().unwrap();
    let out = gpubench(tmp.path())
        .args(["run", "--n", "32", "--no-save", "--dtype", "fp32"])
        .args(FAST)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    if stdout.contains("(cpu,") {
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("notice: no GPU"), "{err}");
    }
}
