//! Helpers shared by the integration tests that run the built `gpubench` binary: the command in
//! a temporary directory, short timing flags, and the files a run left behind; plus the real
//! NVIDIA libraries (`nvidia`) and the emulated GPU (`emulated`).
//!
//! Use with `mod common;` in a test file; each test binary uses only part of it.

#![allow(dead_code)]

pub mod emulated;
pub mod nvidia;

use std::path::Path;

use assert_cmd::Command;

/// The built `gpubench` binary, run in `dir` (where `results/` lands).
pub fn gpubench(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gpubench"));
    c.current_dir(dir);
    c
}

/// Short timing so a run takes well under a second.
pub const FAST: [&str; 8] = [
    "--warmup-iters",
    "1",
    "--warmup-time",
    "0",
    "--iters",
    "3",
    "--min-time",
    "0",
];

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
