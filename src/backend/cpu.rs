//! The CPU backend, so every measuring command and test runs on a machine without a GPU: the
//! `gemm` crate's multi-threaded SIMD kernels in fp16, fp32 and fp64.
//!
//! Same problem, timing and verification as on a GPU, so a machine without one can run every
//! command. Times are host wall-clock per product (`Instant`), which is the device time here.

use std::time::Instant;

use rand::{Rng, SeedableRng};

use super::{Backend, DeviceInfo, GemmApi, GemmRequest, PreparedCopy, PreparedGemm, VerifySample};
use crate::dtype::DType;
use crate::error::usage;

/// How each product is timed, recorded in the profile.
const TIMING: &str = "host clock (Instant) around each product";

/// Element types the CPU backend multiplies.
trait Elem: Copy + Send + Sync + 'static {
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn zero() -> Self;
    fn one() -> Self;
}

impl Elem for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn zero() -> Self {
        0.0
    }
    fn one() -> Self {
        1.0
    }
}

impl Elem for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn zero() -> Self {
        0.0
    }
    fn one() -> Self {
        1.0
    }
}

impl Elem for gemm::f16 {
    fn from_f64(x: f64) -> Self {
        gemm::f16::from_f64(x)
    }
    fn to_f64(self) -> f64 {
        gemm::f16::to_f64(self)
    }
    fn zero() -> Self {
        gemm::f16::ZERO
    }
    fn one() -> Self {
        gemm::f16::ONE
    }
}

/// The host CPU as a GEMM device.
pub struct CpuBackend {
    info: DeviceInfo,
    threads: usize,
    physical_cores: Option<usize>,
    max_mhz: Option<f64>,
}

impl Default for CpuBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl CpuBackend {
    /// Detects the CPU (model, threads, SIMD, max clock).
    pub fn new() -> Self {
        let host = crate::profile::HostInfo::detect();
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let simd = simd_extension();
        let max_mhz = max_clock_mhz();
        let info = DeviceInfo {
            backend: "cpu".into(),
            name: host.cpu_model.clone(),
            threads: Some(threads as u32),
            simd: simd.map(|(s, _)| s.to_string()),
            memory_bytes: Some(host.memory_bytes),
            max_sm_clock_mhz: None,
            ..Default::default()
        };
        CpuBackend {
            info,
            threads,
            physical_cores: host.cpu_physical_cores.map(|c| c as usize),
            max_mhz,
        }
    }
}

/// The widest SIMD FMA extension and its fp64 lanes.
fn simd_extension() -> Option<(&'static str, u32)> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Some(("avx512f", 8));
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Some(("avx2+fma", 4));
        }
        None
    }
    #[cfg(target_arch = "aarch64")]
    {
        Some(("neon", 2))
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        None
    }
}

/// The CPU's maximum clock from cpufreq (Linux), where the kernel exposes it.
fn max_clock_mhz() -> Option<f64> {
    let s =
        std::fs::read_to_string("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").ok()?;
    let khz: f64 = s.trim().parse().ok()?;
    (khz > 0.0).then_some(khz / 1000.0)
}

/// FLOPs per cycle per core for a dtype, assuming two FMA units per core (most server and
/// desktop cores since Haswell/Zen 2; some parts have one, so this is an upper bound).
fn flops_per_cycle(dtype: DType, fp64_lanes: u32) -> Option<f64> {
    let lanes = match dtype {
        DType::Fp64 => fp64_lanes,
        // fp16 is widened to fp32 inside the gemm crate's kernels on most CPUs.
        DType::Fp32 | DType::Fp16 => fp64_lanes * 2,
        _ => return None,
    };
    Some(2.0 * 2.0 * lanes as f64)
}

impl Backend for CpuBackend {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn check_dtype(&self, dtype: DType) -> anyhow::Result<()> {
        match dtype {
            DType::Fp16 | DType::Fp32 | DType::Fp64 => Ok(()),
            other => Err(usage(format!(
                "dtype {other} is not supported on the CPU backend (it runs fp16, fp32 and fp64); use --device cuda for {other}"
            ))),
        }
    }

    fn free_memory(&self) -> anyhow::Result<Option<u64>> {
        use sysinfo::{MemoryRefreshKind, RefreshKind, System};
        let sys = System::new_with_specifics(
            RefreshKind::nothing().with_memory(MemoryRefreshKind::nothing().with_ram()),
        );
        Ok(Some(sys.available_memory()))
    }

    fn prepare(&self, req: &GemmRequest) -> anyhow::Result<Box<dyn PreparedGemm + '_>> {
        self.check_dtype(req.dtype)?;
        let t = self.threads;
        Ok(match req.dtype {
            DType::Fp32 => Box::new(CpuGemm::<f32>::new(req, t)),
            DType::Fp64 => Box::new(CpuGemm::<f64>::new(req, t)),
            DType::Fp16 => Box::new(CpuGemm::<gemm::f16>::new(req, t)),
            _ => unreachable!("checked above"),
        })
    }

    fn derived_peak(&self, dtype: DType) -> Option<(f64, String)> {
        let (simd, lanes) = simd_extension()?;
        let mhz = self.max_mhz?;
        let cores = self.physical_cores?;
        let f = flops_per_cycle(dtype, lanes)?;
        let peak = cores as f64 * mhz * 1e6 * f / 1e12;
        Some((
            peak,
            format!(
                "{cores} physical cores × {mhz:.0} MHz (cpufreq max) × {f:.0} {} FLOPs/cycle ({simd}, assuming 2 FMA units per core)",
                if dtype == DType::Fp64 { "fp64" } else { "fp32" }
            ),
        ))
    }

    fn prepare_copy(&self, bytes: u64) -> anyhow::Result<Box<dyn PreparedCopy + '_>> {
        let n = usize::try_from(bytes.max(1))
            .map_err(|_| anyhow::anyhow!("a copy of {bytes} bytes does not fit in memory"))?;
        Ok(Box::new(CpuCopy {
            src: vec![1u8; n],
            dst: vec![0u8; n],
        }))
    }
}

/// One prepared memory-to-memory copy, timed by the wall clock.
struct CpuCopy {
    src: Vec<u8>,
    dst: Vec<u8>,
}

impl PreparedCopy for CpuCopy {
    fn bytes(&self) -> u64 {
        self.src.len() as u64
    }

    fn run(&mut self, count: usize) -> anyhow::Result<Vec<f64>> {
        let mut times = Vec::with_capacity(count);
        for _ in 0..count {
            let t = Instant::now();
            self.dst.copy_from_slice(&self.src);
            std::hint::black_box(&mut self.dst);
            times.push(t.elapsed().as_secs_f64());
        }
        Ok(times)
    }
}

/// One prepared CPU GEMM: `sets` pairs of (A, Bt) and one C, all `batch` deep.
struct CpuGemm<T> {
    dtype: DType,
    m: usize,
    n: usize,
    k: usize,
    batch: usize,
    a: Vec<Vec<T>>,
    bt: Vec<Vec<T>>,
    c: Vec<T>,
    next: usize,
    threads: usize,
}

impl<T: Elem> CpuGemm<T> {
    fn new(req: &GemmRequest, threads: usize) -> Self {
        let (m, n, k, batch) = (
            req.shape.m as usize,
            req.shape.n as usize,
            req.shape.k as usize,
            req.shape.batch as usize,
        );
        let mut rng = rand::rngs::StdRng::seed_from_u64(req.seed);
        let mut fill = |len: usize| -> Vec<T> {
            (0..len)
                .map(|_| T::from_f64(rng.random_range(-1.0..1.0)))
                .collect()
        };
        let sets = req.input_sets.max(1) as usize;
        let mut a = Vec::with_capacity(sets);
        let mut bt = Vec::with_capacity(sets);
        for _ in 0..sets {
            a.push(fill(m * k * batch));
            bt.push(fill(n * k * batch));
        }
        CpuGemm {
            dtype: req.dtype,
            m,
            n,
            k,
            batch,
            a,
            bt,
            c: vec![T::zero(); m * n * batch],
            next: 0,
            threads,
        }
    }

    fn product(&mut self, set: usize) {
        let (m, n, k) = (self.m, self.n, self.k);
        let par = if self.threads > 1 {
            gemm::Parallelism::Rayon(self.threads)
        } else {
            gemm::Parallelism::None
        };
        for b in 0..self.batch {
            let a = &self.a[set][b * m * k..];
            let bt = &self.bt[set][b * n * k..];
            let c = &mut self.c[b * m * n..];
            // SAFETY: the pointers cover m×k (A, row-major: col stride 1, row stride k),
            // k×n (B read from Bt: element (p, j) at j·k + p, so col stride k, row stride 1)
            // and m×n (C, row-major), all inside their allocations.
            unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    c.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    a.as_ptr(),
                    1,
                    k as isize,
                    bt.as_ptr(),
                    k as isize,
                    1,
                    T::zero(),
                    T::one(),
                    false,
                    false,
                    false,
                    par,
                );
            }
        }
    }
}

impl<T: Elem> PreparedGemm for CpuGemm<T> {
    fn api(&self) -> GemmApi {
        let (compute, acc) = match self.dtype {
            DType::Fp64 => ("fp64 SIMD FMA", "fp64"),
            DType::Fp16 => ("fp16 data, fp32 SIMD FMA (gemm crate)", "fp32"),
            _ => ("fp32 SIMD FMA", "fp32"),
        };
        GemmApi {
            api: format!(
                "gemm crate {} (gemm::gemm, {} threads)",
                "0.19", self.threads
            ),
            compute_type: compute.into(),
            accumulator: acc.into(),
            output_type: self.dtype.output_type().into(),
            algorithm: None,
            timing: Some(TIMING.into()),
            fp8_fast_accum: None,
        }
    }

    fn run(&mut self, count: usize) -> anyhow::Result<Vec<f64>> {
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let set = self.next % self.a.len();
            self.next += 1;
            let t = Instant::now();
            self.product(set);
            std::hint::black_box(&self.c);
            out.push(t.elapsed().as_secs_f64());
        }
        Ok(out)
    }

    fn verify_sample(&mut self, rows: &[u64], cols: &[u64]) -> anyhow::Result<VerifySample> {
        self.product(0);
        let k = self.k;
        let a_rows = rows
            .iter()
            .map(|&i| {
                self.a[0][i as usize * k..(i as usize + 1) * k]
                    .iter()
                    .map(|x| x.to_f64())
                    .collect()
            })
            .collect();
        let b_cols = cols
            .iter()
            .map(|&j| {
                self.bt[0][j as usize * k..(j as usize + 1) * k]
                    .iter()
                    .map(|x| x.to_f64())
                    .collect()
            })
            .collect();
        let c = rows
            .iter()
            .map(|&i| {
                cols.iter()
                    .map(|&j| self.c[i as usize * self.n + j as usize].to_f64())
                    .collect()
            })
            .collect();
        Ok(VerifySample { a_rows, b_cols, c })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::GemmShape;
    use crate::measure::verify;

    fn check(dtype: DType, shape: GemmShape) -> verify::Verification {
        let be = CpuBackend::new();
        let req = GemmRequest {
            dtype,
            shape,
            input_sets: 2,
            seed: 42,
            fp8_fast_accum: false,
        };
        let mut g = be.prepare(&req).unwrap();
        let t = g.run(3).unwrap();
        assert_eq!(t.len(), 3);
        assert!(t.iter().all(|x| *x > 0.0));
        let (r, c) = verify::sample_indices(shape, 64, 1);
        verify::check(&g.verify_sample(&r, &c).unwrap(), dtype)
    }

    #[test]
    fn fp32_fp64_fp16_verify_on_odd_shapes() {
        let shape = GemmShape {
            m: 37,
            n: 53,
            k: 129,
            batch: 1,
        };
        for d in [DType::Fp32, DType::Fp64, DType::Fp16] {
            let v = check(d, shape);
            assert!(v.passed, "{d}: {v:?}");
            assert_eq!(v.checked, 64);
        }
    }

    #[test]
    fn batched_verifies() {
        let v = check(
            DType::Fp32,
            GemmShape {
                m: 16,
                n: 8,
                k: 32,
                batch: 3,
            },
        );
        assert!(v.passed);
    }

    #[test]
    fn unsupported_dtype_is_usage_error() {
        let e = CpuBackend::new().check_dtype(DType::Bf16).unwrap_err();
        assert!(crate::error::is_usage(&e));
        assert!(e.to_string().contains("--device cuda"));
    }
}
