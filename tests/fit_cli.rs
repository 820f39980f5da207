//! The planning commands' reports (and calibrate's) through the built binary: every line fits
//! 100 columns by default (standard output and warnings alike), and `--wide` keeps the columns
//! left out.

mod common;

use common::planning::LLAMA70_LAYOUT;
use common::{flat, json, text};

/// Asserts every line of `out` (from `args`) is at most 100 characters.
fn fits(args: &[&str], out: &str) {
    for line in out.lines() {
        assert!(
            line.chars().count() <= 100,
            "{args:?}: a line of {} characters:\n{line}\n\n{out}",
            line.chars().count()
        );
    }
}

const COMMANDS: &[&[&str]] = &[
    &[
        "estimate",
        "--model",
        "llama-2-70b",
        "--gpus",
        "1024",
        "--tp",
        "8",
        "--pp",
        "4",
        "--global-batch",
        "1024",
        "--zero",
        "3",
        "--gpu",
        "a100",
    ],
    &[
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
    ],
    &[
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
    ],
    &["memory", "--model", "llama-2-70b", "--gpu", "h100-sxm"],
    &[
        "memory",
        "--model",
        "llama-3.1-405b",
        "--gpu",
        "h200-sxm",
        "--zero",
        "3",
        "--gpus",
        "64",
    ],
    &["memory", "--params", "7B", "--gpu", "a100"],
    &["scale", "--model", "llama-2-7b"],
    &["scale", "--compute", "1e23"],
    &[
        "estimate", "--model", "llama-7b", "--gpus", "64", "--gpu", "h100-sxm",
    ],
    &[
        "estimate",
        "--model",
        "llama-65b",
        "--gpus",
        "2048",
        "--gpu",
        "a100",
        "--dataset-tokens",
        "500B",
    ],
    &[
        "estimate",
        "--model",
        "llama-7b",
        "--gpus",
        "64",
        "--gpu",
        "a100",
        "--price-per-gpu-hour",
        "2.5",
    ],
    &[
        "estimate",
        "--model",
        "llama-7b",
        "--gpus",
        "64",
        "--gpu",
        "h100-sxm",
        "--measured-tflops",
        "794.5",
        "--price-per-gpu-hour",
        "2.5",
    ],
    &[
        "estimate",
        "--model",
        "llama-2-70b",
        "--gpus",
        "8",
        "--tp",
        "1",
        "--global-batch",
        "8",
        "--gpu",
        "a100",
    ],
    &[
        "calibrate",
        "--model",
        "llama-2-70b",
        "--tp",
        "8",
        "--seq",
        "4096",
        "--dry-run",
    ],
    &["gpus"],
    &["gpus", "b200"],
    &["models"],
    &["models", "llama-2-70b"],
    &["models", "gpt2"],
];

#[test]
fn every_planning_view_fits_100_columns() {
    let layout = [&LLAMA70_LAYOUT[..], &["--gpu", "h100-sxm"]].concat();
    for args in std::iter::once(layout.as_slice()).chain(COMMANDS.iter().copied()) {
        let (out, err) = text(args);
        assert!(!out.is_empty(), "{args:?}");
        fits(args, &out);
        fits(args, &err);
    }
}

/// A measured calibration (on the CPU, of a tiny model) fits too.
#[test]
fn a_calibration_fits_100_columns() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::tiny_config(dir.path());
    let args = [
        "calibrate",
        "--model-config",
        &cfg,
        "--seq",
        "32",
        "--tp",
        "2",
        "--device",
        "cpu",
        "--no-save",
    ];
    let (text, _) = common::outputs(
        common::gpubench(dir.path())
            .args(args)
            .args(common::fast("2")),
    );
    assert!(text.contains("predicted step time"), "{text}");
    fits(&args, &text);
}

#[test]
fn wrapping_keeps_every_word() {
    // The sources line of `scale` and a GPU's datasheet are wrapped, not cut.
    let (out, _) = text(&["scale", "--model", "llama-2-7b"]);
    assert!(
        flat(&out).contains("far beyond that it is an extrapolation. Growth factor 10 (default)."),
        "{out}"
    );
    let (out, _) = text(&["gpus"]);
    let v = json(&["gpus"]);
    for g in v.as_array().unwrap() {
        let line = format!(
            "{}: {}",
            g["key"].as_str().unwrap(),
            g["source"].as_str().unwrap()
        );
        assert!(flat(&out).contains(&flat(&line)), "{line} in {out}");
    }
}

#[test]
fn wide_keeps_the_columns_left_out() {
    let cases: [(&[&str], &[&str]); 3] = [
        (COMMANDS[1], &["compute", "bubble", "p2p"]),
        (&["gpus"], &["aliases"]),
        (&["models"], &["mlp"]),
    ];
    for (args, dropped) in cases {
        let (out, _) = text(args);
        let heading = |text: &str| -> Vec<String> {
            text.lines()
                .nth(1)
                .unwrap()
                .split("  ")
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .collect()
        };
        let fit = heading(&out);
        let left_out = format!(
            "Columns left out to fit 100 characters: {} (--wide shows every column).",
            dropped.join(", ")
        );
        assert!(out.contains(&left_out), "{args:?}: {out}");
        let wide_args: Vec<&str> = args.iter().copied().chain(["--wide"]).collect();
        let (wide, _) = text(&wide_args);
        let all = heading(&wide);
        for d in dropped {
            assert!(!fit.iter().any(|h| h == d), "{args:?}: {out}");
            assert!(all.iter().any(|h| h == d), "{args:?} --wide: {wide}");
        }
        assert!(!wide.contains("Columns left out"), "{wide}");
        // The same rows either way: every row's first cell is in both.
        let firsts = |text: &str| -> Vec<String> {
            text.lines()
                .skip(2)
                .take_while(|l| l.starts_with("  "))
                .map(|l| l.split_whitespace().next().unwrap().to_string())
                .collect()
        };
        assert_eq!(firsts(&out), firsts(&wide), "{out}\n{wide}");
        assert!(firsts(&out).len() >= 5, "{out}");
    }
    // Wide rows carry the left-out figures: an alias, a gated MLP.
    let (wide, _) = text(&["gpus", "--wide"]);
    assert!(wide.contains("h100, h100-sxm5"), "{wide}");
    let (wide, _) = text(&["models", "--wide"]);
    assert!(wide
        .lines()
        .any(|l| l.starts_with("  llama-7b") && l.ends_with("gated")));
}
