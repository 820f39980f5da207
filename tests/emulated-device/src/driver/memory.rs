//! Device memory (stream-ordered and synchronous), copies, memsets and pinned host memory.

#![allow(non_snake_case, clippy::missing_safety_doc)]

use std::ffi::{c_uint, c_void};

use super::*;
use crate::memory::Content;
use crate::{cfg, State};

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
