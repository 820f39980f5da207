//! Cluster runs through the built binary on the CPU backend: several `gpubench run`
//! processes started with the variables Slurm's srun and torchrun set, each writing its rank
//! file into one folder; `gpubench report` merging them and naming a missing rank, a slowed
//! rank and a rank that stopped early; the TCP and shared-folder rendezvous between real
//! processes, with a rank that never comes; and the bad-input cases (one line, exit 2).

mod common;

use std::path::Path;
use std::process::{Command as StdCommand, Output, Stdio};

use assert_cmd::Command;
use common::{fast, one_line_error, read_json, std_bin, write_json};
use serde_json::Value;

/// Every variable a launcher sets that gpubench reads: removed from each child so the tests
/// see only the variables they set (the test itself may run inside a Slurm job).
const LAUNCHER_VARS: [&str; 22] = [
    "RANK",
    "WORLD_SIZE",
    "LOCAL_RANK",
    "MASTER_ADDR",
    "MASTER_PORT",
    "TORCHELASTIC_RUN_ID",
    "TORCHELASTIC_USE_AGENT_STORE",
    "SLURM_PROCID",
    "SLURM_NTASKS",
    "SLURM_LOCALID",
    "SLURM_JOB_NODELIST",
    "SLURM_NODELIST",
    "SLURM_JOB_ID",
    "OMPI_COMM_WORLD_RANK",
    "OMPI_COMM_WORLD_SIZE",
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "OMPI_MCA_ess_base_jobid",
    "PMI_RANK",
    "PMI_SIZE",
    "PMI_JOBID",
    "MPI_LOCALRANKID",
    "CUDA_VISIBLE_DEVICES",
];

/// The binary in `dir`, without the launcher variables of the test's own environment.
fn clean(dir: &Path) -> StdCommand {
    let mut c = std_bin(&[]);
    c.current_dir(dir);
    for v in LAUNCHER_VARS {
        c.env_remove(v);
    }
    c
}

/// [`clean`] as an `assert_cmd` command.
fn gpubench(dir: &Path) -> Command {
    Command::from_std(clean(dir))
}

/// The variables `srun --ntasks=N --ntasks-per-node=2` sets for task `rank` of job 4242.
fn slurm_env(rank: u32, world: u32) -> Vec<(String, String)> {
    [
        ("SLURM_PROCID", rank.to_string()),
        ("SLURM_NTASKS", world.to_string()),
        ("SLURM_LOCALID", (rank % 2).to_string()),
        ("SLURM_NODEID", (rank / 2).to_string()),
        ("SLURM_JOB_ID", "4242".into()),
        ("SLURM_STEP_ID", "0".into()),
        ("SLURM_JOB_NODELIST", "127.0.0.[1-3]".into()),
        ("SLURMD_NODENAME", format!("gpu0{}", rank / 2 + 1)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The variables `torchrun --nproc-per-node=N --no-python gpubench …` sets for worker `rank`.
fn torchrun_env(rank: u32, world: u32, port: u16) -> Vec<(String, String)> {
    [
        ("RANK", rank.to_string()),
        ("WORLD_SIZE", world.to_string()),
        ("LOCAL_RANK", rank.to_string()),
        ("LOCAL_WORLD_SIZE", world.to_string()),
        ("GROUP_RANK", "0".into()),
        ("MASTER_ADDR", "127.0.0.1".into()),
        ("MASTER_PORT", port.to_string()),
        ("TORCHELASTIC_RUN_ID", "none".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// One rank's `gpubench run --device cpu` into `results`, with extra arguments.
fn rank_cmd(dir: &Path, env: &[(String, String)], extra: &[&str]) -> StdCommand {
    let mut c = clean(dir);
    c.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args([
            "run",
            "--device",
            "cpu",
            "--dtype",
            "fp32,fp64",
            "--n",
            "64",
        ])
        .args(["--results-dir", "results"])
        .args(fast("5"))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn run_rank(dir: &Path, env: &[(String, String)]) -> Output {
    let out = rank_cmd(dir, env, &[]).output().unwrap();
    assert!(
        out.status.success(),
        "rank failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Makes a rank `factor` times slower in its file, consistently: every sample, every
/// statistic, every TFLOPS figure.
fn slow_down(p: &Path, factor: f64) {
    let mut v = read_json(p);
    for r in v["results"].as_array_mut().unwrap() {
        for s in r["samples_s"].as_array_mut().unwrap() {
            *s = (s.as_f64().unwrap() * factor).into();
        }
        for k in ["median", "mean", "min", "max", "stddev"] {
            let x = r["stats_s"][k].as_f64().unwrap();
            r["stats_s"][k] = (x * factor).into();
        }
        for k in ["tflops", "tflops_max", "tflops_min"] {
            let x = r[k].as_f64().unwrap();
            r[k] = (x / factor).into();
        }
        if let Some(e) = r["efficiency"].as_f64() {
            r["efficiency"] = (e / factor).into();
        }
    }
    write_json(p, &v);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn report(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = gpubench(dir).arg("report").args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn slurm_ranks_measure_into_one_folder_and_the_report_names_the_missing_and_the_slow() {
    let tmp = tempfile::tempdir().unwrap();
    // A 5-task job whose task 3 never ran.
    for r in [0, 1, 2, 4] {
        let out = run_rank(tmp.path(), &slurm_env(r, 5));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains(&format!("Rank {r} of 5 (slurm, local rank {}", r % 2)),
            "{err}"
        );
    }
    let results = tmp.path().join("results");
    let mut names: Vec<String> = std::fs::read_dir(&results)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "rank-00000.json",
            "rank-00001.json",
            "rank-00002.json",
            "rank-00004.json"
        ]
    );
    let r4 = read_json(&results.join("rank-00004.json"));
    let c = &r4["cluster"];
    assert_eq!(
        (
            &c["launcher"],
            &c["rank"],
            &c["world_size"],
            &c["local_rank"]
        ),
        (
            &Value::from("slurm"),
            &Value::from(4),
            &Value::from(5),
            &Value::from(0)
        )
    );
    assert_eq!(c["master_addr"], "127.0.0.1");
    assert_eq!(c["job_id"], "4242");
    assert_eq!(r4["results"].as_array().unwrap().len(), 2);
    assert_eq!(c["host"], "gpu03");
    assert_eq!(
        c["device_rule"],
        "cpu (--device cpu; the local-rank rule gives cuda:0 = local rank 0)"
    );

    // The measured folder: rank 3 is missing, nothing is slow at a loose threshold.
    let (code, text, _) = report(tmp.path(), &["results", "--threshold", "0.1"]);
    assert_eq!(code, 4, "{text}");
    assert!(
        text.contains("Missing ranks: 3 (no rank file; world size 5)"),
        "{text}"
    );
    assert!(text.contains("No GPU flagged"), "{text}");

    // A copy with rank 2 made a hundred times slower, and rank 4 throttled by its power cap (as
    // NVML reports it in the telemetry of a GPU result): both flagged, their hosts bad.
    let slowed = tmp.path().join("slowed");
    copy_dir(&results, &slowed);
    slow_down(&slowed.join("rank-00002.json"), 100.0);
    let p4 = slowed.join("rank-00004.json");
    let mut v = read_json(&p4);
    v["results"][1]["telemetry"] = serde_json::json!({
        "source": "nvml",
        "samples": 12,
        "throttle_reasons": ["gpu_idle", "sw_power_cap"],
    });
    write_json(&p4, &v);
    let (code, text, err) = report(tmp.path(), &["slowed", "--threshold", "0.1", "--json"]);
    assert_eq!(code, 4, "{text}{err}");
    let j: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(j["missing_ranks"], serde_json::json!([3]));
    let flagged = j["flagged"].as_array().unwrap();
    let of = |rank: u32| -> Vec<&str> {
        flagged
            .iter()
            .filter(|f| f["rank"] == rank)
            .map(|f| f["reason"].as_str().unwrap())
            .collect()
    };
    assert_eq!(of(2), ["below_median", "below_median"], "{flagged:?}");
    assert_eq!(of(4), ["throttled"], "{flagged:?}");
    assert_eq!(flagged.len(), 3, "{flagged:?}");
    assert!(flagged[2]["detail"]
        .as_str()
        .unwrap()
        .contains("sw_power_cap"));
    assert_eq!(j["bad_hosts"], serde_json::json!(["gpu02", "gpu03"]));
    let nodes: Vec<&str> = j["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["host"].as_str().unwrap())
        .collect();
    assert_eq!(
        nodes,
        ["gpu01", "gpu01", "gpu02", "gpu02", "gpu03", "gpu03"]
    );
    assert_eq!(j["ok"], false);

    // The text names the rank and why; --out keeps the merged file.
    let (code, text, _) = report(
        tmp.path(),
        &["slowed", "--threshold", "0.1", "--out", "merged.json"],
    );
    assert_eq!(code, 4);
    assert!(text.contains("Flagged GPUs"), "{text}");
    assert!(text.contains("% of the median over all ranks"), "{text}");
    let merged = read_json(&tmp.path().join("merged.json"));
    assert_eq!(merged["kind"], "cluster_report");
    assert_eq!(merged["ranks"].as_array().unwrap().len(), 4);
    // --out never replaces a file without --force.
    let (code, _, err) = report(tmp.path(), &["slowed", "--out", "merged.json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("file exists"), "{err}");
}

#[test]
fn torchrun_ranks_all_present_report_ok_and_a_stopped_rank_is_a_straggler() {
    let tmp = tempfile::tempdir().unwrap();
    for r in 0..3 {
        run_rank(tmp.path(), &torchrun_env(r, 3, 29500));
    }
    let (code, text, err) = report(tmp.path(), &["results", "--threshold", "0.1"]);
    assert_eq!(code, 0, "{text}{err}");
    assert!(
        text.contains("3 rank files of world size 3, launcher torchrun"),
        "{text}"
    );
    assert!(text.contains("Bad hosts: none"), "{text}");

    // Rank 1 as a killed process leaves it: one of its two results saved.
    let cut = tmp.path().join("cut");
    copy_dir(&tmp.path().join("results"), &cut);
    let p = cut.join("rank-00001.json");
    let mut v = read_json(&p);
    v["results"].as_array_mut().unwrap().pop();
    write_json(&p, &v);
    let (code, text, _) = report(tmp.path(), &["cut", "--threshold", "0.1"]);
    assert_eq!(code, 4, "{text}");
    assert!(
        text.contains("rank 1 (") && text.contains("stopped after 1 of 2 results"),
        "{text}"
    );
    // A damaged rank file is named, not fatal.
    std::fs::write(cut.join("rank-00002.json"), "{ not json").unwrap();
    let (code, text, _) = report(tmp.path(), &["cut", "--threshold", "0.1"]);
    assert_eq!(code, 4);
    assert!(text.contains("rank 2 (?): unusable file"), "{text}");
}

/// A free port on 127.0.0.1 (bound, read, released).
fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_ranks(dir: &Path, envs: Vec<Vec<(String, String)>>, extra: &[&str]) -> Vec<Output> {
    let children: Vec<_> = envs
        .iter()
        .map(|e| rank_cmd(dir, e, extra).spawn().unwrap())
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

#[test]
fn tcp_rendezvous_between_processes_and_a_rank_that_never_comes() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let envs = (0..3).map(|r| torchrun_env(r, 3, port)).collect();
    let outs = spawn_ranks(
        tmp.path(),
        envs,
        &["--rendezvous", "tcp", "--rendezvous-timeout", "30"],
    );
    for o in &outs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let sessions: Vec<Value> = (0..3)
        .map(|r| {
            read_json(&tmp.path().join(format!("results/rank-0000{r}.json")))["cluster"]["session"]
                .clone()
        })
        .collect();
    assert!(
        sessions[0].as_str().is_some_and(|s| s.len() == 16),
        "{sessions:?}"
    );
    assert!(sessions.iter().all(|s| *s == sessions[0]), "{sessions:?}");

    // World size 3, rank 2 never starts: ranks 0 and 1 give up naming it, exit 1.
    let second = tmp.path().join("second");
    std::fs::create_dir(&second).unwrap();
    let port = free_port();
    let envs = (0..2).map(|r| torchrun_env(r, 3, port)).collect();
    let outs = spawn_ranks(
        &second,
        envs,
        &["--rendezvous", "tcp", "--rendezvous-timeout", "1"],
    );
    for o in &outs {
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("rank 2 never arrived"), "{err}");
    }
    // Their files say they stopped before measuring; the report names all three.
    let (code, text, _) = report(&second, &["results"]);
    assert_eq!(code, 4);
    assert!(text.contains("Missing ranks: 2"), "{text}");
    assert!(text.contains("stopped after 0 of 2 results"), "{text}");
}

#[test]
fn folder_rendezvous_between_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let envs = (0..3).map(|r| slurm_env(r, 3)).collect();
    let outs = spawn_ranks(
        tmp.path(),
        envs,
        &["--rendezvous", "file:rdv", "--rendezvous-timeout", "30"],
    );
    for o in &outs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert!(tmp.path().join("rdv/blob").exists());
    let (code, text, _) = report(tmp.path(), &["results", "--threshold", "0.1"]);
    assert_eq!(code, 0, "{text}");
}

#[test]
fn auto_device_follows_the_local_rank_and_falls_back_to_the_cpu_without_a_gpu() {
    let tmp = tempfile::tempdir().unwrap();
    let mut env = torchrun_env(1, 2, 29500);
    env.push(("CUDA_VISIBLE_DEVICES".into(), "".into()));
    let mut c = clean(tmp.path());
    let out = c
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(["run", "--n", "32", "--results-dir", "r"])
        .args(fast("5"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("notice: rank 1: no GPU"), "{err}");
    let v = read_json(&tmp.path().join("r/rank-00001.json"));
    assert_eq!(v["device"]["backend"], "cpu");
    assert!(
        v["cluster"]["device_rule"]
            .as_str()
            .unwrap()
            .contains("hides every device"),
        "{v}"
    );
}

#[test]
fn bad_cluster_input_is_one_line_and_measures_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let run = |env: &[(&str, &str)], extra: &[&str]| {
        let mut c = gpubench(dir);
        c.envs(env.iter().copied())
            .args(["run", "--device", "cpu", "--n", "32"])
            .args(fast("5"))
            .args(extra);
        c
    };
    one_line_error(
        &mut run(&[("RANK", "1")], &[]),
        2,
        &["torchrun variables are incomplete: RANK is set but WORLD_SIZE is not"],
    );
    one_line_error(
        &mut run(&[("SLURM_PROCID", "4"), ("SLURM_NTASKS", "4")], &[]),
        2,
        &["SLURM_PROCID 4 is not below SLURM_NTASKS 4"],
    );
    one_line_error(
        &mut run(&[], &["--rank", "3", "--world-size", "2"]),
        2,
        &["--rank 3 is not below --world-size 2"],
    );
    one_line_error(
        &mut run(&[("RANK", "0"), ("WORLD_SIZE", "2")], &["--out", "x.json"]),
        2,
        &["--out names one file but this is rank 0 of 2"],
    );
    one_line_error(
        &mut run(&[], &["--rendezvous", "tcp"]),
        2,
        &["--rendezvous needs ranks"],
    );
    one_line_error(
        &mut run(
            &[("OMPI_COMM_WORLD_RANK", "0"), ("OMPI_COMM_WORLD_SIZE", "2")],
            &["--rendezvous", "tcp"],
        ),
        2,
        &["--rendezvous tcp needs rank 0's address"],
    );
    one_line_error(
        &mut run(
            &[
                ("SLURM_PROCID", "0"),
                ("SLURM_NTASKS", "2"),
                ("SLURM_JOB_NODELIST", "a[1-2]x"),
            ],
            &[],
        ),
        2,
        &["SLURM_JOB_NODELIST: host list 'a[1-2]x'"],
    );
    one_line_error(&mut run(&[], &["--rendezvous", "udp"]), 2, &["give tcp"]);
    // An earlier job's file is refused before measuring.
    std::fs::create_dir(dir.join("results")).unwrap();
    std::fs::write(dir.join("results/rank-00001.json"), "{}").unwrap();
    one_line_error(
        &mut run(&[("RANK", "1"), ("WORLD_SIZE", "2")], &[]),
        2,
        &["already holds rank-00001.json from an earlier job"],
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("results/rank-00001.json")).unwrap(),
        "{}"
    );
    // report: no folder, an empty folder, a bad threshold.
    one_line_error(
        gpubench(dir).args(["report", "nowhere"]),
        2,
        &["not a folder"],
    );
    std::fs::create_dir(dir.join("empty")).unwrap();
    one_line_error(
        gpubench(dir).args(["report", "empty"]),
        2,
        &["holds no rank-NNNNN.json"],
    );
    one_line_error(
        gpubench(dir).args(["report", "results", "--threshold", "2"]),
        2,
        &["fraction"],
    );
}
