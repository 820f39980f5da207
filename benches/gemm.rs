//! GEMM throughput through gpubench's backends, under criterion: the CPU backend everywhere,
//! the CUDA backend where a GPU loads. Each iteration is timed by the backend itself (host
//! clock on the CPU, CUDA events on a GPU) through `iter_custom`, and criterion reports
//! throughput in FLOPs (`Throughput::Elements` counts 2·m·n·k per product).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use gpubench::backend::{self, Backend, DeviceChoice, GemmRequest, GemmShape};
use gpubench::dtype::DType;

fn bench_backend(
    c: &mut Criterion,
    be: &dyn Backend,
    label: &str,
    dtypes: &[DType],
    sizes: &[u64],
) {
    let mut g = c.benchmark_group(format!("gemm/{label}"));
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    for &dtype in dtypes {
        if be.check_dtype(dtype).is_err() {
            continue;
        }
        for &n in sizes {
            let shape = GemmShape::square(n);
            let req = GemmRequest {
                dtype,
                shape,
                input_sets: 1,
                seed: 1,
                fp8_fast_accum: false,
            };
            let mut gemm = match be.prepare(&req) {
                Ok(g) => g,
                Err(e) => {
                    eprintln!("skipping {dtype} n={n}: {e:#}");
                    continue;
                }
            };
            g.throughput(Throughput::Elements(shape.flops() as u64));
            g.bench_function(format!("{dtype}/n{n}"), |b| {
                b.iter_custom(|iters| {
                    let t = gemm.run(iters as usize).expect("gemm runs");
                    Duration::from_secs_f64(t.iter().sum())
                })
            });
        }
    }
    g.finish();
}

fn gemm(c: &mut Criterion) {
    let cpu = backend::cpu::CpuBackend::new();
    bench_backend(
        c,
        &cpu,
        "cpu",
        &[DType::Fp32, DType::Fp64],
        &[256, 512, 1024],
    );
    match backend::open(DeviceChoice::Cuda(0)) {
        Ok((gpu, _)) => bench_backend(
            c,
            gpu.as_ref(),
            "cuda",
            &[
                DType::Fp16,
                DType::Bf16,
                DType::Tf32,
                DType::Fp32,
                DType::Fp64,
                DType::Fp8,
            ],
            &[4096, 8192],
        ),
        Err(e) => eprintln!("no CUDA benchmarks: {e:#}"),
    }
}

criterion_group!(benches, gemm);
criterion_main!(benches);
