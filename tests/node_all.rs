//! `gpubench run --device all` through the built binary on several emulated GPUs
//! (`tests/emulated-device`, see `common/emulated.rs`): every GPU measured into one profile,
//! a slower GPU and a throttling GPU flagged with exit code 4 (after one timed product each, and
//! after a burn-in of sustained loops), equal GPUs passing, and a machine without a GPU answered
//! with one line.

mod common;

use common::emulated::Emu;
use common::{close, gpubench, one_line_error, read_json, FAST};

const FP16_TFLOPS: f64 = 800.0;

/// `run --device all` of fp16 128³ into node.json, timed for at least `min_time` seconds (long
/// enough for telemetry readings when above NVML's sampling interval).
fn run_all(emu: &Emu, dir: &std::path::Path, min_time: &str) -> common::emulated::Outcome {
    let mut args: Vec<&str> = [
        "run",
        "--device",
        "all",
        "--dtype",
        "fp16",
        "--n",
        "128",
        "-o",
        "node.json",
        "--force",
    ]
    .into_iter()
    .chain(FAST)
    .collect();
    let at = args.iter().position(|a| *a == "--min-time").unwrap();
    args[at + 1] = min_time;
    emu.run(dir, &args)
}

fn flagged_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("flagged:"))
        .collect()
}

/// Four emulated GPUs at the same rate but for cuda:2 at half speed and cuda:3 throttling to
/// a 0.6 clock after its first product.
fn slow_and_throttling() -> Emu {
    Emu::new()
        .set("RATE_TFLOPS", format!("fp16={FP16_TFLOPS}"))
        .set("DEVICES", 4)
        .set("SLOW_DEVICE", 2)
        .set("SLOW_FACTOR", 0.5)
        .set("THROTTLE_DEVICE", 3)
        .set("THROTTLE_AFTER_PRODUCTS", 1)
        .set("THROTTLE_CLOCK", 0.6)
}

/// cuda:2 (half speed) is flagged below the node median, cuda:3 for its thermal throttling,
/// and the two healthy GPUs are not.
fn assert_slow_and_throttling_flagged(stderr: &str) {
    let flagged = flagged_lines(stderr);
    assert!(
        flagged
            .iter()
            .any(|l| l.starts_with("flagged: cuda:2 ") && l.contains("of the node median")),
        "{stderr}"
    );
    assert!(
        flagged
            .iter()
            .any(|l| l.starts_with("flagged: cuda:3 ")
                && l.ends_with("throttled: sw_thermal_slowdown")),
        "{stderr}"
    );
    assert!(
        !flagged
            .iter()
            .any(|l| l.starts_with("flagged: cuda:0 ") || l.starts_with("flagged: cuda:1 ")),
        "{stderr}"
    );
}

#[test]
fn a_slower_and_a_throttling_gpu_of_four_are_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let emu = slow_and_throttling();
    let out = run_all(&emu, dir.path(), "0.1");
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    assert_slow_and_throttling_flagged(&out.stderr);
    assert!(
        out.stdout
            .contains("Node, 4 GPUs, fp16 128×128×128: median"),
        "{}",
        out.stdout
    );

    let p = read_json(&dir.path().join("node.json"));
    let results = p["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "{p}");
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["gpu"]["ordinal"], i as u64, "{r}");
        assert!(
            r["gpu"]["uuid"]
                .as_str()
                .is_some_and(|u| u.starts_with("GPU-")),
            "{r}"
        );
        let want = match i {
            2 => FP16_TFLOPS * 0.5,
            3 => FP16_TFLOPS * 0.6,
            _ => FP16_TFLOPS,
        };
        let t = r["tflops"].as_f64().unwrap();
        assert!(close(t, want, 0.05), "cuda:{i}: {t} TFLOPS, want {want}");
    }
    let uuids: std::collections::BTreeSet<&str> = results
        .iter()
        .map(|r| r["gpu"]["uuid"].as_str().unwrap())
        .collect();
    assert_eq!(uuids.len(), 4, "one UUID per GPU: {uuids:?}");
    // Each GPU's PCI address as nvidia-smi prints it (the emulated board's buses 0x18, 0x2A,
    // 0x3C, 0x4E), in the result and on its line of the output.
    for (i, r) in results.iter().enumerate() {
        let bus = format!("00000000:{:02X}:00.0", 0x18 + 0x12 * i);
        assert_eq!(r["gpu"]["pci_bus_id"], bus.as_str(), "{r}");
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with(&format!("cuda:{i} ")) && l.contains(&bus)),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn equal_gpus_pass() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emu::new()
        .set("RATE_TFLOPS", format!("fp16={FP16_TFLOPS}"))
        .set("DEVICES", 4);
    let out = run_all(&emu, dir.path(), "0");
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(flagged_lines(&out.stderr).is_empty(), "{}", out.stderr);
    assert!(out.stdout.contains("spread"), "{}", out.stdout);
    let p = read_json(&dir.path().join("node.json"));
    assert_eq!(p["results"].as_array().unwrap().len(), 4, "{p}");
}

#[test]
fn without_a_gpu_device_all_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = gpubench(dir.path());
    // No driver library anywhere the loader looks.
    cmd.env("LD_LIBRARY_PATH", dir.path())
        .args(["run", "--device", "all", "--no-save"]);
    if std::path::Path::new("/usr/lib/x86_64-linux-gnu/libcuda.so.1").exists() {
        panic!("this test needs a machine without an NVIDIA driver; libcuda.so.1 is installed");
    }
    one_line_error(&mut cmd, 1, &["--device cpu"]);
}

#[test]
fn device_all_is_not_one_rank_of_a_job() {
    let dir = tempfile::tempdir().unwrap();
    one_line_error(
        gpubench(dir.path()).args([
            "run",
            "--device",
            "all",
            "--rank",
            "0",
            "--world-size",
            "2",
            "--no-save",
        ]),
        2,
        &["--device all", "--device auto"],
    );
}

#[test]
fn a_burn_in_of_four_gpus_flags_the_slower_and_the_throttling_one() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emu::new()
        .set("RATE_TFLOPS", format!("fp16={FP16_TFLOPS}"))
        .set("DEVICES", 4)
        .set("SLOW_DEVICE", 2)
        .set("SLOW_FACTOR", 0.5)
        .set("THROTTLE_DEVICE", 3)
        .set("THROTTLE_AFTER_PRODUCTS", 20)
        .set("THROTTLE_CLOCK", 0.6);
    let out = emu.run(
        dir.path(),
        &[
            "run",
            "--device",
            "all",
            "--dtype",
            "fp16",
            "--n",
            "256",
            "--duration",
            "1.5",
            "-o",
            "burn.json",
        ],
    );
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    assert_slow_and_throttling_flagged(&out.stderr);
    // One progress line for all GPUs now and then, not a bar per GPU.
    let progress = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("burn-in fp16 256×256×256: "))
        .count();
    assert!(progress <= 4, "{}", out.stderr);
    assert!(out.stdout.contains("Burn-in, per GPU"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("Node, 4 GPUs, fp16 256×256×256: median"),
        "{}",
        out.stdout
    );

    let p = read_json(&dir.path().join("burn.json"));
    assert_eq!(p["kind"], "sustained", "{p}");
    let results = p["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "{p}");
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["gpu"]["ordinal"], i as u64, "{r}");
        let t = &r["telemetry"];
        assert_eq!(t["source"], "nvml", "{t}");
        let timeline = t["timeline"].as_array().unwrap();
        assert!(timeline.len() >= 3, "cuda:{i}: {timeline:?}");
        let last = timeline.last().unwrap()["tflops"].as_f64().unwrap();
        let want = match i {
            2 => FP16_TFLOPS * 0.5,
            3 => FP16_TFLOPS * 0.6,
            _ => FP16_TFLOPS,
        };
        assert!(
            close(last, want, 0.05),
            "cuda:{i}: last window {last}, want {want}"
        );
        let reasons = t["throttle_reasons"].as_array().unwrap();
        assert_eq!(reasons.is_empty(), i != 3, "cuda:{i}: {t}");
    }
}

#[test]
fn show_and_estimate_read_a_node_profile_by_its_median_gpu() {
    let dir = tempfile::tempdir().unwrap();
    let emu = slow_and_throttling();
    assert_eq!(run_all(&emu, dir.path(), "0.1").code, 4);

    let show = gpubench(dir.path())
        .args(["show", "node.json"])
        .output()
        .unwrap();
    assert_eq!(show.status.code(), Some(0), "{show:?}");
    let text = String::from_utf8_lossy(&show.stdout);
    for i in 0..4 {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("cuda:{i} "))),
            "{text}"
        );
    }
    assert!(
        text.contains("Node, 4 GPUs, fp16 128×128×128: median"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("flagged: cuda:2 ") && l.contains("of the node median")),
        "{text}"
    );

    // 800, 800, 400 and 480 TFLOPS: the median is 640, the fastest 800
    let est = gpubench(dir.path())
        .args([
            "estimate",
            "--profile",
            "node.json",
            "--dtype",
            "fp16",
            "--params",
            "7e9",
            "--tokens",
            "1.4e11",
            "--gpus",
            "64",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&est.stdout);
    assert_eq!(est.status.code(), Some(0), "{text}\n{est:?}");
    // The row with its source, which wraps onto deeper-indented lines under itself.
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("measured GEMM per GPU"))
        .unwrap_or_else(|| panic!("{text}"));
    let line = lines[at..]
        .iter()
        .take(1)
        .chain(lines[at + 1..].iter().take_while(|l| l.starts_with("   ")))
        .flat_map(|l| l.split_whitespace())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        line.contains("median of 4 GPUs, fp16 128×128×128 (fastest"),
        "{line}"
    );
    let tflops: f64 = line
        .split_whitespace()
        .skip_while(|w| *w != "GPU")
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(close(tflops, FP16_TFLOPS * 0.8, 0.05), "{line}");
}
