//! Host-side work that must stay cheap next to the GEMMs it describes: statistics over a
//! million samples, profile serialization and parsing, and output verification.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use gpubench::backend::{DeviceInfo, GemmApi, GemmShape, VerifySample};
use gpubench::dtype::DType;
use gpubench::measure::stats::Stats;
use gpubench::measure::verify;
use gpubench::peak::PeakInfo;
use gpubench::profile::{GemmResult, HostInfo, Profile, TimingSettings, ToolInfo, WarmupRecord};

fn samples(n: usize) -> Vec<f64> {
    // deterministic, unsorted, realistic spread around 11 ms
    (0..n)
        .map(|i| 0.011 + ((i as u64).wrapping_mul(2654435761) % 1000) as f64 * 1e-7)
        .collect()
}

fn profile_with(results: usize, samples_each: usize) -> Profile {
    let s = samples(samples_each);
    let stats = Stats::of(&s).unwrap();
    let r = GemmResult {
        dtype: DType::Bf16,
        m: 8192,
        n: 8192,
        k: 8192,
        batch: 1,
        api: GemmApi {
            api: "bench".into(),
            compute_type: "bench".into(),
            accumulator: "fp32".into(),
            output_type: "bf16".into(),
            algorithm: None,
            timing: None,
            fp8_fast_accum: None,
        },
        input_sets: 1,
        warmup: WarmupRecord {
            iterations: 10,
            seconds: 1.0,
        },
        samples_s: s,
        stats_s: stats,
        tflops: 1.0,
        tflops_max: 1.0,
        tflops_min: 1.0,
        peak: PeakInfo::choose(None, None, gpubench::peak::PeakBasis::Derived),
        efficiency: None,
        verification: verify::Verification {
            checked: 256,
            max_rel_error: 0.0,
            max_abs_error: 0.0,
            tolerance: 1e-2,
            passed: true,
        },
        telemetry: None,
        algo_search: None,
        gpu: None,
    };
    Profile {
        schema_version: gpubench::profile::SCHEMA_VERSION,
        tool: ToolInfo::current(),
        created_utc: "2026-01-01T00:00:00Z".into(),
        command: vec![],
        kind: gpubench::profile::ProfileKind::Run,
        host: HostInfo::default(),
        device: DeviceInfo::default(),
        settings: TimingSettings {
            warmup_iters: 10,
            warmup_secs: 1.0,
            min_iters: 50,
            min_secs: 1.0,
            max_iters: 100_000,
            cold: false,
            verify_points: 256,
        },
        results: vec![r; results],
        interrupted: None,
        planned_results: None,
        cluster: None,
    }
}

fn stats(c: &mut Criterion) {
    let v = samples(1_000_000);
    let mut g = c.benchmark_group("stats");
    g.throughput(Throughput::Elements(v.len() as u64));
    g.bench_function("1M samples", |b| {
        b.iter(|| Stats::of(std::hint::black_box(&v)))
    });
    g.finish();
}

fn profile(c: &mut Criterion) {
    let p = profile_with(6, 1000);
    let json = p.to_json();
    let mut g = c.benchmark_group("profile");
    g.throughput(Throughput::Bytes(json.len() as u64));
    g.bench_function("serialize 6×1000 samples", |b| b.iter(|| p.to_json()));
    g.bench_function("parse 6×1000 samples", |b| {
        b.iter(|| Profile::from_json(std::hint::black_box(&json), "bench").unwrap())
    });
    g.finish();
}

fn verification(c: &mut Criterion) {
    let k = 16384;
    let row: Vec<f64> = (0..k)
        .map(|i| ((i * 7919) % 2001) as f64 / 1000.0 - 1.0)
        .collect();
    let sample = VerifySample {
        a_rows: vec![row.clone(); 16],
        b_cols: vec![row; 16],
        c: vec![vec![0.0; 16]; 16],
    };
    let _ = GemmShape::square(k as u64);
    c.bench_function("verify 256 points at k=16384", |b| {
        b.iter_batched(
            || sample.clone(),
            |s| verify::check(&s, DType::Bf16),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, stats, profile, verification);
criterion_main!(benches);
