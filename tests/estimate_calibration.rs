//! `gpubench estimate --calibration`: a tiny CPU calibration (`gpubench calibrate`) becomes
//! the calibrated column beside the spec sheet, checked against `load_throughput`; a
//! calibration of another architecture is refused (exit 2).

mod common;

use common::{close, fast, json, text, tiny_config, usage_error};
use gpubench::calibrate::file::load_throughput;

#[test]
fn calibration_is_the_calibrated_column() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny_config(dir.path());
    let cal = dir.path().join("cal.json");
    let (cfg_s, cal_s) = (cfg.as_str(), cal.to_str().unwrap());
    let mut calibrate = vec!["calibrate", "--model-config", cfg_s, "--seq", "32"];
    calibrate.extend(["--device", "cpu"]);
    calibrate.extend(fast("2"));
    calibrate.extend(["--out", cal_s]);
    text(&calibrate);
    let want = load_throughput(&cal, None).unwrap();
    let v = json(&[
        "estimate",
        "--model-config",
        cfg_s,
        "--tokens",
        "1B",
        "--gpus",
        "4",
        "--calibration",
        cal_s,
        "--peak-tflops",
        "1",
    ]);
    let sc = v["scenarios"].as_array().unwrap();
    assert_eq!(sc.len(), 2);
    assert_eq!(sc[0]["scenario"], "spec sheet");
    assert_eq!(sc[1]["scenario"], "calibrated");
    assert_eq!(v["scenario"], "calibrated");
    assert_eq!(
        sc[1]["tokens_per_sec_per_gpu"].as_f64().unwrap(),
        want.tokens_per_sec_per_gpu
    );
    assert!(v["sources"]["tokens_per_sec_per_gpu"]
        .as_str()
        .unwrap()
        .starts_with("measured, calibrated: tiny-llama"));
    let days = sc[1]["days"].as_f64().unwrap();
    assert!(close(
        days * 86400.0,
        1e9 / (4.0 * want.tokens_per_sec_per_gpu),
        1e-12
    ));
    // Another model: refused, naming both.
    usage_error(
        &[
            "estimate",
            "--model",
            "llama-7b",
            "--gpus",
            "4",
            "--gpu",
            "a100",
            "--calibration",
            cal_s,
        ],
        &["cal.json", "tiny-llama", "llama-7b"],
    );
    // It replaces the other calibrated sources rather than mixing with them.
    usage_error(
        &[
            "estimate",
            "--model-config",
            cfg_s,
            "--tokens",
            "1B",
            "--gpus",
            "4",
            "--calibration",
            cal_s,
            "--measured-tflops",
            "10",
        ],
        &["--calibration", "--measured-tflops"],
    );
}
