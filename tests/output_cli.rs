//! What a user reads on the terminal, through the built binary: tables that fit 100 columns
//! (and `--wide`), warnings on noisy figures, `show` on a sweep, numbers with their digits
//! and units, help examples, completions and the man page.

mod common;

use common::profiles::{self, run_with_samples};
use common::{fast, flat, gpubench, stdout, SWEEP_FAST};
use gpubench::profile::Profile;
use predicates::prelude::*;
use serde_json::Value;

#[test]
fn run_table_fits_100_columns_and_wide_shows_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let text = stdout(
        gpubench(tmp.path())
            .args(["run", "--device", "cpu", "--n", "96", "--no-save"])
            .args(fast("6")),
    );
    for l in text.lines() {
        assert!(l.chars().count() <= 100, "{} wide: {l}", l.chars().count());
    }
    assert!(flat(&text).contains("--wide shows every column"), "{text}");
    let wide = stdout(
        gpubench(tmp.path())
            .args(["run", "--device", "cpu", "--n", "96", "--no-save", "--wide"])
            .args(fast("6")),
    );
    let header = wide.lines().find(|l| l.starts_with("dtype")).unwrap();
    assert!(header.contains("derived peak (TFLOPS)") && header.contains("verification"));
    assert!(header.chars().count() > 100, "{header}");
}

#[test]
fn show_fits_and_wide_on_a_gpu_profile() {
    let tmp = tempfile::tempdir().unwrap();
    let steady: Vec<f64> = (0..20).map(|i| 5.4e-3 + 1e-6 * (i % 3) as f64).collect();
    let path = profiles::write(tmp.path(), "run.json", &run_with_samples(&steady));
    let p = path.to_str().unwrap();
    let text = stdout(gpubench(tmp.path()).args(["show", p]));
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    // The stamp says UTC once.
    assert!(text.contains("2026-12-01 23:06:15 UTC"), "{text}");
    assert!(!text.contains("Z UTC"), "{text}");
    // A steady measurement gets no warning.
    assert!(!text.contains("warning"), "{text}");
    let wide = stdout(gpubench(tmp.path()).args(["show", "--wide", p]));
    assert!(wide.contains("1,070.5"), "{wide}");
}

#[test]
fn noisy_samples_warn_with_the_flag_that_helps() {
    let tmp = tempfile::tempdir().unwrap();
    // The first CPU run's spread: stddev about a quarter of the mean.
    let noisy = [
        5.0e-3, 6.5e-3, 4.0e-3, 8.0e-3, 5.0e-3, 4.5e-3, 6.0e-3, 5.5e-3, 7.5e-3, 4.2e-3,
    ];
    let path = profiles::write(tmp.path(), "noisy.json", &run_with_samples(&noisy));
    let text = stdout(gpubench(tmp.path()).args(["show", path.to_str().unwrap()]));
    let w = text
        .lines()
        .skip_while(|l| !l.starts_with("warning:"))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        w.contains("spread widely") && w.contains("--min-time"),
        "{text}"
    );
    assert!(w.contains("GPU"), "{w}");
    // One product 50× the median: an outlier, named as such.
    let mut spike = vec![5.4e-3; 30];
    spike[7] = 0.27;
    let path = profiles::write(tmp.path(), "spike.json", &run_with_samples(&spike));
    let text = flat(&stdout(
        gpubench(tmp.path()).args(["show", path.to_str().unwrap()]),
    ));
    assert!(
        text.contains("1 of 30 products took over 2× the median"),
        "{text}"
    );
}

#[test]
fn tiny_cpu_products_warn() {
    let tmp = tempfile::tempdir().unwrap();
    let text = stdout(
        gpubench(tmp.path())
            .args(["run", "--device", "cpu", "--n", "16", "--no-save"])
            .args(fast("6")),
    );
    let text = flat(&text);
    assert!(
        text.contains("warning: fp32 16×16×16: one product takes only"),
        "{text}"
    );
    assert!(text.contains("--n 1024"), "{text}");
}

#[test]
fn json_runs_warn_on_standard_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = gpubench(tmp.path())
        .args(["run", "--device", "cpu", "--n", "16", "--no-save", "--json"])
        .args(fast("6"))
        .assert()
        .success()
        .get_output()
        .clone();
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is the JSON profile");
    assert_eq!(v["results"][0]["n"], 16);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("warning: fp32 16×16×16: one product takes only"),
        "{err}"
    );
}

#[test]
fn cpu_run_has_no_training_estimate_and_k_alone_keeps_n() {
    let tmp = tempfile::tempdir().unwrap();
    let out = stdout(
        gpubench(tmp.path())
            .args(["run", "--device", "cpu", "--k", "64", "--out", "p.json"])
            .args(fast("6")),
    );
    assert!(!out.contains("Calibrated estimate"), "{out}");
    assert!(!out.contains("days"), "{out}");
    assert!(out.contains("1024×1024×64"), "{out}");
    let p = Profile::load(&tmp.path().join("p.json")).unwrap();
    let r = &p.results[0];
    assert_eq!((r.m, r.n, r.k), (1024, 1024, 64));
}

#[test]
fn gpu_profile_gets_the_reference_estimate_with_grouped_days() {
    let p: Profile = Profile::from_json(&run_with_samples(&[5.4e-3; 8]).to_string(), "x").unwrap();
    let block = gpubench::output::calibrated::render(&p, None);
    assert!(block.contains("on 8 GPUs like this one"), "{block}");
    assert!(block.contains(" days"), "{block}");
    // Samples that give 0.0791 TFLOPS for 1024³ (a loaded profile's figures must agree).
    let slow = run_with_samples(&[2.0 * 1024f64.powi(3) / 0.0791e12; 8]);
    let p = Profile::from_json(&slow.to_string(), "x").unwrap();
    let block = gpubench::output::calibrated::render(&p, None);
    assert!(block.contains("0.07910 TFLOPS measured"), "{block}");
    // 6·7e9·140e9 FLOPs on 8 GPUs at 55 % of 0.0791 TFLOPS: grouped, no decimals.
    let line = block
        .lines()
        .find(|l| l.contains("from this measurement"))
        .unwrap();
    let days = &line[line.find('→').unwrap() + '→'.len_utf8()..line.find(" days").unwrap()];
    assert!(days.contains(',') && !days.contains('.'), "{line}");
    let days: f64 = days.trim().replace(',', "").parse().unwrap();
    let want = 6.0 * 7e9 * 140e9 / (8.0 * 0.0791e12 * 0.55) / 86_400.0;
    assert!((days - want).abs() < 1.0, "{line}: want {want}");
}

#[test]
fn show_on_a_sweep_prints_the_sweep_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let path = profiles::write(tmp.path(), "sweep.json", &profiles::sweep());
    let shown = stdout(gpubench(tmp.path()).args(["show", path.to_str().unwrap()]));
    assert!(shown.lines().all(|l| l.chars().count() <= 100), "{shown}");
    let text = flat(&shown);
    assert!(
        text.contains("Sweep: 4 of 4 points measured (2 dtypes × 3 shapes)"),
        "{text}"
    );
    assert!(
        text.contains("up to 4 candidate algorithms timed per shape (the library offered up to 8)"),
        "{text}"
    );
    assert!(
        text.contains("bf16: best 2048×2048×2048 at 700.0 TFLOPS"),
        "{text}"
    );
    // No per-row footnotes of the run table.
    assert!(!text.contains("cublasLtMatmul"), "{text}");
}

#[test]
fn cpu_sweep_says_the_backend_offers_one_algorithm() {
    let tmp = tempfile::tempdir().unwrap();
    let args = ["sweep", "--device", "cpu", "--n", "32,64"];
    let text = flat(&stdout(
        gpubench(tmp.path())
            .args(args)
            .args(SWEEP_FAST)
            .args(["-o", "s.json"]),
    ));
    assert!(
        text.contains("one algorithm per shape (the CPU backend offers no choice)"),
        "{text}"
    );
    assert!(!text.contains("candidate"), "{text}");
    let shown = stdout(gpubench(tmp.path()).args(["show", "s.json"]));
    assert!(shown.contains("Sweep: 2 of 2 points measured"), "{shown}");
}

#[test]
fn every_command_shows_examples() {
    let tmp = tempfile::tempdir().unwrap();
    for cmd in [
        "run",
        "show",
        "sweep",
        "plot",
        "compare",
        "estimate",
        "memory",
        "scale",
        "gpus",
        "models",
        "calibrate",
        "completions",
    ] {
        let text = stdout(gpubench(tmp.path()).args([cmd, "--help"]));
        assert!(text.contains("Examples:"), "{cmd} --help has no examples");
        assert!(text.contains(&format!("gpubench {cmd}")), "{cmd}: {text}");
    }
    let top = stdout(gpubench(tmp.path()).arg("--help"));
    assert!(
        top.contains("Examples:") && top.contains("completions"),
        "{top}"
    );
}

#[test]
fn completions_for_every_shell_and_a_man_page() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let s = stdout(gpubench(tmp.path()).args(["completions", shell]));
        assert!(s.contains("gpubench") && s.contains("calibrate"), "{shell}");
    }
    gpubench(tmp.path())
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("tcsh"));
    let man = stdout(gpubench(tmp.path()).arg("man"));
    assert!(
        man.contains(".TH gpubench 1"),
        "{}",
        &man[..200.min(man.len())]
    );
}

#[test]
fn exports_name_their_units() {
    let tmp = tempfile::tempdir().unwrap();
    let path = profiles::write(tmp.path(), "sweep.json", &profiles::sweep());
    let p = Profile::load(&path).unwrap();
    let csv = gpubench::export::csv::render(&p);
    let header = csv.lines().next().unwrap();
    for col in header.split(',') {
        let unitless = [
            "device",
            "backend",
            "dtype",
            "m",
            "n",
            "k",
            "batch",
            "samples",
            "efficiency_basis",
            "verified",
            "max_rel_error",
            "api",
            "compute_type",
            "algorithm",
        ];
        assert!(
            unitless.contains(&col) || col.contains('_') || col == "tflops",
            "CSV column {col} names no unit"
        );
    }
    assert!(header.contains("efficiency_fraction"), "{header}");
    let md = gpubench::export::markdown::render(&p);
    assert!(md.contains("efficiency (% of peak)") && md.contains("2026-11-23 10:00:00 UTC"));
}

#[test]
fn a_cpu_run_says_how_its_peak_is_derived() {
    let tmp = tempfile::tempdir().unwrap();
    let text = stdout(
        gpubench(tmp.path())
            .args(["run", "--device", "cpu", "--n", "64", "--no-save"])
            .args(fast("3")),
    );
    let text = flat(&text);
    assert!(
        text.contains("derived = cores × measured clock × FLOPs/cycle"),
        "{text}"
    );
    assert!(!text.contains("SMs × max clock"), "{text}");
}
