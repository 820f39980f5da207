//! The NVML entry points (`libnvidia-ml.so.1`) gpubench's telemetry and device facts call:
//! driver version, devices by index and UUID, clocks, power, temperature and throttle reasons,
//! all following the emulated device's virtual time and faults.
//!
//! Why: `run --duration` must show a clock falling under a thermal throttle; here the throttle
//! fault lowers the clock NVML reports, raises the throttle reason and slows products alike.

#![allow(non_snake_case, clippy::missing_safety_doc)]

use std::ffi::{c_char, c_uint, c_ulonglong, c_void, CStr};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::{cfg, lock, State};

pub type NvmlReturn = c_uint;
const SUCCESS: NvmlReturn = 0;
const UNINITIALIZED: NvmlReturn = 1;
const INVALID_ARGUMENT: NvmlReturn = 2;
const NOT_FOUND: NvmlReturn = 6;
const INSUFFICIENT_SIZE: NvmlReturn = 7;

/// `nvmlInit` calls not yet matched by `nvmlShutdown`.
static INITS: AtomicU32 = AtomicU32::new(0);

/// `nvmlInit` calls not yet matched by `nvmlShutdown` (for the leak report).
pub(crate) fn open_inits() -> u32 {
    INITS.load(Ordering::SeqCst)
}

/// `clocks_event_reasons` bit of a software thermal slowdown.
pub const SW_THERMAL_SLOWDOWN: u64 = 0x20;

/// Whether `device` is throttled now (the throttle fault).
pub(crate) fn throttled(s: &State, device: u32) -> bool {
    let c = cfg();
    if c.throttle_device.is_some_and(|d| d != device) {
        return false;
    }
    c.throttle_after_products.is_some_and(|n| {
        s.devices
            .get(device as usize)
            .is_some_and(|d| d.products >= n)
    }) || c.throttle_after_ns.is_some_and(|t| s.host_ns >= t)
}

/// The SM clock as a fraction of its maximum (the rate scales with it).
pub(crate) fn clock_factor(s: &State, device: u32) -> f64 {
    if throttled(s, device) {
        cfg().throttle_clock
    } else {
        1.0
    }
}

/// Runs `f` with the device index of `dev` and the driver state (None before `cuInit`).
fn with_dev(dev: *mut c_void, f: impl FnOnce(u32, Option<&State>) -> NvmlReturn) -> NvmlReturn {
    if INITS.load(Ordering::SeqCst) == 0 {
        return UNINITIALIZED;
    }
    let h = dev as u64;
    if h < HANDLE_BASE
        || !(h - HANDLE_BASE).is_multiple_of(16)
        || (h - HANDLE_BASE) / 16 >= cfg().devices as u64
    {
        return INVALID_ARGUMENT;
    }
    let g = lock();
    f(((h - HANDLE_BASE) / 16) as u32, g.as_ref())
}

const HANDLE_BASE: u64 = 0x4e56_0000;

unsafe fn out<T>(p: *mut T, v: T) -> NvmlReturn {
    if p.is_null() {
        return INVALID_ARGUMENT;
    }
    // SAFETY: the caller passed a pointer to write one T to.
    unsafe { p.write(v) };
    SUCCESS
}

unsafe fn out_str(buf: *mut c_char, len: c_uint, s: &str) -> NvmlReturn {
    if buf.is_null() {
        return INVALID_ARGUMENT;
    }
    if (len as usize) < s.len() + 1 {
        return INSUFFICIENT_SIZE;
    }
    // SAFETY: the caller's buffer holds `len` bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr() as *const c_char, buf, s.len());
        buf.add(s.len()).write(0);
    }
    SUCCESS
}

#[no_mangle]
pub extern "C" fn nvmlInit_v2() -> NvmlReturn {
    let _ = cfg();
    INITS.fetch_add(1, Ordering::SeqCst);
    SUCCESS
}

#[no_mangle]
pub extern "C" fn nvmlInitWithFlags(_flags: c_uint) -> NvmlReturn {
    nvmlInit_v2()
}

#[no_mangle]
pub extern "C" fn nvmlShutdown() -> NvmlReturn {
    match INITS.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)) {
        Ok(_) => SUCCESS,
        Err(_) => UNINITIALIZED,
    }
}

#[no_mangle]
pub extern "C" fn nvmlErrorString(r: NvmlReturn) -> *const c_char {
    let s: &CStr = match r {
        SUCCESS => c"Success",
        UNINITIALIZED => c"Uninitialized",
        INVALID_ARGUMENT => c"Invalid Argument",
        NOT_FOUND => c"Not Found",
        INSUFFICIENT_SIZE => c"Insufficient Size",
        _ => c"Unknown Error",
    };
    s.as_ptr()
}

#[no_mangle]
pub unsafe extern "C" fn nvmlSystemGetDriverVersion(buf: *mut c_char, len: c_uint) -> NvmlReturn {
    if INITS.load(Ordering::SeqCst) == 0 {
        return UNINITIALIZED;
    }
    unsafe { out_str(buf, len, &cfg().driver_version) }
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetCount_v2(n: *mut c_uint) -> NvmlReturn {
    if INITS.load(Ordering::SeqCst) == 0 {
        return UNINITIALIZED;
    }
    unsafe { out(n, cfg().devices) }
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetHandleByIndex_v2(
    i: c_uint,
    dev: *mut *mut c_void,
) -> NvmlReturn {
    if INITS.load(Ordering::SeqCst) == 0 {
        return UNINITIALIZED;
    }
    if i >= cfg().devices {
        return INVALID_ARGUMENT;
    }
    unsafe { out(dev, (HANDLE_BASE + i as u64 * 16) as *mut c_void) }
}

/// `GPU-eeeeeeee-eeee-eeee-eeee-0000000000NN` (as `cuDeviceGetUuid` gives it).
fn uuid_string(device: u32) -> String {
    let b = crate::driver::uuid_bytes(device);
    let h: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "GPU-{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetHandleByUUID(
    uuid: *const c_char,
    dev: *mut *mut c_void,
) -> NvmlReturn {
    if INITS.load(Ordering::SeqCst) == 0 {
        return UNINITIALIZED;
    }
    if uuid.is_null() {
        return INVALID_ARGUMENT;
    }
    // SAFETY: a C string from the caller.
    let u = unsafe { CStr::from_ptr(uuid) }
        .to_string_lossy()
        .to_ascii_lowercase();
    // a MIG instance answers to its MIG- UUID only, a whole GPU to its GPU- UUID only
    let prefix = if cfg().mig { "mig-" } else { "gpu-" };
    let body = u.strip_prefix(prefix).unwrap_or("");
    match (0..cfg().devices).find(|d| uuid_string(*d)[4..] == *body) {
        Some(d) => unsafe { out(dev, (HANDLE_BASE + d as u64 * 16) as *mut c_void) },
        None => NOT_FOUND,
    }
}

/// The GPU a MIG instance belongs to (here: the same handle).
#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetDeviceHandleFromMigDeviceHandle(
    mig: *mut c_void,
    dev: *mut *mut c_void,
) -> NvmlReturn {
    if !cfg().mig {
        return INVALID_ARGUMENT;
    }
    with_dev(mig, |_, _| unsafe { out(dev, mig) })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetUUID(
    dev: *mut c_void,
    buf: *mut c_char,
    len: c_uint,
) -> NvmlReturn {
    with_dev(dev, |d, _| {
        let u = uuid_string(d);
        let u = if cfg().mig {
            u.replacen("GPU-", "MIG-", 1)
        } else {
            u
        };
        unsafe { out_str(buf, len, &u) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetName(
    dev: *mut c_void,
    buf: *mut c_char,
    len: c_uint,
) -> NvmlReturn {
    with_dev(dev, |_, _| unsafe { out_str(buf, len, &cfg().name) })
}

/// Maximum clock of NVML clock type `t` (graphics, SM, memory, video), MHz.
fn max_clock(t: c_uint) -> Option<c_uint> {
    let c = cfg();
    match t {
        0 | 1 => Some(c.sm_clock_mhz),
        2 => Some(c.mem_clock_mhz),
        3 => Some(1755),
        _ => None,
    }
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetMaxClockInfo(
    dev: *mut c_void,
    t: c_uint,
    mhz: *mut c_uint,
) -> NvmlReturn {
    with_dev(dev, |_, _| match max_clock(t) {
        Some(v) => unsafe { out(mhz, v) },
        None => INVALID_ARGUMENT,
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetClockInfo(
    dev: *mut c_void,
    t: c_uint,
    mhz: *mut c_uint,
) -> NvmlReturn {
    with_dev(dev, |d, s| match max_clock(t) {
        Some(v) => {
            let f = match (t, s) {
                (0 | 1, Some(s)) => clock_factor(s, d),
                _ => 1.0,
            };
            unsafe { out(mhz, (v as f64 * f).round() as c_uint) }
        }
        None => INVALID_ARGUMENT,
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetPowerUsage(dev: *mut c_void, mw: *mut c_uint) -> NvmlReturn {
    with_dev(dev, |d, s| {
        let f = s.map(|s| clock_factor(s, d)).unwrap_or(1.0);
        unsafe { out(mw, (100_000.0 + 500_000.0 * f) as c_uint) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetTemperature(
    dev: *mut c_void,
    sensor: c_uint,
    c: *mut c_uint,
) -> NvmlReturn {
    with_dev(dev, |d, s| {
        if sensor != 0 {
            return INVALID_ARGUMENT;
        }
        let hot = s.is_some_and(|s| throttled(s, d));
        unsafe { out(c, if hot { 88 } else { 64 }) }
    })
}

unsafe fn reasons(dev: *mut c_void, r: *mut c_ulonglong) -> NvmlReturn {
    with_dev(dev, |d, s| {
        let bits = if s.is_some_and(|s| throttled(s, d)) {
            SW_THERMAL_SLOWDOWN
        } else {
            0
        };
        unsafe { out(r, bits) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetCurrentClocksThrottleReasons(
    dev: *mut c_void,
    r: *mut c_ulonglong,
) -> NvmlReturn {
    unsafe { reasons(dev, r) }
}

#[no_mangle]
pub unsafe extern "C" fn nvmlDeviceGetCurrentClocksEventReasons(
    dev: *mut c_void,
    r: *mut c_ulonglong,
) -> NvmlReturn {
    unsafe { reasons(dev, r) }
}
