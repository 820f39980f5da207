//! `gpubench compare A B` through the binary: shapes matched by dtype, ratios B / A, the
//! best of each dtype, and what only one profile has.

mod common;

use common::{bin, one_line_error, profiles, stdout};

#[test]
fn side_by_side_with_ratios() {
    let dir = tempfile::tempdir().unwrap();
    let a = profiles::profile(
        "run",
        "NVIDIA A100-SXM4-80GB",
        "2026-11-20T10:00:00Z",
        vec![
            profiles::result("bf16", 8192, 8192, 8192, 250.0, true),
            profiles::result("fp16", 8192, 8192, 8192, 260.0, true),
        ],
    );
    let b = profiles::profile(
        "run",
        "NVIDIA H100 80GB HBM3",
        "2026-11-21T10:00:00Z",
        vec![
            profiles::result("bf16", 8192, 8192, 8192, 750.0, true),
            profiles::result("bf16", 4096, 4096, 4096, 600.0, true),
        ],
    );
    let pa = profiles::write(dir.path(), "a.json", &a);
    let pb = profiles::write(dir.path(), "b.json", &b);
    let out = stdout(bin().args(["compare", pa.to_str().unwrap(), pb.to_str().unwrap()]));
    assert!(
        out.contains("A = ") && out.contains("NVIDIA A100-SXM4-80GB"),
        "{out}"
    );
    assert!(
        out.contains("B = ") && out.contains("NVIDIA H100 80GB HBM3"),
        "{out}"
    );
    let row = out
        .lines()
        .find(|l| l.starts_with("bf16") && l.contains("8192×8192×8192"))
        .expect("a matched bf16 row");
    assert!(
        row.contains("250.0") && row.contains("750.0") && row.contains("3.000×"),
        "{row}"
    );
    let best = out
        .lines()
        .find(|l| l.starts_with("bf16") && l.contains("(8192×8192×8192)"))
        .expect("a best-of-dtype row");
    assert!(best.contains("3.000×"), "{best}");
    assert!(out.contains("Only in A: fp16 8192×8192×8192"), "{out}");
    assert!(out.contains("Only in B: bf16 4096×4096×4096"), "{out}");
    // One stamp style (no "T…Z"), and the notes fit 100 columns.
    assert!(out.contains("run 2026-11-20 10:00:00 UTC"), "{out}");
    assert!(out.lines().all(|l| l.chars().count() <= 100), "{out}");
}

#[test]
fn bad_profiles_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = profiles::write(dir.path(), "a.json", &profiles::sweep());
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{not json").unwrap();
    one_line_error(
        bin().args(["compare", good.to_str().unwrap(), bad.to_str().unwrap()]),
        2,
        &["bad.json"],
    );
}
