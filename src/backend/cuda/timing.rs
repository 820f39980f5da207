//! Device-side timing: a reusable pool of CUDA event pairs, recorded around each timed piece of
//! work on the backend's one stream and read after a single synchronize.
//!
//! Why events: host clocks around asynchronous launches measure the launch, not the work
//! (docs/measuring.md §4.7). Events must be created *with* timing: cudarc's `new_event(None)`
//! disables it, so every event here is created with `CU_EVENT_DEFAULT`. The pool is created
//! ahead of the timed loop so no event creation lands between products.

use std::sync::Arc;

use anyhow::Context;
use cudarc::driver::sys::CUevent_flags;
use cudarc::driver::{CudaContext, CudaEvent, CudaStream};

/// How the CUDA backend times, recorded in each result (`GemmApi.timing`).
pub(super) const METHOD: &str =
    "CUDA events around each product; stream held by a spin kernel until each batch is queued";

/// Start/end event pairs, grown on demand and reused across batches.
pub(super) struct EventPool {
    ctx: Arc<CudaContext>,
    pairs: Vec<(CudaEvent, CudaEvent)>,
}

impl EventPool {
    pub(super) fn new(ctx: Arc<CudaContext>) -> Self {
        EventPool {
            ctx,
            pairs: Vec::new(),
        }
    }

    /// Makes sure at least `n` pairs exist (created before any timed work is queued).
    pub(super) fn ensure(&mut self, n: usize) -> anyhow::Result<()> {
        while self.pairs.len() < n {
            let flags = Some(CUevent_flags::CU_EVENT_DEFAULT);
            let start = self
                .ctx
                .new_event(flags)
                .context("creating a CUDA timing event")?;
            let end = self
                .ctx
                .new_event(flags)
                .context("creating a CUDA timing event")?;
            self.pairs.push((start, end));
        }
        Ok(())
    }

    /// Records the start event of pair `i` on `stream`.
    pub(super) fn start(&self, i: usize, stream: &CudaStream) -> anyhow::Result<()> {
        self.pairs[i]
            .0
            .record(stream)
            .context("recording a CUDA event")?;
        Ok(())
    }

    /// Records the end event of pair `i` on `stream`.
    pub(super) fn end(&self, i: usize, stream: &CudaStream) -> anyhow::Result<()> {
        self.pairs[i]
            .1
            .record(stream)
            .context("recording a CUDA event")?;
        Ok(())
    }

    /// Seconds between start and end of pairs `0..n` (after their work completed).
    pub(super) fn elapsed_s(&self, n: usize) -> anyhow::Result<Vec<f64>> {
        self.pairs[..n]
            .iter()
            .map(|(s, e)| {
                let ms = s.elapsed_ms(e).context("reading a CUDA event time")?;
                Ok(ms_to_s(ms))
            })
            .collect()
    }
}

/// Event milliseconds (f32) to seconds.
fn ms_to_s(ms: f32) -> f64 {
    ms as f64 / 1e3
}

#[cfg(test)]
mod tests {
    #[test]
    fn milliseconds_to_seconds() {
        assert_eq!(super::ms_to_s(1500.0), 1.5);
        assert!((super::ms_to_s(0.0125) - 12.5e-6).abs() < 1e-12);
    }
}
