//! Holding the backend's stream while a timed batch is queued: the host side of
//! `kernels/hold.cu` (pinned flags, launch, release) and the batching around it.
//!
//! Why: CUDA events time the stream. A batch queued on an idle stream starts running while the
//! host is still queuing it, so each event pair of a short product measures the host's enqueue
//! cost, not the product. A one-thread kernel spinning on a host-mapped flag keeps the stream
//! busy until the whole batch is queued (as nvbench does); batches stay well under the launch
//! queue's ~1024 entries, because a full queue blocks the host while the stream waits for it.

use std::ffi::c_void;
use std::sync::Arc;

use anyhow::Context;
use cudarc::driver::sys as dsys;
use cudarc::driver::{CudaContext, CudaStream, LaunchConfig, PushKernelArg};

use super::kernels::Kernels;

/// Most operations queued behind one hold: the launch queue holds about 1024 entries, and an
/// enqueue call blocks when it is full, which the hold would turn into a timeout.
pub(super) const HOLD_MAX_OPS: usize = 512;

/// How long a hold waits for the host before giving up (the batch is then invalid).
const HOLD_TIMEOUT_NS: u64 = 1_000_000_000;

/// The stream hold of `kernels/hold.cu`: a one-thread kernel that spins until the host sets a
/// flag in pinned, device-mapped host memory, so that a timed batch starts only once it is
/// entirely queued (see that file for why).
pub(super) struct Hold {
    /// `[release, timed_out]` in pinned host memory mapped into the device's address space.
    host: *mut u32,
    dev: u64,
    ctx: Arc<CudaContext>,
}

impl Hold {
    /// Allocates the two flags.
    pub(super) fn new(ctx: &Arc<CudaContext>) -> anyhow::Result<Hold> {
        ctx.bind_to_thread()?;
        let flags = dsys::CU_MEMHOSTALLOC_PORTABLE | dsys::CU_MEMHOSTALLOC_DEVICEMAP;
        let mut p: *mut c_void = std::ptr::null_mut();
        // SAFETY: allocates 8 bytes of pinned host memory; `p` receives the address.
        unsafe { dsys::cuMemHostAlloc(&mut p, 8, flags) }
            .result()
            .map_err(|e| anyhow::anyhow!("allocating pinned host memory (cuMemHostAlloc): {e}"))?;
        let host = p as *mut u32;
        // Owned from here, so that an error below frees it.
        let mut hold = Hold {
            host,
            dev: 0,
            ctx: ctx.clone(),
        };
        let mut dev: dsys::CUdeviceptr = 0;
        // SAFETY: `p` was allocated with DEVICEMAP just above.
        unsafe { dsys::cuMemHostGetDevicePointer_v2(&mut dev, p, 0) }
            .result()
            .map_err(|e| {
                anyhow::anyhow!("mapping pinned host memory (cuMemHostGetDevicePointer): {e}")
            })?;
        hold.dev = dev;
        Ok(hold)
    }

    /// Clears both flags and queues the holding kernel on `stream`; everything queued after it
    /// waits until [`release`](Self::release).
    pub(super) fn begin(&self, kernels: &Kernels, stream: &Arc<CudaStream>) -> anyhow::Result<()> {
        self.write(0, 0);
        self.write(1, 0);
        let (release, timed_out) = (self.dev, self.dev + 4);
        let cfg = LaunchConfig {
            grid_dim: (1, 1, 1),
            block_dim: (1, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut launch = stream.launch_builder(&kernels.hold_stream);
        launch.arg(&release).arg(&HOLD_TIMEOUT_NS).arg(&timed_out);
        // SAFETY: hold_stream(const volatile u32* release, u64 timeout_ns, u32* timed_out)
        // reads `release` and may write `timed_out`: both are the device addresses of the
        // pinned flags, which live as long as `self`.
        unsafe { launch.launch(cfg) }.context("launching hold_stream")?;
        Ok(())
    }

    /// Lets the held stream run what was queued.
    pub(super) fn release(&self) {
        self.write(0, 1);
    }

    /// Whether the last hold gave up before [`release`](Self::release) (read after the stream
    /// was synchronized): the batch it held did not run back to back and its times are invalid.
    pub(super) fn timed_out(&self) -> bool {
        // SAFETY: `host` points at two u32 (see `new`); the device writes it, so read volatile.
        unsafe { std::ptr::read_volatile(self.host.add(1)) != 0 }
    }

    fn write(&self, index: usize, value: u32) {
        // SAFETY: `host` points at two u32; the device reads them, so write volatile and fence.
        unsafe { std::ptr::write_volatile(self.host.add(index), value) };
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if self.ctx.bind_to_thread().is_ok() {
            // SAFETY: allocated by cuMemHostAlloc in `new`, freed once; an error cannot be
            // reported here.
            let _ = unsafe { dsys::cuMemFreeHost(self.host as *mut c_void) };
        }
    }
}

/// What a held batch needs: the kernels, the hold, the stream.
pub(super) struct Held<'a> {
    pub kernels: &'a Kernels,
    pub hold: &'a Hold,
    pub stream: &'a Arc<CudaStream>,
}

impl Held<'_> {
    /// Runs `count` timed items in held batches of at most `per_batch` items; see
    /// [`run_held`].
    pub(super) fn run(
        &self,
        count: usize,
        per_batch: usize,
        queue: &mut dyn FnMut(usize) -> anyhow::Result<()>,
        what: &str,
    ) -> anyhow::Result<()> {
        run_held(self, count, per_batch, queue, what)
    }
}

/// The stream operations a held batch needs (the GPU's, or a test double's).
pub(super) trait HoldOps {
    /// Queues the hold.
    fn begin(&self) -> anyhow::Result<()>;
    /// Lets the held work run.
    fn release(&self);
    /// Waits for everything queued.
    fn synchronize(&self) -> anyhow::Result<()>;
    /// Whether the last hold gave up before its release.
    fn timed_out(&self) -> bool;
}

impl HoldOps for Held<'_> {
    fn begin(&self) -> anyhow::Result<()> {
        self.hold.begin(self.kernels, self.stream)
    }
    fn release(&self) {
        self.hold.release()
    }
    fn synchronize(&self) -> anyhow::Result<()> {
        Ok(self.stream.synchronize()?)
    }
    fn timed_out(&self) -> bool {
        self.hold.timed_out()
    }
}

/// Runs `count` timed items (item `i` queues `queue(i)`) in held batches of at most
/// `per_batch`, synchronizing after each batch. A batch whose hold timed out is queued again,
/// halved, until it fits; `Err` when even one item times out. Every item is queued again with
/// its own index, so the caller's per-item records (event pairs) are simply overwritten.
pub(super) fn run_held(
    ops: &dyn HoldOps,
    count: usize,
    per_batch: usize,
    queue: &mut dyn FnMut(usize) -> anyhow::Result<()>,
    what: &str,
) -> anyhow::Result<()> {
    let mut done = 0;
    let mut size = per_batch.max(1);
    while done < count {
        let n = size.min(count - done);
        ops.begin()?;
        let queued = (done..done + n).try_for_each(&mut *queue);
        ops.release();
        ops.synchronize()
            .with_context(|| format!("running {what}"))?;
        queued?;
        if ops.timed_out() {
            if n == 1 {
                anyhow::bail!(
                    "{what}: the stream hold timed out after {} s with a single item queued (the host stalled); run again on an idle machine",
                    HOLD_TIMEOUT_NS / 1_000_000_000
                );
            }
            size = batch_after_timeout(n);
            continue;
        }
        done += n;
    }
    Ok(())
}

/// The batch size tried after a batch of `n` timed out.
pub(super) fn batch_after_timeout(n: usize) -> usize {
    (n / 2).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};

    /// A stream whose hold times out whenever more than `fits` items are queued behind it.
    struct FakeStream {
        fits: usize,
        queued: Cell<usize>,
        batches: RefCell<Vec<(usize, bool)>>,
    }

    impl HoldOps for FakeStream {
        fn begin(&self) -> anyhow::Result<()> {
            self.queued.set(0);
            Ok(())
        }
        fn release(&self) {}
        fn synchronize(&self) -> anyhow::Result<()> {
            let n = self.queued.get();
            self.batches.borrow_mut().push((n, n > self.fits));
            Ok(())
        }
        fn timed_out(&self) -> bool {
            self.queued.get() > self.fits
        }
    }

    fn run(
        fits: usize,
        count: usize,
        per_batch: usize,
    ) -> (anyhow::Result<()>, FakeStream, Vec<usize>) {
        let s = FakeStream {
            fits,
            queued: Cell::new(0),
            batches: RefCell::new(Vec::new()),
        };
        let mut items = Vec::new();
        let r = run_held(
            &s,
            count,
            per_batch,
            &mut |i| {
                s.queued.set(s.queued.get() + 1);
                items.push(i);
                Ok(())
            },
            "fp16 128×128×128",
        );
        (r, s, items)
    }

    #[test]
    fn batches_are_capped_and_every_item_queued_once() {
        let (r, s, items) = run(usize::MAX, 300, 128);
        r.unwrap();
        assert_eq!(items, (0..300).collect::<Vec<_>>());
        let sizes: Vec<usize> = s.batches.borrow().iter().map(|b| b.0).collect();
        assert_eq!(sizes, [128, 128, 44]);
    }

    #[test]
    fn a_timed_out_batch_is_rerun_in_halves() {
        let (r, s, items) = run(40, 100, 128);
        r.unwrap();
        let b = s.batches.borrow().clone();
        // 100 timed out, then 50, then batches of 25 fit
        assert_eq!(b[0], (100, true));
        assert_eq!(b[1], (50, true));
        assert!(b[2..].iter().all(|&(n, t)| n == 25 && !t), "{b:?}");
        // the items of timed-out batches were queued again; the successful batches cover
        // every item once, in order
        assert_eq!(items.len(), 100 + 50 + 100);
        assert_eq!(items[150..], (0..100).collect::<Vec<_>>());
        assert_eq!(
            b.iter().filter(|(_, t)| !t).map(|b| b.0).sum::<usize>(),
            100
        );
    }

    #[test]
    fn a_single_item_timing_out_is_an_error() {
        let (r, _, _) = run(0, 3, 128);
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains("fp16 128×128×128: the stream hold timed out"),
            "{e}"
        );
        assert!(!e.contains('\n'));
    }

    #[test]
    fn timed_out_batches_shrink_to_one() {
        assert_eq!(batch_after_timeout(128), 64);
        assert_eq!(batch_after_timeout(3), 1);
        assert_eq!(batch_after_timeout(1), 1);
    }
}
