//! The test backend every unit test that needs a [`Backend`] uses (compiled for tests only):
//! products "take" a fixed time per algorithm, scaled by their FLOPs, and an algorithm can be
//! marked wrong so that verification fails.
//!
//! Why one: the measuring loop, sweeps and algorithm search are tested against the same
//! double; with `sleeping` the time also passes on the host clock, for loops that stop on
//! wall time.

use crate::backend::{
    Backend, BackendKind, DeviceInfo, GemmApi, GemmRequest, PreparedCopy, PreparedGemm,
    VerifySample,
};
use crate::dtype::DType;

/// Per-algorithm (seconds per product, computes correctly).
pub struct FakeBackend {
    pub info: DeviceInfo,
    pub algos: Vec<(f64, bool)>,
    /// `prepare` fails for shapes with this n.
    pub fail_n: Option<u64>,
    /// Whether a product also sleeps for the time it reports.
    pub sleeping: bool,
}

impl FakeBackend {
    pub fn new(algos: Vec<(f64, bool)>) -> Self {
        FakeBackend {
            info: DeviceInfo {
                backend: BackendKind::Test,
                name: "Fake GPU".into(),
                ..Default::default()
            },
            algos,
            fail_n: None,
            sleeping: false,
        }
    }

    /// Products sleep for the time they report.
    pub fn sleeping(mut self) -> Self {
        self.sleeping = true;
        self
    }
}

struct FakeGemm {
    algos: Vec<(f64, bool)>,
    selected: usize,
    scale: f64,
    sleeping: bool,
}

impl PreparedGemm for FakeGemm {
    fn api(&self) -> GemmApi {
        GemmApi {
            api: "fake".into(),
            compute_type: "none".into(),
            accumulator: "fp32".into(),
            output_type: "fp32".into(),
            algorithm: Some(format!("algo {}", self.selected)),
            timing: None,
            fp8_fast_accum: None,
        }
    }
    fn algorithm_count(&self) -> usize {
        self.algos.len()
    }
    fn select_algorithm(&mut self, index: usize) -> anyhow::Result<()> {
        anyhow::ensure!(index < self.algos.len(), "no algorithm {index}");
        self.selected = index;
        Ok(())
    }
    fn run(&mut self, count: usize) -> anyhow::Result<Vec<f64>> {
        let per = self.algos[self.selected].0 * self.scale;
        if self.sleeping {
            std::thread::sleep(std::time::Duration::from_secs_f64(per * count as f64));
        }
        Ok(vec![per; count])
    }
    fn verify_sample(&mut self, rows: &[u64], cols: &[u64]) -> anyhow::Result<VerifySample> {
        let a: Vec<Vec<f64>> = rows.iter().map(|&i| vec![1.0 + i as f64, 2.0]).collect();
        let b: Vec<Vec<f64>> = cols.iter().map(|&j| vec![0.5, j as f64]).collect();
        let wrong = if self.algos[self.selected].1 {
            0.0
        } else {
            7.0
        };
        let c = a
            .iter()
            .map(|r| {
                b.iter()
                    .map(|c| r[0] * c[0] + r[1] * c[1] + wrong)
                    .collect()
            })
            .collect();
        Ok(VerifySample {
            a_rows: a,
            b_cols: b,
            c,
        })
    }
}

impl Backend for FakeBackend {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }
    fn check_dtype(&self, _: DType) -> anyhow::Result<()> {
        Ok(())
    }
    fn free_memory(&self) -> anyhow::Result<Option<u64>> {
        Ok(None)
    }
    fn prepare(&self, req: &GemmRequest) -> anyhow::Result<Box<dyn PreparedGemm + '_>> {
        anyhow::ensure!(Some(req.shape.n) != self.fail_n, "out of memory (fake)");
        Ok(Box::new(FakeGemm {
            algos: self.algos.clone(),
            selected: 0,
            scale: req.shape.flops() / 2e9,
            sleeping: self.sleeping,
        }))
    }
    fn derived_peak(&self, _: DType) -> Option<(f64, String)> {
        Some((1.0, "fake".into()))
    }
    fn prepare_copy(&self, bytes: u64) -> anyhow::Result<Box<dyn PreparedCopy + '_>> {
        Ok(Box::new(FakeCopy { bytes }))
    }
}

/// A copy that moves 1 GB/s: each of `bytes` is read and written in 2·bytes / 1e9 s.
struct FakeCopy {
    bytes: u64,
}

impl PreparedCopy for FakeCopy {
    fn bytes(&self) -> u64 {
        self.bytes
    }
    fn run(&mut self, count: usize) -> anyhow::Result<Vec<f64>> {
        Ok(vec![2.0 * self.bytes as f64 / 1e9; count])
    }
}

/// Timing settings that finish at once with the fake backend.
pub fn quick_settings() -> crate::profile::TimingSettings {
    crate::profile::TimingSettings {
        warmup_iters: 1,
        warmup_secs: 0.0,
        min_iters: 5,
        min_secs: 0.0,
        max_iters: 5,
        cold: false,
        verify_points: 16,
    }
}
