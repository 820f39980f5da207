//! The emulator's strict rules, through its C entry points: cuBLASLt attribute sizes, the fp8
//! "TN" rule, module loading (PTX ISA, cubin architecture), and virtual time with and without
//! a stream hold. Default configuration: one cc 9.0 device, driver CUDA 13.0, 5 µs launch cost.

use std::ffi::c_void;
use std::ptr::{null, null_mut};
use std::sync::Once;

use gpubench_emulated_device::*;

const R_32F: u32 = 0;
const R_16F: u32 = 2;
const R_16BF: u32 = 14;
const R_8F_E4M3: u32 = 28;
const COMPUTE_32F: u32 = 68;
const INVALID_VALUE: u32 = 7;
const NOT_SUPPORTED: u32 = 15;

/// cuInit, and device 0's primary context current on this thread.
fn ctx() {
    static INIT: Once = Once::new();
    INIT.call_once(|| assert_eq!(cuInit(0), 0));
    let mut c = null_mut();
    unsafe {
        assert_eq!(cuDevicePrimaryCtxRetain(&mut c, 0), 0);
        assert_eq!(cuCtxSetCurrent(c), 0);
    }
}

fn release() {
    assert_eq!(cuDevicePrimaryCtxRelease_v2(0), 0);
}

unsafe fn set<T>(
    f: unsafe extern "C" fn(*mut c_void, u32, *const c_void, usize) -> u32,
    obj: *mut c_void,
    attr: u32,
    v: T,
) -> u32 {
    unsafe {
        f(
            obj,
            attr,
            &v as *const T as *const c_void,
            std::mem::size_of::<T>(),
        )
    }
}

#[test]
fn attribute_sizes_are_checked_exactly() {
    unsafe {
        let mut d = null_mut();
        assert_eq!(cublasLtMatmulDescCreate(&mut d, COMPUTE_32F, R_32F), 0);
        // TRANSA is an int32: a 64-bit value is refused, a 32-bit one taken
        assert_eq!(
            set(cublasLtMatmulDescSetAttribute, d, 3, 1i64),
            INVALID_VALUE
        );
        assert_eq!(set(cublasLtMatmulDescSetAttribute, d, 3, 1i32), 0);
        assert_eq!(
            set(cublasLtMatmulDescSetAttribute, d, 3, 7i32),
            INVALID_VALUE
        );
        assert_eq!(cublasLtMatmulDescDestroy(d), 0);
        assert_eq!(
            cublasLtMatmulDescDestroy(d),
            INVALID_VALUE,
            "destroyed twice"
        );

        let mut l = null_mut();
        assert_eq!(cublasLtMatrixLayoutCreate(&mut l, R_16F, 64, 32, 64), 0);
        // BATCH_COUNT int32, STRIDED_BATCH_OFFSET int64, ROWS uint64
        assert_eq!(
            set(cublasLtMatrixLayoutSetAttribute, l, 5, 2u64),
            INVALID_VALUE
        );
        assert_eq!(set(cublasLtMatrixLayoutSetAttribute, l, 5, 2i32), 0);
        assert_eq!(
            set(cublasLtMatrixLayoutSetAttribute, l, 6, 2048i32),
            INVALID_VALUE
        );
        assert_eq!(set(cublasLtMatrixLayoutSetAttribute, l, 6, 2048i64), 0);
        assert_eq!(
            set(cublasLtMatrixLayoutSetAttribute, l, 2, 64u32),
            INVALID_VALUE
        );
        assert_eq!(cublasLtMatrixLayoutDestroy(l), 0);

        let mut p = null_mut();
        assert_eq!(cublasLtMatmulPreferenceCreate(&mut p), 0);
        // MAX_WORKSPACE_BYTES uint64, MIN_ALIGNMENT_A_BYTES uint32
        assert_eq!(
            set(cublasLtMatmulPreferenceSetAttribute, p, 1, 1u32 << 20),
            INVALID_VALUE
        );
        assert_eq!(
            set(cublasLtMatmulPreferenceSetAttribute, p, 1, 1u64 << 20),
            0
        );
        assert_eq!(
            set(cublasLtMatmulPreferenceSetAttribute, p, 5, 16u64),
            INVALID_VALUE
        );
        assert_eq!(set(cublasLtMatmulPreferenceSetAttribute, p, 5, 16u32), 0);
        assert_eq!(
            set(cublasLtMatmulPreferenceSetAttribute, p, 5, 12u32),
            INVALID_VALUE
        );
        assert_eq!(cublasLtMatmulPreferenceDestroy(p), 0);
    }
}

/// Builds a problem `op(A)·op(B)` of `m×n×k` in `ab` inputs and `cd` output and asks the
/// heuristic; returns its status and the candidates.
fn heuristic(
    ab: u32,
    cd: u32,
    transa: bool,
    transb: bool,
    mnk: (u64, u64, u64),
) -> (u32, Vec<HeuristicResult>) {
    let (m, n, k) = mnk;
    unsafe {
        let mut h = null_mut();
        assert_eq!(cublasLtCreate(&mut h), 0);
        let mut d = null_mut();
        assert_eq!(cublasLtMatmulDescCreate(&mut d, COMPUTE_32F, R_32F), 0);
        assert_eq!(set(cublasLtMatmulDescSetAttribute, d, 3, transa as i32), 0);
        assert_eq!(set(cublasLtMatmulDescSetAttribute, d, 4, transb as i32), 0);
        let (ar, ac) = if transa { (k, m) } else { (m, k) };
        let (br, bc) = if transb { (n, k) } else { (k, n) };
        let mut la = null_mut();
        let mut lb = null_mut();
        let mut lc = null_mut();
        assert_eq!(
            cublasLtMatrixLayoutCreate(&mut la, ab, ar, ac, ar as i64),
            0
        );
        assert_eq!(
            cublasLtMatrixLayoutCreate(&mut lb, ab, br, bc, br as i64),
            0
        );
        assert_eq!(cublasLtMatrixLayoutCreate(&mut lc, cd, m, n, m as i64), 0);
        let mut p = null_mut();
        assert_eq!(cublasLtMatmulPreferenceCreate(&mut p), 0);
        assert_eq!(
            set(cublasLtMatmulPreferenceSetAttribute, p, 1, 32u64 << 20),
            0
        );
        let mut res = vec![std::mem::zeroed::<HeuristicResult>(); 8];
        let mut got = 0;
        let st =
            cublasLtMatmulAlgoGetHeuristic(h, d, la, lb, lc, lc, p, 8, res.as_mut_ptr(), &mut got);
        res.truncate(got as usize);
        for l in [la, lb, lc] {
            assert_eq!(cublasLtMatrixLayoutDestroy(l), 0);
        }
        assert_eq!(cublasLtMatmulPreferenceDestroy(p), 0);
        assert_eq!(cublasLtMatmulDescDestroy(d), 0);
        assert_eq!(cublasLtDestroy(h), 0);
        (st, res)
    }
}

#[test]
fn fp8_runs_only_as_tn_with_16_byte_dimensions() {
    let (st, res) = heuristic(R_8F_E4M3, R_16BF, true, false, (64, 32, 48));
    assert_eq!(st, 0);
    assert_eq!(res.len(), 4, "four candidates by default");
    for (ta, tb) in [(false, false), (true, true), (false, true)] {
        let (st, res) = heuristic(R_8F_E4M3, R_16BF, ta, tb, (64, 32, 48));
        assert_eq!(
            (st, res.len()),
            (NOT_SUPPORTED, 0),
            "transa={ta} transb={tb}"
        );
    }
    let (st, _) = heuristic(R_8F_E4M3, R_16BF, true, false, (64, 32, 40));
    assert_eq!(st, INVALID_VALUE, "k = 40 is not a multiple of 16");
    let (st, _) = heuristic(R_8F_E4M3, R_16BF, true, false, (36, 32, 48));
    assert_eq!(
        st, INVALID_VALUE,
        "ldc = 36 bf16 is 72 bytes, not a multiple of 16"
    );
    assert_eq!(
        heuristic(R_8F_E4M3, R_16BF, true, false, (40, 37, 48)).0,
        0,
        "n is free"
    );
    // fp16 has no such rule; an fp8 output of fp16 inputs is not a valid combination
    assert_eq!(heuristic(R_16F, R_16F, false, false, (37, 53, 129)).0, 0);
    assert_eq!(
        heuristic(R_16F, R_8F_E4M3, false, false, (32, 32, 32)).0,
        NOT_SUPPORTED
    );
}

#[test]
fn candidates_have_distinct_readable_configs() {
    let (_, res) = heuristic(R_16F, R_16F, true, false, (64, 64, 64));
    let mut seen = std::collections::HashSet::new();
    for r in &res {
        let mut cfg = Vec::new();
        for attr in 0..=8u32 {
            let mut size = 0usize;
            unsafe {
                assert_eq!(
                    cublasLtMatmulAlgoConfigGetAttribute(&r.algo, attr, null_mut(), 0, &mut size),
                    0
                );
                assert!(size == 4 || size == 2, "attr {attr}: {size}");
                let mut v = 0u64;
                let mut written = 0usize;
                // a buffer of the wrong size is refused
                assert_eq!(
                    cublasLtMatmulAlgoConfigGetAttribute(
                        &r.algo,
                        attr,
                        &mut v as *mut u64 as *mut c_void,
                        8,
                        &mut written
                    ),
                    INVALID_VALUE
                );
                assert_eq!(
                    cublasLtMatmulAlgoConfigGetAttribute(
                        &r.algo,
                        attr,
                        &mut v as *mut u64 as *mut c_void,
                        size,
                        &mut written
                    ),
                    0
                );
                cfg.push(v);
            }
        }
        assert!(seen.insert(cfg), "candidates share a configuration");
    }
}

#[test]
fn module_loading_checks_ptx_isa_and_cubin_architecture() {
    ctx();
    let ptx = |v: &str, t: &str| {
        format!(".version {v}\n.target {t}\n.address_size 64\n\n.visible .entry copy_v16(\n.param .u64 a\n)\n{{\nret;\n}}\n\0")
    };
    let load = |img: &[u8]| unsafe {
        let mut m = null_mut();
        let st = cuModuleLoadData(&mut m, img.as_ptr() as *const c_void);
        if st == 0 {
            let mut f = null_mut();
            assert_eq!(cuModuleGetFunction(&mut f, m, c"copy_v16".as_ptr()), 0);
            assert_eq!(cuModuleGetFunction(&mut f, m, c"nope".as_ptr()), 500);
            assert_eq!(cuModuleUnload(m), 0);
        }
        st
    };
    assert_eq!(load(ptx("9.0", "sm_90").as_bytes()), 0);
    assert_eq!(
        load(ptx("8.7", "sm_80").as_bytes()),
        0,
        "older PTX is JIT-compiled"
    );
    assert_eq!(
        load(ptx("9.5", "sm_90").as_bytes()),
        222,
        "PTX newer than the driver's ISA 9.0"
    );
    assert_eq!(
        load(ptx("9.0", "sm_100").as_bytes()),
        218,
        "PTX for a newer GPU"
    );
    // cubin headers as NVRTC 13.0 writes them (ABI 8: SM in bits 8-15), no sections
    let cubin = |flags: u32| {
        let mut h = vec![0u8; 64 + 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        h[7] = 0x41;
        h[8] = 8;
        h[18..20].copy_from_slice(&190u16.to_le_bytes());
        h[40..48].copy_from_slice(&64u64.to_le_bytes()); // e_shoff
        h[48..52].copy_from_slice(&flags.to_le_bytes());
        h[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
        h[60..62].copy_from_slice(&1u16.to_le_bytes()); // e_shnum: the null section
        h
    };
    let load_cubin = |flags: u32| unsafe {
        let img = cubin(flags);
        let mut m = null_mut();
        let st = cuModuleLoadData(&mut m, img.as_ptr() as *const c_void);
        if st == 0 {
            assert_eq!(cuModuleUnload(m), 0);
        }
        st
    };
    assert_eq!(load_cubin(0x6005a04), 0, "sm_90 on cc 9.0");
    assert_eq!(
        load_cubin(0x6005904),
        209,
        "sm_89: another major architecture"
    );
    assert_eq!(load_cubin(0x6006402), 209, "sm_100");
    release();
}

/// A fresh stream with `hold_stream` loaded and the pinned flags it reads and writes: word 0
/// releases the hold, word 1 says it timed out.
struct Held {
    module: *mut c_void,
    hold: *mut c_void,
    stream: *mut c_void,
    pinned: *mut c_void,
    flags: *mut u32,
    dflags: u64,
}

impl Held {
    /// Loads the module, makes the stream and maps the flags (in the current context).
    unsafe fn new() -> Held {
        let src = ".version 9.0\n.target sm_90\n.address_size 64\n.visible .entry hold_stream(\n)\n{\nret;\n}\n\0";
        unsafe {
            let mut module = null_mut();
            assert_eq!(
                cuModuleLoadData(&mut module, src.as_ptr() as *const c_void),
                0
            );
            let mut hold = null_mut();
            assert_eq!(
                cuModuleGetFunction(&mut hold, module, c"hold_stream".as_ptr()),
                0
            );
            let mut stream = null_mut();
            assert_eq!(cuStreamCreate(&mut stream, 1), 0);
            let mut pinned = null_mut();
            assert_eq!(cuMemHostAlloc(&mut pinned, 8, 0x3), 0);
            let mut dflags = 0u64;
            assert_eq!(cuMemHostGetDevicePointer_v2(&mut dflags, pinned, 0), 0);
            Held {
                module,
                hold,
                stream,
                pinned,
                flags: pinned as *mut u32,
                dflags,
            }
        }
    }

    /// Launches `hold_stream`: the stream waits until word 0 is set or `timeout_ns` pass.
    unsafe fn hold(&self, timeout_ns: u64) {
        let (rel, out) = (self.dflags, self.dflags + 4);
        let mut args = [
            &rel as *const u64 as *mut c_void,
            &timeout_ns as *const u64 as *mut c_void,
            &out as *const u64 as *mut c_void,
        ];
        let launched = unsafe {
            cuLaunchKernel(
                self.hold,
                1,
                1,
                1,
                1,
                1,
                1,
                0,
                self.stream,
                args.as_mut_ptr(),
                null_mut(),
            )
        };
        assert_eq!(launched, 0);
    }

    /// Frees the flags, destroys the stream and unloads the module.
    fn destroy(self) {
        assert_eq!(cuMemFreeHost(self.pinned), 0);
        assert_eq!(cuStreamDestroy_v2(self.stream), 0);
        assert_eq!(cuModuleUnload(self.module), 0);
    }
}

/// Queues `n` products of `m³` fp16 on a fresh stream with an event pair around each,
/// optionally behind `hold_stream`; returns the per-product event times (seconds).
fn timed_products(m: u64, n: usize, hold: bool) -> Vec<f64> {
    ctx();
    unsafe {
        let held = Held::new();
        let (stream, flags) = (held.stream, held.flags);
        let bytes = (m * m * 2) as usize;
        let (mut a, mut b, mut c) = (0u64, 0u64, 0u64);
        for p in [&mut a, &mut b, &mut c] {
            assert_eq!(cuMemAllocAsync(p, bytes, stream), 0);
        }
        let mut h = null_mut();
        assert_eq!(cublasLtCreate(&mut h), 0);
        let mut d = null_mut();
        assert_eq!(cublasLtMatmulDescCreate(&mut d, COMPUTE_32F, R_32F), 0);
        let mut l = null_mut();
        assert_eq!(cublasLtMatrixLayoutCreate(&mut l, R_16F, m, m, m as i64), 0);
        let mut events = Vec::new();
        for _ in 0..2 * n {
            let mut e = null_mut();
            assert_eq!(cuEventCreate(&mut e, 0), 0);
            events.push(e);
        }
        if hold {
            flags.write_volatile(0);
            flags.add(1).write_volatile(0);
            held.hold(1_000_000_000);
        }
        let (alpha, beta) = (1.0f32, 0.0f32);
        for i in 0..n {
            assert_eq!(cuEventRecord(events[2 * i], stream), 0);
            let st = cublasLtMatmul(
                h,
                d,
                &alpha as *const f32 as *const c_void,
                a as *const c_void,
                l,
                b as *const c_void,
                l,
                &beta as *const f32 as *const c_void,
                c as *const c_void,
                l,
                c as *mut c_void,
                l,
                null(),
                null_mut(),
                0,
                stream,
            );
            assert_eq!(st, 0);
            assert_eq!(cuEventRecord(events[2 * i + 1], stream), 0);
        }
        let mut ms = 0f32;
        if hold {
            // still held: the events have not happened
            assert_eq!(cuEventElapsedTime_v2(&mut ms, events[0], events[1]), 600);
            flags.write_volatile(1);
        }
        assert_eq!(cuStreamSynchronize(stream), 0);
        assert_eq!(flags.add(1).read_volatile(), 0, "the hold did not time out");
        let mut times = Vec::new();
        for i in 0..n {
            assert_eq!(
                cuEventElapsedTime_v2(&mut ms, events[2 * i], events[2 * i + 1]),
                0
            );
            times.push(ms as f64 / 1e3);
        }
        for e in events {
            assert_eq!(cuEventDestroy_v2(e), 0);
        }
        for p in [a, b, c] {
            assert_eq!(cuMemFreeAsync(p, stream), 0);
        }
        assert_eq!(cublasLtMatrixLayoutDestroy(l), 0);
        assert_eq!(cublasLtMatmulDescDestroy(d), 0);
        assert_eq!(cublasLtDestroy(h), 0);
        held.destroy();
        release();
        times
    }
}

#[test]
fn events_on_an_idle_stream_measure_launch_cost_unless_held() {
    // fp16 at the default 800 TFLOPS: 2·128³ FLOPs take 5.24 ns; the launch cost is 5 µs
    let product = 2.0 * 128f64.powi(3) / 800e12;
    let free = timed_products(128, 8, false);
    for t in &free {
        assert!(
            (t - 10e-6).abs() < 1e-8,
            "two launch costs, not the product: {t}"
        );
    }
    let held = timed_products(128, 8, true);
    for t in &held {
        assert!(
            (t - product).abs() / product < 1e-3,
            "the product itself: {t} vs {product}"
        );
    }
}

#[test]
fn a_hold_never_released_times_out() {
    ctx();
    unsafe {
        let held = Held::new();
        let (stream, flags) = (held.stream, held.flags);
        let mut e = [null_mut(), null_mut()];
        assert_eq!(cuEventCreate(&mut e[0], 0), 0);
        assert_eq!(cuEventCreate(&mut e[1], 0), 0);
        assert_eq!(cuEventRecord(e[0], stream), 0);
        held.hold(2_000_000);
        assert_eq!(cuEventRecord(e[1], stream), 0);
        assert_eq!(cuStreamSynchronize(stream), 0);
        assert_eq!(flags.add(1).read_volatile(), 1, "timed_out written");
        let mut ms = 0f32;
        assert_eq!(cuEventElapsedTime_v2(&mut ms, e[0], e[1]), 0);
        assert!(
            (ms - 2.005).abs() < 1e-3,
            "the 2 ms timeout (+ one launch): {ms}"
        );
        // events created without timing cannot be timed
        let mut nt = null_mut();
        assert_eq!(cuEventCreate(&mut nt, 2), 0);
        assert_eq!(cuEventRecord(nt, stream), 0);
        assert_eq!(cuStreamSynchronize(stream), 0);
        assert_eq!(cuEventElapsedTime_v2(&mut ms, e[0], nt), 400);
        for x in [e[0], e[1], nt] {
            assert_eq!(cuEventDestroy_v2(x), 0);
        }
        held.destroy();
    }
    release();
}

#[test]
fn more_than_1024_operations_behind_a_hold_time_it_out() {
    ctx();
    unsafe {
        let held = Held::new();
        let (stream, flags) = (held.stream, held.flags);
        held.hold(1_000_000_000);
        let mut e = null_mut();
        assert_eq!(cuEventCreate(&mut e, 0), 0);
        for _ in 0..1024 {
            assert_eq!(cuEventRecord(e, stream), 0);
        }
        assert_eq!(flags.add(1).read_volatile(), 0, "1024 queued: still held");
        assert_eq!(cuEventRecord(e, stream), 0);
        assert_eq!(
            flags.add(1).read_volatile(),
            1,
            "the 1025th would block: timed out"
        );
        flags.write_volatile(1);
        assert_eq!(cuStreamSynchronize(stream), 0);
        assert_eq!(cuEventDestroy_v2(e), 0);
        held.destroy();
    }
    release();
}
