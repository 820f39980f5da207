//! Snapshot tests of the CSV and Markdown exports of a fixture sweep profile: the exact text
//! a user gets, so any change to a column, a unit or a rounding shows up here.

mod common;

use common::profiles;
use gpubench::export::{csv, markdown};
use gpubench::profile::Profile;

fn fixture() -> Profile {
    Profile::from_json(&profiles::sweep().to_string(), "fixture").unwrap()
}

const CSV: &str = r#"device,backend,dtype,m,n,k,batch,tflops,tflops_min,tflops_max,median_s,mean_s,min_s,max_s,stddev_s,samples,spec_peak_tflops,derived_peak_tflops,efficiency_fraction,efficiency_basis,verified,max_rel_error,api,compute_type,algorithm,default_algorithm_tflops,sm_clock_mhz_mean,power_w_mean,tflops_per_watt,energy_per_product_j
NVIDIA H100 80GB HBM3,cuda,bf16,1024,1024,1024,1,400,400,400,0.00000536870912,0.00000536870912,0.00000536870912,0.00000536870912,0,2,989.4,1070.5,0.40428542551041036,spec,true,0.002,cublasLtMatmul,CUBLAS_COMPUTE_32F,algo 7,,1800,500,0.8,0.875
NVIDIA H100 80GB HBM3,cuda,bf16,2048,2048,2048,1,700,700,700,0.000024542670262857142,0.000024542670262857142,0.000024542670262857142,0.000024542670262857142,0,2,989.4,1070.5,0.7074994946432182,spec,true,0.002,cublasLtMatmul,CUBLAS_COMPUTE_32F,algo 7,,,,,
NVIDIA H100 80GB HBM3,cuda,bf16,4096,4096,4096,1,625,625,625,0.0002199023255552,0.0002199023255552,0.0002199023255552,0.0002199023255552,0,2,989.4,1070.5,0.6316959773600161,spec,true,0.002,cublasLtMatmul,CUBLAS_COMPUTE_32F,algo 7,600,,,,
NVIDIA H100 80GB HBM3,cuda,fp16,4096,4096,4096,1,10,10,10,0.0137438953472,0.0137438953472,0.0137438953472,0.0137438953472,0,2,989.4,1070.5,0.01010713563776026,spec,false,0.5,cublasLtMatmul,CUBLAS_COMPUTE_32F,algo 7,,,,,
"#;

const MARKDOWN: &str = r#"## gpubench sweep: NVIDIA H100 80GB HBM3

Measured 2026-11-23 10:00:00 UTC with gpubench 0.1.0 (backend cuda, compute capability 9.0, driver 580.65, cuBLAS 13.0.0).

| dtype | m×n×k | TFLOPS (measured) | min–max TFLOPS | median time (ms) | spec peak (TFLOPS) | derived peak (TFLOPS) | efficiency (% of peak) | verified (max rel. error) | SM clock mean (MHz) | power mean (W) | TFLOPS/W |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
| bf16 | 1024×1024×1024 | 400.0 | 400.0–400.0 | 0.005369 | 989.4 | 1,070.5 | 40.4 % of spec | yes (2.0e-3) | 1800 | 500.0 | 0.800 |
| bf16 | 2048×2048×2048 | 700.0 | 700.0–700.0 | 0.02454 | 989.4 | 1,070.5 | 70.7 % of spec | yes (2.0e-3) | – | – | – |
| bf16 | 4096×4096×4096 | 625.0 | 625.0–625.0 | 0.2199 | 989.4 | 1,070.5 | 63.2 % of spec | yes (2.0e-3) | – | – | – |
| fp16 | 4096×4096×4096 | 10.00 | 10.00–10.00 | 13.74 | 989.4 | 1,070.5 | 1.01 % of spec | FAILED (5.0e-1) | – | – | – |

- **bf16**: best 2048×2048×2048 at 700.0 TFLOPS; median 625.0 TFLOPS, geometric mean 559.3 TFLOPS over 3 verified of 3 points.
- **fp16**: no verified point among 1 measured.

TFLOPS = 2·m·n·k / median time of one product (measured). Spec peak: datasheet dense figure (NVIDIA H100 datasheet); derived peak: SMs × max clock × FLOPs/clock/SM (or CPU cores × clock × SIMD FLOPs/cycle). Clock and power: mean of NVML readings while the products were timed (measured).
"#;

#[test]
fn csv_snapshot() {
    let got = csv::render(&fixture());
    assert_eq!(got, CSV, "got:\n{got}");
}

#[test]
fn markdown_snapshot() {
    let got = markdown::render(&fixture());
    assert_eq!(got, MARKDOWN, "got:\n{got}");
}

#[test]
fn csv_rows_have_as_many_cells_as_the_header() {
    let got = csv::render(&fixture());
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines.len(), 5);
    for l in &lines {
        assert_eq!(l.split(',').count(), csv::COLUMNS.len(), "{l}");
    }
}
