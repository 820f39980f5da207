//! The CUDA driver API entry points (`libcuda.so.1`) gpubench reaches through cudarc, plus the
//! two the real NVRTC calls (`cuInit`, `cuGetExportTable`).
//!
//! Why each rule is here: a backend that forgets `cuInit`, a current context, event timing
//! flags or a free fails on a real GPU; it fails the same way here, with the same status.
//! Resource-release calls still work on a lost device, so the leak report stays about the
//! backend and not about the fault.

#![allow(non_snake_case, clippy::missing_safety_doc)]

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};

use crate::clock::{Event, Stream};
use crate::memory::Content;
use crate::{cfg, kind, lock, State};

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

fn check_device(s: &State, dev: c_int) -> Result<u32, CUresult> {
    if dev < 0 || dev as usize >= s.devices.len() {
        Err(INVALID_DEVICE)
    } else {
        Ok(dev as u32)
    }
}

#[no_mangle]
pub unsafe extern "C" fn cuDeviceGet(d: *mut c_int, ordinal: c_int) -> CUresult {
    with(|s| match check_device(s, ordinal) {
        Ok(o) => unsafe { out(d, o as c_int) },
        Err(e) => e,
    })
}

#[no_mangle]
pub unsafe extern "C" fn cuDeviceGetCount(n: *mut c_int) -> CUresult {
    with(|s| unsafe { out(n, s.devices.len() as c_int) })
}

/// A device attribute, or `None` for one the emulator does not model.
fn attribute(attr: c_int) -> Option<c_int> {
    let c = cfg();
    Some(match attr {
        1..=3 => 1024,                          // max threads per block, block dim x, y
        4 => 64,                                // block dim z
        5 => i32::MAX,                          // grid dim x
        6 | 7 => 65535,                         // grid dim y, z
        8 => 48 << 10,                          // shared memory per block
        9 => 64 << 10,                          // constant memory
        10 => 32,                               // warp size
        12 | 82 => 65536,                       // registers per block / per SM
        13 => (c.sm_clock_mhz * 1000) as c_int, // clock rate, kHz
        16 => c.sms as c_int,                   // multiprocessors
        18 => 0,                                // integrated
        19 | 31 | 41 | 83 | 89 | 115 => 1,      // map host memory, concurrent kernels,
        // unified addressing, managed memory, concurrent managed access, memory pools
        20 => 0,                                 // compute mode default
        32 => 1,                                 // ECC
        33 | 34 | 50 => 0,                       // PCI bus, device, domain
        36 => (c.mem_clock_mhz * 1000) as c_int, // memory clock, kHz
        37 => 5120,                              // memory bus width
        38 => 50 << 20,                          // L2 bytes
        39 => 2048,                              // threads per SM
        40 => 3,                                 // async engines
        75 => c.cc.0 as c_int,
        76 => c.cc.1 as c_int,
        81 => 228 << 10, // shared memory per SM
        84 => 0,         // multi-GPU board
        97 => 227 << 10, // shared memory per block, opt-in
        _ => return None,
    })
}

#[no_mangle]
pub unsafe extern "C" fn cuDeviceGetAttribute(v: *mut c_int, attr: c_int, dev: c_int) -> CUresult {
    with(|s| {
        if let Err(e) = check_device(s, dev) {
            return e;
        }
        match attribute(attr) {
            Some(x) => unsafe { out(v, x) },
            None => {
                eprintln!("gpubench emulated device: device attribute {attr} is not emulated");
                INVALID_VALUE
            }
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn cuDeviceGetName(name: *mut c_char, len: c_int, dev: c_int) -> CUresult {
    with(|s| {
        if let Err(e) = check_device(s, dev) {
            return e;
        }
        if name.is_null() || len <= 0 {
            return INVALID_VALUE;
        }
        let n = cfg().name.as_bytes();
        let k = n.len().min(len as usize - 1);
        // SAFETY: the caller's buffer holds `len` bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(n.as_ptr() as *const c_char, name, k);
            name.add(k).write(0);
        }
        SUCCESS
    })
}

#[no_mangle]
pub unsafe extern "C" fn cuDeviceTotalMem_v2(bytes: *mut usize, dev: c_int) -> CUresult {
    with(|s| match check_device(s, dev) {
        Ok(_) => unsafe { out(bytes, cfg().memory_bytes as usize) },
        Err(e) => e,
    })
}

/// The fake UUID of `device`: `GPU-eeeeeeee-eeee-eeee-eeee-0000000000NN`.
pub(crate) fn uuid_bytes(device: u32) -> [u8; 16] {
    let mut b = [0xee; 16];
    b[10..].copy_from_slice(&[0, 0, 0, 0, 0, device as u8]);
    b
}

unsafe fn get_uuid(u: *mut [u8; 16], dev: c_int) -> CUresult {
    with(|s| match check_device(s, dev) {
        Ok(d) => unsafe { out(u, uuid_bytes(d)) },
        Err(e) => e,
    })
}

#[no_mangle]
pub unsafe extern "C" fn cuDeviceGetUuid(u: *mut [u8; 16], dev: c_int) -> CUresult {
    unsafe { get_uuid(u, dev) }
}

#[no_mangle]
pub unsafe extern "C" fn cuDeviceGetUuid_v2(u: *mut [u8; 16], dev: c_int) -> CUresult {
    unsafe { get_uuid(u, dev) }
}

#[no_mangle]
pub unsafe extern "C" fn cuDevicePrimaryCtxRetain(ctx: *mut *mut c_void, dev: c_int) -> CUresult {
    with(|s| match check_device(s, dev) {
        Ok(d) => {
            if ctx.is_null() {
                return INVALID_VALUE;
            }
            s.devices[d as usize].ctx_refs += 1;
            unsafe { out(ctx, ctx_handle(d) as *mut c_void) }
        }
        Err(e) => e,
    })
}

#[no_mangle]
pub extern "C" fn cuDevicePrimaryCtxRelease_v2(dev: c_int) -> CUresult {
    with(|s| match check_device(s, dev) {
        Ok(d) => {
            let r = &mut s.devices[d as usize].ctx_refs;
            if *r == 0 {
                return INVALID_CONTEXT;
            }
            *r -= 1;
            SUCCESS
        }
        Err(e) => e,
    })
}

#[no_mangle]
pub unsafe extern "C" fn cuCtxGetCurrent(ctx: *mut *mut c_void) -> CUresult {
    with(|_| {
        let c = CURRENT.with(|c| c.get()).map(ctx_handle).unwrap_or(0);
        unsafe { out(ctx, c as *mut c_void) }
    })
}

#[no_mangle]
pub extern "C" fn cuCtxSetCurrent(ctx: *mut c_void) -> CUresult {
    with(|s| {
        if ctx.is_null() {
            CURRENT.with(|c| c.set(None));
            return SUCCESS;
        }
        match ctx_device(h(ctx)) {
            Some(d) if (d as usize) < s.devices.len() && s.devices[d as usize].ctx_refs > 0 => {
                CURRENT.with(|c| c.set(Some(d)));
                SUCCESS
            }
            _ => INVALID_CONTEXT,
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn cuCtxGetDevice(dev: *mut c_int) -> CUresult {
    with_ctx(|_, d| unsafe { out(dev, d as c_int) })
}

#[no_mangle]
pub extern "C" fn cuCtxSynchronize() -> CUresult {
    with_live_ctx(|s, d| {
        let ids: Vec<u64> = s
            .streams
            .iter()
            .filter(|(_, st)| st.device == d)
            .map(|(k, _)| *k)
            .collect();
        for id in ids {
            s.sync_stream(id);
        }
        SUCCESS
    })
}

#[no_mangle]
pub unsafe extern "C" fn cuStreamCreate(stream: *mut *mut c_void, flags: c_uint) -> CUresult {
    with_ctx(|s, d| {
        if flags > 1 || stream.is_null() {
            return INVALID_VALUE;
        }
        let id = s.new_handle(kind::STREAM);
        s.streams.insert(
            id,
            Stream {
                device: d,
                free_at: s.host_ns,
                hold: None,
            },
        );
        unsafe { out(stream, id as *mut c_void) }
    })
}

#[no_mangle]
pub extern "C" fn cuStreamSynchronize(stream: *mut c_void) -> CUresult {
    with_live_ctx(|s, d| match stream_of(s, d, h(stream)) {
        Ok(id) => {
            s.sync_stream(id);
            SUCCESS
        }
        Err(e) => e,
    })
}

#[no_mangle]
pub extern "C" fn cuStreamQuery(stream: *mut c_void) -> CUresult {
    with_live_ctx(|s, d| match stream_of(s, d, h(stream)) {
        Ok(id) => {
            s.observe(id, false);
            let st = &s.streams[&id];
            if st.hold.is_none() && st.free_at <= s.host_ns {
                SUCCESS
            } else {
                NOT_READY
            }
        }
        Err(e) => e,
    })
}

#[no_mangle]
pub extern "C" fn cuStreamDestroy_v2(stream: *mut c_void) -> CUresult {
    with_ctx(|s, d| {
        let id = h(stream);
        if id <= 2 {
            return INVALID_HANDLE;
        }
        match stream_of(s, d, id) {
            Ok(id) => {
                // work still queued completes first (as on a GPU)
                s.observe(id, true);
                s.streams.remove(&id);
                SUCCESS
            }
            Err(e) => e,
        }
    })
}

/// Allocates `size` bytes on `d`, with the memory limit and the out-of-memory fault.
fn alloc(s: &mut State, d: u32, size: usize) -> Result<u64, CUresult> {
    if size == 0 {
        return Err(INVALID_VALUE);
    }
    s.mem.count += 1;
    if cfg().oom_at == Some(s.mem.count) {
        return Err(OUT_OF_MEMORY);
    }
    let size = size as u64;
    let dev = &mut s.devices[d as usize];
    if dev.used + size > cfg().memory_bytes {
        return Err(OUT_OF_MEMORY);
    }
    dev.used += size;
    Ok(s.mem.alloc(d, size))
}

fn free(s: &mut State, d: u32, ptr: u64) -> CUresult {
    match s.mem.allocs.get(&ptr) {
        Some(a) if a.device == d => {
            let size = a.size;
            s.mem.allocs.remove(&ptr);
            s.devices[d as usize].used -= size;
            SUCCESS
        }
        _ => INVALID_VALUE,
    }
}

#[no_mangle]
pub unsafe extern "C" fn cuMemAllocAsync(
    ptr: *mut u64,
    size: usize,
    stream: *mut c_void,
) -> CUresult {
    with_live_ctx(|s, d| {
        let sid = match stream_of(s, d, h(stream)) {
            Ok(x) => x,
            Err(e) => return e,
        };
        if ptr.is_null() {
            return INVALID_VALUE;
        }
        s.enqueue(sid, 0.0, None);
        match alloc(s, d, size) {
            Ok(p) => unsafe { out(ptr, p) },
            Err(e) => e,
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn cuMemAlloc_v2(ptr: *mut u64, size: usize) -> CUresult {
    with_live_ctx(|s, d| {
        if ptr.is_null() {
            return INVALID_VALUE;
        }
        match alloc(s, d, size) {
            Ok(p) => unsafe { out(ptr, p) },
            Err(e) => e,
        }
    })
}

#[no_mangle]
pub extern "C" fn cuMemFreeAsync(ptr: u64, stream: *mut c_void) -> CUresult {
    with_ctx(|s, d| {
        let sid = match stream_of(s, d, h(stream)) {
            Ok(x) => x,
            Err(e) => return e,
        };
        if !s.devices[d as usize].lost {
            s.enqueue(sid, 0.0, None);
        }
        free(s, d, ptr)
    })
}

#[no_mangle]
pub extern "C" fn cuMemFree_v2(ptr: u64) -> CUresult {
    with_ctx(|s, d| {
        let ids: Vec<u64> = s
            .streams
            .iter()
            .filter(|(_, st)| st.device == d)
            .map(|(k, _)| *k)
            .collect();
        if !s.devices[d as usize].lost {
            for id in ids {
                s.sync_stream(id);
            }
        }
        free(s, d, ptr)
    })
}

#[no_mangle]
pub unsafe extern "C" fn cuMemGetInfo_v2(free: *mut usize, total: *mut usize) -> CUresult {
    with_ctx(|s, d| {
        let t = cfg().memory_bytes;
        let f = t - s.devices[d as usize].used;
        if free.is_null() || total.is_null() {
            return INVALID_VALUE;
        }
        unsafe {
            free.write(f as usize);
            total.write(t as usize);
        }
        SUCCESS
    })
}

/// The time a copy or fill of `bytes` takes on the device.
fn transfer_ns(bytes: u64) -> f64 {
    bytes as f64 / cfg().bandwidth
}

fn memset(s: &mut State, d: u32, dst: u64, v: u8, n: usize, stream: u64) -> CUresult {
    let sid = match stream_of(s, d, stream) {
        Ok(x) => x,
        Err(e) => return e,
    };
    s.enqueue(sid, transfer_ns(n as u64), None);
    match s.mem.store(dst, n as u64, Content::Const(v)) {
        Ok(()) => SUCCESS,
        Err(_) => INVALID_VALUE,
    }
}

#[no_mangle]
pub extern "C" fn cuMemsetD8Async(dst: u64, v: u8, n: usize, stream: *mut c_void) -> CUresult {
    with_live_ctx(|s, d| memset(s, d, dst, v, n, h(stream)))
}

#[no_mangle]
pub extern "C" fn cuMemsetD8_v2(dst: u64, v: u8, n: usize) -> CUresult {
    with_live_ctx(|s, d| {
        let r = memset(s, d, dst, v, n, 0);
        s.sync_stream(default_stream(d));
        r
    })
}

/// A device-to-host copy (the host memory is written at once: the host cannot look before
/// synchronizing anyway).
unsafe fn dtoh(
    s: &mut State,
    d: u32,
    dst: *mut c_void,
    src: u64,
    n: usize,
    stream: u64,
) -> CUresult {
    let sid = match stream_of(s, d, stream) {
        Ok(x) => x,
        Err(e) => return e,
    };
    if dst.is_null() {
        return INVALID_VALUE;
    }
    s.enqueue(sid, transfer_ns(n as u64) * 40.0, None); // PCIe: 1/40 of device bandwidth
    match s.mem.read(src, n as u64) {
        Ok(bytes) => {
            // SAFETY: the caller's buffer holds `n` bytes.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst as *mut u8, n) };
            SUCCESS
        }
        Err(_) => INVALID_VALUE,
    }
}

unsafe fn htod(
    s: &mut State,
    d: u32,
    dst: u64,
    src: *const c_void,
    n: usize,
    stream: u64,
) -> CUresult {
    let sid = match stream_of(s, d, stream) {
        Ok(x) => x,
        Err(e) => return e,
    };
    if src.is_null() {
        return INVALID_VALUE;
    }
    s.enqueue(sid, transfer_ns(n as u64) * 40.0, None);
    // SAFETY: the caller's buffer holds `n` bytes.
    let bytes = unsafe { std::slice::from_raw_parts(src as *const u8, n) }.to_vec();
    match s.mem.store(dst, n as u64, Content::Bytes(bytes)) {
        Ok(()) => SUCCESS,
        Err(_) => INVALID_VALUE,
    }
}

#[no_mangle]
pub unsafe extern "C" fn cuMemcpyDtoHAsync_v2(
    dst: *mut c_void,
    src: u64,
    n: usize,
    stream: *mut c_void,
) -> CUresult {
    with_live_ctx(|s, d| unsafe { dtoh(s, d, dst, src, n, h(stream)) })
}

#[no_mangle]
pub unsafe extern "C" fn cuMemcpyDtoH_v2(dst: *mut c_void, src: u64, n: usize) -> CUresult {
    with_live_ctx(|s, d| {
        let r = unsafe { dtoh(s, d, dst, src, n, 0) };
        s.sync_stream(default_stream(d));
        r
    })
}

#[no_mangle]
pub unsafe extern "C" fn cuMemcpyHtoDAsync_v2(
    dst: u64,
    src: *const c_void,
    n: usize,
    stream: *mut c_void,
) -> CUresult {
    with_live_ctx(|s, d| unsafe { htod(s, d, dst, src, n, h(stream)) })
}

#[no_mangle]
pub unsafe extern "C" fn cuMemcpyHtoD_v2(dst: u64, src: *const c_void, n: usize) -> CUresult {
    with_live_ctx(|s, d| {
        let r = unsafe { htod(s, d, dst, src, n, 0) };
        s.sync_stream(default_stream(d));
        r
    })
}

/// `CU_MEMHOSTALLOC_PORTABLE | DEVICEMAP | WRITECOMBINED`.
const HOSTALLOC_FLAGS: c_uint = 0x7;
const HOSTALLOC_DEVICEMAP: c_uint = 0x2;

#[no_mangle]
pub unsafe extern "C" fn cuMemHostAlloc(
    p: *mut *mut c_void,
    size: usize,
    flags: c_uint,
) -> CUresult {
    with_ctx(|s, _| {
        if p.is_null() || size == 0 || flags & !HOSTALLOC_FLAGS != 0 {
            return INVALID_VALUE;
        }
        let layout = std::alloc::Layout::from_size_align(size, 256).expect("valid layout");
        // SAFETY: nonzero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            return OUT_OF_MEMORY;
        }
        s.mem.pinned.insert(
            ptr as u64,
            crate::memory::Pinned {
                size: size as u64,
                layout,
                device_map: flags & HOSTALLOC_DEVICEMAP != 0,
            },
        );
        unsafe { out(p, ptr as *mut c_void) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn cuMemHostGetDevicePointer_v2(
    dp: *mut u64,
    p: *mut c_void,
    flags: c_uint,
) -> CUresult {
    with_ctx(|s, _| {
        if flags != 0 || dp.is_null() {
            return INVALID_VALUE;
        }
        match s.mem.find_pinned(h(p), 1) {
            // unified addressing: the device sees pinned memory at its host address
            Some(base) if s.mem.pinned[&base].device_map => unsafe { out(dp, h(p)) },
            _ => INVALID_VALUE,
        }
    })
}

#[no_mangle]
pub extern "C" fn cuMemFreeHost(p: *mut c_void) -> CUresult {
    with_ctx(|s, _| match s.mem.pinned.remove(&h(p)) {
        Some(pin) => {
            // SAFETY: allocated by cuMemHostAlloc with this layout.
            unsafe { std::alloc::dealloc(p as *mut u8, pin.layout) };
            SUCCESS
        }
        None => INVALID_VALUE,
    })
}

#[no_mangle]
pub unsafe extern "C" fn cuModuleLoadData(
    module: *mut *mut c_void,
    image: *const c_void,
) -> CUresult {
    with_ctx(|s, d| {
        if module.is_null() || image.is_null() {
            return INVALID_VALUE;
        }
        let c = cfg();
        // SAFETY: the caller passes a complete image.
        match unsafe { crate::elf::load(image as *const u8, c.cc, c.ptx_isa()) } {
            Ok(img) => {
                let id = s.new_handle(kind::MODULE);
                s.modules.insert(
                    id,
                    Module {
                        device: d,
                        kernels: img.kernels,
                    },
                );
                unsafe { out(module, id as *mut c_void) }
            }
            Err(e) => e,
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn cuModuleGetFunction(
    f: *mut *mut c_void,
    module: *mut c_void,
    name: *const c_char,
) -> CUresult {
    with_ctx(|s, _| {
        if f.is_null() || name.is_null() {
            return INVALID_VALUE;
        }
        // SAFETY: a C string from the caller.
        let name = unsafe { CStr::from_ptr(name) }
            .to_string_lossy()
            .into_owned();
        let Some(m) = s.modules.get(&h(module)) else {
            return INVALID_HANDLE;
        };
        if !m.kernels.contains(&name) {
            return NOT_FOUND;
        }
        let id = s.new_handle(kind::FUNCTION);
        s.functions.insert(
            id,
            Function {
                module: h(module),
                name,
            },
        );
        unsafe { out(f, id as *mut c_void) }
    })
}

#[no_mangle]
pub extern "C" fn cuModuleUnload(module: *mut c_void) -> CUresult {
    with_ctx(|s, _| match s.modules.remove(&h(module)) {
        Some(_) => {
            s.functions.retain(|_, f| f.module != h(module));
            SUCCESS
        }
        None => INVALID_HANDLE,
    })
}

#[no_mangle]
pub unsafe extern "C" fn cuLaunchKernel(
    f: *mut c_void,
    gx: c_uint,
    gy: c_uint,
    gz: c_uint,
    bx: c_uint,
    by: c_uint,
    bz: c_uint,
    shared: c_uint,
    stream: *mut c_void,
    params: *mut *mut c_void,
    extra: *mut *mut c_void,
) -> CUresult {
    with_live_ctx(|s, d| {
        let Some(func) = s.functions.get(&h(f)) else {
            return INVALID_HANDLE;
        };
        if s.modules.get(&func.module).map(|m| m.device) != Some(d) {
            return INVALID_HANDLE;
        }
        let name = func.name.clone();
        let sid = match stream_of(s, d, h(stream)) {
            Ok(x) => x,
            Err(e) => return e,
        };
        let threads = bx as u64 * by as u64 * bz as u64;
        if [gx, gy, gz, bx, by, bz].contains(&0) || gy > 65535 || gz > 65535 || gx > i32::MAX as u32
        {
            return INVALID_VALUE;
        }
        if threads > 1024 || bx > 1024 || by > 1024 || bz > 64 || shared > 48 << 10 {
            return INVALID_VALUE;
        }
        if !extra.is_null() {
            return INVALID_VALUE;
        }
        let Some(arity) = crate::kernels::arity(&name) else {
            eprintln!(
                "gpubench emulated device: kernel {name} has no host implementation in tests/emulated-device/src/kernels.rs"
            );
            return NOT_SUPPORTED;
        };
        if params.is_null() && arity > 0 {
            return INVALID_VALUE;
        }
        // SAFETY: kernelParams holds one pointer per parameter; every parameter of gpubench's
        // kernels is 8 bytes (a pointer or an unsigned long long).
        let args: Vec<u64> = (0..arity)
            .map(|i| unsafe { (*params.add(i) as *const u64).read_unaligned() })
            .collect();
        match crate::kernels::launch(s, sid, &name, &args) {
            Ok(()) => SUCCESS,
            Err(e) => e,
        }
    })
}

/// `CU_EVENT_BLOCKING_SYNC | DISABLE_TIMING | INTERPROCESS`.
const EVENT_FLAGS: c_uint = 0x7;
const EVENT_DISABLE_TIMING: c_uint = 0x2;

#[no_mangle]
pub unsafe extern "C" fn cuEventCreate(e: *mut *mut c_void, flags: c_uint) -> CUresult {
    with_ctx(|s, d| {
        if e.is_null() || flags & !EVENT_FLAGS != 0 {
            return INVALID_VALUE;
        }
        let id = s.new_handle(kind::EVENT);
        s.events.insert(
            id,
            Event {
                device: d,
                timing: flags & EVENT_DISABLE_TIMING == 0,
                stream: None,
                at: None,
            },
        );
        unsafe { out(e, id as *mut c_void) }
    })
}

#[no_mangle]
pub extern "C" fn cuEventRecord(e: *mut c_void, stream: *mut c_void) -> CUresult {
    with_live_ctx(|s, d| {
        match s.events.get(&h(e)) {
            Some(ev) if ev.device == d => {}
            _ => return INVALID_HANDLE,
        }
        let sid = match stream_of(s, d, h(stream)) {
            Ok(x) => x,
            Err(err) => return err,
        };
        s.enqueue(sid, 0.0, Some(h(e)));
        SUCCESS
    })
}

#[no_mangle]
pub extern "C" fn cuEventQuery(e: *mut c_void) -> CUresult {
    with_live_ctx(|s, _| {
        if !s.events.contains_key(&h(e)) {
            return INVALID_HANDLE;
        }
        if s.event_done(h(e)) {
            SUCCESS
        } else {
            NOT_READY
        }
    })
}

#[no_mangle]
pub extern "C" fn cuEventSynchronize(e: *mut c_void) -> CUresult {
    with_live_ctx(|s, _| {
        if !s.events.contains_key(&h(e)) {
            return INVALID_HANDLE;
        }
        s.sync_event(h(e));
        SUCCESS
    })
}

#[no_mangle]
pub extern "C" fn cuEventDestroy_v2(e: *mut c_void) -> CUresult {
    with_ctx(|s, _| match s.events.remove(&h(e)) {
        Some(_) => SUCCESS,
        None => INVALID_HANDLE,
    })
}

#[cfg_attr(feature = "omit-event-elapsed-time", allow(dead_code))]
unsafe fn elapsed(ms: *mut f32, a: *mut c_void, b: *mut c_void) -> CUresult {
    with_live_ctx(|s, _| {
        if ms.is_null() {
            return INVALID_VALUE;
        }
        for x in [a, b] {
            match s.events.get(&h(x)) {
                Some(ev) if ev.timing && ev.stream.is_some() => {}
                _ => return INVALID_HANDLE,
            }
        }
        if !s.event_done(h(a)) || !s.event_done(h(b)) {
            return NOT_READY;
        }
        let (ta, tb) = (
            s.events[&h(a)].at.unwrap_or(0.0),
            s.events[&h(b)].at.unwrap_or(0.0),
        );
        unsafe { out(ms, ((tb - ta) / 1e6) as f32) }
    })
}

#[cfg(not(feature = "omit-event-elapsed-time"))]
#[no_mangle]
pub unsafe extern "C" fn cuEventElapsedTime(
    ms: *mut f32,
    a: *mut c_void,
    b: *mut c_void,
) -> CUresult {
    unsafe { elapsed(ms, a, b) }
}

#[cfg(not(feature = "omit-event-elapsed-time"))]
#[no_mangle]
pub unsafe extern "C" fn cuEventElapsedTime_v2(
    ms: *mut f32,
    a: *mut c_void,
    b: *mut c_void,
) -> CUresult {
    unsafe { elapsed(ms, a, b) }
}
