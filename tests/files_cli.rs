//! Result files through the built binary: nothing written over a device, FIFO or folder, no
//! measurement lost to a bad path or to another run saving at the same moment, partial work
//! marked as such, and temporary files of killed processes cleaned up.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{gpubench, json_files, one_line_error, spawn_slow_sweep, wait_for_results, QUICK_RUN};
use gpubench::profile::Profile;
use predicates::prelude::*;

/// A quick CPU run in `dir` with `extra` arguments: refused as a usage error naming `needle`.
fn refused(dir: &Path, extra: &[&str], needle: &str) {
    one_line_error(gpubench(dir).args(QUICK_RUN).args(extra), 2, &[needle]);
}

#[cfg(unix)]
#[test]
fn devices_fifos_and_folders_are_refused_and_untouched() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    for dev in ["/dev/null", "/dev/full"] {
        refused(dir.path(), &["--out", dev, "--force"], "is a device");
        assert!(std::fs::metadata(dev).unwrap().file_type().is_char_device());
    }
    let fifo = dir.path().join("pipe");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    refused(
        dir.path(),
        &["--out", fifo.to_str().unwrap(), "--force"],
        "FIFO",
    );
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    refused(
        dir.path(),
        &["--export-csv", "/dev/null", "--force"],
        "--export-csv /dev/null: is a device",
    );
    refused(dir.path(), &["--out", "somedir/"], "is a folder path");
    assert!(json_files(dir.path()).is_empty());
}

#[cfg(unix)]
#[test]
fn bad_paths_fail_before_measuring() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("dangling.json");
    std::os::unix::fs::symlink(dir.path().join("gone/p.json"), &link).unwrap();
    refused(
        dir.path(),
        &["--out", link.to_str().unwrap(), "--force"],
        "which does not exist",
    );
    refused(
        dir.path(),
        &["--out", "newdir/p.json"],
        "folder newdir does not exist",
    );
    // Not even root can create files in /proc.
    refused(
        dir.path(),
        &["--export-markdown", "/proc/gpubench.md"],
        "--export-markdown /proc/gpubench.md",
    );
    refused(
        dir.path(),
        &["--results-dir", "/proc/gpubench-results"],
        "--results-dir /proc/gpubench-results",
    );
    assert!(!dir.path().join("results").exists());
}

#[test]
fn two_runs_saving_into_one_folder_at_once_keep_both() {
    for force in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let exe = assert_cmd::cargo::cargo_bin("gpubench");
        let children: Vec<_> = (0..2)
            .map(|_| {
                let mut c = std::process::Command::new(&exe);
                c.current_dir(dir.path()).args(QUICK_RUN);
                if force {
                    c.arg("--force");
                }
                c.stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut saved = Vec::new();
        for c in children {
            let out = c.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let line = stdout
                .lines()
                .find_map(|l| l.strip_prefix("Profile saved: "))
                .unwrap()
                .to_string();
            saved.push(line);
        }
        assert_ne!(saved[0], saved[1]);
        assert_eq!(json_files(&dir.path().join("results")).len(), 2);
    }
}

#[cfg(unix)]
#[test]
fn a_killed_sweep_leaves_a_valid_file_marked_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep.json");
    let mut child = spawn_slow_sweep(&out, false);
    wait_for_results(&out, 2, Duration::from_secs(30));
    child.kill().unwrap(); // SIGKILL: no chance to mark anything
    child.wait().unwrap();
    let p = Profile::load(&out).unwrap();
    assert_eq!(p.planned_results, Some(100));
    let why = p.incomplete().unwrap();
    assert!(why.contains("of 100 planned results"), "{why}");
    gpubench(dir.path())
        .arg("show")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("Not complete (incomplete: "));
    gpubench(dir.path())
        .args([
            "estimate",
            "--params",
            "7e9",
            "--tokens",
            "1e12",
            "--gpus",
            "8",
            "--profile",
        ])
        .arg(&out)
        .assert()
        .stderr(predicate::str::contains("of 100 planned results"));

    // A temporary file left by a process that no longer exists is removed by the next save.
    let mut t = std::process::Command::new("true").spawn().unwrap();
    let dead = t.id();
    t.wait().unwrap();
    let stale = dir.path().join(format!(".gpubench-{dead}-Zq81xy.tmp"));
    std::fs::write(&stale, vec![b' '; 1 << 20]).unwrap();
    gpubench(dir.path())
        .args(QUICK_RUN)
        .arg("--out")
        .arg(dir.path().join("next.json"))
        .assert()
        .success();
    assert!(!stale.exists());
}

#[test]
fn a_finished_run_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json");
    gpubench(dir.path())
        .args(QUICK_RUN)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let p = Profile::load(&out).unwrap();
    assert_eq!(p.planned_results, Some(1));
    assert_eq!(p.incomplete(), None);
}
