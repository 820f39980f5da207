//! A prepared device-to-device copy (`kernels/copy.cu`) for the bandwidth measurement, each
//! copy timed with its own event pair inside a held batch, like the GEMMs.

use anyhow::Context;
use cudarc::driver::CudaSlice;

use super::elem::Elem;
use super::hold::{Held, HOLD_MAX_OPS};
use super::kernels::Kernels;
use super::timing::EventPool;
use super::Gpu;
use crate::backend::PreparedCopy;

/// Source and destination buffers of one copy size, and the events that time each copy.
pub(super) struct CudaCopy<'a> {
    gpu: &'a Gpu,
    kernels: &'a Kernels,
    src: CudaSlice<u8>,
    dst: CudaSlice<u8>,
    /// The copy kernel moves 16 bytes per element.
    n16: u64,
    events: EventPool,
}

impl<'a> CudaCopy<'a> {
    /// Allocates both buffers (`bytes` rounded up to 16) and fills the source.
    pub(super) fn new(gpu: &'a Gpu, kernels: &'a Kernels, bytes: u64) -> anyhow::Result<Self> {
        gpu.ctx.bind_to_thread()?;
        let n16 = bytes.max(16).div_ceil(16);
        let len = usize::try_from(n16 * 16).context("copy size does not fit in memory")?;
        let alloc_err = |e| {
            anyhow::anyhow!(
                "allocating 2 × {} for the bandwidth test on cuda:{}: {e}",
                crate::units::fmt_bytes(len as f64),
                gpu.ordinal
            )
        };
        // SAFETY: every byte of `src` is written by the fill kernel before it is read; `dst` is
        // only written (by the copies).
        let mut src = unsafe { gpu.stream.alloc::<u8>(len) }.map_err(alloc_err)?;
        let dst = unsafe { gpu.stream.alloc::<u8>(len) }.map_err(alloc_err)?;
        // Real data in the source (and the same amount of work as every timed copy).
        kernels.fill(&gpu.stream, &mut src, Elem::F32, 1)?;
        Ok(CudaCopy {
            gpu,
            kernels,
            src,
            dst,
            n16,
            events: EventPool::new(gpu.ctx.clone()),
        })
    }
}

impl PreparedCopy for CudaCopy<'_> {
    fn bytes(&self) -> u64 {
        self.n16 * 16
    }

    fn run(&mut self, count: usize) -> anyhow::Result<Vec<f64>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let CudaCopy {
            gpu,
            kernels,
            src,
            dst,
            n16,
            events,
        } = self;
        gpu.ctx.bind_to_thread()?;
        events.ensure(count)?;
        let held = Held {
            kernels,
            hold: &gpu.hold,
            stream: &gpu.stream,
        };
        // Each copy queues three operations (two events and the kernel).
        held.run(
            count,
            HOLD_MAX_OPS / 3,
            &mut |i| {
                events.start(i, &gpu.stream)?;
                kernels.copy(&gpu.stream, src, dst, *n16)?;
                events.end(i, &gpu.stream)
            },
            "the bandwidth test",
        )?;
        events.elapsed_s(count)
    }
}
