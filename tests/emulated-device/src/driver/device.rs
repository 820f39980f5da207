//! Devices, their attributes and UUIDs, primary contexts and the current context.

#![allow(non_snake_case, clippy::missing_safety_doc)]

use std::ffi::{c_char, c_int, c_void};

use super::*;
use crate::{cfg, State};

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

/// The PCI address attributes of device `dev`: domain 0, device 0, and buses 0x18, 0x2A,
/// 0x3C, … as on an eight-GPU board, so every GPU has its own address.
fn pci_attribute(attr: c_int, dev: c_int) -> Option<c_int> {
    match attr {
        33 => Some(0x18 + 0x12 * dev), // PCI bus
        34 | 50 => Some(0),            // PCI device, PCI domain
        _ => None,
    }
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
        match pci_attribute(attr, dev).or_else(|| attribute(attr)) {
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
