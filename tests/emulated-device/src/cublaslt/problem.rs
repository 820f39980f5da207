//! What a descriptor and four layouts describe, checked as cuBLASLt checks it: shapes,
//! batches, type combinations, the device's compute capability and the fp8 rules; and the
//! heuristic's candidates (configuration, workspace, speed).

#![allow(non_snake_case, clippy::missing_safety_doc, clippy::too_many_arguments)]

use super::*;
use crate::cfg;
use crate::elem::{data, Elem};

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
    pub(super) fn fingerprint(&self) -> u64 {
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
pub(super) fn candidate_workspace(i: u32) -> u64 {
    if i % 2 == 1 {
        4 << 20
    } else {
        0
    }
}

/// Relative speed of candidate `i` (the wrong-candidate fault makes its candidate the fastest,
/// so only verification can keep it from winning).
pub(super) fn candidate_speed(i: u32) -> f64 {
    if cfg().wrong_candidate == Some(i) {
        1.10
    } else {
        1.0 - 0.03 * i as f64
    }
}

/// The configuration attributes of candidate `i`: `(attribute, size, value)`.
pub(super) fn candidate_config(i: u32) -> [(u32, usize, u64); 9] {
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
