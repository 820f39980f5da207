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

#![allow(non_snake_case, clippy::missing_safety_doc, clippy::too_many_arguments)]

use std::collections::{HashMap, HashSet};
use std::ffi::{c_int, c_void};
use std::sync::Arc;

use crate::elem::{data, Elem};
use crate::memory::{Content, Operand, Product};
use crate::{cfg, kind, lock, State};

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

/// Which rate a problem runs at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Fp64,
    Fp32,
    Tf32,
    Fp16,
    Bf16,
    Fp8,
}

/// A validated product.
#[derive(Debug, Clone)]
pub struct Problem {
    pub m: u64,
    pub n: u64,
    pub k: u64,
    pub batch: u64,
    pub kind: Kind,
    pub desc: Desc,
    pub a: Layout,
    pub b: Layout,
    pub c: Layout,
    pub d: Layout,
}

impl Problem {
    /// A fingerprint tying an algorithm to the problem it was found for.
    fn fingerprint(&self) -> u64 {
        let mut x = 0xcbf2_9ce4_8422_2325u64;
        for v in [
            self.m,
            self.n,
            self.k,
            self.batch,
            self.kind as u64,
            self.a.ty as u64,
            self.d.ty as u64,
        ] {
            x = (x ^ v).wrapping_mul(0x100_0000_01b3);
        }
        x
    }
}

/// Checks a descriptor and four layouts the way cuBLASLt does.
pub(crate) fn problem(
    s: &State,
    desc: u64,
    a: u64,
    b: u64,
    c: u64,
    d: u64,
) -> Result<Problem, Status> {
    let lt = &s.lt;
    let desc = lt.descs.get(&desc).ok_or(INVALID_VALUE)?.clone();
    let get = |h: u64| lt.layouts.get(&h).cloned().ok_or(INVALID_VALUE);
    let (la, lb, lc, ld) = (get(a)?, get(b)?, get(c)?, get(d)?);
    if !desc.unmodelled.is_empty() {
        eprintln!(
            "gpubench emulated device: matmul descriptor attributes {:?} are not emulated",
            desc.unmodelled
        );
        return Err(NOT_SUPPORTED);
    }
    for l in [&la, &lb, &lc, &ld] {
        if l.order != 0 {
            return Err(NOT_SUPPORTED); // only column-major is emulated
        }
        if l.rows == 0 || l.cols == 0 || l.ld < l.rows as i64 {
            return Err(INVALID_VALUE);
        }
    }
    if desc.transa > 1 || desc.transb > 1 {
        return Err(NOT_SUPPORTED); // conjugate transpose: complex types only
    }
    let (ta, tb) = (desc.transa == 1, desc.transb == 1);
    let (m, k) = if ta {
        (la.cols, la.rows)
    } else {
        (la.rows, la.cols)
    };
    let (kb, n) = if tb {
        (lb.cols, lb.rows)
    } else {
        (lb.rows, lb.cols)
    };
    if k != kb || lc.rows != m || lc.cols != n || ld.rows != m || ld.cols != n {
        return Err(INVALID_VALUE);
    }
    let batch = la.batch;
    if [lb.batch, lc.batch, ld.batch].iter().any(|x| *x != batch) {
        return Err(INVALID_VALUE);
    }
    if batch > 1 && (ld.stride < ld.ld * ld.cols as i64) {
        return Err(INVALID_VALUE); // batches of D would overlap
    }
    if lc.ty != ld.ty {
        return Err(NOT_SUPPORTED);
    }
    let cc = cfg().cc;
    let kind = match (desc.compute, desc.scale, la.ty, lb.ty, lc.ty) {
        (compute::C64F, data::R_64F, data::R_64F, data::R_64F, data::R_64F) => Kind::Fp64,
        (compute::C32F_FAST_TF32, data::R_32F, data::R_32F, data::R_32F, data::R_32F) => Kind::Tf32,
        (compute::C32F, data::R_32F, data::R_32F, data::R_32F, data::R_32F) => Kind::Fp32,
        (compute::C32F, data::R_32F, data::R_16F, data::R_16F, data::R_16F | data::R_32F) => {
            Kind::Fp16
        }
        (compute::C32F, data::R_32F, data::R_16BF, data::R_16BF, data::R_16BF | data::R_32F) => {
            Kind::Bf16
        }
        (
            compute::C32F,
            data::R_32F,
            data::R_8F_E4M3,
            data::R_8F_E4M3 | data::R_8F_E5M2,
            data::R_16BF | data::R_16F | data::R_32F,
        ) => Kind::Fp8,
        _ => return Err(NOT_SUPPORTED),
    };
    let need = match kind {
        Kind::Tf32 | Kind::Bf16 => (8, 0),
        Kind::Fp8 => (8, 9),
        _ => (0, 0),
    };
    if cc < need {
        return Err(NOT_SUPPORTED);
    }
    if kind == Kind::Fp8 {
        // Ada and Hopper run fp8 only as "TN"
        if cc.0 < 10 && (!ta || tb) {
            return Err(NOT_SUPPORTED);
        }
        // k and the leading dimensions in bytes multiples of 16 (m and n are free)
        let out = Elem::of_data_type(lc.ty)
            .map(|e| e.size() as i64)
            .unwrap_or(4);
        if la.ld % 16 != 0 || lb.ld % 16 != 0 || (lc.ld * out) % 16 != 0 || k % 16 != 0 {
            return Err(INVALID_VALUE);
        }
    }
    Ok(Problem {
        m,
        n,
        k,
        batch: batch as u64,
        kind,
        desc,
        a: la,
        b: lb,
        c: lc,
        d: ld,
    })
}

/// Workspace candidate `i` needs.
fn candidate_workspace(i: u32) -> u64 {
    if i % 2 == 1 {
        4 << 20
    } else {
        0
    }
}

/// Relative speed of candidate `i` (the wrong-candidate fault makes its candidate the fastest,
/// so only verification can keep it from winning).
fn candidate_speed(i: u32) -> f64 {
    if cfg().wrong_candidate == Some(i) {
        1.10
    } else {
        1.0 - 0.03 * i as f64
    }
}

/// The configuration attributes of candidate `i`: `(attribute, size, value)`.
fn candidate_config(i: u32) -> [(u32, usize, u64); 9] {
    let i = i as u64;
    let splitk = if i % 3 == 2 { 2 } else { 1 };
    [
        (0, 4, [21, 6, 31, 66][i as usize % 4] + i / 4), // ID: int32
        (1, 4, 15 + i),                                  // TILE_ID
        (2, 4, splitk),                                  // SPLITK_NUM
        (3, 4, if splitk > 1 { 1 } else { 0 }),          // REDUCTION_SCHEME
        (4, 4, i % 2),                                   // CTA_SWIZZLING
        (5, 4, 0),                                       // CUSTOM_OPTION
        (6, 4, 8 + i),                                   // STAGES_ID
        (7, 2, 0),                                       // INNER_SHAPE_ID: uint16
        (8, 2, 2 + i % 3),                               // CLUSTER_SHAPE_ID: uint16
    ]
}

#[no_mangle]
pub unsafe extern "C" fn cublasLtMatmulAlgoGetHeuristic(
    handle: *mut c_void,
    desc: *mut c_void,
    a: *mut c_void,
    b: *mut c_void,
    c: *mut c_void,
    d: *mut c_void,
    pref: *mut c_void,
    requested: c_int,
    results: *mut HeuristicResult,
    returned: *mut c_int,
) -> Status {
    with(|s| {
        if !s.lt.handles.contains(&(handle as u64)) {
            return NOT_INITIALIZED;
        }
        if requested <= 0 || results.is_null() || returned.is_null() {
            return INVALID_VALUE;
        }
        let Some(p) = s.lt.prefs.get(&(pref as u64)).cloned() else {
            return INVALID_VALUE;
        };
        let pb = match problem(s, desc as u64, a as u64, b as u64, c as u64, d as u64) {
            Ok(x) => x,
            Err(e) => return e,
        };
        unsafe { returned.write(0) };
        if cfg().no_algo {
            return NOT_SUPPORTED;
        }
        if pb.kind == Kind::Fp8 && p.align.iter().any(|a| *a < 16) {
            return NOT_SUPPORTED;
        }
        let mut count = 0;
        for i in 0..cfg().candidates {
            if count >= requested {
                break;
            }
            let ws = candidate_workspace(i);
            if ws > p.workspace {
                continue;
            }
            let mut data = [0u64; 8];
            data[0] = ALGO_MAGIC;
            data[1] = i as u64;
            data[2] = pb.fingerprint();
            data[3] = ws;
            // SAFETY: the caller's array holds `requested` results.
            unsafe {
                results.add(count as usize).write(HeuristicResult {
                    algo: Algo { data },
                    workspace_size: ws as usize,
                    state: SUCCESS,
                    waves_count: 1.0 + 0.25 * i as f32,
                    reserved: [0; 4],
                })
            };
            count += 1;
        }
        unsafe { returned.write(count) };
        if count == 0 {
            NOT_SUPPORTED
        } else {
            SUCCESS
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn cublasLtMatmulAlgoConfigGetAttribute(
    algo: *const Algo,
    attr: u32,
    buf: *mut c_void,
    size: usize,
    written: *mut usize,
) -> Status {
    if algo.is_null() {
        return INVALID_VALUE;
    }
    // SAFETY: a 64-byte algorithm from the caller.
    let algo = unsafe { *algo };
    if algo.data[0] != ALGO_MAGIC {
        return INVALID_VALUE;
    }
    let Some(&(_, need, value)) = candidate_config(algo.data[1] as u32)
        .iter()
        .find(|(a, _, _)| *a == attr)
    else {
        return INVALID_VALUE;
    };
    if size == 0 {
        if written.is_null() {
            return INVALID_VALUE;
        }
        unsafe { written.write(need) };
        return SUCCESS;
    }
    if buf.is_null() || size != need {
        return INVALID_VALUE;
    }
    let bytes = value.to_le_bytes();
    // SAFETY: the caller's buffer holds `size` bytes.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf as *mut u8, need) };
    if !written.is_null() {
        unsafe { written.write(need) };
    }
    SUCCESS
}

/// Bytes a layout spans from its pointer.
fn extent(l: &Layout) -> u64 {
    let sz = Elem::of_data_type(l.ty)
        .map(|e| e.size() as u64)
        .unwrap_or(1);
    let one = l.ld as u64 * (l.cols - 1) + l.rows;
    (l.stride.max(0) as u64 * (l.batch as u64 - 1) + one) * sz
}

/// The rate (TFLOPS) of a product of `kind` with candidate `cand` on `device` now.
pub(crate) fn rate(s: &State, device: u32, kind: Kind, cand: u32) -> f64 {
    let c = cfg();
    let r = &c.rates;
    let base = match kind {
        Kind::Fp64 => r.fp64,
        Kind::Fp32 => r.fp32,
        Kind::Tf32 => r.tf32,
        Kind::Fp16 => r.fp16,
        Kind::Bf16 => r.bf16,
        Kind::Fp8 => r.fp8,
    };
    let slow = if c.slow_device == Some(device) {
        c.slow_factor
    } else {
        1.0
    };
    base * candidate_speed(cand) * crate::nvml::clock_factor(s, device) * slow
}

#[no_mangle]
pub unsafe extern "C" fn cublasLtMatmul(
    handle: *mut c_void,
    desc: *mut c_void,
    alpha: *const c_void,
    a: *const c_void,
    adesc: *mut c_void,
    b: *const c_void,
    bdesc: *mut c_void,
    beta: *const c_void,
    c: *const c_void,
    cdesc: *mut c_void,
    d: *mut c_void,
    ddesc: *mut c_void,
    algo: *const Algo,
    workspace: *mut c_void,
    workspace_size: usize,
    stream: *mut c_void,
) -> Status {
    with(|s| {
        if !s.lt.handles.contains(&(handle as u64)) {
            return NOT_INITIALIZED;
        }
        let Some(device) = crate::driver::current_device(s) else {
            return EXECUTION_FAILED; // no current context: no stream can be used
        };
        let pb = match problem(
            s,
            desc as u64,
            adesc as u64,
            bdesc as u64,
            cdesc as u64,
            ddesc as u64,
        ) {
            Ok(x) => x,
            Err(e) => return e,
        };
        if alpha.is_null() || beta.is_null() || a.is_null() || b.is_null() || d.is_null() {
            return INVALID_VALUE;
        }
        let cand = if algo.is_null() {
            0
        } else {
            // SAFETY: a 64-byte algorithm from the caller.
            let al = unsafe { *algo };
            if al.data[0] != ALGO_MAGIC
                || al.data[2] != pb.fingerprint()
                || al.data[1] >= cfg().candidates as u64
            {
                return INVALID_VALUE;
            }
            if al.data[3] > workspace_size as u64 {
                return INVALID_VALUE;
            }
            if al.data[3] > 0 && s.mem.find(workspace as u64, al.data[3]).is_err() {
                return INVALID_VALUE;
            }
            al.data[1] as u32
        };
        let Ok(sid) = crate::driver::stream_of(s, device, stream as u64) else {
            return INVALID_VALUE;
        };
        if s.devices[device as usize].lost {
            return EXECUTION_FAILED;
        }
        // scalars, in the scale type, from host memory (pointer mode host)
        let (alpha, beta) = unsafe {
            if pb.desc.scale == data::R_64F {
                (*(alpha as *const f64), *(beta as *const f64))
            } else {
                (*(alpha as *const f32) as f64, *(beta as *const f32) as f64)
            }
        };
        let need_c = beta != 0.0;
        if need_c && c.is_null() {
            return INVALID_VALUE;
        }
        // every operand lies inside one allocation; fp8 pointers are 16-byte aligned
        let mut bases = Vec::new();
        for (p, l) in [(a as u64, &pb.a), (b as u64, &pb.b), (d as u64, &pb.d)]
            .into_iter()
            .chain(need_c.then_some((c as u64, &pb.c)))
        {
            match s.mem.find(p, extent(l)) {
                Ok((base, _)) => bases.push(base),
                Err(_) => return EXECUTION_FAILED,
            }
            if pb.kind == Kind::Fp8 && p % 16 != 0 {
                return NOT_SUPPORTED;
            }
        }
        let dev = &mut s.devices[device as usize];
        dev.products += 1;
        if cfg().lost_after.is_some_and(|n| dev.products > n) {
            dev.lost = true;
            return EXECUTION_FAILED;
        }
        let flops = 2.0 * (pb.m * pb.n * pb.k * pb.batch) as f64;
        let ns = flops / (rate(s, device, pb.kind, cand) * 1e3);
        s.enqueue(sid, ns, None);

        let operand = |s: &State, p: u64, base: u64, l: &Layout, trans: bool| Operand {
            content: s.mem.content_of(base),
            offset: p - base,
            len: extent(l),
            elem: Elem::of_data_type(l.ty).unwrap_or(Elem::E4m3),
            ld: l.ld as u64,
            stride: l.stride.max(0) as u64,
            trans,
            bytes: Default::default(),
        };
        let op_a = operand(s, a as u64, bases[0], &pb.a, pb.desc.transa == 1);
        let op_b = operand(s, b as u64, bases[1], &pb.b, pb.desc.transb == 1);
        let op_c = need_c.then(|| (operand(s, c as u64, bases[3], &pb.c, false), beta));
        let d_base = bases[2];
        let d_elem = Elem::of_data_type(pb.d.ty).expect("checked");
        let d_offset = d as u64 - d_base;
        let d_stride = pb.d.stride.max(0) as u64;
        let alloc_size = s.mem.allocs[&d_base].size;
        let covers_all = d_offset == 0
            && pb.d.ld as u64 == pb.m
            && (pb.batch == 1 || d_stride == pb.m * pb.n)
            && alloc_size == pb.m * pb.n * pb.batch * d_elem.size() as u64;
        let prev = if covers_all {
            Arc::new(Content::Zero)
        } else {
            s.mem.content_of(d_base)
        };
        let product = Product {
            m: pb.m,
            n: pb.n,
            k: pb.k,
            batch: pb.batch,
            a: op_a,
            b: op_b,
            c: op_c,
            alpha,
            d_elem,
            d_ld: pb.d.ld as u64,
            d_stride,
            d_offset,
            prev,
            tf32: pb.kind == Kind::Tf32,
            wrong: cfg().wrong_candidate == Some(cand),
        };
        s.mem.allocs.get_mut(&d_base).expect("found").content =
            Arc::new(Content::Product(Box::new(product)));
        SUCCESS
    })
}
