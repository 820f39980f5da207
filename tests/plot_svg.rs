//! `gpubench plot` through the binary: the SVG parses as XML and holds the expected series,
//! for a sweep and for a sustained run; bad output paths are usage errors.

mod common;

use common::{bin, one_line_error, profiles};
use predicates::prelude::*;

fn texts(svg: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).expect("the plot is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(|t| t.trim().to_string())
        .collect()
}

fn plot(fixture: &serde_json::Value) -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let p = profiles::write(dir.path(), "p.json", fixture);
    let out = dir.path().join("out.svg");
    bin()
        .args(["plot", p.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("written to"));
    let svg = std::fs::read_to_string(&out).unwrap();
    let t = texts(&svg);
    (dir, t)
}

fn has(texts: &[String], want: &str) -> bool {
    texts.iter().any(|t| t == want)
}

#[test]
fn sweep_plot_has_measured_peaks_and_failures() {
    let (_d, t) = plot(&profiles::sweep());
    for want in [
        "bf16 measured",
        "bf16 spec peak 989.4 TFLOPS (h100-sxm)",
        "bf16 derived peak 1,070.5 TFLOPS",
        "fp16 FAILED verification",
        "best bf16: 2048×2048×2048 at 700.0 TFLOPS",
        "n (m = n = k)",
        "TFLOPS",
    ] {
        assert!(has(&t, want), "missing '{want}' in {t:?}");
    }
}

#[test]
fn non_square_shapes_use_a_log_axis() {
    let v = profiles::profile(
        "sweep",
        "NVIDIA H100 80GB HBM3",
        "2026-11-23T10:00:00Z",
        vec![
            profiles::result("bf16", 2048, 2048, 13312, 790.0, true),
            profiles::result("bf16", 1024, 4096, 8192, 700.0, true),
        ],
    );
    let (_d, t) = plot(&v);
    assert!(has(&t, "m·n·k (log scale)"), "{t:?}");
    assert!(
        has(&t, "best bf16: 2048×2048×13312 at 790.0 TFLOPS"),
        "{t:?}"
    );
}

#[test]
fn sustained_plot_has_telemetry_over_time() {
    let (_d, t) = plot(&profiles::sustained());
    for want in [
        "TFLOPS (measured, per window)",
        "SM clock (MHz, NVML)",
        "power (W, NVML)",
        "time (s)",
    ] {
        assert!(has(&t, want), "missing '{want}' in {t:?}");
    }
}

#[test]
fn default_output_and_bad_paths() {
    let dir = tempfile::tempdir().unwrap();
    let p = profiles::write(dir.path(), "p.json", &profiles::sweep());
    bin().args(["plot", p.to_str().unwrap()]).assert().success();
    assert!(dir.path().join("p.svg").exists());
    // Existing file, PNG, and a missing profile: one-line usage errors, exit 2.
    for args in [
        vec!["plot", p.to_str().unwrap()],
        vec!["plot", p.to_str().unwrap(), "-o", "x.png"],
        vec!["plot", "no-such.json", "-o", "y.svg"],
    ] {
        one_line_error(bin().current_dir(dir.path()).args(&args), 2, &[]);
    }
    assert!(!dir.path().join("x.png").exists());
    assert!(!dir.path().join("y.svg").exists());
}
