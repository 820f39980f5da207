//! The figures an estimate assumes when the user gives none, each once, with its source, so
//! the commands, the calibration report and the estimate block after `run` agree.

/// Default MFU: LLaMA-65B's 380 tokens/s/GPU on A100 = 6 × 65.2e9 × 380 / 312e12
/// (docs/sources.md §12).
pub const DEFAULT_MFU: f64 = 0.476;

/// Default utilization of measured GEMM throughput: the same run against the 271 TFLOPS
/// measured A100 bf16 maximum (docs/sources.md §12).
pub const DEFAULT_GEMM_UTILIZATION: f64 = 0.55;

/// The source's CUDA context overhead, GB (`docs/sources.md` §4).
pub const DEFAULT_CUDA_CONTEXT_GB: f64 = 1.3;

/// Bytes per token of tokenized data: int32 token ids (`gpubench scale`).
pub const DEFAULT_BYTES_PER_TOKEN: f64 = 4.0;

/// Compute growth factor `gpubench scale` shows when `--growth` is not given.
pub const DEFAULT_GROWTH: f64 = 10.0;
