//! `gpubench comm` end to end on the emulated device with its emulated NCCL (see
//! `tests/emulated-device/src/nccl.rs`): one process driving four emulated GPUs, every
//! collective's result checked and its bus bandwidth equal to the configured one, a slow link
//! named, a wrong sum refused, a communicator that never forms timed out, the saved profile
//! read by `estimate --comm-profile`, a missing NCCL reported in one line, and three nodes'
//! `--results-dir` files compared by `gpubench report`, the node with a slow link flagged.

mod common;

use std::path::{Path, PathBuf};

use common::emulated::{self, Emu, Outcome, Variant};
use serde_json::Value;

/// Bus bandwidth the emulated NCCL is configured with (GB/s).
const BUSBW: f64 = 10.0;

/// Four GPUs, 0.1 µs launch cost and 1 µs NCCL latency, so that at 4 MiB a collective's time
/// is its bytes over the bus bandwidth to within 0.5 %.
fn machine() -> Emu {
    Emu::new()
        .set("DEVICES", 4)
        .set("LAUNCH_US", 0.1)
        .set("NCCL_LATENCY_US", 1)
        .set("NCCL_BUSBW_GBS", BUSBW)
}

/// `emu`, with NCCL when `nccl`.
fn with(emu: &Emu, nccl: bool) -> Emu {
    if nccl {
        emu.clone().with_nccl()
    } else {
        emu.clone()
    }
}

/// Runs `gpubench args…` in `dir` on `emu`, with NCCL when `nccl` (the harness fails the test
/// on a leak or on anything the emulator does not emulate).
fn run(emu: &Emu, dir: &Path, nccl: bool, args: &[&str]) -> Outcome {
    with(emu, nccl).run(dir, args)
}

const SIZES: [&str; 4] = ["--min-bytes", "1M", "--max-bytes", "4M"];

fn comm(emu: &Emu, dir: &Path, extra: &[&str]) -> Outcome {
    let mut a = vec!["comm"];
    a.extend(SIZES);
    a.extend(extra);
    run(emu, dir, true, &a)
}

#[test]
fn one_process_drives_four_gpus_at_the_configured_busbw() {
    let dir = tempfile::tempdir().unwrap();
    let out = comm(
        &machine(),
        dir.path(),
        &["--dtype", "bf16,fp32", "--save", "c.json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("every result checked"),
        "{}",
        out.stdout
    );
    let p: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("c.json")).unwrap()).unwrap();
    assert_eq!(p["kind"], "comm");
    assert_eq!(p["nccl"]["version"], "2.28.7");
    assert_eq!(p["ranks"], 4);
    let points = p["points"].as_array().unwrap();
    // 5 operations × 3 sizes × 2 dtypes
    assert_eq!(points.len(), 30);
    for pt in points {
        if pt["bytes"] == 4 << 20 {
            let bw = pt["busbw_gbps"].as_f64().unwrap();
            assert!((bw - BUSBW).abs() / BUSBW < 0.005, "{pt}");
        }
    }
    for scope in [
        "intra-all-reduce",
        "intra-all-gather",
        "intra-reduce-scatter",
        "intra-send-recv",
    ] {
        let c = p["curves"][scope].as_array().unwrap();
        assert_eq!(c.len(), 3, "{scope}");
        assert_eq!(c[2][0], 4 << 20);
    }
}

#[test]
fn the_slow_link_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let emu = machine()
        .set("NCCL_SLOW_RANK", 2)
        .set("NCCL_SLOW_FACTOR", 0.5);
    let out = comm(&emu, dir.path(), &["--op", "send_recv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("slowest send/recv pair"))
        .expect("a slowest pair");
    assert!(line.contains("cuda:1 -> cuda:2"), "{line}");
    let bw: f64 = line
        .split(" at ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((bw - BUSBW / 2.0).abs() < 0.05, "{line}");
}

#[test]
fn a_wrong_sum_is_an_error_not_a_figure() {
    let dir = tempfile::tempdir().unwrap();
    let emu = machine().set("NCCL_WRONG_SUM", 1);
    let out = comm(&emu, dir.path(), &["--op", "all_reduce"]);
    out.assert_one_error(3, &["all_reduce", "wrong result", "10 was expected"]);
    // no figure was printed for the wrong result
    assert!(!out.stdout.contains("all_reduce  bf16"), "{}", out.stdout);
}

#[test]
fn a_communicator_that_never_forms_is_timed_out() {
    let dir = tempfile::tempdir().unwrap();
    let emu = with(&machine().set("NCCL_HANG_INIT", 1), true).prepared();
    let t0 = std::time::Instant::now();
    // the harness fails the test on a communicator left open: each one was aborted
    let out = comm(&emu, dir.path(), &["--timeout", "1"]);
    out.assert_one_error(
        1,
        &[
            "ncclCommInitRankConfig",
            "within 1 s",
            "cuda:0, cuda:1, cuda:2, cuda:3 never formed",
            "aborted (ncclCommAbort)",
        ],
    );
    let took = t0.elapsed().as_secs_f64();
    assert!(took < 15.0, "gave up after {took:.1} s, not about 1 s");
}

#[test]
fn a_rank_that_never_joins_the_communicator_is_aborted_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let good = machine().set("DEVICES", 1);
    let hung = good.clone().set("NCCL_HANG_INIT", 1);
    for e in [&good, &hung] {
        let _ = e.clone().with_nccl().prepared();
    }
    let t0 = std::time::Instant::now();
    let ranks = [
        start_rank(&good, dir.path(), 0, 2, &["--timeout", "1"]),
        start_rank(&hung, dir.path(), 1, 2, &["--timeout", "1"]),
    ];
    // both met at the rendezvous; rank 1 never joins the communicator, so rank 0's never
    // forms either: each aborts its own after --timeout, leaving nothing open
    for (r, c) in ranks.into_iter().enumerate() {
        let (code, _, err) = finish_rank(c, dir.path(), r as u32);
        assert_eq!(code, 1, "rank {r}: {err}");
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("Error:")).collect();
        assert_eq!(errors.len(), 1, "rank {r}: {err}");
        for part in [
            "ncclCommInitRankConfig did not complete within 1 s",
            &format!("rank {r} of 2 waited for the other ranks"),
            "aborted (ncclCommAbort)",
        ] {
            assert!(
                errors[0].contains(part),
                "rank {r}: {part:?} in {}",
                errors[0]
            );
        }
    }
    let took = t0.elapsed().as_secs_f64();
    assert!(took < 20.0, "gave up after {took:.1} s, not about 1 s");
}

#[test]
fn the_profile_feeds_the_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let out = comm(
        &machine(),
        dir.path(),
        &["--op", "all_gather,reduce_scatter", "--save", "c.json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json = |extra: &[&str]| estimate(dir.path(), extra).0;
    let tp = |j: &Value| j["step_breakdown_s"]["tp_comm"].as_f64().unwrap();
    let base = json(&[]);
    let measured = json(&["--comm-profile", "c.json"]);
    // 10 GB/s measured against the table's hundreds: tensor-parallel time grows many times
    assert!(
        tp(&measured) > 10.0 * tp(&base),
        "{} vs {}",
        tp(&measured),
        tp(&base)
    );
}

/// The estimating docs' layout on h100-sxm in `dir` with `extra` flags, as JSON, and its
/// standard error (folded).
fn estimate(dir: &Path, extra: &[&str]) -> (Value, String) {
    let (out, err) = common::outputs(
        common::gpubench(dir)
            .args(common::planning::LLAMA70_LAYOUT)
            .args(["--gpu", "h100-sxm", "--json"])
            .args(extra),
    );
    (serde_json::from_str(&out).unwrap(), err)
}

/// One GPU's collectives cross no link (nccl-tests' bus factor is 0), so its profile has no
/// curve: the estimate says so and keeps the GPU table's links.
#[test]
fn a_one_gpu_profile_keeps_the_table_links_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = comm(
        &machine().set("DEVICES", 1),
        dir.path(),
        &["--op", "all_reduce,broadcast", "--save", "c.json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run = |extra: &[&str]| estimate(dir.path(), extra);
    let (base, quiet) = run(&[]);
    let (with, err) = run(&["--comm-profile", "c.json"]);
    assert!(quiet.is_empty(), "{quiet}");
    assert!(
        err.starts_with("warning: c.json holds no bus-bandwidth curve")
            && err.contains("every link comes from the GPU table"),
        "{err}"
    );
    assert_eq!(with["step_breakdown_s"], base["step_breakdown_s"]);
}

#[test]
fn missing_nccl_is_one_line_saying_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&machine(), dir.path(), false, &["comm"]);
    out.assert_one_error(
        1,
        &[
            "NCCL not found",
            "libnccl.so.2",
            "pip install nvidia-nccl-cu13",
        ],
    );
}

#[test]
fn bad_sizes_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &machine(),
        dir.path(),
        true,
        &["comm", "--min-bytes", "4M", "--max-bytes", "1M"],
    );
    out.assert_one_error(2, &["--min-bytes", "swap them"]);
    let out = run(
        &machine(),
        dir.path(),
        true,
        &["comm", "--max-bytes", "16G"],
    );
    out.assert_one_error(2, &["--max-bytes", "at most 8G"]);
}

/// Starts rank `rank` of `world` as its own process (one emulated GPU each), meeting the others
/// through a folder; its emulated NCCL's files go to the test's folder.
fn start_rank(emu: &Emu, dir: &Path, rank: u32, world: u32, extra: &[&str]) -> std::process::Child {
    let report = dir.join(format!(".emu-report-{rank}"));
    let (r, w) = (rank.to_string(), world.to_string());
    let rdv = format!("file:{}", dir.join("rdv").display());
    let mut args = vec![
        "comm",
        "--rank",
        &r,
        "--world-size",
        &w,
        "--rendezvous",
        &rdv,
    ];
    args.extend(SIZES);
    args.extend(extra);
    std::process::Command::new(env!("CARGO_BIN_EXE_gpubench"))
        .current_dir(dir)
        .env_remove("CUDA_VISIBLE_DEVICES")
        .envs(emu.clone().with_nccl().envs(&report))
        .env("PATH", "/nonexistent")
        .env("TMPDIR", dir)
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting a rank")
}

/// Waits for a rank (at most two minutes) and returns (exit code, stdout, stderr).
fn finish_rank(mut c: std::process::Child, dir: &Path, rank: u32) -> (i32, String, String) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while c.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = c.kill();
            panic!("rank {rank} did not finish in two minutes");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = c.wait_with_output().unwrap();
    let report = dir.join(format!(".emu-report-{rank}"));
    let leaks = std::fs::read_to_string(&report).unwrap_or_default();
    assert!(leaks.is_empty(), "rank {rank} left unreleased:\n{leaks}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn three_processes_one_rank_each() {
    let dir = tempfile::tempdir().unwrap();
    let emu = machine()
        .set("DEVICES", 1)
        .set("NCCL_SLOW_RANK", 2)
        .set("NCCL_SLOW_FACTOR", 0.5);
    let extra = [
        "--op",
        "all_reduce,all_gather,send_recv",
        "--save",
        "c.json",
    ];
    let ranks: Vec<_> = (0..3)
        .map(|r| start_rank(&emu, dir.path(), r, 3, &extra))
        .collect();
    let outs: Vec<_> = ranks
        .into_iter()
        .enumerate()
        .map(|(r, c)| finish_rank(c, dir.path(), r as u32))
        .collect();
    for (r, (code, _, err)) in outs.iter().enumerate() {
        assert_eq!(*code, 0, "rank {r}: {err}");
    }
    // rank 0 alone prints and saves
    assert!(
        outs[0].1.contains("3 rank(s), one process each, one host"),
        "{}",
        outs[0].1
    );
    assert!(outs[1].1.is_empty() && outs[2].1.is_empty());
    assert!(
        outs[0]
            .1
            .contains("slowest send/recv pair: rank 1 -> rank 2"),
        "{}",
        outs[0].1
    );
    let p: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("c.json")).unwrap()).unwrap();
    assert_eq!(p["ranks"], 3);
    assert_eq!(p["span"], "node");
    // rank 2's link is the slow one, and every collective includes it: half the busbw
    let last = p["curves"]["intra-all-reduce"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    let bw = last[1].as_f64().unwrap();
    assert!((bw - BUSBW / 2.0).abs() / (BUSBW / 2.0) < 0.005, "{last}");
}

#[test]
fn a_rank_that_never_comes_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let emu = machine().set("DEVICES", 1);
    let extra = ["--rendezvous-timeout", "2"];
    let ranks: Vec<_> = (0..2)
        .map(|r| start_rank(&emu, dir.path(), r, 3, &extra))
        .collect();
    let outs: Vec<_> = ranks
        .into_iter()
        .enumerate()
        .map(|(r, c)| finish_rank(c, dir.path(), r as u32))
        .collect();
    let (code, _, err) = &outs[0];
    assert_eq!(*code, 1, "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("Error:")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains("rank 2 never arrived"), "{}", errors[0]);
}

#[test]
fn a_hung_collective_is_aborted() {
    let dir = tempfile::tempdir().unwrap();
    // the first size's warm-up goes through; then every call blocks until aborted
    let emu = machine().set("NCCL_HANG_AFTER", 2);
    let out = comm(&emu, dir.path(), &["--op", "all_reduce", "--timeout", "1"]);
    out.assert_one_error(
        1,
        &["all_reduce of 1.00 MiB", "within 1 s", "ncclCommAbort"],
    );
}

#[test]
fn nccl_is_found_in_a_pip_wheel_layout() {
    // pip install --user nvidia-nccl-cu13 puts libnccl.so.2 under the user site-packages'
    // nvidia/nccl/lib, which is not on the loader's path: gpubench asks python3 where that is
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("userbase");
    let q = std::process::Command::new("python3")
        .env("PYTHONUSERBASE", &base)
        .args(["-c", "import site; print(site.getusersitepackages())"])
        .output()
        .expect("python3 is needed to test the pip wheel layout");
    let site = PathBuf::from(String::from_utf8_lossy(&q.stdout).trim());
    let lib = site.join("nvidia/nccl/lib");
    std::fs::create_dir_all(&lib).unwrap();
    std::os::unix::fs::symlink(emulated::library(Variant::Full), lib.join("libnccl.so.2")).unwrap();
    let report = dir.path().join(".emu-report");
    let out = common::gpubench(dir.path())
        .env_remove("CUDA_VISIBLE_DEVICES")
        .envs(machine().envs(&report))
        .env("PYTHONUSERBASE", &base)
        .args(["comm", "--op", "broadcast"])
        .args(SIZES)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = format!("({})", lib.join("libnccl.so.2").display());
    assert!(stdout.contains(&found), "{stdout}");
    assert_eq!(std::fs::read_to_string(&report).unwrap_or_default(), "");
}

/// `gpubench comm --results-dir DIR` on node `host` (`SLURMD_NODENAME`, as Slurm names it).
fn node_comm(emu: &Emu, dir: &Path, results: &Path, host: &str, extra: &[&str]) -> Outcome {
    let results = results.to_str().unwrap();
    let mut a = vec![
        "--op",
        "all_reduce,send_recv",
        "--iters",
        "5",
        "--results-dir",
        results,
    ];
    a.extend(extra);
    comm(&emu.clone().var("SLURMD_NODENAME", host), dir, &a)
}

#[test]
fn nodes_links_are_compared_and_the_slow_node_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("links");
    for host in ["gpu01", "gpu02", "gpu03"] {
        let emu = if host == "gpu02" {
            // one slow link on this node: every collective over its GPUs, and the pair into cuda:2
            machine()
                .set("NCCL_SLOW_RANK", 2)
                .set("NCCL_SLOW_FACTOR", 0.5)
        } else {
            machine()
        };
        let out = node_comm(&emu, dir.path(), &results, host, &[]);
        assert_eq!(out.code, 0, "{host}: {}", out.stderr);
        let p: Value = serde_json::from_str(
            &std::fs::read_to_string(results.join(format!("comm-{host}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(p["host"], host);
        assert_eq!(p["span"], "node");
    }
    // a node's file is not replaced by a later run without --force, before anything runs
    node_comm(&machine(), dir.path(), &results, "gpu01", &[])
        .assert_one_error(2, &["already holds comm-gpu01.json", "--force"]);

    let report = common::gpubench(dir.path())
        .args(["report", results.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_eq!(report.status.code(), Some(4), "{report:?}");
    let s: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(s["bad_hosts"], serde_json::json!(["gpu02"]), "{s}");
    assert_eq!(s["ok"], false);
    let flagged = s["links"]["flagged"].as_array().unwrap();
    let ops: Vec<&str> = flagged.iter().map(|f| f["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["all_reduce", "send_recv"], "{s}");
    for f in flagged {
        assert_eq!(f["host"], "gpu02", "{f}");
        assert_eq!(f["bytes"], 4 << 20, "{f}");
        assert_eq!(f["reason"], "busbw_below_median");
        let ratio = f["busbw_gbps"].as_f64().unwrap() / f["median_busbw_gbps"].as_f64().unwrap();
        assert!((ratio - 0.5).abs() < 0.02, "{f}");
    }
    assert_eq!(flagged[0]["slowest_pair"], Value::Null);
    assert_eq!(flagged[1]["slowest_pair"]["from"], "cuda:1", "{s}");
    assert_eq!(flagged[1]["slowest_pair"]["to"], "cuda:2", "{s}");

    // the text names the node, what and why
    let text = common::gpubench(dir.path())
        .args(["report", results.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(4));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("gpu02 send_recv bf16 at 4.00 MiB: busbw")
            && text.contains("slowest pair cuda:1 -> cuda:2"),
        "{text}"
    );
    assert!(text.contains("Bad hosts: gpu02"), "{text}");
    // a looser threshold passes every node
    let loose = common::gpubench(dir.path())
        .args(["report", results.to_str().unwrap(), "--threshold", "0.4"])
        .output()
        .unwrap();
    assert_eq!(loose.status.code(), Some(0), "{loose:?}");

    // The folder feeds a layout estimate as the median of its nodes: the slow node does not set
    // the pace. A job's inter-node file can join it, each scope from one of them.
    let (j, _) = estimate(dir.path(), &["--comm-profile", "links"]);
    let ar = &j["hardware"]["links_busbw_gbps_at_1gb"]["intra-node all-reduce"];
    assert!(
        (ar["busbw_gbps"].as_f64().unwrap() - BUSBW).abs() < 0.05 * BUSBW,
        "{ar}"
    );
    assert!(
        ar["note"]
            .as_str()
            .unwrap()
            .starts_with("measured, median of 3 nodes in links"),
        "{ar}"
    );
    std::fs::write(
        dir.path().join("job.json"),
        r#"{"kind":"comm","curves":{"inter-node":[[1e6,5],[1e10,20]]}}"#,
    )
    .unwrap();
    let (j, _) = estimate(
        dir.path(),
        &["--comm-profile", "links", "--comm-profile", "job.json"],
    );
    let inter = &j["hardware"]["links_busbw_gbps_at_1gb"]["inter-node collectives"];
    assert_eq!(inter["note"], "measured, job.json", "{inter}");
    // A folder with no comm profile, and one scope from two places, are one-line errors.
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    for (args, want) in [
        (
            vec!["--comm-profile", "empty"],
            "empty: the folder holds no communication profile",
        ),
        (
            vec![
                "--comm-profile",
                "links",
                "--comm-profile",
                "links/comm-gpu01.json",
            ],
            "both links and links/comm-gpu01.json measure intra-all-reduce",
        ),
    ] {
        common::one_line_error(
            common::gpubench(dir.path())
                .args(common::planning::LLAMA70_LAYOUT)
                .args(["--gpu", "h100-sxm"])
                .args(&args),
            2,
            &[want],
        );
    }
}

#[test]
fn results_dir_is_one_process_per_node() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("links");
    // the second task of a node under srun
    let emu = machine()
        .var("SLURM_PROCID", 1)
        .var("SLURM_NTASKS", 2)
        .var("SLURM_LOCALID", 1);
    node_comm(&emu, dir.path(), &results, "gpu01", &[])
        .assert_one_error(2, &["--results-dir", "one task per node"]);
    node_comm(&machine(), dir.path(), &results, "gpu01", &["--rank", "0"])
        .assert_one_error(2, &["--results-dir", "--rank"]);
}
