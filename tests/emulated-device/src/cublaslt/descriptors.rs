//! Matmul descriptors, matrix layouts and preferences: created, destroyed, and set one
//! attribute at a time with the exact size the cuBLASLt documentation gives its type.

#![allow(non_snake_case, clippy::missing_safety_doc, clippy::too_many_arguments)]

use std::ffi::c_void;

use super::*;
use crate::elem::{data, Elem};
use crate::kind;

#[no_mangle]
pub unsafe extern "C" fn cublasLtMatmulDescCreate(
    desc: *mut *mut c_void,
    compute: u32,
    scale: u32,
) -> Status {
    with(|s| {
        if desc.is_null() || !(64..=79).contains(&compute) || Elem::of_data_type(scale).is_none() {
            return INVALID_VALUE;
        }
        let id = s.new_handle(kind::LT_DESC);
        s.lt.descs.insert(
            id,
            Desc {
                compute,
                scale,
                transa: 0,
                transb: 0,
                unmodelled: Vec::new(),
            },
        );
        unsafe { out(desc, id as *mut c_void) }
    })
}

#[no_mangle]
pub extern "C" fn cublasLtMatmulDescDestroy(desc: *mut c_void) -> Status {
    with(|s| match s.lt.descs.remove(&(desc as u64)) {
        Some(_) => SUCCESS,
        None => INVALID_VALUE,
    })
}

/// Reads an attribute value of exactly `size` bytes as a little-endian integer.
unsafe fn read_value(buf: *const c_void, size: usize) -> u64 {
    let mut b = [0u8; 8];
    // SAFETY: the caller's buffer holds `size` (≤ 8) bytes.
    unsafe { std::ptr::copy_nonoverlapping(buf as *const u8, b.as_mut_ptr(), size.min(8)) };
    u64::from_le_bytes(b)
}

/// The size (bytes) of each matmul descriptor attribute, per the cuBLASLt documentation.
pub fn desc_attr_size(attr: u32) -> Option<usize> {
    Some(match attr {
        0 | 1 | 2 | 3 | 4 | 5 | 6 | 15 | 22 | 26 => 4, // int32 (enums, SM count target)
        7 => 4,                                        // EPILOGUE: uint32
        8 | 11 | 17..=21 | 23 | 24 => 8,               // pointers
        10 | 12 | 13 | 14 => 8,                        // int64 strides / ld
        25 => 1,                                       // FAST_ACCUM: int8
        _ => return None,
    })
}

#[no_mangle]
pub unsafe extern "C" fn cublasLtMatmulDescSetAttribute(
    desc: *mut c_void,
    attr: u32,
    buf: *const c_void,
    size: usize,
) -> Status {
    with(|s| {
        let Some(d) = s.lt.descs.get_mut(&(desc as u64)) else {
            return INVALID_VALUE;
        };
        match desc_attr_size(attr) {
            Some(n) if n == size && !buf.is_null() => {}
            _ => return INVALID_VALUE,
        }
        let v = unsafe { read_value(buf, size) };
        match attr {
            0 => d.compute = v as u32,
            1 => d.scale = v as u32,
            3 | 4 => {
                if v > 2 {
                    return INVALID_VALUE;
                }
                if attr == 3 {
                    d.transa = v as i32;
                } else {
                    d.transb = v as i32;
                }
            }
            // fp8 fast accumulation: emulated as the exact sum (an int8_t 0 or 1)
            25 => {
                if v > 1 {
                    return INVALID_VALUE;
                }
            }
            // defaults: pointer mode host, TRANSC N, fill mode full (2), epilogue default (1),
            // null pointers, zero strides; anything else is not emulated
            2 | 5..=8 | 10..=15 | 17..=24 | 26 => {
                let default = match attr {
                    6 => 2,
                    7 => 1,
                    _ => 0,
                };
                if v != default {
                    d.unmodelled.push(attr);
                }
            }
            _ => return INVALID_VALUE,
        }
        SUCCESS
    })
}

#[no_mangle]
pub unsafe extern "C" fn cublasLtMatrixLayoutCreate(
    layout: *mut *mut c_void,
    ty: u32,
    rows: u64,
    cols: u64,
    ld: i64,
) -> Status {
    with(|s| {
        if layout.is_null() || Elem::of_data_type(ty).is_none() && ty != data::R_8F_E5M2 {
            return INVALID_VALUE;
        }
        let id = s.new_handle(kind::LT_LAYOUT);
        s.lt.layouts.insert(
            id,
            Layout {
                ty,
                rows,
                cols,
                ld,
                order: 0,
                batch: 1,
                stride: 0,
            },
        );
        unsafe { out(layout, id as *mut c_void) }
    })
}

#[no_mangle]
pub extern "C" fn cublasLtMatrixLayoutDestroy(layout: *mut c_void) -> Status {
    with(|s| match s.lt.layouts.remove(&(layout as u64)) {
        Some(_) => SUCCESS,
        None => INVALID_VALUE,
    })
}

/// The size (bytes) of each matrix layout attribute, per the cuBLASLt documentation.
pub fn layout_attr_size(attr: u32) -> Option<usize> {
    Some(match attr {
        0 => 4,     // TYPE: uint32
        1 => 4,     // ORDER: int32
        2 | 3 => 8, // ROWS, COLS: uint64
        4 => 8,     // LD: int64
        5 => 4,     // BATCH_COUNT: int32
        6 | 7 => 8, // STRIDED_BATCH_OFFSET, PLANE_OFFSET: int64
        _ => return None,
    })
}

#[no_mangle]
pub unsafe extern "C" fn cublasLtMatrixLayoutSetAttribute(
    layout: *mut c_void,
    attr: u32,
    buf: *const c_void,
    size: usize,
) -> Status {
    with(|s| {
        let Some(l) = s.lt.layouts.get_mut(&(layout as u64)) else {
            return INVALID_VALUE;
        };
        match layout_attr_size(attr) {
            Some(n) if n == size && !buf.is_null() => {}
            _ => return INVALID_VALUE,
        }
        let v = unsafe { read_value(buf, size) };
        match attr {
            0 => l.ty = v as u32,
            1 => l.order = v as i32,
            2 => l.rows = v,
            3 => l.cols = v,
            4 => l.ld = v as i64,
            5 => {
                if (v as i32) < 1 {
                    return INVALID_VALUE;
                }
                l.batch = v as i32
            }
            6 => l.stride = v as i64,
            7 => {
                if v != 0 {
                    return INVALID_VALUE;
                }
            }
            _ => return INVALID_VALUE,
        }
        SUCCESS
    })
}

#[no_mangle]
pub unsafe extern "C" fn cublasLtMatmulPreferenceCreate(pref: *mut *mut c_void) -> Status {
    with(|s| {
        if pref.is_null() {
            return INVALID_VALUE;
        }
        let id = s.new_handle(kind::LT_PREF);
        s.lt.prefs.insert(
            id,
            Pref {
                workspace: 0,
                align: [256; 4],
            },
        );
        unsafe { out(pref, id as *mut c_void) }
    })
}

#[no_mangle]
pub extern "C" fn cublasLtMatmulPreferenceDestroy(pref: *mut c_void) -> Status {
    with(|s| match s.lt.prefs.remove(&(pref as u64)) {
        Some(_) => SUCCESS,
        None => INVALID_VALUE,
    })
}

/// The size (bytes) of each preference attribute, per the cuBLASLt documentation.
pub fn pref_attr_size(attr: u32) -> Option<usize> {
    Some(match attr {
        0 => 4,     // SEARCH_MODE: uint32
        1 => 8,     // MAX_WORKSPACE_BYTES: uint64
        3 => 4,     // REDUCTION_SCHEME_MASK: uint32
        5..=8 => 4, // MIN_ALIGNMENT_{A,B,C,D}_BYTES: uint32
        9 => 4,     // MAX_WAVES_COUNT: float
        12 => 8,    // IMPL_MASK: uint64
        _ => return None,
    })
}

#[no_mangle]
pub unsafe extern "C" fn cublasLtMatmulPreferenceSetAttribute(
    pref: *mut c_void,
    attr: u32,
    buf: *const c_void,
    size: usize,
) -> Status {
    with(|s| {
        let Some(p) = s.lt.prefs.get_mut(&(pref as u64)) else {
            return INVALID_VALUE;
        };
        match pref_attr_size(attr) {
            Some(n) if n == size && !buf.is_null() => {}
            _ => return INVALID_VALUE,
        }
        let v = unsafe { read_value(buf, size) };
        match attr {
            1 => p.workspace = v,
            5..=8 => {
                let a = v as u32;
                if a != 0 && !a.is_power_of_two() {
                    return INVALID_VALUE;
                }
                p.align[(attr - 5) as usize] = a;
            }
            _ => {}
        }
        SUCCESS
    })
}
