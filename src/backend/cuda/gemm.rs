//! One prepared GPU GEMM: its device buffers (rotating input sets, one output), its cuBLASLt
//! plan, and the event-timed run and verification the measurement loop calls.
//!
//! Why rotating sets: with one set, repeated products of a small problem run from L2 (50 MB on
//! an H100); `--cold` asks for enough distinct sets to exceed it (docs/measuring.md §4.3). Each set
//! is filled on the device with its own random stream, never zeros.

use anyhow::Context;
use cudarc::driver::sys::cudaError_enum;
use cudarc::driver::{CudaSlice, DevicePtr, DriverError};

use super::elem::Elem;
use super::hold::{Held, HOLD_MAX_OPS};
use super::kernels::{operand_seed, Kernels};
use super::matmul::{alignment, Alignments, MatmulCall};
use super::timing::{self, EventPool};
use super::Gpu;
use crate::backend::{GemmApi, GemmRequest, GemmShape, PreparedGemm, VerifySample};
use crate::dtype::DType;
use crate::error::usage;
use crate::units::fmt_bytes;

/// Launch-queue entries one timed product may take: two events and up to two kernels
/// (cuBLASLt adds a reduction kernel to split-K algorithms).
const OPS_PER_PRODUCT: usize = 4;

/// A GEMM whose buffers live on the GPU.
pub(super) struct CudaGemm<'a> {
    gpu: &'a Gpu,
    kernels: &'a Kernels,
    dtype: DType,
    shape: GemmShape,
    fp8_fast_accum: bool,
    /// Per input set: the A buffer (m×k×batch) and the Bt buffer (n×k×batch), as raw bytes.
    a: Vec<CudaSlice<u8>>,
    bt: Vec<CudaSlice<u8>>,
    /// The output (m×n×batch).
    c: CudaSlice<u8>,
    /// Device addresses of the above (stable while the slices live).
    a_ptr: Vec<u64>,
    bt_ptr: Vec<u64>,
    c_ptr: u64,
    plan: MatmulCall,
    events: EventPool,
    next: usize,
    /// Whether the selected algorithm has run once outside a hold (see [`CudaGemm::run`]).
    loaded: bool,
}

/// Bytes of A, Bt and C of one set, or a usage error when a size overflows.
fn buffer_bytes(dtype: DType, shape: GemmShape) -> anyhow::Result<(usize, usize, usize)> {
    let ein = Elem::input(dtype).size() as u64;
    let eout = Elem::output(dtype).size() as u64;
    let prod = |x: &[u64]| -> anyhow::Result<usize> {
        x.iter()
            .try_fold(1u64, |acc, &v| acc.checked_mul(v))
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| usage(format!("{dtype} {shape} is too large to allocate")))
    };
    let GemmShape { m, n, k, batch } = shape;
    Ok((
        prod(&[m, k, batch, ein])?,
        prod(&[n, k, batch, ein])?,
        prod(&[m, n, batch, eout])?,
    ))
}

impl<'a> CudaGemm<'a> {
    pub(super) fn new(
        gpu: &'a Gpu,
        kernels: &'a Kernels,
        req: &GemmRequest,
    ) -> anyhow::Result<Self> {
        let (dtype, shape) = (req.dtype, req.shape);
        if [shape.m, shape.n, shape.k, shape.batch].contains(&0) {
            return Err(usage(format!(
                "GEMM dimensions must be at least 1 (got {shape})"
            )));
        }
        let (a_len, bt_len, c_len) = buffer_bytes(dtype, shape)?;
        let sets = req.input_sets.max(1);
        let total = (a_len as f64 + bt_len as f64) * sets as f64 + c_len as f64;
        let free_before = gpu.ctx.mem_get_info().ok();
        let oom = |e: DriverError| -> anyhow::Error {
            if e.0 != cudaError_enum::CUDA_ERROR_OUT_OF_MEMORY {
                return anyhow::anyhow!("allocating GPU memory for {dtype} {shape} failed: {e}");
            }
            let free = free_before
                .map(|(f, t)| format!("{} free of {}", fmt_bytes(f as f64), fmt_bytes(t as f64)))
                .unwrap_or_else(|| "free memory unknown".into());
            anyhow::anyhow!(
                "out of GPU memory: {dtype} {shape} with {sets} input set(s) needs {} ({} of A and B per set, {} of C); {free} on cuda:{}: use a smaller shape or fewer input sets",
                fmt_bytes(total),
                fmt_bytes((a_len + bt_len) as f64),
                fmt_bytes(c_len as f64),
                gpu.ordinal
            )
        };
        gpu.ctx.bind_to_thread()?;
        let stream = &gpu.stream;
        let ein = Elem::input(dtype);
        let (mut a, mut bt) = (Vec::new(), Vec::new());
        for set in 0..sets {
            // SAFETY (both allocs): every byte is written by the fill kernel just below.
            let mut buf = unsafe { stream.alloc::<u8>(a_len) }.map_err(oom)?;
            kernels.fill(stream, &mut buf, ein, operand_seed(req.seed, set, 0))?;
            a.push(buf);
            let mut buf = unsafe { stream.alloc::<u8>(bt_len) }.map_err(oom)?;
            kernels.fill(stream, &mut buf, ein, operand_seed(req.seed, set, 1))?;
            bt.push(buf);
        }
        let c = stream.alloc_zeros::<u8>(c_len).map_err(oom)?;
        stream
            .synchronize()
            .with_context(|| format!("filling the inputs of {dtype} {shape}"))?;
        let addr = |s: &CudaSlice<u8>| s.device_ptr(stream).0;
        let a_ptr: Vec<u64> = a.iter().map(addr).collect();
        let bt_ptr: Vec<u64> = bt.iter().map(addr).collect();
        let c_ptr = addr(&c);
        let align = Alignments {
            a: alignment(&bt_ptr),
            b: alignment(&a_ptr),
            c: alignment(&[c_ptr]),
        };
        let plan = MatmulCall::new(&gpu.lt, dtype, shape, align, req.fp8_fast_accum)?;
        Ok(CudaGemm {
            gpu,
            kernels,
            dtype,
            shape,
            fp8_fast_accum: req.fp8_fast_accum,
            a,
            bt,
            c,
            a_ptr,
            bt_ptr,
            c_ptr,
            plan,
            events: EventPool::new(gpu.ctx.clone()),
            next: 0,
            loaded: false,
        })
    }

    /// Queues one product on input set `set`.
    fn product(&self, set: usize) -> anyhow::Result<()> {
        // SAFETY: the buffers were allocated for this dtype and shape and the plan was built
        // with their alignments; the workspace holds WORKSPACE_BYTES; the stream belongs to the
        // context the callers bind to this thread.
        unsafe {
            self.plan.matmul(
                &self.gpu.lt,
                self.a_ptr[set],
                self.bt_ptr[set],
                self.c_ptr,
                self.gpu.workspace_ptr(),
                self.gpu.stream.cu_stream(),
            )
        }
        .with_context(|| format!("{} {}", self.dtype, self.shape))
    }

    /// Copies `len` bytes at byte `offset` of `buf` to the host.
    fn read(&self, buf: &CudaSlice<u8>, offset: usize, len: usize) -> anyhow::Result<Vec<u8>> {
        let mut host = vec![0u8; len];
        let view = buf.slice(offset..offset + len);
        self.gpu
            .stream
            .memcpy_dtoh(&view, &mut host)
            .context("copying results from the GPU")?;
        // The copy is queued on the stream: wait for it before the host reads `host`.
        self.gpu
            .stream
            .synchronize()
            .context("copying results from the GPU")?;
        Ok(host)
    }
}

impl PreparedGemm for CudaGemm<'_> {
    fn api(&self) -> GemmApi {
        GemmApi {
            api: "cublasLtMatmul".into(),
            compute_type: self.plan.types.compute_name.into(),
            accumulator: self.dtype.accumulator().into(),
            output_type: self.dtype.output_type().into(),
            algorithm: Some(self.plan.algorithm()),
            timing: Some(timing::METHOD.into()),
            fp8_fast_accum: (self.dtype == DType::Fp8).then_some(self.fp8_fast_accum),
        }
    }

    fn algorithm_count(&self) -> usize {
        self.plan.candidate_count()
    }

    fn select_algorithm(&mut self, index: usize) -> anyhow::Result<()> {
        self.loaded = false;
        self.plan.select(index)
    }

    fn run(&mut self, count: usize) -> anyhow::Result<Vec<f64>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        self.gpu.ctx.bind_to_thread()?;
        self.events.ensure(count)?;
        let stream = &self.gpu.stream;
        if !self.loaded {
            // The first launch of a cuBLASLt kernel may load its module (CUDA's lazy loading),
            // which waits for the device to be idle: inside a hold, that waits for the hold's
            // timeout. One untimed product outside the hold loads it.
            self.product(self.next % self.a.len())?;
            stream
                .synchronize()
                .with_context(|| format!("running {} {}", self.dtype, self.shape))?;
            self.loaded = true;
        }
        let held = Held {
            kernels: self.kernels,
            hold: &self.gpu.hold,
            stream,
        };
        let first = self.next;
        let sets = self.a.len();
        let what = format!("{} {}", self.dtype, self.shape);
        held.run(
            count,
            HOLD_MAX_OPS / OPS_PER_PRODUCT,
            &mut |i| {
                self.events.start(i, stream)?;
                self.product((first + i) % sets)?;
                self.events.end(i, stream)
            },
            &what,
        )?;
        self.next = first + count;
        self.events.elapsed_s(count)
    }

    fn verify_sample(&mut self, rows: &[u64], cols: &[u64]) -> anyhow::Result<VerifySample> {
        let GemmShape { m, n, k, .. } = self.shape;
        if let Some(i) = rows.iter().find(|&&i| i >= m) {
            anyhow::bail!("verification row {i} is outside the {m} rows of C");
        }
        if let Some(j) = cols.iter().find(|&&j| j >= n) {
            anyhow::bail!("verification column {j} is outside the {n} columns of C");
        }
        self.gpu.ctx.bind_to_thread()?;
        self.product(0)?;
        self.gpu
            .stream
            .synchronize()
            .with_context(|| format!("running {} {}", self.dtype, self.shape))?;
        let (ein, eout) = (Elem::input(self.dtype), Elem::output(self.dtype));
        let row_bytes = k as usize * ein.size();
        // Rows of A and rows of Bt (= columns of B) are contiguous, in batch 0 of set 0.
        let a_rows = rows
            .iter()
            .map(|&i| Ok(ein.decode(&self.read(&self.a[0], i as usize * row_bytes, row_bytes)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let b_cols = cols
            .iter()
            .map(|&j| Ok(ein.decode(&self.read(&self.bt[0], j as usize * row_bytes, row_bytes)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let c_row_bytes = n as usize * eout.size();
        let c = rows
            .iter()
            .map(|&i| {
                let row =
                    eout.decode(&self.read(&self.c, i as usize * c_row_bytes, c_row_bytes)?);
                Ok(cols.iter().map(|&j| row[j as usize]).collect())
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(VerifySample { a_rows, b_cols, c })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_sizes() {
        let s = GemmShape {
            m: 3,
            n: 5,
            k: 7,
            batch: 2,
        };
        assert_eq!(buffer_bytes(DType::Fp16, s).unwrap(), (84, 140, 60));
        assert_eq!(buffer_bytes(DType::Fp8, s).unwrap(), (42, 70, 60));
        assert_eq!(buffer_bytes(DType::Fp64, s).unwrap(), (336, 560, 240));
        let huge = GemmShape {
            m: u64::MAX / 2,
            n: 4,
            k: 4,
            batch: 1,
        };
        assert!(crate::error::is_usage(
            &buffer_bytes(DType::Fp32, huge).unwrap_err()
        ));
    }
}
