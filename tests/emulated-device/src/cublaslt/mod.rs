//! The cuBLASLt entry points (`libcublasLt.so.13`) gpubench calls: handles, descriptors,
//! layouts and preferences with exactly sized attributes, the heuristic with several distinct
//! candidates, and `cublasLtMatmul` computed on the host (lazily) and timed at the configured
//! rate.
//!
//! Why strict: the attribute types are the cuBLASLt documentation's (an `int32_t` TRANSA set
//! from a 64-bit value is `CUBLAS_STATUS_INVALID_VALUE`), unsupported type combinations are
//! `CUBLAS_STATUS_NOT_SUPPORTED`, and fp8 follows NVIDIA's rules for cc 8.9/9.x: A transposed,
//! B not ("TN", else `NOT_SUPPORTED`); k and every leading dimension a multiple of 16 bytes
//! (else `INVALID_VALUE`, as the real library answers); 16-byte pointers.
//!
//! Files: this one (status codes, handles, objects, version), `descriptors`, `problem`
//! (validation and candidates), `matmul` (heuristic and products).

#![allow(non_snake_case, clippy::missing_safety_doc, clippy::too_many_arguments)]

use std::collections::{HashMap, HashSet};
use std::ffi::{c_int, c_void};

use crate::{cfg, kind, lock, State};

mod descriptors;
mod matmul;
mod problem;

pub use descriptors::*;
pub use matmul::*;
pub use problem::*;

pub type Status = u32;

/// `cublasStatus_t` values.
pub mod status {
    pub const SUCCESS: u32 = 0;
    pub const NOT_INITIALIZED: u32 = 1;
    pub const INVALID_VALUE: u32 = 7;
    pub const EXECUTION_FAILED: u32 = 13;
    pub const NOT_SUPPORTED: u32 = 15;
}
use status::*;

/// `cublasComputeType_t` values gpubench uses.
pub mod compute {
    pub const C32F: u32 = 68;
    pub const C64F: u32 = 70;
    pub const C32F_FAST_TF32: u32 = 77;
}

/// Marks algorithms this library made (`cublasLtMatmulAlgo_t.data[0]`).
const ALGO_MAGIC: u64 = 0x454d_552d_4c54_0001;

#[derive(Debug, Clone)]
pub struct Desc {
    pub compute: u32,
    pub scale: u32,
    pub transa: i32,
    pub transb: i32,
    /// Attributes set to values the emulator does not model (epilogues, scale pointers...).
    pub unmodelled: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct Layout {
    pub ty: u32,
    pub rows: u64,
    pub cols: u64,
    pub ld: i64,
    pub order: i32,
    pub batch: i32,
    pub stride: i64,
}

#[derive(Debug, Clone)]
pub struct Pref {
    pub workspace: u64,
    /// Minimum pointer alignments of A, B, C, D (bytes).
    pub align: [u32; 4],
}

/// cuBLASLt objects alive.
#[derive(Debug, Default)]
pub struct Objects {
    pub handles: HashSet<u64>,
    pub descs: HashMap<u64, Desc>,
    pub layouts: HashMap<u64, Layout>,
    pub prefs: HashMap<u64, Pref>,
}

/// `cublasLtMatmulAlgo_t` (64 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Algo {
    pub data: [u64; 8],
}

/// `cublasLtMatmulHeuristicResult_t`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HeuristicResult {
    pub algo: Algo,
    pub workspace_size: usize,
    pub state: Status,
    pub waves_count: f32,
    pub reserved: [c_int; 4],
}

/// Runs `f` on the state (cuBLASLt initializes the driver itself, so no `cuInit` is needed).
fn with(f: impl FnOnce(&mut State) -> Status) -> Status {
    if crate::init_state() {
        crate::report::register();
    }
    let mut g = lock();
    f(g.as_mut().expect("initialized above"))
}

unsafe fn out<T>(p: *mut T, v: T) -> Status {
    if p.is_null() {
        return INVALID_VALUE;
    }
    // SAFETY: the caller passed a pointer to write one T to.
    unsafe { p.write(v) };
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cublasLtCreate(handle: *mut *mut c_void) -> Status {
    with(|s| {
        if handle.is_null() {
            return INVALID_VALUE;
        }
        let id = s.new_handle(kind::LT_HANDLE);
        s.lt.handles.insert(id);
        unsafe { out(handle, id as *mut c_void) }
    })
}

#[no_mangle]
pub extern "C" fn cublasLtDestroy(handle: *mut c_void) -> Status {
    with(|s| {
        if s.lt.handles.remove(&(handle as u64)) {
            SUCCESS
        } else {
            NOT_INITIALIZED
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn cublasLtGetProperty(ty: c_int, value: *mut c_int) -> Status {
    let (a, b, c) = cfg().cublas_version;
    let v = match ty {
        0 => a,
        1 => b,
        2 => c,
        _ => return INVALID_VALUE,
    };
    unsafe { out(value, v) }
}

#[no_mangle]
pub extern "C" fn cublasLtGetVersion() -> usize {
    let (a, b, c) = cfg().cublas_version;
    (a * 10000 + b * 100 + c) as usize
}
