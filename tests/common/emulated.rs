//! The emulated GPU for integration tests: builds `tests/emulated-device` once, makes a
//! directory of symlinks with the driver's, cuBLASLt's and NVML's library names, and runs
//! `gpubench` with that directory and the real NVRTC (a PyPI wheel, see `nvidia`) first on
//! `LD_LIBRARY_PATH`, the emulator's `GPUBENCH_EMU_*` configuration, and a leak report that is
//! checked after every run.
//!
//! Why a separate build: the emulator is its own Cargo package (a `cdylib` standing in for
//! NVIDIA's libraries), not a dependency of gpubench. Test binaries running in parallel may
//! all build it: cargo's lock on the target directory serializes them, and the second build
//! finds nothing to do. Symlink directories are made under a temporary name and renamed into
//! place, so racing processes end up with one complete directory.

#![allow(dead_code)] // each test binary uses part of this module

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::nvidia;

/// Which build of the emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Every symbol.
    Full,
    /// Built without `cuEventElapsedTime(_v2)` (a driver missing a symbol).
    MissingSymbol,
}

/// gpubench's target directory (`…/target`), from this test binary's path
/// (`target/debug/deps/<test>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .nth(3)
        .expect("test binaries live in target/<profile>/deps")
        .to_path_buf()
}

/// Builds the emulator (once per process per variant) and returns the shared library.
pub fn library(variant: Variant) -> PathBuf {
    static FULL: OnceLock<PathBuf> = OnceLock::new();
    static MISSING: OnceLock<PathBuf> = OnceLock::new();
    let cell = match variant {
        Variant::Full => &FULL,
        Variant::MissingSymbol => &MISSING,
    };
    cell.get_or_init(|| build(variant)).clone()
}

fn build(variant: Variant) -> PathBuf {
    let (dir, features) = match variant {
        Variant::Full => ("emulated-device", None),
        Variant::MissingSymbol => (
            "emulated-device-missing-symbol",
            Some("omit-event-elapsed-time"),
        ),
    };
    let target = target_dir().join(dir);
    let (cargo, mut cmd) = emulator_cargo("build", &target);
    cmd.arg("--lib");
    if let Some(f) = features {
        cmd.args(["--features", f]);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cargo:?} to build the emulated device: {e}"));
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        panic!(
            "building tests/emulated-device failed ({}): {}",
            out.status,
            err.lines()
                .filter(|l| l.starts_with("error"))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    let so = target.join("debug/libgpubench_emulated_device.so");
    assert!(
        so.is_file(),
        "the emulated device build made no {}",
        so.display()
    );
    so
}

/// `cargo <subcommand> --quiet` on the emulator's package with its own `target` directory;
/// returns the cargo program too, for messages.
fn emulator_cargo(subcommand: &str, target: &Path) -> (OsString, Command) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.arg(subcommand)
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(root.join("tests/emulated-device/Cargo.toml"))
        .arg("--target-dir")
        .arg(target);
    // the outer `cargo test`'s settings are not the emulator's
    for v in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
    ] {
        cmd.env_remove(v);
    }
    (cargo, cmd)
}

/// Runs the emulator package's own tests (its strict rules through its C entry points) in the
/// same target directory as [`library`]; returns cargo's output when they fail.
pub fn own_tests() -> Result<(), String> {
    let (cargo, mut cmd) = emulator_cargo("test", &target_dir().join("emulated-device"));
    let out = cmd
        .output()
        .map_err(|e| format!("running {cargo:?} test: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A directory of symlinks named as NVIDIA's libraries, pointing at the emulator: the driver
/// (`libcuda.so`, `libcuda.so.1`) and, with `cublaslt`, cuBLASLt (`libcublasLt.so.13`, `.12`)
/// and, with `nvml`, NVML (`libnvidia-ml.so.1`).
pub fn links(variant: Variant, nvml: bool, cublaslt: bool, nccl: bool) -> PathBuf {
    let so = library(variant);
    let name = format!(
        "links-{}{}{}{}",
        match variant {
            Variant::Full => "full",
            Variant::MissingSymbol => "missing-symbol",
        },
        if nvml { "" } else { "-no-nvml" },
        if cublaslt { "" } else { "-no-cublaslt" },
        if nccl { "-nccl" } else { "" }
    );
    let dir = so.parent().expect("the library's directory").join(name);
    if dir.is_dir()
        && std::fs::canonicalize(dir.join("libcuda.so.1")).ok() == std::fs::canonicalize(&so).ok()
    {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let tmp = dir.with_extension(format!("tmp{}-{}", std::process::id(), unique()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("creating the symlink directory");
    let mut names = vec!["libcuda.so", "libcuda.so.1"];
    if cublaslt {
        names.extend(["libcublasLt.so.13", "libcublasLt.so.12"]);
    }
    if nvml {
        names.push("libnvidia-ml.so.1");
    }
    if nccl {
        names.push("libnccl.so.2");
    }
    // Relative links: a target folder copied or moved elsewhere keeps pointing at its own build.
    let target = Path::new("..").join(so.file_name().expect("the library's file name"));
    for n in names {
        std::os::unix::fs::symlink(&target, tmp.join(n)).expect("creating a symlink");
    }
    // another process may have won the race: its directory is as good as ours
    if std::fs::rename(&tmp, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    assert!(dir.is_dir(), "no symlink directory {}", dir.display());
    dir
}

/// An emulated machine: configuration, faults, which libraries are there.
#[derive(Debug, Clone)]
pub struct Emu {
    env: Vec<(String, String)>,
    variant: Variant,
    nvml: bool,
    cublaslt: bool,
    nccl: bool,
    nvrtc: nvidia::Wheels,
}

impl Default for Emu {
    fn default() -> Self {
        Emu::new()
    }
}

/// What a run of gpubench did.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// Whether the emulated driver was initialized (the leak report was written).
    pub device_opened: bool,
}

impl Outcome {
    /// The stderr lines starting `Error:`.
    pub fn errors(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("Error:"))
            .collect()
    }

    /// Asserts one `Error:` line containing every one of `parts`, and exit code `code`.
    pub fn assert_one_error(&self, code: i32, parts: &[&str]) {
        let errors = self.errors();
        assert_eq!(errors.len(), 1, "one error line:\n{}", self.stderr);
        for p in parts {
            assert!(errors[0].contains(p), "{p:?} missing from: {}", errors[0]);
        }
        assert_eq!(self.code, code, "exit code; stderr:\n{}", self.stderr);
    }
}

impl Emu {
    /// One cc 9.0 GPU (132 SMs, 1980 MHz, 80 GiB), driver CUDA 13.0, NVML present, 5 µs launch
    /// cost; the oldest NVRTC wheel of this build's CUDA major version and a cuBLASLt reporting
    /// that major version (13.1.0, or 12.9.1 for a `cuda-12` build).
    pub fn new() -> Emu {
        let cublas = if cfg!(feature = "cuda-12") {
            "12.9.1"
        } else {
            "13.1.0"
        };
        Emu {
            env: vec![("GPUBENCH_EMU_CUBLAS_VERSION".into(), cublas.into())],
            variant: Variant::Full,
            nvml: true,
            cublaslt: true,
            nccl: false,
            nvrtc: nvidia::nvrtc_series()[0],
        }
    }

    /// Sets one `GPUBENCH_EMU_*` variable (`name` without the prefix, e.g. `"OOM_AT"`).
    pub fn set(mut self, name: &str, value: impl ToString) -> Emu {
        self.env
            .push((format!("GPUBENCH_EMU_{name}"), value.to_string()));
        self
    }

    /// Sets a variable of the process's own environment (not the emulator's), e.g. the node
    /// name Slurm gives (`SLURMD_NODENAME`).
    pub fn var(mut self, name: &str, value: impl ToString) -> Emu {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// No `libnvidia-ml.so.1` on the machine.
    pub fn without_nvml(mut self) -> Emu {
        self.nvml = false;
        self
    }

    /// No `libcublasLt.so.*` on the machine.
    pub fn without_cublaslt(mut self) -> Emu {
        self.cublaslt = false;
        self
    }

    /// NCCL too (`libnccl.so.2`, the name NCCL installs as, found first on the library path).
    pub fn with_nccl(mut self) -> Emu {
        self.nccl = true;
        self
    }

    /// A driver lacking `cuEventElapsedTime` and `cuEventElapsedTime_v2`.
    pub fn missing_symbol(mut self) -> Emu {
        self.variant = Variant::MissingSymbol;
        self
    }

    /// Another NVRTC (e.g. the newest).
    pub fn nvrtc(mut self, w: nvidia::Wheels) -> Emu {
        self.nvrtc = w;
        self
    }

    /// Builds the emulated libraries and fetches the NVRTC this machine uses (each once per
    /// test process), so that a test that times a run times gpubench, not this first-use work.
    pub fn prepared(self) -> Emu {
        let _ = self.envs(Path::new("unused"));
        self
    }

    /// The environment a process needs to run on this machine, with its leak report written to
    /// `report`.
    pub fn envs(&self, report: &Path) -> Vec<(OsString, OsString)> {
        let links = links(self.variant, self.nvml, self.cublaslt, self.nccl);
        let nvrtc = nvidia::lib_dir(self.nvrtc);
        let mut path = OsString::from(links.as_os_str());
        path.push(":");
        path.push(nvrtc.as_os_str());
        let mut v: Vec<(OsString, OsString)> = vec![
            ("LD_LIBRARY_PATH".into(), path),
            ("GPUBENCH_EMU_REPORT".into(), report.as_os_str().into()),
        ];
        v.extend(
            self.env
                .iter()
                .map(|(k, val)| (OsString::from(k), OsString::from(val))),
        );
        v
    }

    /// Runs `gpubench args…` in `dir` on this machine. Fails the test when the emulator
    /// reports a leak or prints anything of its own (an API it does not emulate).
    pub fn run(&self, dir: &Path, args: &[&str]) -> Outcome {
        let report = dir.join(format!(".emu-report-{}", unique()));
        let out = super::gpubench(dir)
            .env_remove("CUDA_VISIBLE_DEVICES")
            .envs(self.envs(&report))
            // no Python: gpubench must find no real NVIDIA library in a site-packages folder
            .env("PATH", "/nonexistent")
            .args(args)
            .timeout(std::time::Duration::from_secs(120))
            .output()
            .expect("running gpubench");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let leaks = std::fs::read_to_string(&report).ok();
        let _ = std::fs::remove_file(&report);
        if let Some(l) = &leaks {
            assert!(
                l.is_empty(),
                "gpubench {} left objects unreleased:\n{l}\nstderr:\n{stderr}",
                args.join(" ")
            );
        }
        assert!(
            !stderr.contains("gpubench emulated device:"),
            "the emulator met something it does not emulate:\n{stderr}"
        );
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout,
            stderr,
            device_opened: leaks.is_some(),
        }
    }
}

/// A name no other run in this process uses.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}
