//! gpubench's emulated device: one shared library that stands in for the NVIDIA driver
//! (`libcuda.so.1`), cuBLASLt (`libcublasLt.so.13`) and NVML (`libnvidia-ml.so.1`), so that
//! every line of gpubench's CUDA backend and telemetry runs in `cargo test` on a machine
//! without a GPU. It is a test double: nothing it reports is a measurement.
//!
//! Why one library for three: a single global state, so cuBLASLt sees the driver's
//! allocations and NVML sees the device's virtual clock. The test harness
//! (`tests/common/emulated.rs`) builds it and makes a directory of symlinks with the three
//! libraries' names, put first on `LD_LIBRARY_PATH` next to the real NVRTC.
//!
//! It is strict: calls out of order (no `cuInit`, no current context), wrong attribute sizes,
//! unknown handles, unsupported type combinations and modules built for another GPU fail with
//! the status the real libraries document, so a backend that works here uses the APIs as the
//! real ones require.
//!
//! Time is virtual and deterministic (see `clock`): every enqueuing call advances the host clock
//! by a launch cost; work on a stream runs back to back from when it was enqueued; CUDA events
//! read the stream's position; synchronizing advances the host clock. A product of
//! `2·m·n·k·batch` FLOPs takes `FLOPs / rate`; copies and fills take `bytes / bandwidth`.
//! Results are computed on the host, lazily (only the elements copied back are computed).
//!
//! # Configuration (environment variables, read once, at the first `cuInit`/`nvmlInit`)
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `GPUBENCH_EMU_DEVICES` | number of GPUs | 1 |
//! | `GPUBENCH_EMU_NAME` | device name (must contain "Emulated") | `gpubench Emulated GPU (test double, not a measurement)` |
//! | `GPUBENCH_EMU_CC` | compute capability `major.minor` | 9.0 |
//! | `GPUBENCH_EMU_SMS` | multiprocessors | 132 |
//! | `GPUBENCH_EMU_SM_CLOCK_MHZ` / `GPUBENCH_EMU_MEM_CLOCK_MHZ` | maximum clocks | 1980 / 2619 |
//! | `GPUBENCH_EMU_MEMORY_GIB` | memory per GPU (GiB, may be fractional) | 80 |
//! | `GPUBENCH_EMU_RATE_TFLOPS` | product rate per dtype: `fp16=400,bf16=400,...` (fp64, fp32, tf32, fp16, bf16, fp8) | fp64=50 fp32=50 tf32=400 fp16=800 bf16=800 fp8=1600 |
//! | `GPUBENCH_EMU_LAUNCH_US` | host cost of every enqueuing call (µs) | 5 |
//! | `GPUBENCH_EMU_BANDWIDTH_GBS` | device memory bandwidth for fills and copies (GB/s) | 2000 |
//! | `GPUBENCH_EMU_DRIVER_CUDA` | CUDA version the driver reports (`cuDriverGetVersion`) | 13000 |
//! | `GPUBENCH_EMU_DRIVER_VERSION` | NVML driver version string | `580.00.emulated` |
//! | `GPUBENCH_EMU_CUBLAS_VERSION` | `cublasLtGetProperty`'s version `major.minor.patch` | 13.1.0 |
//! | `GPUBENCH_EMU_CANDIDATES` | algorithms the cuBLASLt heuristic returns | 4 |
//! | `GPUBENCH_EMU_MIG` | `1`: every device is a MIG instance (NVML finds it by `MIG-` UUID only) | 0 |
//! | `GPUBENCH_EMU_REPORT` | file the leak report is written to at exit (empty = clean) | none |
//!
//! Faults:
//!
//! | variable | effect |
//! |---|---|
//! | `GPUBENCH_EMU_OOM_AT=k` | the k-th device allocation (1-based) fails with `CUDA_ERROR_OUT_OF_MEMORY` |
//! | `GPUBENCH_EMU_NO_ALGO=1` | the heuristic returns no algorithm (`CUBLAS_STATUS_NOT_SUPPORTED`) |
//! | `GPUBENCH_EMU_WRONG_CANDIDATE=i` | heuristic candidate #i computes wrong products (and is the fastest) |
//! | `GPUBENCH_EMU_LOST_AFTER=N` | after N products the device is lost: later calls fail (`CUDA_ERROR_LAUNCH_FAILED`, `CUBLAS_STATUS_EXECUTION_FAILED`) |
//! | `GPUBENCH_EMU_THROTTLE_AFTER_PRODUCTS=N` / `GPUBENCH_EMU_THROTTLE_AFTER_MS=t` | from then on the SM clock drops to `GPUBENCH_EMU_THROTTLE_CLOCK` (fraction, default 0.7) of its maximum, the product rate with it, and NVML reports the thermal throttle reason; with `GPUBENCH_EMU_THROTTLE_DEVICE=i` only device i |
//! | `GPUBENCH_EMU_SLOW_DEVICE=i`, `GPUBENCH_EMU_SLOW_FACTOR=f` | device i runs at f times the rates (default 0.5) |
//!
//! A missing symbol is a second build with the cargo feature `omit-event-elapsed-time` (no
//! `cuEventElapsedTime`, no `cuEventElapsedTime_v2`); NVML absent is a symlink directory without
//! `libnvidia-ml.so.1`.
//!
//! Files: `config` (the variables above), `clock` (streams, events, holds, virtual time),
//! `memory` (device and pinned allocations, lazily computed contents), `elem` (element
//! encodings), `elf` (what `cuModuleLoadData` accepts), `kernels` (host versions of
//! gpubench's kernels), `driver`, `cublaslt`, `nvml` (the C entry points), `report` (leaks),
//! `nccl` (emulated NCCL, configured by its own `GPUBENCH_EMU_NCCL_*` variables), `nccl_net`
//! (its ranks in other processes) and `nccl_fill`.

mod clock;
mod config;
mod cublaslt;
mod driver;
mod elem;
mod elf;
mod kernels;
mod memory;
mod nccl;
mod nccl_fill;
mod nccl_net;
mod nvml;
mod report;

/// gpubench's host mirror of `kernels/fill.cu`, shared rather than copied so the emulated fill
/// kernels write exactly what the real ones do.
#[allow(dead_code)]
#[path = "../../../src/backend/cuda/fill_ref.rs"]
mod fill_ref;

pub use cublaslt::*;
pub use driver::*;
pub use nccl::*;
pub use nccl_fill::*;
pub use nvml::*;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock};

use clock::{Event, Stream};
use config::Config;
use memory::Memory;

/// The configuration, read from the environment on first use.
pub(crate) fn cfg() -> &'static Config {
    static CFG: OnceLock<Config> = OnceLock::new();
    CFG.get_or_init(|| match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            // A test double misconfigured by its test: fail loudly rather than emulate
            // something nobody asked for.
            eprintln!("gpubench emulated device: {e}");
            std::process::abort();
        }
    })
}

/// Per-GPU state.
pub(crate) struct Device {
    /// Products run (counts towards the device-lost and throttle faults).
    pub products: u64,
    /// Lost (the `GPUBENCH_EMU_LOST_AFTER` fault fired).
    pub lost: bool,
    /// Primary-context references (`cuDevicePrimaryCtxRetain` − release).
    pub ctx_refs: u32,
    /// Bytes allocated.
    pub used: u64,
}

/// Everything the emulated driver, cuBLASLt and NVML share.
pub(crate) struct State {
    pub host_ns: f64,
    pub devices: Vec<Device>,
    pub mem: Memory,
    pub streams: HashMap<u64, Stream>,
    pub events: HashMap<u64, Event>,
    pub modules: HashMap<u64, driver::Module>,
    pub functions: HashMap<u64, driver::Function>,
    pub lt: cublaslt::Objects,
    next_id: u64,
}

impl State {
    fn new(cfg: &Config) -> State {
        State {
            host_ns: 0.0,
            devices: (0..cfg.devices)
                .map(|_| Device {
                    products: 0,
                    lost: false,
                    ctx_refs: 0,
                    used: 0,
                })
                .collect(),
            mem: Memory::new(cfg.devices),
            streams: HashMap::new(),
            events: HashMap::new(),
            modules: HashMap::new(),
            functions: HashMap::new(),
            lt: cublaslt::Objects::default(),
            next_id: 1,
        }
    }

    /// A fresh handle value of kind `kind` (the kind is in the high bits so a handle of one
    /// kind passed where another is expected is refused).
    pub fn new_handle(&mut self, kind: u64) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        (kind << 40) | (id << 4)
    }
}

/// Handle kinds.
pub(crate) mod kind {
    pub const STREAM: u64 = 1;
    pub const EVENT: u64 = 2;
    pub const MODULE: u64 = 3;
    pub const FUNCTION: u64 = 4;
    pub const LT_HANDLE: u64 = 5;
    pub const LT_DESC: u64 = 6;
    pub const LT_LAYOUT: u64 = 7;
    pub const LT_PREF: u64 = 8;
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

/// The global state (created by the first `cuInit`); a poisoned lock is taken over, since a
/// panic inside an entry point already aborted that call.
pub(crate) fn lock() -> MutexGuard<'static, Option<State>> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// The leak report as it would be written at exit now (this package's tests read it).
pub fn leak_report() -> String {
    report::leaks()
}

/// Creates the state if it does not exist yet; returns whether it was created now.
pub(crate) fn init_state() -> bool {
    let mut g = lock();
    if g.is_some() {
        return false;
    }
    *g = Some(State::new(cfg()));
    true
}
