//! Copy bandwidth: one untimed copy, then `iters` timed copies of a prepared copy
//! ([`crate::backend::PreparedCopy`]), reported as bytes read and written per second at the
//! median copy time.

use super::stats::Stats;
use crate::backend::Backend;

/// Bytes/s of copies of `bytes` on `backend` (device to device on a GPU, memory to memory on
/// the CPU): 2 × bytes / the median of `iters` copies, since a copy reads and writes every
/// byte.
pub fn copy_bandwidth(backend: &dyn Backend, bytes: u64, iters: usize) -> anyhow::Result<f64> {
    let mut copy = backend.prepare_copy(bytes)?;
    copy.run(1)?; // warm-up, untimed
    let times = copy.run(iters.max(1))?;
    let s = Stats::of(&times)
        .filter(|s| s.median > 0.0)
        .ok_or_else(|| anyhow::anyhow!("no valid copy timings"))?;
    Ok(2.0 * copy.bytes() as f64 / s.median)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::CpuBackend;
    use crate::backend::testing::FakeBackend;

    #[test]
    fn reads_and_writes_every_byte_at_the_median() {
        // The test backend copies at 1 GB/s counting each byte once read and once written.
        let be = FakeBackend::new(vec![(0.001, true)]);
        let bw = copy_bandwidth(&be, 1 << 20, 5).unwrap();
        assert!((bw - 1e9).abs() < 1.0, "{bw}");
    }

    #[test]
    fn the_cpu_copies() {
        let be = CpuBackend::new();
        assert!(copy_bandwidth(&be, 1 << 20, 3).unwrap() > 0.0);
    }
}
