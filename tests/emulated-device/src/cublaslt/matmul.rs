//! The heuristic, algorithm configuration queries and `cublasLtMatmul` itself: a product
//! timed at the configured rate and stored for lazy computation.

#![allow(non_snake_case, clippy::missing_safety_doc, clippy::too_many_arguments)]

use std::ffi::{c_int, c_void};
use std::sync::Arc;

use super::*;
use crate::elem::{data, Elem};
use crate::memory::{Content, Operand, Product};
use crate::{cfg, State};

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
