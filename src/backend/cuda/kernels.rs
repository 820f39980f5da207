//! The backend's own device code: `kernels/fill.cu` (random inputs) and `kernels/copy.cu`
//! (memory bandwidth), compiled with NVRTC once per backend and launched on its stream.
//!
//! Why NVRTC: the binary carries CUDA C source (`include_str!`) instead of PTX for one
//! architecture, so it runs on any GPU the driver supports, with no CUDA toolkit at build
//! time. No architecture is forced: NVRTC's default virtual architecture is JIT-compiled by the
//! driver for the device.

use std::sync::Arc;

use anyhow::Context;
use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::{compile_ptx, CompileError};

use super::elem::Elem;
use super::libs;

const FILL_SRC: &str = include_str!("../../../kernels/fill.cu");
const COPY_SRC: &str = include_str!("../../../kernels/copy.cu");

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
    /// Blocks per SM the grid-stride launches aim for (full occupancy at 256 threads).
    max_blocks: u32,
}

impl Kernels {
    /// Compiles both sources and loads their functions.
    pub(super) fn compile(ctx: &Arc<CudaContext>, sm_count: u32) -> anyhow::Result<Kernels> {
        let fill = load(ctx, "kernels/fill.cu", FILL_SRC)?;
        let copy = load(ctx, "kernels/copy.cu", COPY_SRC)?;
        let get = |m: &Arc<cudarc::driver::CudaModule>, name: &str| {
            m.load_function(name)
                .map_err(|e| anyhow::anyhow!("kernel {name} missing from the compiled module: {e}"))
        };
        Ok(Kernels {
            fill_f64: get(&fill, Elem::F64.fill_kernel())?,
            fill_f32: get(&fill, Elem::F32.fill_kernel())?,
            fill_f16: get(&fill, Elem::F16.fill_kernel())?,
            fill_bf16: get(&fill, Elem::Bf16.fill_kernel())?,
            fill_e4m3: get(&fill, Elem::E4m3.fill_kernel())?,
            copy_v16: get(&copy, "copy_v16")?,
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

/// Compiles one source and loads it, with errors that name the file and the versions involved.
fn load(
    ctx: &Arc<CudaContext>,
    file: &str,
    src: &str,
) -> anyhow::Result<Arc<cudarc::driver::CudaModule>> {
    let ptx = compile_ptx(src).map_err(|e| {
        let detail = match &e {
            CompileError::CompileError { log, .. } => {
                log.to_string_lossy().trim().replace('\n', "; ")
            }
            other => format!("{other:?}"),
        };
        anyhow::anyhow!("NVRTC could not compile {file}: {detail}")
    })?;
    ctx.load_module(ptx).map_err(|e| {
        let rtc = libs::nvrtc_version()
            .map(|(a, b)| format!("{a}.{b}"))
            .unwrap_or_else(|| "unknown".into());
        let drv = libs::driver_cuda_version()
            .map(|(a, b)| format!("{a}.{b}"))
            .unwrap_or_else(|_| "unknown".into());
        anyhow::anyhow!(
            "the driver could not load the PTX NVRTC {rtc} made from {file} ({e}); the driver supports CUDA {drv}: use an NVRTC no newer than the driver, or update the driver"
        )
    })
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
    fn sources_define_every_kernel_without_includes() {
        for e in [Elem::F64, Elem::F32, Elem::F16, Elem::Bf16, Elem::E4m3] {
            assert!(
                FILL_SRC.contains(&format!("void {}(", e.fill_kernel())),
                "{}",
                e.fill_kernel()
            );
        }
        assert!(COPY_SRC.contains("void copy_v16("));
        for src in [FILL_SRC, COPY_SRC] {
            assert!(!src.contains("#include"), "NVRTC may not find CUDA headers");
            assert!(src.matches("extern \"C\" __global__").count() >= 1);
        }
    }

    #[test]
    fn mix64_matches_reference() {
        assert_eq!(mix64(12345), super::super::fill_ref::mix64(12345));
    }
}
