//! The CUDA backend: cuBLASLt GEMMs on one GPU, timed with CUDA events, through cudarc with
//! every library loaded at run time.
//!
//! Why it is shaped this way:
//! - every cudarc call in gpubench lives under this module; the rest of the crate sees only
//!   the [`Backend`] / [`PreparedGemm`] traits;
//! - [`open`] checks that the libraries and their symbols exist before the first CUDA call
//!   (`libs`), because cudarc panics on a missing library, and gpubench must instead print
//!   one line that says what is missing;
//! - all work runs on one stream with cudarc's event tracking off (a single stream needs no
//!   cross-stream synchronization, and tracking would add events between timed products).
//!
//! Files: `libs` (presence and versions), `device` (facts and dtype support), `nvrtc`
//! (compiling `kernels/*.cu` for the device), `kernels` (fill and copy kernels), `hold`
//! (holding the stream while a timed batch is queued),
//! `matmul` (cuBLASLt), `gemm` (a prepared GEMM), `copy` (a prepared copy), `timing` (events), `elem` (element types).

mod copy;
mod device;
mod elem;
#[cfg(test)]
mod fill_ref;
mod gemm;
mod hold;
mod kernels;
mod libs;
mod matmul;
pub mod nvrtc;
mod timing;

use std::cell::OnceCell;
use std::sync::Arc;

use anyhow::Context;
use cudarc::driver::{CudaContext, CudaSlice, CudaStream, DevicePtr};

use super::{Backend, DeviceInfo, GemmRequest, PreparedCopy, PreparedGemm};
use crate::dtype::DType;
use hold::Hold;
use kernels::Kernels;
use matmul::LtHandle;

/// Checks, with no GPU, the loaded cuBLASLt against what the backend calls: every symbol
/// exists, and every descriptor, layout and preference attribute is accepted as the backend
/// sets it for `dtype` and `shape` (cuBLASLt rejects an attribute of the wrong size with
/// `CUBLAS_STATUS_INVALID_VALUE`). For tests against the real library; `Err` names the problem.
pub fn check_cublaslt_descriptors(
    dtype: DType,
    shape: crate::backend::GemmShape,
    fp8_fast_accum: bool,
) -> anyhow::Result<()> {
    if !libs::cublaslt_present() {
        anyhow::bail!(
            "cuBLASLt (libcublasLt.so.{}) not found: {}",
            libs::BINDINGS.0,
            libs::install_hint(libs::BINDINGS.0)
        );
    }
    let missing = libs::missing_cublaslt_symbols();
    if !missing.is_empty() {
        anyhow::bail!("the cuBLASLt library found lacks {}", missing.join(", "));
    }
    let align = matmul::Alignments {
        a: 256,
        b: 256,
        c: 256,
    };
    matmul::descriptors(dtype, shape, align, fp8_fast_accum).map(|_| ())
}

/// The loaded cuBLASLt's version `(major, minor, patch)`, `None` when none loads.
pub fn cublaslt_version() -> Option<(u32, u32, u32)> {
    libs::cublaslt_present()
        .then(libs::cublaslt_version)
        .flatten()
}

/// Whether the NVIDIA driver library can be loaded on this machine (no CUDA call is made).
pub fn driver_present() -> bool {
    libs::driver_present()
}

/// Opens GPU `ordinal` (`--device cuda:N`). Fails with one line, never a panic, when the
/// driver or the CUDA libraries are missing; `cuda:N` past the last GPU is a usage error.
pub fn open(ordinal: u32) -> anyhow::Result<Box<dyn Backend>> {
    libs::check_present()?;
    let driver = libs::driver_cuda_version()?;
    libs::check_driver_supports_bindings(driver)?;
    let count = device_count()?;
    if ordinal >= count {
        return Err(device::ordinal_error(ordinal, count));
    }
    let ctx = CudaContext::new(ordinal as usize).map_err(|e| {
        anyhow::anyhow!("could not create a CUDA context on cuda:{ordinal}: {e}; use --device cpu")
    })?;
    // SAFETY: every buffer, launch, copy and GEMM of this backend uses the one stream created
    // below, so no cross-stream synchronization is needed.
    unsafe { ctx.disable_event_tracking() };
    let stream = ctx
        .new_stream()
        .map_err(|e| anyhow::anyhow!("could not create a CUDA stream on cuda:{ordinal}: {e}"))?;
    let lt = LtHandle::new()?;
    let cublas = libs::cublaslt_version();
    if let Some(w) = cublas.and_then(libs::cublas_mismatch_warning) {
        eprintln!("{w}");
    }
    let info = device::gather(&ctx, ordinal, driver, cublas)?;
    let cc = info
        .cc()
        .context("the device reported no compute capability")?;
    libs::check_compute_capability(cc, &format!("cuda:{ordinal} ({})", info.name))?;
    let hold = Hold::new(&ctx)?;
    // SAFETY: cuBLASLt only uses the workspace as scratch; contents are irrelevant.
    let workspace = unsafe { stream.alloc::<u8>(matmul::WORKSPACE_BYTES) }.map_err(|e| {
        anyhow::anyhow!("allocating the 32 MiB cuBLASLt workspace on cuda:{ordinal}: {e}")
    })?;
    Ok(Box::new(CudaBackend {
        gpu: Gpu {
            ctx,
            stream,
            lt,
            workspace,
            hold,
            ordinal,
        },
        cc,
        info,
        kernels: OnceCell::new(),
    }))
}

/// Number of GPUs the driver sees (`--device all`), after the checks [`open`] makes first: one
/// line, never a panic, when the driver or the CUDA libraries are missing.
pub fn gpu_count() -> anyhow::Result<u32> {
    libs::check_present()?;
    libs::check_driver_supports_bindings(libs::driver_cuda_version()?)?;
    device_count()
}

/// Number of GPUs the driver sees (`cuInit` + `cuDeviceGetCount`), with clear errors.
fn device_count() -> anyhow::Result<u32> {
    use cudarc::driver::sys::cudaError_enum as E;
    match CudaContext::device_count() {
        Ok(n) => Ok(n.max(0) as u32),
        Err(e) if e.0 == E::CUDA_ERROR_NO_DEVICE => Ok(0),
        Err(e) if e.0 == E::CUDA_ERROR_STUB_LIBRARY => Err(anyhow::anyhow!(
            "the libcuda.so found is the CUDA toolkit's stub, not an NVIDIA driver (no GPU driver on this machine?); use --device cpu"
        )),
        Err(e) => Err(anyhow::anyhow!(
            "CUDA initialization failed (cuInit: {e}); check nvidia-smi, or use --device cpu"
        )),
    }
}

/// The CUDA objects every prepared GEMM shares.
pub(super) struct Gpu {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    lt: LtHandle,
    workspace: CudaSlice<u8>,
    /// Holds `stream` while a timed batch is queued (see `kernels::Hold`).
    hold: Hold,
    ordinal: u32,
}

impl Gpu {
    fn workspace_ptr(&self) -> u64 {
        self.workspace.device_ptr(&self.stream).0
    }
}

/// One GPU as a gpubench [`Backend`].
pub struct CudaBackend {
    gpu: Gpu,
    cc: (u32, u32),
    info: DeviceInfo,
    /// Compiled on first use (NVRTC takes a fraction of a second).
    kernels: OnceCell<Kernels>,
}

impl CudaBackend {
    fn kernels(&self) -> anyhow::Result<&Kernels> {
        if let Some(k) = self.kernels.get() {
            return Ok(k);
        }
        self.gpu.ctx.bind_to_thread()?;
        let k = Kernels::compile(&self.gpu.ctx, self.info.sm_count.unwrap_or(1), self.cc)?;
        Ok(self.kernels.get_or_init(|| k))
    }

    fn device_label(&self) -> String {
        format!("cuda:{} ({})", self.gpu.ordinal, self.info.name)
    }
}

impl Backend for CudaBackend {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn check_dtype(&self, dtype: DType) -> anyhow::Result<()> {
        device::check_dtype(self.cc, dtype, &self.device_label())
    }

    fn free_memory(&self) -> anyhow::Result<Option<u64>> {
        // Synchronizing first lets the stream-ordered allocator return freed buffers to the
        // device, so the figure counts memory released by earlier GEMMs.
        self.gpu
            .stream
            .synchronize()
            .context("synchronizing the GPU")?;
        let (free, _total) = self.gpu.ctx.mem_get_info().context("cuMemGetInfo")?;
        Ok(Some(free as u64))
    }

    fn prepare(&self, req: &GemmRequest) -> anyhow::Result<Box<dyn PreparedGemm + '_>> {
        self.check_dtype(req.dtype)?;
        let kernels = self.kernels()?;
        Ok(Box::new(gemm::CudaGemm::new(&self.gpu, kernels, req)?))
    }

    fn derived_peak(&self, dtype: DType) -> Option<(f64, String)> {
        device::derived_peak(&self.info, dtype)
    }

    fn prepare_copy(&self, bytes: u64) -> anyhow::Result<Box<dyn PreparedCopy + '_>> {
        let kernels = self.kernels()?;
        Ok(Box::new(copy::CudaCopy::new(&self.gpu, kernels, bytes)?))
    }
}
