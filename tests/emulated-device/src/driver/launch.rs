//! Modules (`cuModuleLoadData` checks the image with `elf`) and kernel launches (run by
//! `kernels`).

#![allow(non_snake_case, clippy::missing_safety_doc)]

use std::ffi::{c_char, c_uint, c_void, CStr};

use super::*;
use crate::{cfg, kind};

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
