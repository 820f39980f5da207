//! The CPU backend, so every measuring command and test runs on a machine without a GPU: the
//! `gemm` crate's multi-threaded SIMD kernels in fp16, fp32 and fp64.
//!
//! Same problem, timing and verification as on a GPU, so a machine without one can run every
//! command. Times are host wall-clock per product (`Instant`), which is the device time here.
//!
//! `B` is stored row-major (k×n), not transposed as on a GPU: the gemm crate computes a
//! row-major `C` as `Cᵀ = Bᵀ·Aᵀ` and reads the operands in place when `B`'s rows and `A`'s
//! rows are contiguous; with a transposed `B` the AVX-512 kernels lose up to a third of their
//! speed (fp32, n = 512; docs/cpu-backend.md). The verification sample returns `B`'s columns
//! all the same. [`isa`] names the kernels that run and turns [`probe`]'s measurement into a
//! peak.

pub mod isa;
pub mod probe;

use std::sync::OnceLock;
use std::time::Instant;

use rand::{Rng, SeedableRng};

use super::{Backend, DeviceInfo, GemmApi, GemmRequest, PreparedCopy, PreparedGemm, VerifySample};
use crate::dtype::DType;
use crate::error::usage;
use isa::{Isa, Measured};

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
    isa: Isa,
    /// Cores the peak counts ([`peak_cores`]).
    cores: usize,
    /// The clock and FMA probe, run once, on the first peak asked for.
    measured: OnceLock<Option<Measured>>,
}

impl Default for CpuBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl CpuBackend {
    /// Detects the CPU (model, threads, the gemm crate's instruction set).
    pub fn new() -> Self {
        let host = super::HostInfo::detect();
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let isa = Isa::detect();
        let info = DeviceInfo {
            backend: crate::backend::BackendKind::Cpu,
            name: host.cpu_model.clone(),
            threads: Some(threads as u32),
            simd: Some(isa.name().to_string()),
            memory_bytes: Some(host.memory_bytes),
            max_sm_clock_mhz: None,
            ..Default::default()
        };
        CpuBackend {
            info,
            threads,
            isa,
            cores: peak_cores(host.cpu_physical_cores.map(|c| c as usize), threads),
            measured: OnceLock::new(),
        }
    }

    /// The instruction set of the gemm crate's kernels on this CPU.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// The probe's clock and FMA rate (measured once, ~60 ms), where this architecture has a
    /// probe.
    pub fn measured(&self) -> Option<Measured> {
        *self
            .measured
            .get_or_init(|| probe::measure(self.isa, self.cores))
    }
}

/// Cores the peak counts: the physical cores, but no more than the threads this process may
/// use (a container or CPU affinity can allow fewer than the machine has), and the threads
/// where the core count is unknown.
fn peak_cores(physical: Option<usize>, threads: usize) -> usize {
    match physical {
        Some(c) if c > 0 => c.min(threads).max(1),
        _ => threads.max(1),
    }
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
            DType::Fp32 => Box::new(CpuGemm::<f32>::new(req, t, self.isa)),
            DType::Fp64 => Box::new(CpuGemm::<f64>::new(req, t, self.isa)),
            DType::Fp16 => Box::new(CpuGemm::<gemm::f16>::new(req, t, self.isa)),
            _ => unreachable!("checked above"),
        })
    }

    fn derived_peak(&self, dtype: DType) -> Option<(f64, String)> {
        isa::derived_peak(self.isa, &self.measured()?, dtype)
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

/// One prepared CPU GEMM: `sets` pairs of (A, B) and one C, all `batch` deep, each
/// row-major: A m×k, B k×n, C m×n.
struct CpuGemm<T> {
    dtype: DType,
    m: usize,
    n: usize,
    k: usize,
    batch: usize,
    a: Vec<Vec<T>>,
    b: Vec<Vec<T>>,
    c: Vec<T>,
    next: usize,
    threads: usize,
    isa: Isa,
}

impl<T: Elem> CpuGemm<T> {
    fn new(req: &GemmRequest, threads: usize, isa: Isa) -> Self {
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
        let mut b = Vec::with_capacity(sets);
        for _ in 0..sets {
            a.push(fill(m * k * batch));
            b.push(fill(k * n * batch));
        }
        CpuGemm {
            dtype: req.dtype,
            m,
            n,
            k,
            batch,
            a,
            b,
            c: vec![T::zero(); m * n * batch],
            next: 0,
            threads,
            isa,
        }
    }

    fn product(&mut self, set: usize) {
        let (m, n, k) = (self.m, self.n, self.k);
        let par = if self.threads > 1 {
            gemm::Parallelism::Rayon(self.threads)
        } else {
            gemm::Parallelism::None
        };
        for i in 0..self.batch {
            let a = &self.a[set][i * m * k..];
            let b = &self.b[set][i * k * n..];
            let c = &mut self.c[i * m * n..];
            // SAFETY: the pointers cover m×k (A: col stride 1, row stride k), k×n (B: col
            // stride 1, row stride n) and m×n (C: col stride 1, row stride n), all inside
            // their allocations.
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
                    b.as_ptr(),
                    1,
                    n as isize,
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
        let isa = self.isa.name();
        let fma = if self.isa == Isa::Scalar {
            "multiply-add"
        } else {
            "FMA"
        };
        let (compute, acc) = match self.dtype {
            DType::Fp64 => (format!("fp64 {isa} {fma}"), "fp64"),
            DType::Fp16 => (format!("fp16 data, fp32 {isa} {fma}"), "fp32"),
            _ => (format!("fp32 {isa} {fma}"), "fp32"),
        };
        GemmApi {
            api: format!(
                "gemm crate 0.19 (gemm::gemm, {isa} kernels, {} threads)",
                self.threads
            ),
            compute_type: compute,
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
        let (n, k) = (self.n, self.k);
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
                self.b[0][j as usize..]
                    .iter()
                    .step_by(n)
                    .take(k)
                    .map(|x| x.to_f64())
                    .collect()
            })
            .collect();
        let c = rows
            .iter()
            .map(|&i| {
                cols.iter()
                    .map(|&j| self.c[i as usize * n + j as usize].to_f64())
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
    fn device_and_api_name_the_kernels_that_run() {
        let be = CpuBackend::new();
        let isa = Isa::detect();
        assert_eq!(be.info().simd.as_deref(), Some(isa.name()));
        let req = GemmRequest {
            dtype: DType::Fp64,
            shape: GemmShape::square(8),
            input_sets: 1,
            seed: 1,
            fp8_fast_accum: false,
        };
        let api = be.prepare(&req).unwrap().api();
        assert!(
            api.api.contains(&format!("{} kernels", isa.name())),
            "{api:?}"
        );
        assert!(api.compute_type.starts_with("fp64 "), "{api:?}");
    }

    /// x86-64 always has a probe, so `run --device cpu` always shows a derived peak there.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn derived_peak_is_measured_on_x86_64() {
        let be = CpuBackend::new();
        let (p32, basis) = be.derived_peak(DType::Fp32).expect("probe runs on x86-64");
        let (p64, _) = be.derived_peak(DType::Fp64).unwrap();
        assert!((p64 - p32 / 2.0).abs() < 1e-12 * p32 || be.isa() == Isa::Scalar);
        // At least 0.5 GHz × ½ FMA/cycle × 1 lane per core; at most 7 GHz × 4 × 16 × 2.
        let per_core = p32 * 1e12 / be.cores as f64;
        assert!(
            (0.5e9..7e9 * 128.0).contains(&per_core),
            "{p32} TFLOPS: {basis}"
        );
        assert!(basis.contains(be.isa().name()), "{basis}");
        assert!(basis.contains("measured"), "{basis}");
        assert!(be.derived_peak(DType::Bf16).is_none());
    }

    #[test]
    fn peak_counts_cores_this_process_may_use() {
        // SMT: 8 cores, 16 threads.
        assert_eq!(peak_cores(Some(8), 16), 8);
        // A container allowed 2 CPUs of a 64-core host.
        assert_eq!(peak_cores(Some(64), 2), 2);
        assert_eq!(peak_cores(None, 4), 4);
        assert_eq!(peak_cores(Some(0), 4), 4);
    }

    #[test]
    fn unsupported_dtype_is_usage_error() {
        let e = CpuBackend::new().check_dtype(DType::Bf16).unwrap_err();
        assert!(crate::error::is_usage(&e));
        assert!(e.to_string().contains("--device cuda"));
    }
}
