//! `gpubench estimate --calibration`: a tiny CPU calibration (`gpubench calibrate`) becomes
//! the calibrated column beside the spec sheet, checked against `load_throughput`; a
//! calibration of another architecture is refused (exit 2).

mod estimate_fixture;

use estimate_fixture::*;
use gpubench::calibrate::file::load_throughput;

const TINY: &str = r#"{"model_type":"llama","hidden_size":64,"intermediate_size":96,
 "num_attention_heads":4,"num_key_value_heads":2,"num_hidden_layers":2,"vocab_size":100,
 "max_position_embeddings":64,"tie_word_embeddings":false,"_name_or_path":"tiny-llama"}"#;

#[test]
fn calibration_is_the_calibrated_column() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.json");
    std::fs::write(&cfg, TINY).unwrap();
    let cal = dir.path().join("cal.json");
    let (cfg_s, cal_s) = (cfg.to_str().unwrap(), cal.to_str().unwrap());
    text(&[
        "calibrate",
        "--model-config",
        cfg_s,
        "--seq",
        "32",
        "--device",
        "cpu",
        "--warmup-iters",
        "1",
        "--warmup-time",
        "0",
        "--iters",
        "2",
        "--min-time",
        "0",
        "--out",
        cal_s,
    ]);
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
