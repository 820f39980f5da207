//! The CUDA driver API entry points (`libcuda.so.1`) gpubench reaches through cudarc, plus the
//! two the real NVRTC calls (`cuInit`, `cuGetExportTable`).
//!
//! Why each rule is here: a backend that forgets `cuInit`, a current context, event timing
//! flags or a free fails on a real GPU; it fails the same way here, with the same status.
//! Resource-release calls still work on a lost device, so the leak report stays about the
//! backend and not about the fault.
//!
//! Files: this one (status codes, the current context, call-order checks, initialization),
//! `device`, `stream` (streams and events), `memory`, `launch` (modules and kernels).

#![allow(non_snake_case, clippy::missing_safety_doc)]

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};

use crate::clock::Stream;
use crate::{cfg, kind, lock, State};

mod device;
mod launch;
mod memory;
mod stream;

pub use device::*;
pub use launch::*;
pub use memory::*;
pub use stream::*;

pub type CUresult = c_uint;

/// `cudaError_enum` values.
pub mod err {
    pub const SUCCESS: u32 = 0;
    pub const INVALID_VALUE: u32 = 1;
    pub const OUT_OF_MEMORY: u32 = 2;
    pub const NOT_INITIALIZED: u32 = 3;
    pub const INVALID_DEVICE: u32 = 101;
    pub const INVALID_IMAGE: u32 = 200;
    pub const INVALID_CONTEXT: u32 = 201;
    pub const NO_BINARY_FOR_GPU: u32 = 209;
    pub const INVALID_PTX: u32 = 218;
    pub const UNSUPPORTED_PTX_VERSION: u32 = 222;
    pub const INVALID_HANDLE: u32 = 400;
    pub const NOT_FOUND: u32 = 500;
    pub const NOT_READY: u32 = 600;
    pub const LAUNCH_OUT_OF_RESOURCES: u32 = 701;
    pub const LAUNCH_FAILED: u32 = 719;
    pub const NOT_SUPPORTED: u32 = 801;
}
use err::*;

/// `(code, name, description)` for `cuGetErrorName` / `cuGetErrorString`.
const ERRORS: &[(u32, &CStr, &CStr)] = &[
    (SUCCESS, c"CUDA_SUCCESS", c"no error"),
    (
        INVALID_VALUE,
        c"CUDA_ERROR_INVALID_VALUE",
        c"invalid argument",
    ),
    (OUT_OF_MEMORY, c"CUDA_ERROR_OUT_OF_MEMORY", c"out of memory"),
    (
        NOT_INITIALIZED,
        c"CUDA_ERROR_NOT_INITIALIZED",
        c"initialization error",
    ),
    (
        100,
        c"CUDA_ERROR_NO_DEVICE",
        c"no CUDA-capable device is detected",
    ),
    (
        INVALID_DEVICE,
        c"CUDA_ERROR_INVALID_DEVICE",
        c"invalid device ordinal",
    ),
    (
        INVALID_IMAGE,
        c"CUDA_ERROR_INVALID_IMAGE",
        c"device kernel image is invalid",
    ),
    (
        INVALID_CONTEXT,
        c"CUDA_ERROR_INVALID_CONTEXT",
        c"invalid device context",
    ),
    (
        NO_BINARY_FOR_GPU,
        c"CUDA_ERROR_NO_BINARY_FOR_GPU",
        c"no kernel image is available for execution on the device",
    ),
    (
        INVALID_PTX,
        c"CUDA_ERROR_INVALID_PTX",
        c"a PTX JIT compilation failed",
    ),
    (
        UNSUPPORTED_PTX_VERSION,
        c"CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
        c"the provided PTX was compiled with an unsupported toolchain.",
    ),
    (
        INVALID_HANDLE,
        c"CUDA_ERROR_INVALID_HANDLE",
        c"invalid resource handle",
    ),
    (
        NOT_FOUND,
        c"CUDA_ERROR_NOT_FOUND",
        c"named symbol not found",
    ),
    (NOT_READY, c"CUDA_ERROR_NOT_READY", c"device not ready"),
    (
        LAUNCH_OUT_OF_RESOURCES,
        c"CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
        c"too many resources requested for launch",
    ),
    (
        LAUNCH_FAILED,
        c"CUDA_ERROR_LAUNCH_FAILED",
        c"unspecified launch failure",
    ),
    (
        NOT_SUPPORTED,
        c"CUDA_ERROR_NOT_SUPPORTED",
        c"operation not supported",
    ),
];

/// A loaded module.
#[derive(Debug)]
pub struct Module {
    pub device: u32,
    pub kernels: Vec<String>,
}

/// A kernel of a loaded module.
#[derive(Debug)]
pub struct Function {
    pub module: u64,
    pub name: String,
}

thread_local! {
    /// The device whose primary context is current on this thread.
    static CURRENT: Cell<Option<u32>> = const { Cell::new(None) };
}

/// The device whose context is current on this thread (and still retained).
pub(crate) fn current_device(s: &State) -> Option<u32> {
    CURRENT
        .with(|c| c.get())
        .filter(|d| s.devices[*d as usize].ctx_refs > 0)
}

/// The context handle of `device`'s primary context.
fn ctx_handle(device: u32) -> u64 {
    0xc0_0000 + device as u64 * 16
}

fn ctx_device(ctx: u64) -> Option<u32> {
    (ctx >= 0xc0_0000 && (ctx - 0xc0_0000).is_multiple_of(16))
        .then(|| ((ctx - 0xc0_0000) / 16) as u32)
}

/// The stream handle of `device`'s default stream (what a null stream means).
fn default_stream(device: u32) -> u64 {
    (kind::STREAM << 40) | 0x8 | ((device as u64) << 8)
}

fn h(p: *mut c_void) -> u64 {
    p as u64
}

/// Runs `f` on the state, or `CUDA_ERROR_NOT_INITIALIZED` before `cuInit`.
pub(crate) fn with(f: impl FnOnce(&mut State) -> CUresult) -> CUresult {
    let mut g = lock();
    match g.as_mut() {
        None => NOT_INITIALIZED,
        Some(s) => f(s),
    }
}

/// Runs `f` with the current context's device; `CUDA_ERROR_INVALID_CONTEXT` without one.
fn with_ctx(f: impl FnOnce(&mut State, u32) -> CUresult) -> CUresult {
    with(|s| match CURRENT.with(|c| c.get()) {
        Some(d) if s.devices[d as usize].ctx_refs > 0 => f(s, d),
        _ => INVALID_CONTEXT,
    })
}

/// As [`with_ctx`], but failing with `CUDA_ERROR_LAUNCH_FAILED` once the device is lost.
fn with_live_ctx(f: impl FnOnce(&mut State, u32) -> CUresult) -> CUresult {
    with_ctx(|s, d| {
        if s.devices[d as usize].lost {
            LAUNCH_FAILED
        } else {
            f(s, d)
        }
    })
}

/// The stream a handle names on `device` (null and the legacy/per-thread handles are the
/// default stream), creating the default stream on first use.
pub(crate) fn stream_of(s: &mut State, device: u32, handle: u64) -> Result<u64, CUresult> {
    let key = if handle <= 2 {
        default_stream(device)
    } else {
        handle
    };
    if handle <= 2 && !s.streams.contains_key(&key) {
        s.streams.insert(
            key,
            Stream {
                device,
                free_at: 0.0,
                hold: None,
            },
        );
    }
    match s.streams.get(&key) {
        Some(st) if st.device == device => Ok(key),
        _ => Err(INVALID_HANDLE),
    }
}

unsafe fn out<T>(p: *mut T, v: T) -> CUresult {
    if p.is_null() {
        return INVALID_VALUE;
    }
    // SAFETY: the caller passed a pointer to write one T to.
    unsafe { p.write(v) };
    SUCCESS
}

#[no_mangle]
pub extern "C" fn cuInit(flags: c_uint) -> CUresult {
    if flags != 0 {
        return INVALID_VALUE;
    }
    if crate::init_state() {
        crate::report::register();
    }
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn cuDriverGetVersion(v: *mut c_int) -> CUresult {
    unsafe { out(v, cfg().driver_cuda) }
}

#[no_mangle]
pub unsafe extern "C" fn cuGetErrorName(e: CUresult, s: *mut *const c_char) -> CUresult {
    match ERRORS.iter().find(|x| x.0 == e) {
        Some(x) => unsafe { out(s, x.1.as_ptr()) },
        None => INVALID_VALUE,
    }
}

#[no_mangle]
pub unsafe extern "C" fn cuGetErrorString(e: CUresult, s: *mut *const c_char) -> CUresult {
    match ERRORS.iter().find(|x| x.0 == e) {
        Some(x) => unsafe { out(s, x.2.as_ptr()) },
        None => INVALID_VALUE,
    }
}

/// NVIDIA's private export tables: this driver has none (NVRTC copes with that).
#[no_mangle]
pub unsafe extern "C" fn cuGetExportTable(
    table: *mut *const c_void,
    _id: *const c_void,
) -> CUresult {
    if !table.is_null() {
        unsafe { table.write(std::ptr::null()) };
    }
    NOT_SUPPORTED
}
