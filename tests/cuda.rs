//! Tests of the CUDA backend through its public API.
//!
//! Most need a GPU and are `#[ignore]`d: run them on a GPU machine with
//! `cargo test --test cuda -- --ignored` (and `cargo test --lib backend::cuda -- --ignored` for
//! the device-vs-host fill check). The first test runs everywhere: without an NVIDIA driver,
//! opening the backend must fail with one line pointing at `--device cpu`, never panic. So does
//! the check of the backend's cuBLASLt descriptors against the real library (the PyPI wheel,
//! fetched on first use, see `common/nvidia.rs`), which needs no GPU.
//! The last test runs the ignored ones again, on the emulated GPU (`common/emulated.rs`).

mod common;

use common::nvidia;

use gpubench::backend::{cuda, Backend, GemmRequest, GemmShape};
use gpubench::dtype::DType;
use gpubench::error::is_usage;
use gpubench::measure::bandwidth::copy_bandwidth;
use gpubench::measure::verify;

/// An odd shape (no dimension a multiple of 2) for every dtype but fp8, whose cuBLASLt
/// kernels need k a multiple of 16 and n of 8.
fn small_shape(dtype: DType) -> GemmShape {
    if dtype == DType::Fp8 {
        GemmShape {
            m: 48,
            n: 80,
            k: 144,
            batch: 1,
        }
    } else {
        GemmShape {
            m: 37,
            n: 53,
            k: 129,
            batch: 1,
        }
    }
}

fn gpu() -> Box<dyn Backend> {
    cuda::open(0).unwrap_or_else(|e| panic!("cuda:0 did not open: {e:#}"))
}

fn req(dtype: DType, shape: GemmShape, input_sets: u32) -> GemmRequest {
    GemmRequest {
        dtype,
        shape,
        input_sets,
        seed: 42,
        fp8_fast_accum: false,
    }
}

/// Runs `count` products, checks the times, verifies 64 points; returns the times.
fn run_and_verify(be: &dyn Backend, r: &GemmRequest, count: usize) -> Vec<f64> {
    let mut g = be
        .prepare(r)
        .unwrap_or_else(|e| panic!("{} {}: {e:#}", r.dtype, r.shape));
    let t = g.run(count).unwrap();
    assert_eq!(t.len(), count);
    assert!(t.iter().all(|x| x.is_finite() && *x > 0.0), "{t:?}");
    let (rows, cols) = verify::sample_indices(r.shape, 64, r.seed);
    let v = verify::check(&g.verify_sample(&rows, &cols).unwrap(), r.dtype);
    assert!(v.passed, "{} {}: {v:?}", r.dtype, r.shape);
    assert!(v.checked >= 36, "{v:?}");
    t
}

/// Whether any GPU device node (`/dev/nvidia0`, `/dev/nvidia3`, …) exists: containers expose
/// the GPUs they were given under their host numbers, not always from 0.
fn nvidia_device_node_exists() -> bool {
    std::fs::read_dir("/dev")
        .map(|dir| {
            dir.filter_map(Result::ok).any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.strip_prefix("nvidia")
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
        })
        .unwrap_or(false)
}

#[test]
fn open_without_driver_is_an_error_not_a_panic() {
    let res = std::panic::catch_unwind(|| cuda::open(0).map(|b| b.info().clone()));
    let res = res.expect("opening the CUDA backend must never panic");
    let gpu_here = cuda::driver_present() && nvidia_device_node_exists();
    match res {
        Ok(info) => {
            // A container may expose its one GPU as /dev/nvidia3 (or WSL as /dev/dxg): only
            // the driver library is certain to be present when a GPU opens.
            assert!(cuda::driver_present(), "opened a GPU without a driver?");
            assert_eq!(info.backend, gpubench::backend::BackendKind::Cuda);
            assert!(!info.name.is_empty());
        }
        Err(e) => {
            assert!(!gpu_here, "a GPU is here but cuda:0 did not open: {e:#}");
            let msg = format!("{e:#}");
            assert!(msg.contains("--device cpu"), "{msg}");
            assert!(!msg.contains('\n'), "one line: {msg}");
            if !cuda::driver_present() {
                assert!(msg.contains("libcuda.so not found"), "{msg}");
            }
        }
    }
}

/// Every cuBLASLt symbol the backend calls exists in the real library, and the library accepts
/// every attribute the backend sets, for every dtype, batched or not, fp8 with and without fast
/// accumulation. Runs in a child process whose loader finds the cuBLAS wheel's directory.
#[test]
fn real_cublaslt_accepts_every_descriptor_the_backend_builds() {
    let w = nvidia::cublas();
    if nvidia::child_of().is_none() {
        let dir = nvidia::lib_dir(w);
        let out = nvidia::rerun_with_libs(
            "real_cublaslt_accepts_every_descriptor_the_backend_builds",
            &[dir],
            w.name,
        );
        if let Some(at) = out.find("cuBLASLt ") {
            eprintln!("{}", out[at..].lines().next().unwrap_or(""));
        }
        return;
    }
    let version = cuda::cublaslt_version().expect("cublasLtGetProperty works without a GPU");
    let major = if cfg!(feature = "cuda-12") { 12 } else { 13 };
    assert_eq!(version.0, major, "{version:?}");
    println!("cuBLASLt {}.{}.{}", version.0, version.1, version.2);
    for dtype in DType::ALL {
        for batch in [1, 3] {
            let shape = GemmShape {
                batch,
                ..small_shape(dtype)
            };
            let accum: &[bool] = if dtype == DType::Fp8 {
                &[false, true]
            } else {
                &[false]
            };
            for &fast in accum {
                cuda::check_cublaslt_descriptors(dtype, shape, fast)
                    .unwrap_or_else(|e| panic!("{dtype} {shape} fast_accum={fast}: {e:#}"));
            }
        }
    }
    // The library does check sizes: FAST_ACCUM (an int8_t) set from an int32 is refused, so
    // the loop above would catch a wrongly typed attribute.
    use cudarc::cublaslt::{result as lt, sys};
    let desc = lt::create_matmul_desc(
        sys::cublasComputeType_t::CUBLAS_COMPUTE_32F,
        sys::cudaDataType::CUDA_R_32F,
    )
    .unwrap();
    let wide: i32 = 1;
    // SAFETY: `desc` is live; the buffer holds 4 bytes, as the size says.
    let r = unsafe {
        lt::set_matmul_desc_attribute(
            desc,
            sys::cublasLtMatmulDescAttributes_t::CUBLASLT_MATMUL_DESC_FAST_ACCUM,
            (&wide) as *const i32 as *const std::ffi::c_void,
            4,
        )
    };
    assert!(r.is_err(), "cuBLASLt accepted a 4-byte FAST_ACCUM");
    // SAFETY: created above, destroyed once.
    unsafe { lt::destroy_matmul_desc(desc) }.unwrap();
}

#[test]
#[ignore = "needs a GPU"]
fn device_info_is_complete() {
    let be = gpu();
    let i = be.info();
    assert_eq!(i.backend, gpubench::backend::BackendKind::Cuda);
    assert_eq!(i.ordinal, Some(0));
    let uuid = i.uuid.as_deref().unwrap();
    assert!(
        uuid.starts_with("GPU-") || uuid.starts_with("MIG-"),
        "{uuid}"
    );
    assert_eq!(i.uuid.as_deref().unwrap().len(), 40);
    assert!(i.cc().is_some());
    assert!(i.sm_count.unwrap() > 0);
    assert!(
        i.max_sm_clock_mhz.unwrap() > 100.0,
        "{:?}",
        i.max_sm_clock_mhz
    );
    assert!(i.memory_bytes.unwrap() > 1 << 30);
    assert!(i.l2_bytes.unwrap() > 0);
    assert!(i.cuda_driver_version.is_some());
    assert!(i.cublas_version.is_some());
    assert!(i.cuda_bindings.is_some());
    let free = be.free_memory().unwrap().unwrap();
    assert!(free > 0 && free <= i.memory_bytes.unwrap());
    eprintln!("{i:#?}");
}

#[test]
#[ignore = "needs a GPU"]
fn every_supported_dtype_verifies_at_a_small_odd_shape() {
    let be = gpu();
    let mut ran = 0;
    for dtype in DType::ALL {
        if be.check_dtype(dtype).is_err() {
            continue;
        }
        run_and_verify(be.as_ref(), &req(dtype, small_shape(dtype), 2), 5);
        ran += 1;
    }
    assert!(ran >= 3, "fp16, fp32 and fp64 run on every GPU");
}

#[test]
#[ignore = "needs a GPU"]
fn api_records_compute_types() {
    let be = gpu();
    let want = [
        (DType::Fp16, "CUBLAS_COMPUTE_32F", "fp16"),
        (DType::Fp32, "CUBLAS_COMPUTE_32F", "fp32"),
        (DType::Tf32, "CUBLAS_COMPUTE_32F_FAST_TF32", "fp32"),
        (DType::Fp64, "CUBLAS_COMPUTE_64F", "fp64"),
        (DType::Fp8, "CUBLAS_COMPUTE_32F", "bf16"),
    ];
    for (dtype, compute, out) in want {
        if be.check_dtype(dtype).is_err() {
            continue;
        }
        let g = be.prepare(&req(dtype, small_shape(dtype), 1)).unwrap();
        let api = g.api();
        assert_eq!(api.api, "cublasLtMatmul");
        assert_eq!(api.compute_type, compute, "{dtype}");
        assert_eq!(api.output_type, out, "{dtype}");
        let algo = api.algorithm.unwrap();
        assert!(
            algo.contains("algo=") && algo.contains("heuristic #0 of"),
            "{algo}"
        );
        let timing = api.timing.unwrap();
        assert!(timing.contains("stream held"), "{timing}");
        // fast accumulation is recorded for fp8 only, off unless asked for
        let want_accum = (dtype == DType::Fp8).then_some(false);
        assert_eq!(api.fp8_fast_accum, want_accum, "{dtype}");
    }
    if be.check_dtype(DType::Fp8).is_ok() {
        let mut r = req(DType::Fp8, small_shape(DType::Fp8), 1);
        r.fp8_fast_accum = true;
        let g = be.prepare(&r).unwrap();
        assert_eq!(g.api().fp8_fast_accum, Some(true));
    }
}

#[test]
#[ignore = "needs a GPU"]
fn batched_products_verify() {
    let be = gpu();
    for dtype in [
        DType::Fp16,
        DType::Fp32,
        DType::Fp64,
        DType::Bf16,
        DType::Fp8,
    ] {
        if be.check_dtype(dtype).is_err() {
            continue;
        }
        let shape = if dtype == DType::Fp8 {
            GemmShape {
                m: 32,
                n: 48,
                k: 64,
                batch: 3,
            }
        } else {
            GemmShape {
                m: 33,
                n: 17,
                k: 65,
                batch: 3,
            }
        };
        run_and_verify(be.as_ref(), &req(dtype, shape, 2), 3);
    }
}

#[test]
#[ignore = "needs a GPU"]
fn rotating_input_sets_run_and_verify() {
    let be = gpu();
    run_and_verify(
        be.as_ref(),
        &req(DType::Fp16, GemmShape::square(256), 5),
        12,
    );
}

#[test]
#[ignore = "needs a GPU"]
fn every_algorithm_candidate_verifies() {
    let be = gpu();
    let dtype = DType::Fp16;
    let shape = GemmShape {
        m: 512,
        n: 384,
        k: 640,
        batch: 1,
    };
    let r = req(dtype, shape, 1);
    let mut g = be.prepare(&r).unwrap();
    let n = g.algorithm_count();
    assert!(n >= 1);
    let (rows, cols) = verify::sample_indices(shape, 64, 7);
    for i in 0..n {
        g.select_algorithm(i).unwrap();
        let t = g.run(2).unwrap();
        assert!(t.iter().all(|x| *x > 0.0));
        let v = verify::check(&g.verify_sample(&rows, &cols).unwrap(), dtype);
        assert!(
            v.passed,
            "candidate {i} of {n}: {:?} {v:?}",
            g.api().algorithm
        );
        let algo = g.api().algorithm.unwrap();
        assert!(algo.contains(&format!("heuristic #{i} of {n}")), "{algo}");
    }
    assert!(g.select_algorithm(n).is_err());
}

#[test]
#[ignore = "needs a GPU"]
fn fp8_needs_compute_capability_8_9() {
    let be = gpu();
    let cc = be.info().cc().unwrap();
    let r = be.check_dtype(DType::Fp8);
    if cc >= (8, 9) {
        assert!(r.is_ok());
    } else {
        let e = r.unwrap_err();
        assert!(is_usage(&e));
        assert!(e.to_string().contains("8.9"), "{e}");
        assert!(be
            .prepare(&req(DType::Fp8, small_shape(DType::Fp8), 1))
            .is_err());
    }
}

#[test]
#[ignore = "needs a GPU"]
fn fp8_odd_shape_is_a_clear_error() {
    let be = gpu();
    if be.check_dtype(DType::Fp8).is_err() {
        return;
    }
    let shape = GemmShape {
        m: 37,
        n: 53,
        k: 129,
        batch: 1,
    };
    let outcome = be.prepare(&req(DType::Fp8, shape, 1)).map(|_| ());
    match outcome {
        // a cuBLASLt that accepts it must still compute it right
        Ok(()) => {
            run_and_verify(be.as_ref(), &req(DType::Fp8, shape, 1), 2);
        }
        Err(e) => {
            assert!(is_usage(&e), "{e:#}");
            assert!(e.to_string().contains("k must be a multiple of 16"), "{e}");
        }
    }
}

#[test]
#[ignore = "needs a GPU"]
fn ordinal_past_the_last_gpu_is_a_usage_error() {
    let e = cuda::open(99).err().expect("cuda:99 must not open");
    assert!(is_usage(&e), "{e:#}");
    let msg = e.to_string();
    assert!(
        msg.starts_with("cuda:99 requested but this machine has"),
        "{msg}"
    );
}

#[test]
#[ignore = "needs a GPU"]
fn out_of_memory_is_one_line_with_sizes() {
    let be = gpu();
    // 200000² fp64 = 320 GB per operand: more than any GPU has
    let shape = GemmShape::square(200_000);
    let e = be
        .prepare(&req(DType::Fp64, shape, 1))
        .err()
        .expect("cannot fit");
    let msg = format!("{e:#}");
    assert!(msg.contains("out of GPU memory"), "{msg}");
    assert!(msg.contains("free of"), "{msg}");
    assert!(!msg.contains('\n'));
    // the backend still works afterwards
    run_and_verify(
        be.as_ref(),
        &req(DType::Fp32, small_shape(DType::Fp32), 1),
        2,
    );
}

#[test]
#[ignore = "needs a GPU"]
fn copy_bandwidth_is_plausible() {
    let be = gpu();
    let bw = copy_bandwidth(be.as_ref(), 256 << 20, 10).unwrap();
    // between 10 GB/s and 20 TB/s (an H100 SXM copies at roughly 3 TB/s)
    assert!(bw > 10e9 && bw < 20e12, "{bw:e} B/s");
    assert!(copy_bandwidth(be.as_ref(), 1000, 3).unwrap() > 0.0);
}

#[test]
#[ignore = "needs a GPU"]
fn event_times_grow_with_size() {
    let be = gpu();
    let median = |n: u64| {
        let mut g = be
            .prepare(&req(DType::Fp32, GemmShape::square(n), 1))
            .unwrap();
        g.run(3).unwrap();
        let mut t = g.run(15).unwrap();
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    };
    let small = median(256);
    let large = median(2048);
    // 512× the FLOPs; even a latency-bound small product is far faster
    assert!(large > 4.0 * small, "256³ {small:e} s vs 2048³ {large:e} s");
    // and strict fp32 2048³ (17.2 GFLOP) cannot beat 100 TFLOPS
    assert!(large > 17.2e9 / 100e12, "{large:e} s");
}

#[test]
#[ignore = "needs a GPU"]
fn derived_peak_uses_device_clock() {
    let be = gpu();
    let i = be.info();
    let (p, basis) = be.derived_peak(DType::Fp16).expect("known architecture");
    assert!(p > 1.0, "{p}");
    assert!(
        basis.contains(&format!("{} SMs", i.sm_count.unwrap())),
        "{basis}"
    );
    assert!(basis.contains("device max SM clock"), "{basis}");
}

/// The `#[ignore = "needs a GPU"]` tests above, on the emulated GPU (`tests/emulated-device`)
/// with the real NVRTC: this test binary runs itself again with only the ignored tests and the
/// emulator first on the loader path. Every one must pass, and the emulator must find nothing
/// left unreleased.
#[test]
fn gpu_tests_pass_on_the_emulated_device() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("leaks");
    let exe = std::env::current_exe().unwrap();
    let envs = common::emulated::Emu::new().envs(&report);
    let list = std::process::Command::new(&exe)
        .args(["--list", "--ignored"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|l| l.ends_with(": test"))
        .count();
    assert!(listed >= 10, "{listed} ignored tests listed");
    let out = std::process::Command::new(&exe)
        .args(["--ignored", "--test-threads=1"])
        .env_remove("CUDA_VISIBLE_DEVICES")
        .envs(envs)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let want = format!("test result: ok. {listed} passed; 0 failed");
    assert!(stdout.contains(&want), "{want:?} not in:\n{stdout}");
    let leaks = std::fs::read_to_string(&report).expect("the emulator wrote its leak report");
    assert!(leaks.is_empty(), "left unreleased:\n{leaks}");
}
