//! Result files through the built binary: nothing written over a device, FIFO or folder, no
//! measurement lost to a bad path or to another run saving at the same moment, partial work
//! marked as such, and temporary files of killed processes cleaned up.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{gpubench, json_files, one_line_error, results_in, QUICK_RUN};
use gpubench::profile::Profile;
use predicates::prelude::*;

#[cfg(unix)]
#[test]
fn devices_fifos_and_folders_are_refused_and_untouched() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    for dev in ["/dev/null", "/dev/full"] {
        one_line_error(
            gpubench(dir.path())
                .args(QUICK_RUN)
                .args(["--out", dev, "--force"]),
            2,
            &["is a device"],
        );
        assert!(std::fs::metadata(dev).unwrap().file_type().is_char_device());
    }
    let fifo = dir.path().join("pipe");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    one_line_error(
        gpubench(dir.path())
            .args(QUICK_RUN)
            .arg("--out")
            .arg(&fifo)
            .arg("--force"),
        2,
        &["FIFO"],
    );
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    one_line_error(
        gpubench(dir.path())
            .args(QUICK_RUN)
            .arg("--export-csv")
            .arg("/dev/null")
            .arg("--force"),
        2,
        &["--export-csv /dev/null: is a device"],
    );
    one_line_error(
        gpubench(dir.path())
            .args(QUICK_RUN)
            .args(["--out", "somedir/"]),
        2,
        &["is a folder path"],
    );
    assert!(json_files(dir.path()).is_empty());
}

#[cfg(unix)]
#[test]
fn bad_paths_fail_before_measuring() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("dangling.json");
    std::os::unix::fs::symlink(dir.path().join("gone/p.json"), &link).unwrap();
    one_line_error(
        gpubench(dir.path())
            .args(QUICK_RUN)
            .arg("--out")
            .arg(&link)
            .arg("--force"),
        2,
        &["which does not exist"],
    );
    one_line_error(
        gpubench(dir.path())
            .args(QUICK_RUN)
            .args(["--out", "newdir/p.json"]),
        2,
        &["folder newdir does not exist"],
    );
    // Not even root can create files in /proc.
    one_line_error(
        gpubench(dir.path())
            .args(QUICK_RUN)
            .args(["--export-markdown", "/proc/gpubench.md"]),
        2,
        &["--export-markdown /proc/gpubench.md"],
    );
    one_line_error(
        gpubench(dir.path())
            .args(QUICK_RUN)
            .args(["--results-dir", "/proc/gpubench-results"]),
        2,
        &["--results-dir /proc/gpubench-results"],
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
    let exe = assert_cmd::cargo::cargo_bin("gpubench");
    let mut child = std::process::Command::new(exe)
        .args([
            "sweep",
            "--device",
            "cpu",
            "--n",
            "8:800:8",
            "--min-time",
            "0.03",
        ])
        .args(["--warmup-time", "0", "--settle-time", "0", "-o"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while results_in(&out) < 2 {
        assert!(t0.elapsed() < Duration::from_secs(30), "no points saved");
        std::thread::sleep(Duration::from_millis(5));
    }
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
