//! One interface for every device that runs GEMMs, so measuring code is written once and never
//! sees cudarc: the [`Backend`] trait, its CPU ([`cpu`]) and CUDA ([`cuda`]) implementations,
//! device selection, and the row-major ↔ cuBLAS column-major mapping.
//!
//! The rest of gpubench never sees cudarc: it asks a backend for a [`PreparedGemm`] (inputs
//! allocated and filled with random values), runs it a number of times and gets the seconds
//! each product took, then asks for a sample of the output to verify.
//!
//! # The problem every backend computes
//! Row-major `C (m×n) = A (m×k) · B (k×n)`, with `A` stored row-major (m×k) and `B` stored as
//! its transpose, `Bt`, row-major (n×k): each row of `A` and each column of `B` is contiguous.
//! This is the layout of a linear layer (`x · Wᵀ`) and the "TN" layout cuBLASLt requires for
//! fp8. `C` is row-major (m×n). Batched products repeat this `batch` times with strides.
//! The CPU backend stores `B` row-major (k×n) instead, the layout its library reads in place
//! (docs/cpu-backend.md); the verification sample is the same on every backend.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::dtype::DType;
use crate::error::usage;

pub mod cpu;
pub mod cuda;
mod host;
pub mod nvml;
#[cfg(test)]
pub mod testing;

pub use host::HostInfo;

/// A GEMM's dimensions: `batch` independent products of `m×k` by `k×n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GemmShape {
    pub m: u64,
    pub n: u64,
    pub k: u64,
    #[serde(default = "one")]
    pub batch: u64,
}

fn one() -> u64 {
    1
}

impl GemmShape {
    /// A square `n×n×n` product.
    pub fn square(n: u64) -> Self {
        GemmShape {
            m: n,
            n,
            k: n,
            batch: 1,
        }
    }

    /// FLOPs of one call: 2·m·n·k·batch (a multiply and an add per term).
    pub fn flops(&self) -> f64 {
        2.0 * self.m as f64 * self.n as f64 * self.k as f64 * self.batch as f64
    }

    /// Bytes of one input set (A and B) and of C, for a dtype.
    pub fn bytes(&self, dtype: DType) -> (u64, u64) {
        let ab = (self.m * self.k + self.n * self.k) * self.batch * dtype.input_bytes();
        let c = self.m * self.n * self.batch * dtype.output_bytes();
        (ab, c)
    }

    /// Whether the shape is square (m = n = k, batch 1).
    pub fn is_square(&self) -> bool {
        self.m == self.n && self.n == self.k && self.batch == 1
    }
}

impl fmt::Display for GemmShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.batch > 1 {
            write!(f, "{}×{}×{}×{}", self.batch, self.m, self.n, self.k)
        } else {
            write!(f, "{}×{}×{}", self.m, self.n, self.k)
        }
    }
}

/// Everything a backend needs to prepare one GEMM.
#[derive(Debug, Clone, PartialEq)]
pub struct GemmRequest {
    pub dtype: DType,
    pub shape: GemmShape,
    /// Number of distinct input sets to rotate through (1 = "hot"; `--cold` uses enough to
    /// exceed 3× the L2 cache).
    pub input_sets: u32,
    /// Seed of the random inputs.
    pub seed: u64,
    /// fp8 only: let cuBLASLt accumulate with its fast, less accurate path
    /// (`CUBLASLT_MATMUL_DESC_FAST_ACCUM`); off is NVIDIA's accurate default.
    pub fp8_fast_accum: bool,
}

/// How a prepared GEMM runs on its backend, recorded in the profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GemmApi {
    /// Library entry point, e.g. `cublasLtMatmul` or `gemm crate (gemm::gemm)`.
    pub api: String,
    /// Compute type, e.g. `CUBLAS_COMPUTE_32F_FAST_TF32`.
    pub compute_type: String,
    /// Accumulator type, e.g. `fp32`.
    pub accumulator: String,
    /// Output element type.
    pub output_type: String,
    /// The algorithm that ran, where the library says (cuBLASLt algo id, tile, stages…).
    pub algorithm: Option<String>,
    /// How each product was timed (absent in profiles written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<String>,
    /// fp8 on cuBLASLt: whether fast accumulation was on (absent for other dtypes and in
    /// older profiles, which always ran with it off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp8_fast_accum: Option<bool>,
}

/// Input rows, input columns and outputs copied back for verification, as f64.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VerifySample {
    /// For each requested row i: A[i, 0..k].
    pub a_rows: Vec<Vec<f64>>,
    /// For each requested column j: B[0..k, j] (= Bt[j, 0..k]).
    pub b_cols: Vec<Vec<f64>>,
    /// `c[r][c]` = `C[rows[r], cols[c]]` as the device computed it.
    pub c: Vec<Vec<f64>>,
}

/// A GEMM whose inputs are allocated and filled, ready to run.
pub trait PreparedGemm {
    /// How it runs (API, compute type, accumulator, algorithm).
    fn api(&self) -> GemmApi;

    /// How many candidate algorithms the library offers for this GEMM (1 where it offers no
    /// choice, as on the CPU). Candidate 0 is the library's default choice.
    fn algorithm_count(&self) -> usize {
        1
    }

    /// Selects candidate `index` (< [`algorithm_count`](Self::algorithm_count)) for later runs.
    fn select_algorithm(&mut self, index: usize) -> anyhow::Result<()> {
        if index == 0 {
            Ok(())
        } else {
            Err(anyhow::anyhow!("this backend offers a single algorithm"))
        }
    }

    /// Runs `count` products back to back, rotating through the input sets, and returns the
    /// time of each in seconds (device time on a GPU: CUDA events around each product).
    fn run(&mut self, count: usize) -> anyhow::Result<Vec<f64>>;

    /// Computes one product on input set 0 (batch 0) and returns the given rows of A, columns
    /// of B and the matching elements of C for verification on the host.
    fn verify_sample(&mut self, rows: &[u64], cols: &[u64]) -> anyhow::Result<VerifySample>;
}

/// Which kind of backend ran the products: `cpu` or `cuda` in a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// The host CPU (the `gemm` crate).
    #[default]
    Cpu,
    /// An NVIDIA GPU through cuBLASLt.
    Cuda,
    /// The unit tests' backend ([`testing`]): neither CPU nor GPU rules apply to it.
    #[cfg(test)]
    #[serde(rename = "fake")]
    Test,
}

impl BackendKind {
    /// The name a profile stores (`cpu`, `cuda`).
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Cuda => "cuda",
            #[cfg(test)]
            BackendKind::Test => "fake",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a profile records about the device that ran the products.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// `cuda` or `cpu`.
    pub backend: BackendKind,
    /// Name as the driver (or the CPU) reports it.
    pub name: String,
    /// CUDA ordinal.
    pub ordinal: Option<u32>,
    pub uuid: Option<String>,
    /// PCI address as `nvidia-smi` prints it (`00000000:18:00.0`): where the GPU sits in the
    /// machine, so an operator can find the one that was flagged.
    pub pci_bus_id: Option<String>,
    /// "9.0"
    pub compute_capability: Option<String>,
    pub sm_count: Option<u32>,
    /// Maximum SM clock (MHz) the device reports.
    pub max_sm_clock_mhz: Option<f64>,
    /// Maximum memory clock (MHz).
    pub max_mem_clock_mhz: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub l2_bytes: Option<u64>,
    pub driver_version: Option<String>,
    /// CUDA version the driver supports, e.g. "13.0".
    pub cuda_driver_version: Option<String>,
    /// cuBLAS (cuBLASLt) version loaded at run time, e.g. "13.0.0".
    pub cublas_version: Option<String>,
    /// CUDA version of the bindings this binary was built with (cargo feature).
    pub cuda_bindings: Option<String>,
    /// CPU: threads the GEMM uses.
    pub threads: Option<u32>,
    /// CPU: instruction set of the GEMM kernels that run (avx512f, avx2+fma, neon, scalar).
    pub simd: Option<String>,
    /// Spec-table row the name matched, if any.
    pub spec_gpu: Option<String>,
}

impl DeviceInfo {
    /// Compute capability as numbers.
    pub fn cc(&self) -> Option<(u32, u32)> {
        let s = self.compute_capability.as_deref()?;
        let (a, b) = s.split_once('.')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    }

    /// A short name for file names: "h100-sxm", else the device name slugged.
    pub fn slug(&self) -> String {
        if let Some(k) = &self.spec_gpu {
            return k.clone();
        }
        slug(&self.name)
    }
}

/// Lower-case, alphanumerics and single dashes only.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.to_ascii_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "device".into()
    } else {
        out
    }
}

/// A device that can run GEMMs.
pub trait Backend {
    /// What the profile records about the device.
    fn info(&self) -> &DeviceInfo;

    /// `Ok` if the device can run `dtype`; otherwise a usage error that says why and what to
    /// pick instead.
    fn check_dtype(&self, dtype: DType) -> anyhow::Result<()>;

    /// Free memory in bytes, where known (checked before allocating).
    fn free_memory(&self) -> anyhow::Result<Option<u64>>;

    /// Allocates and fills the inputs of one GEMM.
    fn prepare(&self, req: &GemmRequest) -> anyhow::Result<Box<dyn PreparedGemm + '_>>;

    /// Peak TFLOPS derived from the device, with a line saying how, where it can be known.
    fn derived_peak(&self, dtype: DType) -> Option<(f64, String)>;

    /// Allocates a copy of at least `bytes` (device to device on a GPU, memory to memory on
    /// the CPU) with a filled source, ready to time ([`crate::measure::bandwidth`]).
    fn prepare_copy(&self, bytes: u64) -> anyhow::Result<Box<dyn PreparedCopy + '_>>;
}

/// A memory copy whose buffers are allocated and the source filled, ready to run.
pub trait PreparedCopy {
    /// Bytes one copy moves (`bytes` rounded up to what the device copies at once).
    fn bytes(&self) -> u64;

    /// Runs `count` copies back to back and returns each one's time in seconds (device time
    /// on a GPU).
    fn run(&mut self, count: usize) -> anyhow::Result<Vec<f64>>;
}

/// Which device `--device` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// A GPU when one loads, else the CPU with a notice.
    Auto,
    Cpu,
    /// `cuda` (ordinal 0) or `cuda:N`.
    Cuda(u32),
    /// `all`: every GPU of the node at once (`run` only).
    All,
}

impl FromStr for DeviceChoice {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda(0)),
            "all" => Ok(DeviceChoice::All),
            _ => {
                if let Some(n) = t.strip_prefix("cuda:").or_else(|| t.strip_prefix("gpu:")) {
                    if let Ok(i) = n.parse::<u32>() {
                        return Ok(DeviceChoice::Cuda(i));
                    }
                }
                Err(usage(format!(
                    "unknown device '{s}': use auto, cpu, cuda, cuda:N (N = GPU index) or all"
                )))
            }
        }
    }
}

/// The error for `--device all` where one device is measured.
pub fn all_is_for_run() -> anyhow::Error {
    usage("--device all measures every GPU of the node in one process and is for `gpubench run` only; give auto, cpu, cuda or cuda:N")
}

/// Opens the backend `--device` names. With `Auto`, falls back to the CPU when no GPU loads
/// and returns the one-line notice to print.
pub fn open(choice: DeviceChoice) -> anyhow::Result<(Box<dyn Backend>, Option<String>)> {
    match choice {
        DeviceChoice::Cpu => Ok((Box::new(cpu::CpuBackend::new()), None)),
        DeviceChoice::Cuda(i) => Ok((cuda::open(i)?, None)),
        DeviceChoice::All => Err(all_is_for_run()),
        DeviceChoice::Auto => match cuda::open(0) {
            Ok(b) => Ok((b, None)),
            Err(e) => Ok((
                Box::new(cpu::CpuBackend::new()),
                Some(format!(
                    "notice: no GPU ({}); measuring the CPU instead",
                    format!("{e:#}")
                        .replace('\n', " ")
                        .trim_end_matches("; use --device cpu")
                )),
            )),
        },
    }
}

/// Operand order and flags of one `cublas*Gemm*` / `cublasLtMatmul` call (column-major).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnMajorGemm {
    /// Rows of op(first operand) and of the column-major result.
    pub m: u64,
    /// Columns of op(second operand) and of the result.
    pub n: u64,
    pub k: u64,
    /// The first operand is the `Bt` buffer, transposed (`CUBLAS_OP_T`).
    pub transa: bool,
    /// The second operand is the `A` buffer, not transposed (`CUBLAS_OP_N`).
    pub transb: bool,
    pub lda: u64,
    pub ldb: u64,
    pub ldc: u64,
}

/// Maps gpubench's row-major problem (`C = A · B` with `A` m×k row-major, `Bt` n×k row-major,
/// `C` m×n row-major) onto a column-major GEMM: cuBLAS sees `C` as the n×m column-major
/// matrix `Cᵀ = Bᵀ·Aᵀ`. The `Bt` buffer, read column-major, is k×n, so it is passed first with
/// `OP_T` (giving n×k); the `A` buffer, read column-major, is k×m = `Aᵀ`, passed second with
/// `OP_N`. Leading dimensions: `k`, `k` and `n`. This is the "TN" layout.
pub fn column_major_mapping(shape: GemmShape) -> ColumnMajorGemm {
    ColumnMajorGemm {
        m: shape.n,
        n: shape.m,
        k: shape.k,
        transa: true,
        transb: false,
        lda: shape.k,
        ldb: shape.k,
        ldc: shape.n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference column-major GEMM with BLAS semantics, on plain slices.
    #[allow(clippy::too_many_arguments)]
    fn colmajor_gemm(g: &ColumnMajorGemm, a: &[f64], b: &[f64], c: &mut [f64]) {
        let (m, n, k) = (g.m as usize, g.n as usize, g.k as usize);
        let at = |i: usize, p: usize| {
            if g.transa {
                a[p + i * g.lda as usize]
            } else {
                a[i + p * g.lda as usize]
            }
        };
        let bt = |p: usize, j: usize| {
            if g.transb {
                b[j + p * g.ldb as usize]
            } else {
                b[p + j * g.ldb as usize]
            }
        };
        for j in 0..n {
            for i in 0..m {
                let mut s = 0.0;
                for p in 0..k {
                    s += at(i, p) * bt(p, j);
                }
                c[i + j * g.ldc as usize] = s;
            }
        }
    }

    #[test]
    fn mapping_computes_row_major_product() {
        let (m, n, k) = (3usize, 5usize, 4usize);
        let a: Vec<f64> = (0..m * k).map(|x| (x as f64) * 0.5 - 2.0).collect(); // m×k row-major
        let b: Vec<f64> = (0..k * n).map(|x| ((x * 7) % 11) as f64 - 5.0).collect(); // k×n row-major
                                                                                     // Bt: n×k row-major
        let mut bt = vec![0.0; n * k];
        for p in 0..k {
            for j in 0..n {
                bt[j * k + p] = b[p * n + j];
            }
        }
        let g = column_major_mapping(GemmShape {
            m: m as u64,
            n: n as u64,
            k: k as u64,
            batch: 1,
        });
        let mut c = vec![0.0; m * n];
        colmajor_gemm(&g, &bt, &a, &mut c);
        for i in 0..m {
            for j in 0..n {
                let want: f64 = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
                assert_eq!(c[i * n + j], want, "C[{i},{j}]");
            }
        }
        assert_eq!((g.m, g.n, g.k), (n as u64, m as u64, k as u64));
        assert!(g.transa && !g.transb);
    }

    #[test]
    fn shape_flops_and_bytes() {
        let s = GemmShape::square(16384);
        assert_eq!(s.flops(), 2.0 * 16384f64.powi(3));
        let (ab, c) = s.bytes(DType::Fp16);
        assert_eq!(ab, 2 * 16384 * 16384 * 2);
        assert_eq!(c, 16384 * 16384 * 2);
        assert_eq!(GemmShape::square(8).to_string(), "8×8×8");
    }

    #[test]
    fn device_choice_parsing() {
        assert_eq!("auto".parse::<DeviceChoice>().unwrap(), DeviceChoice::Auto);
        assert_eq!(
            "cuda:3".parse::<DeviceChoice>().unwrap(),
            DeviceChoice::Cuda(3)
        );
        assert_eq!("CPU".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert!("cuda:x".parse::<DeviceChoice>().is_err());
        assert!("tpu".parse::<DeviceChoice>().is_err());
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("NVIDIA H100 80GB HBM3"), "nvidia-h100-80gb-hbm3");
        assert_eq!(slug("  "), "device");
    }
}
