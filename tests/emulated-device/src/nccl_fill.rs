//! `cuMemsetD16Async` / `cuMemsetD32Async`: how gpubench's NCCL measurement fills its
//! buffers with a value per rank (a bf16 or fp32 bit pattern).

#![allow(non_snake_case)]

use std::ffi::c_void;

use crate::driver::err::{INVALID_CONTEXT, INVALID_VALUE, LAUNCH_FAILED, SUCCESS};
use crate::driver::{current_device, stream_of, with, CUresult};
use crate::memory::Content;

fn fill(dst: u64, pattern: &[u8], n: usize, stream: *mut c_void) -> CUresult {
    with(|s| {
        let Some(d) = current_device(s) else {
            return INVALID_CONTEXT;
        };
        if s.devices[d as usize].lost {
            return LAUNCH_FAILED;
        }
        let sid = match stream_of(s, d, stream as u64) {
            Ok(x) => x,
            Err(e) => return e,
        };
        if !dst.is_multiple_of(pattern.len() as u64) {
            return INVALID_VALUE;
        }
        let bytes = (n * pattern.len()) as u64;
        s.enqueue(sid, bytes as f64 / crate::cfg().bandwidth, None);
        let content = if pattern.iter().all(|b| *b == pattern[0]) {
            Content::Const(pattern[0])
        } else {
            Content::Bytes(pattern.repeat(n))
        };
        match s.mem.store(dst, bytes, content) {
            Ok(()) => SUCCESS,
            Err(_) => INVALID_VALUE,
        }
    })
}

#[no_mangle]
pub extern "C" fn cuMemsetD16Async(dst: u64, v: u16, n: usize, stream: *mut c_void) -> CUresult {
    fill(dst, &v.to_le_bytes(), n, stream)
}

#[no_mangle]
pub extern "C" fn cuMemsetD32Async(dst: u64, v: u32, n: usize, stream: *mut c_void) -> CUresult {
    fill(dst, &v.to_le_bytes(), n, stream)
}
