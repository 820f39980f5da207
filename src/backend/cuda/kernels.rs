//! The backend's own device code, compiled with NVRTC once per backend and launched on its
//! stream: `kernels/fill.cu` (random inputs), `kernels/copy.cu` (memory bandwidth) and
//! `kernels/hold.cu` (holding the stream while a timed batch is queued, see `hold`).
//!
//! Why NVRTC: the binary carries CUDA C source (`include_str!`), compiled at run time for the
//! device's own architecture (see `nvrtc`), so it runs on any GPU the driver supports with no
//! CUDA toolkit at build time.

use std::sync::Arc;

use anyhow::Context;
use cudarc::driver::sys::cudaError_enum;
use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DriverError, LaunchConfig,
    PushKernelArg,
};
use cudarc::nvrtc::Ptx;

use super::elem::Elem;
use super::libs;
use super::nvrtc::{self, Image};

/// Threads per block of every launch.
const BLOCK: u32 = 256;

/// Compiled kernels, loaded into the backend's context.
pub(super) struct Kernels {
    fill_f64: CudaFunction,
    fill_f32: CudaFunction,
    fill_f16: CudaFunction,
    fill_bf16: CudaFunction,
    fill_e4m3: CudaFunction,
    copy_v16: CudaFunction,
    /// `hold_stream` of `kernels/hold.cu`, launched by `hold::Hold`.
    pub(super) hold_stream: CudaFunction,
    /// Blocks per SM the grid-stride launches aim for (full occupancy at 256 threads).
    max_blocks: u32,
}

impl Kernels {
    /// Compiles every source for the device (compute capability `cc`) and loads its functions.
    pub(super) fn compile(
        ctx: &Arc<CudaContext>,
        sm_count: u32,
        cc: (u32, u32),
    ) -> anyhow::Result<Kernels> {
        let target = nvrtc::target_for(cc, &nvrtc::supported_archs()?)?;
        let modules = nvrtc::compile_all(target)?
            .into_iter()
            .map(|(file, image)| Ok((file, load(ctx, file, image)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let get = |name: &str| -> anyhow::Result<CudaFunction> {
            for (_, m) in &modules {
                if let Ok(f) = m.load_function(name) {
                    return Ok(f);
                }
            }
            anyhow::bail!("kernel {name} missing from the compiled kernels")
        };
        Ok(Kernels {
            fill_f64: get(Elem::F64.fill_kernel())?,
            fill_f32: get(Elem::F32.fill_kernel())?,
            fill_f16: get(Elem::F16.fill_kernel())?,
            fill_bf16: get(Elem::Bf16.fill_kernel())?,
            fill_e4m3: get(Elem::E4m3.fill_kernel())?,
            copy_v16: get("copy_v16")?,
            hold_stream: get("hold_stream")?,
            max_blocks: sm_count.max(1) * 8,
        })
    }

    /// Grid for `n` items: one item per thread up to full occupancy, grid-stride beyond.
    fn config(&self, n: u64) -> LaunchConfig {
        let blocks = n.div_ceil(BLOCK as u64).clamp(1, self.max_blocks as u64) as u32;
        LaunchConfig {
            grid_dim: (blocks, 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        }
    }

    /// Fills `buf` (raw bytes holding `elem`s) with the random stream `seed`.
    pub(super) fn fill(
        &self,
        stream: &Arc<CudaStream>,
        buf: &mut CudaSlice<u8>,
        elem: Elem,
        seed: u64,
    ) -> anyhow::Result<()> {
        let n = (buf.len() / elem.size()) as u64;
        if n == 0 {
            return Ok(());
        }
        let f = match elem {
            Elem::F64 => &self.fill_f64,
            Elem::F32 => &self.fill_f32,
            Elem::F16 => &self.fill_f16,
            Elem::Bf16 => &self.fill_bf16,
            Elem::E4m3 => &self.fill_e4m3,
        };
        let cfg = self.config(n);
        let mut launch = stream.launch_builder(f);
        launch.arg(buf).arg(&n).arg(&seed);
        // SAFETY: fill_<elem>(T* out, u64 n, u64 seed) writes out[0..n); `buf` holds n elements
        // of T (n = bytes / size of T).
        unsafe { launch.launch(cfg) }
            .with_context(|| format!("launching {}", elem.fill_kernel()))?;
        Ok(())
    }

    /// Copies `src` to `dst` in 16-byte vectors; both hold `n16 * 16` bytes or more.
    pub(super) fn copy(
        &self,
        stream: &Arc<CudaStream>,
        src: &CudaSlice<u8>,
        dst: &mut CudaSlice<u8>,
        n16: u64,
    ) -> anyhow::Result<()> {
        assert!(src.len() as u64 >= n16 * 16 && dst.len() as u64 >= n16 * 16);
        let cfg = self.config(n16.div_ceil(4));
        let mut launch = stream.launch_builder(&self.copy_v16);
        launch.arg(src).arg(dst).arg(&n16);
        // SAFETY: copy_v16(const V16* src, V16* dst, u64 n) touches src[0..n) and dst[0..n);
        // both buffers hold at least n 16-byte vectors (asserted above) and cudarc allocations
        // are at least 256-byte aligned.
        unsafe { launch.launch(cfg) }.context("launching copy_v16")?;
        Ok(())
    }
}

/// Loads one compiled source, with an error that names the file and, for PTX the driver
/// finds too new, the two CUDA versions involved and what to install.
fn load(ctx: &Arc<CudaContext>, file: &str, image: Image) -> anyhow::Result<Arc<CudaModule>> {
    let ptx_version = match &image {
        Image::Ptx(text) => nvrtc::ptx_isa_version(text),
        Image::Cubin(_) => None,
    };
    let module = match image {
        Image::Cubin(bytes) => Ptx::from_binary(bytes),
        Image::Ptx(text) => Ptx::from_src(text),
    };
    ctx.load_module(module).map_err(|e| {
        let versions = Versions {
            nvrtc: libs::nvrtc_version(),
            driver: libs::driver_cuda_version().ok(),
            ptx: ptx_version,
        };
        load_error(file, e, versions)
    })
}

/// The versions a module-load error names.
struct Versions {
    nvrtc: Option<(u32, u32)>,
    /// The CUDA version the driver supports.
    driver: Option<(u32, u32)>,
    /// The PTX ISA version of the image (`None` for a CUBIN).
    ptx: Option<(u32, u32)>,
}

fn load_error(file: &str, e: DriverError, v: Versions) -> anyhow::Error {
    let version = |v: Option<(u32, u32)>| {
        v.map(|(a, b)| format!("{a}.{b}"))
            .unwrap_or_else(|| "unknown".into())
    };
    let rtc = version(v.nvrtc);
    let drv = version(v.driver);
    let ptx_version = v.ptx;
    if e.0 == cudaError_enum::CUDA_ERROR_UNSUPPORTED_PTX_VERSION {
        let isa = ptx_version
            .map(|(a, b)| format!(" (PTX ISA {a}.{b})"))
            .unwrap_or_default();
        return anyhow::anyhow!(
            "NVRTC {rtc} is newer than the driver's CUDA {drv}: the driver cannot load the PTX{isa} it made from {file}; install the NVRTC of CUDA {drv} (pip install 'nvidia-cuda-nvrtc=={drv}.*') or update the driver"
        );
    }
    anyhow::anyhow!(
        "the driver (CUDA {drv}) could not load the code NVRTC {rtc} compiled from {file}: {e}"
    )
}

/// The seed of one operand of one input set: distinct, well-mixed streams per (seed, set,
/// operand) so that no two buffers share values.
pub(super) fn operand_seed(seed: u64, set: u32, operand: u32) -> u64 {
    let tag = ((set as u64) << 2) | operand as u64;
    mix64(seed ^ mix64(tag.wrapping_add(0x5851_F42D_4C95_7F2D)))
}

/// splitmix64's output function (also in `kernels/fill.cu`).
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operand_seeds_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for seed in [0u64, 1, 42] {
            for set in 0..64 {
                for op in 0..2 {
                    assert!(seen.insert(operand_seed(seed, set, op)));
                }
            }
        }
    }

    #[test]
    fn sources_define_every_kernel() {
        let all: String = nvrtc::SOURCES.iter().map(|(_, s)| *s).collect();
        for e in [Elem::F64, Elem::F32, Elem::F16, Elem::Bf16, Elem::E4m3] {
            assert!(
                all.contains(&format!("void {}(", e.fill_kernel())),
                "{}",
                e.fill_kernel()
            );
        }
        assert!(all.contains("void copy_v16("));
        assert!(all.contains("void hold_stream(const volatile unsigned int* release,"));
    }

    #[test]
    fn ptx_too_new_names_both_versions_and_the_fix() {
        let e = load_error(
            "kernels/fill.cu",
            DriverError(cudaError_enum::CUDA_ERROR_UNSUPPORTED_PTX_VERSION),
            Versions {
                nvrtc: Some((13, 5)),
                driver: Some((13, 0)),
                ptx: Some((9, 5)),
            },
        )
        .to_string();
        assert!(
            e.starts_with("NVRTC 13.5 is newer than the driver's CUDA 13.0"),
            "{e}"
        );
        assert!(e.contains("nvidia-cuda-nvrtc==13.0.*"), "{e}");
        assert!(e.contains("is newer than the driver's CUDA"), "{e}");
        assert!(e.contains("PTX ISA 9.5"), "{e}");
        assert!(e.contains("pip install 'nvidia-cuda-nvrtc=="), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn mix64_matches_reference() {
        assert_eq!(mix64(12345), super::super::fill_ref::mix64(12345));
    }
}
