//! Compiling the backend's kernels (`kernels/*.cu`) with NVRTC into machine code (CUBIN) for
//! the device's architecture.
//!
//! Why CUBIN and not PTX: PTX carries the ISA version of the NVRTC that wrote it, and a driver
//! refuses PTX newer than its own CUDA version (NVRTC 13.5 writes PTX 9.5, which a CUDA 13.0
//! driver rejects with `CUDA_ERROR_UNSUPPORTED_PTX_VERSION`). A CUBIN for `sm_XY` needs no
//! JIT and loads on any driver of the same CUDA major version. PTX is used only for a device
//! newer than every architecture the loaded NVRTC lists (`nvrtcGetSupportedArchs`): then the
//! newest listed virtual architecture below the device is compiled to PTX and the driver JITs
//! it.
//!
//! Public (through `backend::cuda`) so that tests can compile every kernel, with exactly these
//! options, for every architecture against the real NVRTC libraries.

use std::ffi::{c_char, c_int, CStr, CString};

use cudarc::nvrtc::{result, sys};

use super::libs;

/// Every kernel source the backend compiles, by file name.
pub const SOURCES: [(&str, &str); 3] = [
    ("kernels/fill.cu", include_str!("../../../kernels/fill.cu")),
    ("kernels/copy.cu", include_str!("../../../kernels/copy.cu")),
    ("kernels/hold.cu", include_str!("../../../kernels/hold.cu")),
];

/// What NVRTC is asked to produce for a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Machine code for `sm_XY` (`XY` = 10·major + minor), loaded as is.
    Cubin(u32),
    /// PTX for the virtual architecture `compute_XY`, JIT-compiled by the driver.
    Ptx(u32),
}

impl Target {
    /// NVRTC's `--gpu-architecture` value.
    pub fn arch_flag(self) -> String {
        match self {
            Target::Cubin(a) => format!("sm_{a}"),
            Target::Ptx(a) => format!("compute_{a}"),
        }
    }
}

/// A compiled kernel source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Image {
    /// An ELF CUBIN.
    Cubin(Vec<u8>),
    /// PTX text.
    Ptx(String),
}

/// `(9, 0)` → `90`.
pub fn arch_number(cc: (u32, u32)) -> u32 {
    cc.0 * 10 + cc.1
}

/// The target for a device of compute capability `cc` given the architectures NVRTC lists:
/// its own `sm_XY` when listed; else PTX for the newest listed architecture below it (a
/// device newer than this NVRTC); an error for a device older than everything listed.
pub fn target_for(cc: (u32, u32), supported: &[u32]) -> anyhow::Result<Target> {
    let arch = arch_number(cc);
    if supported.contains(&arch) {
        return Ok(Target::Cubin(arch));
    }
    if let Some(&below) = supported.iter().filter(|&&a| a < arch).max() {
        return Ok(Target::Ptx(below));
    }
    let oldest = supported.iter().min().copied().unwrap_or(0);
    anyhow::bail!(
        "the NVRTC found cannot compile for compute capability {}.{} (its oldest architecture is sm_{oldest}); {}",
        cc.0,
        cc.1,
        libs::old_gpu_hint()
    )
}

/// The NVRTC options every kernel is compiled with.
pub fn options(target: Target) -> Vec<String> {
    vec![format!("--gpu-architecture={}", target.arch_flag())]
}

/// `Ok` when an NVRTC library loads (under cudarc's names: `libnvrtc.so.13`, …) and exports
/// every symbol the backend calls; otherwise a one-line error naming what is missing.
pub fn check_loaded() -> anyhow::Result<()> {
    if !libs::nvrtc_present() {
        anyhow::bail!(
            "NVRTC (libnvrtc.so.{}) not found: {}",
            libs::BINDINGS.0,
            libs::install_hint(libs::BINDINGS.0)
        );
    }
    let missing = libs::missing_nvrtc_symbols();
    if !missing.is_empty() {
        anyhow::bail!("the NVRTC library found lacks {}", missing.join(", "));
    }
    Ok(())
}

/// The loaded NVRTC's version `(major, minor)`.
pub fn version() -> anyhow::Result<(u32, u32)> {
    check_loaded()?;
    libs::nvrtc_version().ok_or_else(|| anyhow::anyhow!("nvrtcVersion failed"))
}

/// Every NVRTC symbol the backend resolves (checked before the first NVRTC call).
pub fn symbols() -> &'static [&'static str] {
    libs::NVRTC_SYMBOLS
}

/// The architectures the loaded NVRTC can compile for (`nvrtcGetSupportedArchs`), sorted.
pub fn supported_archs() -> anyhow::Result<Vec<u32>> {
    check_loaded()?;
    let mut n: c_int = 0;
    // SAFETY: writes one int; the symbol was checked by `libs`.
    unsafe { sys::nvrtcGetNumSupportedArchs(&mut n) }
        .result()
        .map_err(|e| anyhow::anyhow!("nvrtcGetNumSupportedArchs failed: {e}"))?;
    let mut archs: Vec<c_int> = vec![0; n.max(0) as usize];
    if !archs.is_empty() {
        // SAFETY: `archs` holds the `n` ints NVRTC writes.
        unsafe { sys::nvrtcGetSupportedArchs(archs.as_mut_ptr()) }
            .result()
            .map_err(|e| anyhow::anyhow!("nvrtcGetSupportedArchs failed: {e}"))?;
    }
    let mut v: Vec<u32> = archs.into_iter().map(|a| a.max(0) as u32).collect();
    v.sort_unstable();
    Ok(v)
}

/// A program destroyed on drop.
struct Program(sys::nvrtcProgram);

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: created by `create_program`, destroyed once; an error cannot be reported.
        let _ = unsafe { result::destroy_program(self.0) };
    }
}

/// Compiles `src` (named `file` in messages) for `target` with [`options`].
pub fn compile(file: &str, src: &str, target: Target) -> anyhow::Result<Image> {
    let csrc = CString::new(src).map_err(|_| anyhow::anyhow!("{file} contains a NUL byte"))?;
    let name = CString::new(file).map_err(|_| anyhow::anyhow!("bad file name {file}"))?;
    let prog = Program(
        result::create_program(&csrc, Some(&name))
            .map_err(|e| anyhow::anyhow!("nvrtcCreateProgram failed for {file}: {e}"))?,
    );
    let opts = options(target);
    // SAFETY: `prog` is live until dropped at the end of this function.
    if let Err(e) = unsafe { result::compile_program(prog.0, &opts) } {
        // SAFETY: as above.
        let log = unsafe { result::get_program_log(prog.0) }
            .ok()
            .map(|l| c_chars_to_string(&l))
            .unwrap_or_default();
        let rtc = libs::nvrtc_version()
            .map(|(a, b)| format!("{a}.{b}"))
            .unwrap_or_else(|| "?".into());
        anyhow::bail!(
            "NVRTC {rtc} could not compile {file} for {} ({e}): {}",
            target.arch_flag(),
            log.trim().replace('\n', "; ")
        );
    }
    match target {
        Target::Cubin(_) => {
            let mut size = 0usize;
            // SAFETY: `prog` compiled; writes one size.
            unsafe { sys::nvrtcGetCUBINSize(prog.0, &mut size) }
                .result()
                .map_err(|e| anyhow::anyhow!("nvrtcGetCUBINSize failed for {file}: {e}"))?;
            if size == 0 {
                anyhow::bail!("NVRTC returned an empty CUBIN for {file}");
            }
            let mut buf = vec![0u8; size];
            // SAFETY: `buf` holds the `size` bytes NVRTC writes.
            unsafe { sys::nvrtcGetCUBIN(prog.0, buf.as_mut_ptr() as *mut c_char) }
                .result()
                .map_err(|e| anyhow::anyhow!("nvrtcGetCUBIN failed for {file}: {e}"))?;
            Ok(Image::Cubin(buf))
        }
        Target::Ptx(_) => {
            // SAFETY: `prog` compiled.
            let ptx = unsafe { result::get_ptx(prog.0) }
                .map_err(|e| anyhow::anyhow!("nvrtcGetPTX failed for {file}: {e}"))?;
            Ok(Image::Ptx(c_chars_to_string(&ptx)))
        }
    }
}

/// Compiles every source of [`SOURCES`] for `target`.
pub fn compile_all(target: Target) -> anyhow::Result<Vec<(&'static str, Image)>> {
    check_loaded()?;
    SOURCES
        .iter()
        .map(|&(file, src)| Ok((file, compile(file, src, target)?)))
        .collect()
}

/// A NUL-terminated C buffer as text.
fn c_chars_to_string(v: &[c_char]) -> String {
    let bytes: Vec<u8> = v.iter().map(|&c| c as u8).collect();
    match CStr::from_bytes_until_nul(&bytes) {
        Ok(s) => s.to_string_lossy().into_owned(),
        Err(_) => String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// The ISA version a PTX text declares (`.version 9.5` → `(9, 5)`).
pub fn ptx_isa_version(ptx: &str) -> Option<(u32, u32)> {
    let line = ptx
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(".version"))?;
    let (a, b) = line.trim_start_matches(".version").trim().split_once('.')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NVRTC_13: [u32; 12] = [75, 80, 86, 87, 88, 89, 90, 100, 103, 110, 120, 121];

    #[test]
    fn device_arch_gets_a_cubin() {
        assert_eq!(target_for((9, 0), &NVRTC_13).unwrap(), Target::Cubin(90));
        assert_eq!(target_for((7, 5), &NVRTC_13).unwrap(), Target::Cubin(75));
        assert_eq!(target_for((12, 1), &NVRTC_13).unwrap(), Target::Cubin(121));
        assert_eq!(options(Target::Cubin(90)), ["--gpu-architecture=sm_90"]);
    }

    #[test]
    fn unlisted_newer_arch_gets_ptx_of_the_newest_below() {
        assert_eq!(target_for((12, 2), &NVRTC_13).unwrap(), Target::Ptx(121));
        assert_eq!(target_for((8, 5), &NVRTC_13).unwrap(), Target::Ptx(80));
        assert_eq!(
            options(Target::Ptx(121)),
            ["--gpu-architecture=compute_121"]
        );
    }

    #[test]
    fn arch_older_than_nvrtc_is_an_error_with_a_hint() {
        let e = target_for((7, 0), &NVRTC_13).unwrap_err().to_string();
        assert!(e.contains("7.0") && e.contains("sm_75"), "{e}");
        assert!(e.contains("cargo build") || e.contains("driver"), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn sources_have_no_includes_and_export_c_kernels() {
        for (file, src) in SOURCES {
            assert!(
                !src.contains("#include"),
                "{file}: NVRTC may not find CUDA headers"
            );
            assert!(src.contains("extern \"C\" __global__"), "{file}");
        }
    }

    #[test]
    fn ptx_versions() {
        let ptx = "//\n// Generated by NVIDIA NVVM Compiler\n\n.version 9.5\n.target sm_90\n";
        assert_eq!(ptx_isa_version(ptx), Some((9, 5)));
        assert_eq!(ptx_isa_version(".version 8.7\n"), Some((8, 7)));
        assert_eq!(ptx_isa_version("no version"), None);
    }
}
