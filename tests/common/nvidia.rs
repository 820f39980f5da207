//! Real NVIDIA libraries for the tests, from the PyPI wheels NVIDIA publishes, fetched on first
//! use into a cache outside the repository.
//!
//! Why: the CUDA backend's compile path and its library checks must run against the libraries
//! users install, on machines (and CI) without a GPU. NVRTC and cuBLASLt run their host-side
//! parts without a driver, so `cargo test` can use them directly.
//!
//! Cache: `$GPUBENCH_TEST_CACHE`, else `$XDG_CACHE_HOME/gpubench-tests`, else
//! `~/.cache/gpubench-tests`; one directory per wheel set, made by
//! `python3 -m pip install --no-deps --target <tmp> <spec>` and an atomic rename (test
//! binaries running in parallel race; the loser uses the winner's directory). Delete a
//! directory to fetch it again (e.g. to pick up a newer "newest"). A failed fetch fails the
//! test with a one-line reason.

#![allow(dead_code)] // each test binary uses part of this module

use std::path::{Path, PathBuf};
use std::process::Command;

/// A set of NVIDIA wheels and the library directory they install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wheels {
    /// Cache directory name.
    pub name: &'static str,
    /// pip requirement specifiers.
    pub specs: &'static [&'static str],
    /// The library directory inside the installed tree.
    pub lib_dir: &'static str,
    /// A file that must exist in `lib_dir`.
    pub lib: &'static str,
}

/// NVRTC of the CUDA version a driver 580 (CUDA 13.0) matches.
pub const NVRTC_13_0: Wheels = Wheels {
    name: "nvidia-cuda-nvrtc-13.0",
    specs: &["nvidia-cuda-nvrtc==13.0.*"],
    lib_dir: "nvidia/cu13/lib",
    lib: "libnvrtc.so.13",
};

/// The newest CUDA 13 NVRTC (13.5 when this was written: its PTX is `.version 9.5`).
pub const NVRTC_13_NEWEST: Wheels = Wheels {
    name: "nvidia-cuda-nvrtc-13-newest",
    specs: &["nvidia-cuda-nvrtc>=13,<14"],
    lib_dir: "nvidia/cu13/lib",
    lib: "libnvrtc.so.13",
};

/// NVRTC of CUDA 12.8 (the `cuda-12` build's bindings).
pub const NVRTC_12_8: Wheels = Wheels {
    name: "nvidia-cuda-nvrtc-cu12-12.8",
    specs: &["nvidia-cuda-nvrtc-cu12==12.8.*"],
    lib_dir: "nvidia/cuda_nvrtc/lib",
    lib: "libnvrtc.so.12",
};

/// The newest CUDA 12 NVRTC.
pub const NVRTC_12_NEWEST: Wheels = Wheels {
    name: "nvidia-cuda-nvrtc-cu12-newest",
    specs: &["nvidia-cuda-nvrtc-cu12"],
    lib_dir: "nvidia/cuda_nvrtc/lib",
    lib: "libnvrtc.so.12",
};

/// cuBLAS (with cuBLASLt) of CUDA 13.
pub const CUBLAS_13: Wheels = Wheels {
    name: "nvidia-cublas-13",
    specs: &["nvidia-cublas>=13,<14"],
    lib_dir: "nvidia/cu13/lib",
    lib: "libcublasLt.so.13",
};

/// cuBLAS (with cuBLASLt) of CUDA 12.
pub const CUBLAS_12: Wheels = Wheels {
    name: "nvidia-cublas-cu12",
    specs: &["nvidia-cublas-cu12"],
    lib_dir: "nvidia/cublas/lib",
    lib: "libcublasLt.so.12",
};

/// The two NVRTC series the tests use for this build's CUDA major version: the oldest minor
/// version a current driver matches, and the newest.
pub fn nvrtc_series() -> [Wheels; 2] {
    if cfg!(feature = "cuda-12") {
        [NVRTC_12_8, NVRTC_12_NEWEST]
    } else {
        [NVRTC_13_0, NVRTC_13_NEWEST]
    }
}

/// cuBLAS wheels for this build's CUDA major version.
pub fn cublas() -> Wheels {
    if cfg!(feature = "cuda-12") {
        CUBLAS_12
    } else {
        CUBLAS_13
    }
}

/// The cache root.
pub fn cache_root() -> PathBuf {
    if let Some(d) = std::env::var_os("GPUBENCH_TEST_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("gpubench-tests");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
    PathBuf::from(home).join(".cache").join("gpubench-tests")
}

/// The library directory of `w`, fetching the wheels first if the cache lacks them. Panics
/// (fails the test) with a one-line reason when they cannot be fetched.
pub fn lib_dir(w: Wheels) -> PathBuf {
    fetch(w).unwrap_or_else(|e| panic!("could not fetch {}: {e}", w.specs.join(" ")))
}

fn fetch(w: Wheels) -> Result<PathBuf, String> {
    let root = cache_root();
    let dir = root.join(w.name);
    let lib = |d: &Path| d.join(w.lib_dir);
    if lib(&dir).join(w.lib).is_file() {
        return Ok(lib(&dir));
    }
    std::fs::create_dir_all(&root).map_err(|e| format!("creating {}: {e}", root.display()))?;
    let tmp = root.join(format!(
        ".tmp-{}-{}-{}",
        w.name,
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .args(["-m", "pip", "install", "--no-deps", "--quiet", "--target"])
        .arg(&tmp)
        .args(w.specs)
        .output()
        .map_err(|e| format!("running {python} -m pip: {e} (install Python 3 with pip)"))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&tmp);
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!("pip install failed ({}): {last}", out.status));
    }
    if !lib(&tmp).join(w.lib).is_file() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(format!("the wheels installed no {}/{}", w.lib_dir, w.lib));
    }
    // Another test binary may have won the race: then keep its directory.
    if std::fs::rename(&tmp, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
        if !lib(&dir).join(w.lib).is_file() {
            return Err(format!("could not move the wheels into {}", dir.display()));
        }
    }
    Ok(lib(&dir))
}

/// Environment variable that marks a re-executed test process (its value names the wheels).
pub const CHILD_ENV: &str = "GPUBENCH_TEST_LIBS";

/// The wheel set this process was re-executed for, if it is such a child.
pub fn child_of() -> Option<String> {
    std::env::var(CHILD_ENV).ok().filter(|s| !s.is_empty())
}

/// Runs test `test` of this test binary again in a child process whose dynamic loader sees
/// `dirs` (`LD_LIBRARY_PATH` is read once, at process start, so dlopen by name needs a fresh
/// process), with `CHILD_ENV=tag`. Panics with the child's output when it fails.
pub fn rerun_with_libs(test: &str, dirs: &[PathBuf], tag: &str) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut path: Vec<PathBuf> = dirs.to_vec();
    if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
        path.extend(std::env::split_paths(&old));
    }
    let ld = std::env::join_paths(path).expect("library directories without ':'");
    let out = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("LD_LIBRARY_PATH", ld)
        .env(CHILD_ENV, tag)
        .output()
        .expect("re-executing the test binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{test} with {tag} failed ({}):\n{text}",
        out.status
    );
    assert!(
        text.contains("1 passed"),
        "{test} with {tag} did not run:\n{text}"
    );
    text
}
