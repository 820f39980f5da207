//! Checks that the CUDA libraries (driver, cuBLASLt, NVRTC) load and export what gpubench
//! calls, *before* the first CUDA call.
//!
//! Why: cudarc loads every library at run time and panics when a library or one of its
//! symbols is missing. gpubench must instead print one line saying what is missing and what to
//! do, so every library and every symbol the backend reaches is checked here first, and the
//! versions that decide compatibility (driver CUDA version, cuBLASLt, NVRTC) are read here.

use std::ffi::c_void;

use cudarc::{cublaslt, driver, nvrtc};

/// CUDA version of the bindings this binary was built with (cargo feature `cuda-13` or
/// `cuda-12`).
pub(super) const BINDINGS: (u32, u32) = if cfg!(feature = "cuda-12") {
    (12, 8)
} else {
    (13, 0)
};

/// The build command that selects the other bindings, for messages.
pub(super) fn rebuild_hint(for_major: u32) -> &'static str {
    if for_major >= 13 {
        "cargo build --release (default feature cuda-13)"
    } else {
        "cargo build --release --no-default-features --features cuda-12"
    }
}

/// Driver entry points the backend reaches through cudarc (context, device queries, streams,
/// memory, modules, launches, events). Versioned names follow the bindings: cudarc's CUDA 13
/// bindings call the `_v2` UUID and elapsed-time functions, which older drivers lack.
fn driver_symbols() -> Vec<&'static str> {
    let mut v = vec![
        "cuInit",
        "cuDriverGetVersion",
        "cuGetErrorName",
        "cuGetErrorString",
        "cuDeviceGet",
        "cuDeviceGetCount",
        "cuDeviceGetAttribute",
        "cuDeviceGetName",
        "cuDeviceTotalMem_v2",
        "cuDevicePrimaryCtxRetain",
        "cuDevicePrimaryCtxRelease_v2",
        "cuCtxGetCurrent",
        "cuCtxSetCurrent",
        "cuCtxSynchronize",
        "cuStreamCreate",
        "cuStreamSynchronize",
        "cuStreamDestroy_v2",
        "cuMemAllocAsync",
        "cuMemFreeAsync",
        "cuMemAlloc_v2",
        "cuMemFree_v2",
        "cuMemsetD8Async",
        "cuMemcpyDtoHAsync_v2",
        "cuMemGetInfo_v2",
        "cuMemHostAlloc",
        "cuMemHostGetDevicePointer_v2",
        "cuMemFreeHost",
        "cuModuleLoadData",
        "cuModuleGetFunction",
        "cuModuleUnload",
        "cuLaunchKernel",
        "cuEventCreate",
        "cuEventRecord",
        "cuEventSynchronize",
        "cuEventDestroy_v2",
    ];
    if BINDINGS.0 >= 13 {
        v.extend(["cuDeviceGetUuid_v2", "cuEventElapsedTime_v2"]);
    } else {
        v.extend(["cuDeviceGetUuid", "cuEventElapsedTime"]);
    }
    v
}

/// cuBLASLt entry points the backend calls.
const CUBLASLT_SYMBOLS: &[&str] = &[
    "cublasLtCreate",
    "cublasLtDestroy",
    "cublasLtGetProperty",
    "cublasLtMatmul",
    "cublasLtMatmulAlgoGetHeuristic",
    "cublasLtMatmulAlgoConfigGetAttribute",
    "cublasLtMatmulDescCreate",
    "cublasLtMatmulDescSetAttribute",
    "cublasLtMatmulDescDestroy",
    "cublasLtMatrixLayoutCreate",
    "cublasLtMatrixLayoutSetAttribute",
    "cublasLtMatrixLayoutDestroy",
    "cublasLtMatmulPreferenceCreate",
    "cublasLtMatmulPreferenceSetAttribute",
    "cublasLtMatmulPreferenceDestroy",
];

/// NVRTC entry points the backend's compile path (`nvrtc`) calls, plus the version query.
pub(super) const NVRTC_SYMBOLS: &[&str] = &[
    "nvrtcVersion",
    "nvrtcGetNumSupportedArchs",
    "nvrtcGetSupportedArchs",
    "nvrtcCreateProgram",
    "nvrtcCompileProgram",
    "nvrtcDestroyProgram",
    "nvrtcGetCUBINSize",
    "nvrtcGetCUBIN",
    "nvrtcGetPTXSize",
    "nvrtcGetPTX",
    "nvrtcGetProgramLogSize",
    "nvrtcGetProgramLog",
];

/// Whether the NVIDIA driver library (libcuda) can be loaded.
pub(super) fn driver_present() -> bool {
    // SAFETY: only tries to dlopen the library under its usual names; calls nothing in it.
    unsafe { driver::sys::is_culib_present() }
}

/// One line naming every missing library, or `Ok`.
pub(super) fn check_present() -> anyhow::Result<()> {
    if !driver_present() {
        anyhow::bail!(
            "CUDA driver library libcuda.so not found (no NVIDIA driver on this machine); use --device cpu"
        );
    }
    let major = BINDINGS.0;
    let mut missing = Vec::new();
    // SAFETY: as above, dlopen only.
    if !unsafe { cublaslt::sys::is_culib_present() } {
        missing.push(format!("cuBLASLt (libcublasLt.so.{major})"));
    }
    // SAFETY: as above, dlopen only.
    if !unsafe { nvrtc::sys::is_culib_present() } {
        missing.push(format!("NVRTC (libnvrtc.so.{major})"));
    }
    if !missing.is_empty() {
        anyhow::bail!(
            "the NVIDIA driver is installed but the CUDA {major} libraries {} were not found: {}; or use --device cpu",
            missing.join(" and "),
            install_hint(major)
        );
    }
    check_symbols()
}

/// How to install cuBLAS and NVRTC of CUDA `major` without the toolkit: the PyPI wheels
/// NVIDIA publishes, and the directories (under Python's site-packages) that
/// `LD_LIBRARY_PATH` must name, because the wheels' libraries are not on the loader's path.
pub(super) fn install_hint(major: u32) -> String {
    let (packages, dirs) = if major >= 13 {
        // CUDA 13 wheels carry no suffix and share one directory.
        ("nvidia-cublas nvidia-cuda-nvrtc", vec!["nvidia/cu13/lib"])
    } else {
        (
            "nvidia-cublas-cu12 nvidia-cuda-nvrtc-cu12",
            vec!["nvidia/cublas/lib", "nvidia/cuda_nvrtc/lib"],
        )
    };
    let sp = "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()[\"purelib\"])')";
    let path: Vec<String> = dirs.iter().map(|d| format!("{sp}/{d}")).collect();
    format!(
        "install them with `pip install {packages}` and run `export LD_LIBRARY_PATH={}:$LD_LIBRARY_PATH` (or install the CUDA {major} toolkit and add its lib64 directory)",
        path.join(":")
    )
}

/// What to do with a GPU older than this build's CUDA supports (compute capability below 7.5
/// on CUDA 13, whose NVRTC and cuBLAS dropped Volta and older).
pub(super) fn old_gpu_hint() -> String {
    if BINDINGS.0 >= 13 {
        format!(
            "CUDA 13 dropped GPUs below compute capability 7.5: rebuild for CUDA 12 with `{}` (and its libraries), or use --device cpu",
            rebuild_hint(12)
        )
    } else {
        "use --device cpu".into()
    }
}

/// Refuses a GPU this build's CUDA libraries cannot run: below compute capability 7.5 on
/// CUDA 13 (NVRTC 13 has no `compute_70`, cuBLAS 13 no Volta kernels).
pub(super) fn check_compute_capability(cc: (u32, u32), device: &str) -> anyhow::Result<()> {
    if BINDINGS.0 >= 13 && cc < (7, 5) {
        anyhow::bail!(
            "{device} has compute capability {}.{}, which this CUDA {}.{} build cannot run; {}",
            cc.0,
            cc.1,
            BINDINGS.0,
            BINDINGS.1,
            old_gpu_hint()
        );
    }
    Ok(())
}

/// The names in `names` for which `has` is false.
fn missing_of(names: &[&'static str], has: impl Fn(&str) -> bool) -> Vec<&'static str> {
    names.iter().copied().filter(|n| !has(n)).collect()
}

/// Checks that every library exports every symbol the backend reaches, so that no cudarc call
/// can panic on a missing symbol. A driver older than the bindings lacks the newest symbols.
fn check_symbols() -> anyhow::Result<()> {
    // SAFETY (both closures): `culib()` returns the library `is_culib_present` just found
    // (checked by the caller); `get` looks a symbol up without calling it.
    let drv = missing_of(&driver_symbols(), |n| unsafe {
        driver::sys::culib().get::<*const c_void>(n).is_ok()
    });
    if !drv.is_empty() {
        let (major, minor) = BINDINGS;
        anyhow::bail!(
            "the NVIDIA driver is too old for this build (CUDA {major}.{minor} bindings): libcuda lacks {}; update the driver, or rebuild for CUDA 12 with `{}`; or use --device cpu",
            drv.join(", "),
            rebuild_hint(12)
        );
    }
    let lt = missing_cublaslt_symbols();
    if !lt.is_empty() {
        anyhow::bail!(
            "the cuBLASLt library found lacks {} (a cuBLAS older than 11?); install the CUDA {} cuBLAS libraries, or use --device cpu",
            lt.join(", "),
            BINDINGS.0
        );
    }
    let rtc = missing_nvrtc_symbols();
    if !rtc.is_empty() {
        anyhow::bail!(
            "the NVRTC library found lacks {}; install the CUDA {} NVRTC library, or use --device cpu",
            rtc.join(", "),
            BINDINGS.0
        );
    }
    Ok(())
}

/// The NVRTC symbols of [`NVRTC_SYMBOLS`] the loaded NVRTC lacks. The caller has checked that
/// NVRTC loads (`nvrtc::sys::is_culib_present`).
pub(super) fn missing_nvrtc_symbols() -> Vec<&'static str> {
    // SAFETY: `culib()` returns the library the caller found; `get` looks a symbol up without
    // calling it.
    missing_of(NVRTC_SYMBOLS, |n| unsafe {
        nvrtc::sys::culib().get::<*const c_void>(n).is_ok()
    })
}

/// The symbols of [`CUBLASLT_SYMBOLS`] the loaded cuBLASLt lacks. The caller has checked that
/// cuBLASLt loads ([`cublaslt_present`]).
pub(super) fn missing_cublaslt_symbols() -> Vec<&'static str> {
    // SAFETY: `culib()` returns the library the caller found; `get` looks a symbol up without
    // calling it.
    missing_of(CUBLASLT_SYMBOLS, |n| unsafe {
        cublaslt::sys::culib().get::<*const c_void>(n).is_ok()
    })
}

/// Whether a cuBLASLt library loads under cudarc's names (dlopen only).
pub(super) fn cublaslt_present() -> bool {
    // SAFETY: only tries to dlopen the library under its usual names.
    unsafe { cublaslt::sys::is_culib_present() }
}

/// Whether an NVRTC library loads under cudarc's names (dlopen only).
pub(super) fn nvrtc_present() -> bool {
    // SAFETY: only tries to dlopen the library under its usual names.
    unsafe { nvrtc::sys::is_culib_present() }
}

/// The CUDA version the driver supports, as `(major, minor)` (`cuDriverGetVersion`, which
/// needs no `cuInit`).
pub(super) fn driver_cuda_version() -> anyhow::Result<(u32, u32)> {
    let mut v: std::ffi::c_int = 0;
    // SAFETY: writes one int; the symbol was checked.
    unsafe { driver::sys::cuDriverGetVersion(&mut v) }
        .result()
        .map_err(|e| anyhow::anyhow!("cuDriverGetVersion failed ({e}); use --device cpu"))?;
    Ok(split_cuda_version(v))
}

/// `13000` → `(13, 0)`; `12080` → `(12, 8)` (the driver's `1000·major + 10·minor`).
pub(super) fn split_cuda_version(v: i32) -> (u32, u32) {
    let v = v.max(0) as u32;
    (v / 1000, (v % 1000) / 10)
}

/// Refuses a driver that supports an older CUDA major version than the bindings: its
/// libraries and PTX loader cannot run what this build loads.
pub(super) fn check_driver_supports_bindings(driver: (u32, u32)) -> anyhow::Result<()> {
    let (major, minor) = BINDINGS;
    if driver.0 < major {
        anyhow::bail!(
            "the NVIDIA driver supports CUDA {}.{} but this binary uses CUDA {major}.{minor} bindings; update the driver, or rebuild with `{}`; or use --device cpu",
            driver.0,
            driver.1,
            rebuild_hint(driver.0)
        );
    }
    Ok(())
}

/// The loaded cuBLASLt's version `(major, minor, patch)` (`cublasLtGetProperty`).
pub(super) fn cublaslt_version() -> Option<(u32, u32, u32)> {
    use cublaslt::sys::libraryPropertyType as P;
    let get = |p: P| {
        let mut v: std::ffi::c_int = 0;
        // SAFETY: writes one int; the symbol was checked.
        let st = unsafe { cublaslt::sys::cublasLtGetProperty(p, &mut v) };
        (st == cublaslt::sys::cublasStatus_t::CUBLAS_STATUS_SUCCESS).then_some(v.max(0) as u32)
    };
    Some((
        get(P::MAJOR_VERSION)?,
        get(P::MINOR_VERSION)?,
        get(P::PATCH_LEVEL)?,
    ))
}

/// The loaded NVRTC's version `(major, minor)`.
pub(super) fn nvrtc_version() -> Option<(u32, u32)> {
    let (mut major, mut minor): (std::ffi::c_int, std::ffi::c_int) = (0, 0);
    // SAFETY: writes two ints; the symbol was checked.
    let st = unsafe { nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
    (st == nvrtc::sys::nvrtcResult::NVRTC_SUCCESS)
        .then_some((major.max(0) as u32, minor.max(0) as u32))
}

/// The one-line warning printed when the loaded cuBLAS major version differs from the
/// bindings', or `None` when they match.
pub(super) fn cublas_mismatch_warning(loaded: (u32, u32, u32)) -> Option<String> {
    let (major, minor) = BINDINGS;
    (loaded.0 != major).then(|| {
        format!(
            "warning: loaded cuBLAS {}.{}.{} but this binary uses CUDA {major}.{minor} bindings; results may be wrong or calls may fail: rebuild with `{}`",
            loaded.0,
            loaded.1,
            loaded.2,
            rebuild_hint(loaded.0)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_versions_split() {
        assert_eq!(split_cuda_version(13000), (13, 0));
        assert_eq!(split_cuda_version(12080), (12, 8));
        assert_eq!(split_cuda_version(12040), (12, 4));
        assert_eq!(split_cuda_version(-1), (0, 0));
    }

    #[test]
    fn older_driver_is_refused_with_rebuild_hint() {
        let (major, _) = BINDINGS;
        assert!(check_driver_supports_bindings((major, 0)).is_ok());
        assert!(check_driver_supports_bindings((major + 1, 2)).is_ok());
        let e = check_driver_supports_bindings((major - 1, 4))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--device cpu"), "{e}");
        assert!(e.contains("cargo build --release"), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn cublas_mismatch_warns_once_with_command() {
        let (major, _) = BINDINGS;
        assert_eq!(cublas_mismatch_warning((major, 0, 1)), None);
        let w = cublas_mismatch_warning((major - 1, 8, 4)).unwrap();
        assert!(w.starts_with("warning: "));
        assert!(w.contains("cargo build --release"), "{w}");
        if major == 13 {
            assert!(w.contains("--features cuda-12"), "{w}");
        }
    }

    #[test]
    fn versioned_driver_symbols_follow_bindings() {
        let s = driver_symbols();
        if BINDINGS.0 >= 13 {
            assert!(s.contains(&"cuEventElapsedTime_v2"));
        } else {
            assert!(s.contains(&"cuEventElapsedTime"));
        }
        assert!(s.contains(&"cuInit"));
    }

    #[test]
    fn install_hints_name_real_wheels_and_their_directories() {
        let h13 = install_hint(13);
        assert!(
            h13.contains("pip install nvidia-cublas nvidia-cuda-nvrtc`"),
            "{h13}"
        );
        assert!(!h13.contains("-cu13"), "{h13}");
        assert!(h13.contains("/nvidia/cu13/lib:$LD_LIBRARY_PATH"), "{h13}");
        let h12 = install_hint(12);
        assert!(
            h12.contains("pip install nvidia-cublas-cu12 nvidia-cuda-nvrtc-cu12`"),
            "{h12}"
        );
        assert!(
            h12.contains("/nvidia/cublas/lib:") && h12.contains("/nvidia/cuda_nvrtc/lib:"),
            "{h12}"
        );
        for h in [h13, h12] {
            assert!(h.contains("export LD_LIBRARY_PATH="), "{h}");
            assert!(!h.contains('\n'));
        }
    }

    #[test]
    fn gpus_below_7_5_are_refused_on_cuda_13() {
        let r = check_compute_capability((7, 0), "cuda:0 (Tesla V100-SXM2-16GB)");
        assert!(check_compute_capability((7, 5), "x").is_ok());
        assert!(check_compute_capability((9, 0), "x").is_ok());
        if BINDINGS.0 >= 13 {
            let e = r.unwrap_err().to_string();
            assert!(e.contains("compute capability 7.0"), "{e}");
            assert!(e.contains("--features cuda-12"), "{e}");
            assert!(e.contains("--device cpu"), "{e}");
            assert!(!e.contains('\n'));
        } else {
            assert!(r.is_ok());
        }
    }

    #[test]
    fn nvrtc_cubin_and_arch_symbols_are_checked() {
        for s in [
            "nvrtcGetCUBINSize",
            "nvrtcGetCUBIN",
            "nvrtcGetNumSupportedArchs",
            "nvrtcGetSupportedArchs",
        ] {
            assert!(NVRTC_SYMBOLS.contains(&s), "{s}");
        }
        let d = driver_symbols();
        for s in [
            "cuMemHostAlloc",
            "cuMemHostGetDevicePointer_v2",
            "cuMemFreeHost",
        ] {
            assert!(d.contains(&s), "{s}");
        }
    }

    #[test]
    fn missing_library_is_one_line_error_not_panic() {
        if driver_present() {
            return; // a GPU machine: the GPU tests cover this path
        }
        let e = check_present().unwrap_err().to_string();
        assert!(e.contains("libcuda.so not found"), "{e}");
        assert!(e.contains("--device cpu"), "{e}");
        assert!(!e.contains('\n'));
    }
}
